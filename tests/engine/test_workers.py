"""Live runs in worker processes (`rnn_core.serve.workers`): the same records as in-process (in a fresh and in a
reused worker), the same controls, the queue; a finished or stopped run's worker goes back to the pool,
a crashed one is a sentence, and no process is left behind when the server is killed.

Each test starts real `python -m rnn_core.serve.run_worker` processes (torch import included), so waits are
generous; none asserts a duration.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import threading
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch

from rnn_core.config import TrainConfig
from rnn_core.data.windows import Windows, make_windows
from rnn_core.nn.model_config import ModelConfig
from rnn_core.nn.models import build_model
from rnn_core.serve.admission import Admission
from rnn_core.serve.live import LiveRun
from rnn_core.serve.worker_pool import MAX_MB_ENV, WORKERS_ENV, WorkerPool
from rnn_core.serve.workers import WorkerRun, new_run, run_closed_loop
from tests.engine.test_live import wait_for

WAIT = 60.0          # a worker imports torch first; the machine is shared
ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def pool():
    pool = WorkerPool(spares=2)
    pool.refill()
    yield pool
    pool.close()


def gone(pid: int) -> bool:
    """The process has exited (a zombie waiting for its parent to reap it counts as gone)."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (FileNotFoundError, ProcessLookupError):
        return True
    return state in ("Z", "X")


def sine_windows(n: int = 130, T: int = 10) -> Windows:
    """Real windows (what the app sends a worker) of sin(0.3 t): the next value from the last T."""
    frame = pd.DataFrame({"x": np.sin(0.3 * np.arange(n))}, index=pd.RangeIndex(n, name="step"))
    return make_windows(frame, T, ["x"], "x", train_frac=0.7, val_frac=0.15)


def without_seconds(records: list[dict]) -> list[dict]:
    return [{k: v for k, v in r.items() if k != "seconds"} for r in records]


def long_worker_run(pool, idle_timeout: float | None = None, **options) -> WorkerRun:
    cfg = TrainConfig(epochs=500, batch_size=16, probe_every=0)
    return WorkerRun(ModelConfig(hidden_size=4), cfg, sine_windows(), idle_timeout=idle_timeout, pool=pool,
                     **options)


def test_a_worker_run_gives_exactly_the_in_process_records_and_weights(pool):
    cfg = TrainConfig(epochs=3, batch_size=16, probe_every=1, probe_batch=4, seed=7)
    here = LiveRun(ModelConfig(cell="lstm", hidden_size=4), cfg, sine_windows(), idle_timeout=None)
    here.start()
    assert here.join(WAIT)
    a = here.snapshot()
    pids = []
    for _ in range(2):                                  # a fresh worker, then the same one again
        there = WorkerRun(ModelConfig(cell="lstm", hidden_size=4), cfg, sine_windows(), idle_timeout=None,
                          pool=pool)
        there.start()
        assert there.join(WAIT)
        b = there.snapshot()
        assert b.status == "completed" and b.step == a.step == 18
        assert without_seconds(b.steps) == without_seconds(a.steps)       # losses, norms: bitwise equal
        assert without_seconds(b.epochs) == without_seconds(a.epochs)     # probes and spectra too
        assert b.epochs[1]["probe"] is not None
        assert without_seconds([b.end]) == without_seconds([a.end])
        with here.lock, there.lock:
            for (name, p), (_, q) in zip(here.model.state_dict().items(), there.model.state_dict().items()):
                assert torch.equal(p, q), name
        pids.append(there.worker_pid)
        assert there.worker_pid in pool.pids()          # done: the worker waits for the next run
        pool.spares = 0                                 # so the next run takes this one back
    assert pids[0] == pids[1]
    pool.spares = 2


def test_pause_step_resume_and_stop_drive_the_worker(pool):
    run = long_worker_run(pool)
    run.start()
    try:
        assert wait_for(lambda: run.snapshot().step >= 3, WAIT)
        pid = run.worker_pid
        assert pid is not None and pid != os.getpid() and not gone(pid)
        run.pause()
        assert run.wait_parked(WAIT)
        at = run.snapshot().step
        with run.lock:                                  # the page reads the weights of a paused run
            weights = {k: v.clone() for k, v in run.model.state_dict().items()}
        assert run.step()
        assert wait_for(lambda: run.snapshot().step == at + 1 and run.parked, WAIT)
        with run.lock:                                  # … and after one more step, the new ones
            moved = any(not torch.equal(weights[k], v) for k, v in run.model.state_dict().items())
        assert moved and run.status == "paused"
        run.resume()
        assert wait_for(lambda: run.snapshot().step >= at + 5, WAIT)
    finally:
        run.stop()
        assert run.join(WAIT)
    snap = run.snapshot()
    assert snap.status == "stopped" and "by the user" in snap.end["reason"]
    assert pid in pool.pids() and not gone(pid)         # Stop ends the run; the worker waits for the next


def test_a_closed_tab_ends_the_run_and_frees_its_worker(pool):
    training = []                                       # the tab "closes" once the run has its worker
    run = long_worker_run(pool, idle_timeout=600, watcher=lambda: not training)
    run.start()
    assert wait_for(lambda: run.snapshot().step > 0, WAIT)
    training.append(True)
    pid = run.worker_pid
    assert run.join(WAIT)                               # long before the idle timeout
    assert run.status == "stopped" and "its browser tab was closed" in run.snapshot().end["reason"]
    assert pid in pool.pids()


def test_a_crashed_worker_is_a_sentence_and_the_history_stays(pool):
    run = long_worker_run(pool)
    run.start()
    assert wait_for(lambda: run.snapshot().step >= 3, WAIT)
    os.kill(run.worker_pid, signal.SIGKILL)
    assert run.join(WAIT)
    snap = run.snapshot()
    assert snap.status == "stopped" and snap.step >= 3 and len(snap.steps) >= 3
    assert "training process ended unexpectedly" in snap.end["reason"] and "history" in snap.end["reason"]
    assert run.worker_pid not in pool.pids()            # a dead worker is not handed out again
    with run.lock:                                      # the last copy of the model is still there
        assert torch.isfinite(next(run.model.parameters())).all()


def test_a_queued_worker_run_holds_no_process_and_can_be_stopped(pool):
    adm = Admission(slots=1)
    first = long_worker_run(pool, admission=adm)
    second = long_worker_run(pool, admission=adm)
    first.start()
    assert wait_for(lambda: first.snapshot().step >= 1, WAIT)
    second.start()
    try:
        assert wait_for(lambda: second.status == "queued", WAIT)
        assert second.snapshot().ahead == 0 and second.worker_pid is None
        second.stop()
        assert second.join(WAIT) and second.status == "stopped" and second.worker_pid is None
    finally:
        first.stop()
        assert first.join(WAIT)


def test_the_closed_loop_in_a_worker_equals_the_in_process_one(pool):
    from rnn_core.config import DataConfig
    from rnn_core.data.windows import prepare
    from rnn_core.measure.closed_loop import closed_loop
    from rnn_core.nn.models import build_model

    windows = prepare(DataConfig(dataset="sine", timesteps=8))
    model = build_model(ModelConfig(hidden_size=4), seed=1)
    result, note = run_closed_loop(ModelConfig(hidden_size=4), model, windows, 20, "test", pool=pool)
    assert result == closed_loop(model, windows, 20, start="test") and note is None


def test_new_run_follows_the_env_var(monkeypatch):
    monkeypatch.setenv(WORKERS_ENV, "0")
    assert type(new_run(ModelConfig(hidden_size=2), TrainConfig(), sine_windows())) is LiveRun
    monkeypatch.setenv(WORKERS_ENV, "1")
    assert isinstance(new_run(ModelConfig(hidden_size=2), TrainConfig(), sine_windows(),
                              pool=WorkerPool(spares=0)), WorkerRun)


SERVER = textwrap.dedent("""
    import sys, time
    sys.path.insert(0, {root!r}); sys.path.insert(0, {tests!r})
    from test_workers import sine_windows
    from rnn_core.config import TrainConfig
    from rnn_core.nn.model_config import ModelConfig
    from rnn_core.serve.workers import WorkerRun, shared_pool
    run = WorkerRun(ModelConfig(hidden_size=4), TrainConfig(epochs=500, batch_size=16, probe_every=0),
                    sine_windows(), idle_timeout=None)
    run.start()
    while run.snapshot().step < 2:
        time.sleep(0.05)
    print(run.worker_pid, *shared_pool().pids(), flush=True)
    time.sleep(600)
""")


@pytest.mark.parametrize("how", [signal.SIGKILL, signal.SIGINT])
def test_a_killed_server_leaves_no_worker_behind(how):
    """A 'server' process with a training worker and a warm spare is killed (SIGKILL: no clean-up at
    all; SIGINT: Ctrl-C sent to the whole process group, as a terminal does): every worker exits."""
    code = SERVER.format(root=str(ROOT), tests=str(ROOT / "tests" / "engine"))
    server = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True,
                              start_new_session=True)
    try:
        pids = [int(p) for p in server.stdout.readline().split()]
        assert len(pids) == 2 and not any(gone(p) for p in pids)
        if how == signal.SIGINT:
            os.killpg(server.pid, signal.SIGINT)          # the terminal's Ctrl-C: the whole group
        else:
            server.kill()
        server.wait(WAIT)
        assert wait_for(lambda: all(gone(p) for p in pids), WAIT)
    finally:
        if server.poll() is None:
            server.kill()
            server.wait()


def test_stop_while_the_worker_starts_ends_the_run_at_step_0():
    pool = WorkerPool(spares=0)                         # no warm worker: the run must start one
    try:
        run = long_worker_run(pool)
        run.start()
        run.stop()
        assert run.join(WAIT)
        end = run.snapshot().end
        assert run.status == "stopped" and end["step"] == 0 and "by the user at step 0" in end["reason"]
    finally:
        pool.close()


def test_a_worker_that_grew_past_the_bound_is_replaced_by_a_fresh_spare(monkeypatch):
    """An idle worker never keeps the memory of its largest job: above RNN_PLAYGROUND_WORKER_MAX_MB it is
    ended when its job is done and a fresh spare takes its place (here the bound is below any worker)."""
    pool = WorkerPool(spares=1)
    monkeypatch.setenv(MAX_MB_ENV, "1")
    try:
        run = long_worker_run(pool)
        run.start()
        assert wait_for(lambda: run.snapshot().step > 0, WAIT)
        pid = run.worker_pid
        run.stop()
        assert run.join(WAIT) and run.status == "stopped"
        assert wait_for(lambda: gone(pid), WAIT)                 # ended, not kept idle
        assert pool.pids() and pid not in pool.pids()           # a fresh spare waits instead
        monkeypatch.setenv(MAX_MB_ENV, "100000")
        again = WorkerRun(ModelConfig(hidden_size=4), TrainConfig(epochs=1, batch_size=16), sine_windows(),
                          idle_timeout=None, pool=pool)
        again.start()
        assert wait_for(lambda: again.worker_pid is not None, WAIT)
        kept = again.worker_pid
        assert again.join(WAIT) and kept in pool.pids()          # within the bound: it serves again
    finally:
        pool.close()


def test_runs_stopped_while_their_workers_start_leave_no_more_than_keep_workers():
    """Tabs closed while their runs' workers still import torch (the soak's 7 idle workers with keep = 3):
    each such worker goes back as a finished job's does, so the pool never holds more than `keep`."""
    pool = WorkerPool(spares=0, keep=2)
    starting = threading.Barrier(4, timeout=WAIT)

    def cancel() -> bool:
        starting.wait()                                  # all four runs hold a starting worker, then stop
        return True

    takes = [threading.Thread(target=pool.take, kwargs={"cancel": cancel}) for _ in range(4)]
    try:
        for t in takes:
            t.start()
        for t in takes:
            t.join(WAIT)
        assert not starting.broken and len(pool.pids()) <= 2, pool.pids()
    finally:
        pool.close()


def test_a_run_that_fails_on_the_server_side_ends_its_worker(monkeypatch):
    """An error between taking a worker and its job's end (here: its windows cannot be sent) ends the run
    with a sentence and ends the worker too, instead of leaving it alive outside the pool's count."""
    import rnn_core.serve.workers as workers

    def unsendable(windows):
        raise OSError("the pipe broke")

    monkeypatch.setattr(workers, "windows_to_bytes", unsendable)
    pool = WorkerPool(spares=1)
    try:
        run = WorkerRun(ModelConfig(hidden_size=4), TrainConfig(epochs=1, batch_size=16), sine_windows(),
                        idle_timeout=None, pool=pool)
        run.start()
        assert wait_for(lambda: run.worker_pid is not None, WAIT)
        pid = run.worker_pid
        assert run.join(WAIT) and "the pipe broke" in run.snapshot().end["reason"]
        assert wait_for(lambda: gone(pid), WAIT) and pid not in pool.pids()
    finally:
        pool.close()


def run_worker_children() -> set[int]:
    """This process's run_worker processes that are alive (exited ones waiting to be reaped not counted)."""
    alive = set()
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            state, parent = stat.read_text().rsplit(")", 1)[1].split()[:2]
            if int(parent) == os.getpid() and state not in ("Z", "X") and \
                    b"rnn_core.serve.run_worker" in (stat.parent / "cmdline").read_bytes():
                alive.add(int(stat.parent.name))
        except (OSError, ValueError):
            pass
    return alive


def test_workers_of_runs_ended_every_way_are_pooled_up_to_keep_or_ended():
    """Five runs at once on a pool that keeps 2 workers, each ending another way: completed, stopped,
    diverged, failed in its worker (weights that do not fit its network), its tab closed. Once all have
    ended, the processes the pool started are its idle workers, at most `keep`; every other one exited."""
    before = run_worker_children()
    pool = WorkerPool(spares=1, keep=2)
    pool.refill()
    tab_open = threading.Event()
    tab_open.set()
    short = TrainConfig(epochs=2, batch_size=16, probe_every=0)
    diverging = TrainConfig(optimizer="sgd", lr=10.0, momentum=0.0, clip="off", epochs=10, batch_size=16,
                            probe_batch=4)
    runs = {
        "completed": WorkerRun(ModelConfig(hidden_size=4), short, sine_windows(), idle_timeout=None, pool=pool),
        "stopped": long_worker_run(pool),
        "diverged": WorkerRun(ModelConfig(hidden_size=8, init="identity", gain=3.0), diverging, sine_windows(),
                              idle_timeout=None, pool=pool),
        "failed": WorkerRun(ModelConfig(hidden_size=4), short, sine_windows(), idle_timeout=None, pool=pool,
                            model=build_model(ModelConfig(hidden_size=8))),
        "tab closed": long_worker_run(pool, idle_timeout=600, watcher=tab_open.is_set),
    }
    try:
        for run in runs.values():
            run.start()
        assert wait_for(lambda: all(runs[k].snapshot().step > 0 for k in ("stopped", "tab closed")), WAIT)
        runs["stopped"].stop()
        tab_open.clear()
        assert all(run.join(WAIT) for run in runs.values())
        assert {k: run.status for k, run in runs.items()} == {
            "completed": "completed", "stopped": "stopped", "diverged": "diverged", "failed": "stopped",
            "tab closed": "stopped"}
        assert "on an error" in runs["failed"].snapshot().end["reason"]
        assert runs["tab closed"].snapshot().end["reason"].endswith("because its browser tab was closed.")
        assert all(run.worker_pid is not None for run in runs.values())      # each ran in a worker
        assert len(pool.pids()) <= pool.keep
        assert wait_for(lambda: run_worker_children() - before == set(pool.pids()), WAIT)
    finally:
        pool.close()
    assert wait_for(lambda: not run_worker_children() - before, WAIT)

