"""Admission control: N slots, a fair (FIFO) queue, and LiveRuns that wait their turn.

The queue itself (`rnn_core.serve.admission.Admission`), LiveRuns sharing one slot (the second waits and says
where it stands; Stop and Pause work while it waits; runs are admitted in the order they asked), and
the Playground page telling a queued user how many runs are ahead.
"""

from __future__ import annotations

import time
from types import SimpleNamespace

import numpy as np
import pytest

from rnn_core.config import TrainConfig
from rnn_core.nn.model_config import ModelConfig
from rnn_core.serve.admission import Admission, default_slots, describe_wait, shared_admission, threads_per_run
from rnn_core.serve.live import PACE_STEPS, LiveRun
from tests.conftest import open_page, run_of

WAIT = 30.0


def wait_for(predicate, timeout: float = WAIT) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.02)
    return predicate()


def tiny_windows() -> SimpleNamespace:
    """What LiveRun needs of `windows.Windows`: next value of a sine from the last 8."""
    s = np.sin(0.3 * np.arange(208, dtype=np.float32))
    X = np.stack([s[i:i + 8] for i in range(200)])[:, :, None]                    # (N, T, 1)
    y = s[8:208][:, None]                                                        # (N, 1)
    return SimpleNamespace(X_train=X[:160], y_train=y[:160], X_val=X[160:], y_val=y[160:])


def long_run(admission: Admission, seed: int = 0) -> LiveRun:
    """A run that would train for minutes: it is always stopped by the test."""
    cfg = TrainConfig(epochs=500, batch_size=1, probe_every=0, seed=seed)
    return LiveRun(ModelConfig(hidden_size=2), cfg, tiny_windows(), idle_timeout=None, admission=admission)


# ---------------------------------------------------------------------------------------- the queue
def test_the_queue_admits_in_order_and_frees_places():
    adm = Admission(slots=2)
    woken = []
    a, b, c, d = (adm.enqueue(wake=lambda n=n: woken.append(n)) for n in "abcd")
    assert a.admitted and b.admitted and woken == ["a", "b"]
    assert (adm.ahead(c), adm.ahead(d)) == (0, 1)
    assert adm.counts() == {"slots": 2, "active": 2, "waiting": 2}
    adm.release(c)                                   # c leaves the queue (Stop while waiting)
    assert c.state == "left" and adm.ahead(d) == 0
    e = adm.enqueue(wake=lambda: woken.append("e"))
    adm.release(a, finished=True)                    # a's slot goes to the head of the queue: d, not e
    assert d.admitted and not e.admitted and woken[-1] == "d" and adm.ahead(e) == 0
    adm.release(a)                                   # twice: nothing happens
    assert adm.counts() == {"slots": 2, "active": 2, "waiting": 1}


def test_the_waiting_time_comes_from_the_runs_own_estimates_or_is_not_known():
    left = {"in the slot": None}
    adm = Admission(slots=1)
    adm.enqueue(remaining=lambda: left["in the slot"])       # admitted; cannot tell its own speed yet
    second = adm.enqueue()
    assert adm.wait_estimate(second) is None                 # never another run's length instead
    left["in the slot"] = 30.0
    assert adm.wait_estimate(second) == pytest.approx(30.0)  # next in line: when that run ends
    third = adm.enqueue()
    assert adm.wait_estimate(third) is None                  # one run ahead, of unknown length


def _ended(adm: Admission, seconds: float) -> None:
    """A run that held a slot for `seconds` and ended."""
    ticket = adm.enqueue()
    ticket.admitted_at -= seconds
    adm.release(ticket, finished=True)


def test_runs_ahead_count_for_the_typical_run_only_when_recent_runs_agree():
    agree = Admission(slots=1)
    for seconds in (40.0, 44.0, 37.0):                       # a room running the same preset
        _ended(agree, seconds)
    agree.enqueue(remaining=lambda: 10.0)
    ahead, mine = agree.enqueue(), agree.enqueue()
    assert agree.wait_estimate(ahead) == pytest.approx(10.0, abs=0.5)
    assert agree.wait_estimate(mine) == pytest.approx(10.0 + 40.0, abs=0.5)   # + the median run
    differ = Admission(slots=1)
    for seconds in (2.0, 40.0, 600.0):                       # no length to go on within a factor of two
        _ended(differ, seconds)
    differ.enqueue(remaining=lambda: 10.0)
    differ.enqueue()
    assert differ.wait_estimate(differ.enqueue()) is None


def test_the_sentence_a_queued_user_reads():
    assert describe_wait(3, 20.4) == "Waiting for a free slot: 3 runs ahead of yours, about 20 s."
    assert describe_wait(0, None) == "Waiting for a free slot: next in line; how long is not known yet."
    assert describe_wait(1, 130, slots=2) == ("Waiting for a free slot (all 2 slots of this server are "
                                              "training): 1 run ahead of yours, about 2 min.")


def test_settings_from_the_environment(monkeypatch):
    monkeypatch.setenv("RNN_PLAYGROUND_MAX_RUNS", "3")
    monkeypatch.delenv("RNN_PLAYGROUND_TORCH_THREADS", raising=False)
    assert default_slots() == 3 and Admission().slots == 3
    assert threads_per_run(slots=64) == 1            # many slots on few cores: one thread each
    monkeypatch.setenv("RNN_PLAYGROUND_TORCH_THREADS", "2")
    assert threads_per_run(slots=64) == 2
    monkeypatch.setenv("RNN_PLAYGROUND_MAX_RUNS", "zero")
    assert default_slots() >= 1


# ----------------------------------------------------------------------------------------- LiveRuns
def test_with_one_slot_the_second_run_waits_says_where_and_stops_while_queued():
    adm = Admission(slots=1)
    first, second = long_run(adm), long_run(adm, seed=1)
    try:
        first.start()
        assert first.status == "running"
        second.start()
        assert second.status == "queued"
        snap = second.snapshot()
        assert snap.status == "queued" and snap.ahead == 0 and snap.step == 0
        assert wait_for(lambda: first.snapshot().step > 5)
        waiting = second.snapshot()
        assert waiting.step == 0 and waiting.epochs == []                  # it has not computed (not even epoch 0)
        second.stop()                                                      # Stop while queued
        assert second.join(WAIT) and second.status == "stopped"
        assert second.snapshot().end["step"] == 0 and first.status == "running"
        assert adm.counts() == {"slots": 1, "active": 1, "waiting": 0}
    finally:
        first.stop()
        second.stop()
        first.join(WAIT)
    assert adm.counts()["active"] == 0


def test_a_queued_run_hears_the_wait_only_once_the_run_ahead_knows_its_pace():
    adm = Admission(slots=1)
    first, second = long_run(adm), long_run(adm, seed=1)
    try:
        first.start()
        second.start()
        assert second.snapshot().wait is None or first.snapshot().step >= PACE_STEPS   # nothing to go on yet
        assert wait_for(lambda: first.snapshot().step >= PACE_STEPS + 1)
        wait = second.snapshot().wait
        assert wait is not None and wait > 0            # its own pace: steps and evaluations still to come
    finally:
        first.stop()
        second.stop()
        first.join(WAIT)


def test_runs_get_the_slot_in_the_order_they_asked_and_a_pause_gives_it_back():
    adm = Admission(slots=1)
    a, b, c = long_run(adm), long_run(adm, seed=1), long_run(adm, seed=2)
    try:
        for run in (a, b, c):
            run.start()
        assert [r.status for r in (a, b, c)] == ["running", "queued", "queued"]
        assert (b.snapshot().ahead, c.snapshot().ahead) == (0, 1)
        a.pause()                                         # a paused run frees its slot: b (first in line) runs
        assert wait_for(lambda: b.status == "running")
        assert c.status == "queued" and c.snapshot().ahead == 0
        assert wait_for(lambda: b.snapshot().step > 0)
        c.pause()                                         # Pause while queued: leaves the queue
        assert c.status == "paused" and adm.counts()["waiting"] == 0
        a.resume()                                        # back in the queue, behind nobody
        assert a.status == "queued" and a.snapshot().ahead == 0
        c.resume()                                        # and c behind a
        assert c.snapshot().ahead == 1
        b.stop()
        assert wait_for(lambda: a.status == "running") and c.status == "queued"
        assert c.step() is False                          # a queued run is not paused: no single step
    finally:
        for run in (a, b, c):
            run.stop()
        for run in (a, b, c):
            assert run.join(WAIT)
    assert all(r.status == "stopped" for r in (a, b, c)) and adm.counts()["active"] == 0


def test_a_queued_run_left_alone_stops_after_its_idle_timeout():
    adm = Admission(slots=1)
    holder = adm.enqueue()
    cfg = TrainConfig(epochs=2, batch_size=4, probe_every=0)
    run = LiveRun(ModelConfig(hidden_size=2), cfg, tiny_windows(), idle_timeout=0.3, admission=adm)
    run.start()
    assert run.status == "queued"
    assert run.join(WAIT) and run.status == "stopped"
    assert "nobody had looked" in run.snapshot().end["reason"]
    assert adm.counts() == {"slots": 1, "active": 1, "waiting": 0}      # its place was given back
    adm.release(holder)


# ------------------------------------------------------------------------------------------ the page
def test_the_playground_says_a_queued_run_waits_and_stop_works_while_it_does():
    adm = shared_admission()
    free = adm.slots - adm.counts()["active"]
    holders = [adm.enqueue() for _ in range(max(0, free))]      # every slot busy…
    earlier = adm.enqueue()                                     # …and one run already waiting
    try:
        at = open_page("app_pages/playground.py")
        for key, value in (("pg.t.epochs", 2), ("pg.d.timesteps", 10), ("pg.m.hidden_size", 4)):
            at.number_input(key=key).set_value(value)
        at.run()
        at.button(key="pg.btn.train").click().run()
        assert run_of(at).status == "queued"
        notes = [i.value for i in at.info]
        assert any("Waiting for a free slot" in n and "1 run ahead of yours" in n for n in notes), notes
        at.button(key="pg.btn.stop").click().run()
        assert run_of(at).status == "stopped"
        at.button(key="pg.btn.reset").click().run()
        at.button(key="pg.btn.train").click().run()              # queued again, behind `earlier`
        run = run_of(at)
        assert run.status == "queued"
        for ticket in holders:
            adm.release(ticket)
        assert wait_for(lambda: run.status in ("running", "completed")), run.status
        assert earlier.admitted                                 # the one that asked first got in first
        assert not at.exception
    finally:
        for ticket in [*holders, earlier]:
            adm.release(ticket)
        run = run_of(at)
        if run is not None:
            run.stop()
            run.join(WAIT)
