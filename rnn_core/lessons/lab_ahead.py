"""The Gradient Lab's next step, probed ahead: while a user reads the charts of a slider step, the value the same
step leads to next is probed in the background, so that the next press finds its probes kept.

Holds `next_step(cfg, before)` (the settings one more step of the slider that changed from `before` to `cfg`
gives, or None), `look_ahead(cfg, before, charts)` (ask for them to be probed: the charts' computations, in the
order the page draws them), `stop_ahead()` and `wait_idle(timeout)` (for tests: until the worker has nothing to do).

Why: a step of the gain, T, H, the layers, the input scale or the forget bias changes every fresh network, so its
probes are new: 6 cells × the seeds × T unrolled steps through float64 autograd, 70–170 ms of the 2-core machine
for the two charts at the top, while the user then reads the page for a moment. A keyboard user steps one slider in
one direction (and a step back finds the value before it kept). The probes computed here are the ones the page
computes itself (the same functions, the same keys: `lab_probes.probe_key`), so the numbers are the same.
Rules:
- One worker thread per process, at the lowest CPU priority the OS gives a thread (nice 19 on Linux).
- Only the newest request is worked on: a new one replaces the one waiting and ends the one running at its next
  checkpoint (`interrupt.py`: within a timestep).
- A page's own computation that needs probes no thread computes ends the worker's (`lab_probes.foreground_asks`),
  and one that needs the probes the worker is computing waits for them rather than computing them twice.
- The memory budget is asked as for any probe: a refused look-ahead is dropped without a word (the page, if the
  user goes there, says it).
Leaves to others: the probes and what is kept (`lab_probes.py`), the charts' computations (`lab.py`), when to ask
(the Lab page, at the end of its run).
"""

from __future__ import annotations

import contextlib
import logging
import os
import threading

from rnn_core.config import ConfigError
from rnn_core.data.budget import BudgetError
from rnn_core.interrupt import Interrupted, interruptible
from rnn_core.lessons import lab, lab_probes
from rnn_core.lessons.lab import LAB_SETTINGS, LabConfig

log = logging.getLogger(__name__)

# what each of the page's charts computes from kept probes (`ui.lab`: the same functions under its caches; the
# singular values are one network's spectrum, which the page computes at once and nothing keeps)
COMPUTE = {"gradient": lab.profile_stats, "overlay": lab.overlay, "phase": lab.phase_diagram,
           "jacobian": lab.jacobian_stats}

_wake = threading.Condition()
_request: list = [None]             # (settings, charts, generation) waiting, or None
_generation = [0]                   # bumped by every request: the one running ends when it changes
_busy = [False]
_worker: list[threading.Thread | None] = [None]


def next_step(cfg: LabConfig, before: LabConfig | None) -> LabConfig | None:
    """`cfg` with the one slider setting that changed from `before` moved once more by the same step, within the
    slider's range; None where no single slider setting changed (a preset, a cell or init choice, a first visit)
    or the next value is outside the range or not a valid Lab setting (a Jordan network's second layer)."""
    if before is None:
        return None
    changed = [f for f in LAB_SETTINGS if getattr(cfg, f) != getattr(before, f)]
    if len(changed) != 1 or LAB_SETTINGS[changed[0]].lo is None:
        return None
    name = changed[0]
    f, now = LAB_SETTINGS[name], getattr(cfg, name)
    value = now + (now - getattr(before, name))
    if isinstance(now, float):
        # the slider's values are on its grid (lo + k · step), as Streamlit's slider rounds them
        value = round(f.lo + round((value - f.lo) / f.step) * f.step, 10)
    if not f.lo <= value <= f.hi:
        return None
    try:
        return cfg.replace(**{name: value}).validate()
    except ConfigError:
        return None


def look_ahead(cfg: LabConfig, before: LabConfig | None, charts: tuple[str, ...]) -> LabConfig | None:
    """Probe, in the background, what `charts` (keys of COMPUTE, in the page's order) need at `next_step(cfg,
    before)`; returns those settings (None: nothing to probe, and whatever was being probed ahead ends). A run that
    changed no setting (a tab opened, the checkbox ticked) leaves what is being probed as it is: the next step is
    still the one the last change leads to."""
    if cfg == before:
        return None
    ahead = next_step(cfg, before)
    with _wake:
        _generation[0] += 1
        _request[0] = (ahead, tuple(c for c in charts if c in COMPUTE), _generation[0]) if ahead else None
        if ahead is not None and _worker[0] is None:
            _worker[0] = threading.Thread(target=_work, name="lab-look-ahead", daemon=True)
            _worker[0].start()
        _wake.notify_all()
    return ahead


def stop_ahead(timeout: float = 30.0) -> bool:
    """Drop the request waiting, end the one running (at its next checkpoint) and wait for the worker to be idle."""
    with _wake:
        _generation[0] += 1
        _request[0] = None
    return wait_idle(timeout)


def wait_idle(timeout: float = 30.0) -> bool:
    """Wait until the worker has no request waiting or running; False if it still has one after `timeout` s."""
    with _wake:
        return _wake.wait_for(lambda: _request[0] is None and not _busy[0], timeout)


def _work() -> None:
    _lowest_priority()
    lab_probes.mark_look_ahead()
    while True:
        with _wake:
            _wake.wait_for(lambda: _request[0] is not None)
            (cfg, charts, generation), _request[0] = _request[0], None
            _busy[0] = True
        try:
            _probe(cfg, charts, generation)
        finally:
            with _wake:
                _busy[0] = False
                _wake.notify_all()


def _probe(cfg: LabConfig, charts: tuple[str, ...], generation: int) -> None:
    """Compute what `charts` need at `cfg`, until a newer request or a page's own computation ends it."""
    asked = lab_probes.foreground_asks()
    try:
        with interruptible(lambda: _generation[0] != generation or lab_probes.foreground_asks() != asked):
            for chart in charts:
                COMPUTE[chart](cfg)
    except (Interrupted, BudgetError, ConfigError):
        pass                                                # replaced, made way, or over the budget: dropped
    except Exception:                                       # a bug: logged, and the page computes it itself
        log.exception("Probing the Gradient Lab's next step failed")


def _lowest_priority() -> None:
    """Nice 19 for this thread alone (Linux schedules threads one by one); elsewhere, as it is."""
    with contextlib.suppress(AttributeError, OSError):
        os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), 19)
