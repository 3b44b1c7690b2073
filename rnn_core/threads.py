"""Threads: torch's intra-op threads for a stretch of code (`one_thread()`), and a thread's OS name.

The Lab's probes and a sweep's trials run many tiny (B, H) ops; two intra-op threads contending for
two busy cores make them 10–20× slower, and one thread gives the same numbers whatever the process's
thread count. `one_thread()` sets one thread for the `with` block and restores the previous setting;
a lock keeps two blocks from restoring each other's setting out of order.
`name_os_thread` names the calling thread at the OS level too, so runs can be counted from outside.
Leaves to others: a live run's own thread count (`serve.admission.limit_torch_threads`, from the slots).
"""

from __future__ import annotations

import contextlib
import sys
import threading

_THREADS_LOCK = threading.Lock()


@contextlib.contextmanager
def one_thread():
    """Run torch on one intra-op thread inside the block; the previous setting is restored afterwards."""
    import torch

    with _THREADS_LOCK:
        before = torch.get_num_threads()
        torch.set_num_threads(1)
        try:
            yield
        finally:
            torch.set_num_threads(before)


def name_os_thread(name: str) -> None:
    """Best effort: give the calling thread `name` at the OS level too (Linux prctl PR_SET_NAME)."""
    if not sys.platform.startswith("linux"):
        return
    try:
        import ctypes

        ctypes.CDLL(None).prctl(15, name.encode()[:15], 0, 0, 0)     # 15 = PR_SET_NAME
    except (OSError, AttributeError):
        pass
