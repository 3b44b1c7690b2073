"""Torch's one-off start-up cost, paid on a background thread when a front end asks for it.

Importing torch (about 1 s on a quiet machine, several on a busy one) and its first autograd pass and
multi-tensor kernels: `start_warm_up()` pays them on a daemon thread, once per process, so the first
run's epoch 0 is not delayed. Nothing starts on import: the app (`app.py`) and the CLI (`python -m
rnn_core train`) call it. The thread (`train.warm_up`) touches no model, data or random state.
"""

from __future__ import annotations

import threading

THREAD_NAME = "torch-warm-up"
_lock = threading.Lock()
_started: list[threading.Thread] = []


def _warm_up() -> None:
    from rnn_core.nn.train import warm_up  # imported here: the import of torch is part of the cost

    warm_up()


def start_warm_up() -> threading.Thread:
    """The process's warm-up thread, started by the first call (later calls return the same thread)."""
    with _lock:
        if not _started:
            thread = threading.Thread(target=_warm_up, name=THREAD_NAME, daemon=True)
            thread.start()
            _started.append(thread)
        return _started[0]
