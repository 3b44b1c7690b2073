"""Interrupting long computations from outside: Stop, a closed tab or Ctrl-C ends them within a chunk.

Torch cannot cancel a running operation, so long work is cut into short pieces and asks between them.
A caller (the live run's thread, the CLI, a Lab page's script thread) installs a check for its own
thread with `interruptible(check)`; the long loops call `checkpoint()`, which raises `Interrupted` when
the check says so. The check is per thread (thread-local), so one session's Stop never ends another
session's work, and without a check `checkpoint()` costs one attribute lookup.

    interruptible(check)        context manager: `check()` → True means "stop now" (must be cheap)
    checkpoint()                raise Interrupted if this thread's check says stop
    active() -> bool            whether a check is installed (models then hook their chunk boundaries)
    hook(tensor)                make a backward pass through `tensor` call checkpoint() too
Where the checkpoints are: before every chunk of a fused model's forward and at each chunk boundary of
its backward (`models.chunk_steps`: the chunks depend on the sizes only, so the numbers do not depend
on whether a check is installed), every CHUNK_STEPS timesteps of the Jordan unroll, every timestep of
the float64 probe's unrolled forward and backward (`cells.py`, `probe.py`), every chunk of windows of
a split's loss (`train.py`), every seed / gain / timestep of the Gradient Lab (`lab.py`,
`probe.jacobian_product_norms`).
Leaves to others: deciding when to stop (`live.py`, `cli.py`, `ui/lab.py`), what a stop records.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager

CHUNK_STEPS = 8           # timesteps the Jordan unroll runs between two checkpoints

_local = threading.local()


class Interrupted(Exception):
    """Raised inside a long computation whose thread was asked to stop."""


@contextmanager
def interruptible(check: Callable[[], bool]) -> Iterator[None]:
    """Install `check` for this thread for the duration of the block (nested blocks stack)."""
    previous = getattr(_local, "check", None)
    _local.check = check
    try:
        yield
    finally:
        _local.check = previous


def active() -> bool:
    return getattr(_local, "check", None) is not None


def checkpoint() -> None:
    """Raise Interrupted when this thread's check says stop (nothing happens without a check)."""
    check = getattr(_local, "check", None)
    if check is not None and check():
        raise Interrupted("The computation was interrupted.")


def hook(tensor) -> None:
    """Checkpoint when the backward pass reaches `tensor` (autograd runs CPU backward on the thread
    that called backward(), so the same thread's check applies)."""
    check = getattr(_local, "check", None)
    if check is None or not getattr(tensor, "requires_grad", False):
        return

    def on_grad(grad):
        if check():
            raise Interrupted("The computation was interrupted.")
        return grad

    tensor.register_hook(on_grad)
