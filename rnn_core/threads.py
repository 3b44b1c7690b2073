"""Torch's intra-op threads for a stretch of code: `one_thread()`.

The Lab's probes and a sweep's trials run many tiny (B, H) ops; two intra-op threads contending for
two busy cores make them 10–20× slower, and one thread gives the same numbers whatever the process's
thread count. `one_thread()` sets one thread for the `with` block and restores the previous setting;
a lock keeps two blocks from restoring each other's setting out of order.
Leaves to others: a live run's own thread count (`live.limit_torch_threads`, from the admission slots).
"""

from __future__ import annotations

import contextlib
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
