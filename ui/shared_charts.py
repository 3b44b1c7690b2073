"""Figures that the sessions replaying one run share: each built once per (chart, run, how far it has come,
options), process-wide.

A room replaying one run (`rnn_core.serve.shared`: every Train of the same settings replays the same
records) draws the same figures from the same records: the epoch-level charts at every epoch, every chart
at the run's first point and at its end, the placeholders before a run. Built once here, a figure is
drawn by every session that asks for the same key, with its text alternative (`ui.charts`, kept per figure
object) computed once too. A key names everything the figure shows: the chart, the run's key (settings,
data, seed, code) and its records so far, and every chart option the builder reads — so a session never
sees another's options nor another moment of the run.

    shared(key, build) -> figure     `build()` once per key (the last SHARED_FIGURES kept, least recently
                                     used first out); the figure is frozen (`plots.spec.freeze`): nobody
                                     updates it in place, and its lines are told apart at its build
    cached(key) -> figure | None     the figure kept for `key`, without building one
    is_shared(fig) -> bool           whether a figure is one of these (a page must not change it)
    forget() -> None                 drop every kept figure (tests)

Leaves to others: which charts share and their keys (`ui/views.py`), the figures (`plots/`).
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable
from typing import Any

from plots.spec import freeze, frozen
from ui.charts import prepare

SHARED_FIGURES = 192       # figures kept: a run's charts at a few moments, for a few runs and options
_KEPT: OrderedDict[Hashable, Any] = OrderedDict()
_LOCK = threading.Lock()


def cached(key: Hashable) -> Any:
    """The figure kept for `key`, or None."""
    with _LOCK:
        fig = _KEPT.get(key)
        if fig is not None:
            _KEPT.move_to_end(key)
        return fig


def shared(key: Hashable, build: Callable[[], Any]) -> Any:
    """The figure for `key`: the one kept, or `build()`'s (frozen, prepared for drawing, then kept). Two
    sessions building the same key at once both build; the first kept is the one both draw."""
    fig = cached(key)
    if fig is not None:
        return fig
    fig = freeze(prepare(build()))
    with _LOCK:
        fig = _KEPT.setdefault(key, fig)
        _KEPT.move_to_end(key)
        while len(_KEPT) > SHARED_FIGURES:
            _KEPT.popitem(last=False)
    return fig


def is_shared(fig: Any) -> bool:
    """Whether `fig` was built for everyone (it stays frozen after it has left the cache)."""
    return frozen(fig)


def forget() -> None:
    """Drop every kept figure (tests; a server keeps the last SHARED_FIGURES)."""
    with _LOCK:
        _KEPT.clear()
