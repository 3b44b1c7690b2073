"""Tests for rnn_core/serve/live.py: the background run, its controls, idle stop and bounded history."""

from __future__ import annotations

import json
import threading
import time
import types

import numpy as np
import pytest
import torch

from rnn_core.config import ConfigError, TrainConfig
from rnn_core.nn.model_config import ModelConfig
from rnn_core.serve.admission import limit_torch_threads
from rnn_core.serve.history import downsample
from rnn_core.serve.live import LiveRun

WAIT = 20.0          # generous: the machine is shared; every wait ends as soon as its condition holds


def sine_windows(n: int = 120, T: int = 10, n_train: int = 80):
    """A stand-in for windows.Windows: next value of sin(0.3 t) from the last T values."""
    s = np.sin(0.3 * np.arange(n + T, dtype=np.float32))
    X = np.stack([s[i:i + T] for i in range(n)])[:, :, None]                       # (N, T, 1)
    y = s[T:T + n][:, None]                                                        # (N, 1)
    return types.SimpleNamespace(X_train=X[:n_train], y_train=y[:n_train],
                                 X_val=X[n_train:], y_val=y[n_train:])


def wait_for(condition, timeout: float = WAIT) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.01)
    return condition()


def long_run(idle_timeout: float | None = 60.0, watcher=None, **train) -> LiveRun:
    """A run that does not end by itself within any test's wait (50,000 steps): a fast machine finished
    the 2,500 steps it had before while a test still waited for its watcher to say "closed"."""
    cfg = TrainConfig(**{"epochs": 500, "batch_size": 16, "probe_every": 0, **train})
    windows = sine_windows(2000, n_train=1600)                                   # 100 steps an epoch
    return LiveRun(ModelConfig(hidden_size=4), cfg, windows, idle_timeout=idle_timeout, watcher=watcher)


@pytest.fixture
def runs():
    """Every run a test makes is stopped and joined, even when the test fails."""
    made: list[LiveRun] = []
    yield made
    for run in made:
        run.stop()
        run.join(WAIT)


def test_start_pause_step_resume_stop(runs):
    run = long_run()
    runs.append(run)
    assert run.status == "idle" and run.snapshot().version == 0
    run.start()
    assert wait_for(lambda: run.snapshot().step >= 3)
    snap = run.snapshot()
    assert snap.status == "running" and snap.epochs[0]["epoch"] == 0
    assert snap.total_epochs == 500 and snap.steps_per_epoch == 100

    run.pause()
    assert run.wait_parked(WAIT)                   # the thread is waiting before its next step
    paused_at = run.snapshot().step
    time.sleep(0.2)
    assert run.snapshot().step == paused_at and run.status == "paused"
    elapsed = run.elapsed
    time.sleep(0.1)
    assert run.elapsed == elapsed                   # paused time is not counted

    assert run.step()
    assert wait_for(lambda: run.snapshot().step == paused_at + 1 and run.parked)
    time.sleep(0.2)
    snap = run.snapshot()
    assert snap.step == paused_at + 1 and snap.status == "paused"
    assert snap.steps[-1]["step"] == paused_at + 1

    run.resume()
    assert wait_for(lambda: run.snapshot().step >= paused_at + 5)
    assert run.status == "running"

    run.stop()
    assert run.join(WAIT)
    snap = run.snapshot()
    assert snap.status == "stopped" and snap.end["status"] == "stopped"
    assert "by the user" in snap.end["reason"]
    assert not run.alive
    records = snap.steps + snap.epochs + [snap.end]
    json.loads(json.dumps(records))
    # version counts every record received
    assert snap.version == snap.step + len(snap.epochs) + 1
    # the model can be read after the end
    with run.lock:
        assert torch.isfinite(next(run.model.parameters())).all()


def test_step_from_idle_starts_paused_and_takes_one_step(runs):
    run = long_run()
    runs.append(run)
    assert run.step()
    assert wait_for(lambda: run.snapshot().step == 1 and run.parked)
    assert run.status == "paused" and run.snapshot().step == 1
    run.stop()                                      # a paused run stops too
    assert run.join(WAIT)
    assert run.status == "stopped" and "by the user at step 1" in run.snapshot().end["reason"]


def test_step_is_refused_while_running():
    run = long_run()
    run.start()
    try:
        assert not run.step()
    finally:
        run.stop()
        assert run.join(WAIT)


def test_run_completes_and_history_is_bounded(runs):
    cfg = TrainConfig(epochs=3, batch_size=1, probe_every=1, probe_batch=2)   # 240 steps
    run = LiveRun(ModelConfig(hidden_size=4), cfg, sine_windows(), idle_timeout=None)
    runs.append(run)
    run.max_step_records = 32
    run.start()
    assert run.join(WAIT * 3)
    snap = run.snapshot(max_points=50)
    assert snap.status == "completed" and snap.end["status"] == "completed"
    assert snap.step == 240 and snap.epoch == 3 and snap.version == 240 + 4 + 1
    # stored: every 8th step once 32 were exceeded, plus the latest
    kept_records, stride = run.kept_steps()
    assert len(kept_records) <= 32
    kept = [r["step"] for r in kept_records]
    assert kept == list(range(1, 241, stride)) and stride == 8
    # the snapshot: at most max_points, evenly spread, first and latest included
    steps = [r["step"] for r in snap.steps]
    assert len(steps) <= 32 + 1 and steps[0] == 1 and steps[-1] == 240
    assert steps == sorted(set(steps))
    small = [r["step"] for r in run.snapshot(max_points=10).steps]
    assert len(small) == 10 and small[0] == 1 and small[-1] == 240
    assert [r["epoch"] for r in snap.epochs] == [0, 1, 2, 3]
    assert all(r["probe"] is not None for r in snap.epochs)


def test_downsample_keeps_the_bound_and_the_ends():
    records = [{"step": i} for i in range(1, 10_001)]
    for m in (1, 2, 7, 1500, 9999):
        out = downsample(records, m)
        assert len(out) == m and out[-1]["step"] == 10_000
        assert [r["step"] for r in out] == sorted({r["step"] for r in out})
    assert downsample(records[:5], 1500) == records[:5]


def test_idle_timeout_stops_a_run_nobody_polls(runs):
    run = long_run(idle_timeout=0.3)
    runs.append(run)
    run.start()
    assert run.join(WAIT)                 # never polled: it stops itself
    assert run.status == "stopped"
    assert "nobody had looked" in run.snapshot().end["reason"]


def test_idle_timeout_also_stops_a_paused_run(runs):
    run = long_run(idle_timeout=0.3)
    runs.append(run)
    run.start(paused=True)
    assert run.join(WAIT)
    assert run.status == "stopped" and run.snapshot().step == 0


def test_polled_run_keeps_going(runs):
    run = long_run(idle_timeout=0.3)
    runs.append(run)
    run.start()
    deadline = time.monotonic() + 0.8
    while time.monotonic() < deadline:
        assert run.snapshot().status == "running"
        time.sleep(0.05)


@pytest.mark.parametrize("paused", [False, True])
def test_a_watched_run_outlives_the_idle_timeout_and_stops_once_nobody_watches(runs, paused):
    """The app's watcher says "the browser tab is still connected": no snapshot needed meanwhile."""
    tab_open = threading.Event()
    tab_open.set()
    run = long_run(idle_timeout=0.3, watcher=tab_open.is_set)
    runs.append(run)
    run.start(paused=paused)
    time.sleep(1.2)                                      # four idle timeouts without a snapshot
    assert run.status == ("paused" if paused else "running")
    tab_open.clear()                                     # the tab is closed
    assert run.join(WAIT)
    assert run.status == "stopped" and "nobody had looked" in run.snapshot().end["reason"]   # 0.3 s < 1 s


def test_a_closed_tab_stops_its_run_without_waiting_for_the_idle_timeout(runs):
    """The watcher saying "closed" for about a second is enough: the run does not wait out the idle
    timeout (600 s here, far beyond the test's wait), and a connection back within that second keeps it."""
    tab_open = threading.Event()
    tab_open.set()
    run = long_run(idle_timeout=600, watcher=tab_open.is_set)
    runs.append(run)
    run.start()
    assert wait_for(lambda: run.snapshot().step >= 1, WAIT)
    tab_open.clear()                                     # a short drop, and Streamlit reconnects
    time.sleep(0.3)
    tab_open.set()
    time.sleep(1.5)
    assert run.status == "running"
    tab_open.clear()                                     # the tab is closed
    assert run.join(WAIT)
    assert run.status == "stopped"
    assert run.snapshot().end["reason"].endswith("because its browser tab was closed.")


def test_a_failing_watcher_leaves_the_decision_to_the_timer(runs):
    def broken() -> bool:
        raise RuntimeError("no runtime")

    run = long_run(idle_timeout=0.3, watcher=broken)
    runs.append(run)
    run.start()
    assert run.join(WAIT)
    assert run.status == "stopped" and "nobody had looked" in run.snapshot().end["reason"]


def test_diverging_run_reports_diverged(runs):
    cfg = TrainConfig(optimizer="sgd", lr=10.0, momentum=0.0, clip="off", epochs=10, batch_size=16,
                      probe_batch=4)
    run = LiveRun(ModelConfig(hidden_size=8, init="identity", gain=3.0), cfg, sine_windows(),
                  idle_timeout=None)
    runs.append(run)
    run.start()
    assert run.join(WAIT)
    snap = run.snapshot()
    assert snap.status == "diverged" and "step 11" in snap.end["reason"]
    assert snap.step == 10 and [r["epoch"] for r in snap.epochs] == [0, 1, 2]


def test_mismatched_data_is_refused_with_a_sentence():
    with pytest.raises(ConfigError, match="input feature"):
        LiveRun(ModelConfig(hidden_size=4, input_size=3), TrainConfig(), sine_windows())


def test_stop_before_start_and_thread_limit():
    run = long_run()
    run.stop()
    assert run.status == "stopped" and run.join(0.1)
    assert 1 <= limit_torch_threads() <= 4


def test_probe_profiles_are_thinned_to_the_budget(runs, monkeypatch):
    import rnn_core.serve.history as history

    monkeypatch.setattr(history, "PROBE_FLOAT_BUDGET", 1)      # keep the minimum: 16 probe profiles
    cfg = TrainConfig(epochs=20, batch_size=80, probe_every=1, probe_batch=2)   # one step per epoch
    run = LiveRun(ModelConfig(hidden_size=4), cfg, sine_windows(), idle_timeout=None)
    runs.append(run)
    run.start()
    assert run.join(WAIT * 3) and run.status == "completed"
    epochs = run.snapshot().epochs
    assert [r["epoch"] for r in epochs] == list(range(21))          # every epoch record is kept
    probed = [r["epoch"] for r in epochs if r["probe"] is not None]
    assert 8 <= len(probed) <= 16 and probed[0] == 0 and probed[-1] == 20
    assert all(r["train_loss"] > 0 and r["spectra"] for r in epochs)  # only the probe is dropped
