"""Several runs on one server: how many torch threads per run, and what the admission queue buys.

Part 1, threads: C runs train at once in this process (LiveRun threads, as in the Streamlit server),
each with t torch intra-op threads, for --seconds each from the moment every run has taken a step;
the table gives the optimiser steps per second of all runs together and the process's CPU seconds
per step. The best t for C runs is the one with
the most steps per second; with C ≥ the CPUs it is 1 (more threads only oversubscribe the cores).

Part 2, the queue: the same M runs of a fixed length (the "small preset": sine, T = 20, H = 16, Elman
tanh) started together with `slots` = 1, 2, … M admission slots (one torch thread each). Reports the
makespan (all done), the mean completion time per run (what a student waits for their own result),
the mean queue wait, and the mean wait for the first step. With fewer slots than runs the early runs
finish much sooner and the makespan stays about the same, because the cores were full anyway.

Part 3, threads or worker processes: C runs as LiveRun threads here and as WorkerRuns
(`rnn_core.serve.workers`, warm workers, started before the clock), steps per second of all runs and the CPU
this process — the Streamlit server's role — spends per step: what the GIL is left for everyone's
script reruns.

    .venv/bin/python -m bench.admission                 # ≈ 2 min on an idle 2-core machine
    .venv/bin/python -m bench.admission --quick
Leaves to others: the queue (`rnn_core/serve/admission.py`) and the runs (`rnn_core/serve/live.py`).
"""

from __future__ import annotations

import os
import time

from bench.common import fmt_s, median, parser, table
from rnn_core.config import DataConfig, TrainConfig
from rnn_core.data.windows import prepare
from rnn_core.nn.model_config import ModelConfig
from rnn_core.nn.train import warm_up
from rnn_core.serve.admission import TORCH_THREADS_ENV, Admission, cpus
from rnn_core.serve.live import LiveRun
from rnn_core.serve.worker_pool import WorkerPool
from rnn_core.serve.workers import WorkerRun

DATA = DataConfig(dataset="sine", timesteps=20, params={"length": 1000})
MODEL = ModelConfig(cell="rnn", hidden_size=16)


def _windows():
    return prepare(DATA.validate())


def _runs(n: int, admission: Admission, epochs: int, windows, pool: WorkerPool | None = None) -> list[LiveRun]:
    """n runs (seeds 0…n-1): LiveRun threads here, or WorkerRuns in `pool`'s processes."""
    cfg = TrainConfig(epochs=epochs, batch_size=16, probe_every=0)
    extra = {"pool": pool} if pool is not None else {}
    kind = WorkerRun if pool is not None else LiveRun
    return [kind(MODEL, TrainConfig(**{**cfg.__dict__, "seed": i}), windows, idle_timeout=None,
                 admission=admission, **extra) for i in range(n)]


def threads_row(concurrent: int, threads: int, seconds: float, windows, workers: bool = False) -> list:
    """Steps per second of `concurrent` runs with `threads` torch threads each, over `seconds`; with
    `workers` the runs train in warm worker processes and the CPU column is this (the server's) process."""
    os.environ[TORCH_THREADS_ENV] = str(threads)
    pool = None
    if workers:
        pool = WorkerPool(spares=concurrent)
        pool.refill()
        pool.wait_ready()
    runs = _runs(concurrent, Admission(slots=concurrent), 500, windows, pool)
    for r in runs:
        r.start()
    while any(r.snapshot(max_points=2).step == 0 for r in runs):     # start-up is not part of the rate
        time.sleep(0.01)
    cpu0, steps0 = time.process_time(), sum(r.snapshot(max_points=2).step for r in runs)
    time.sleep(seconds)
    steps = sum(r.snapshot(max_points=2).step for r in runs) - steps0
    cpu = time.process_time() - cpu0
    for r in runs:
        r.stop()
    for r in runs:
        r.join(30)
    if pool is not None:
        pool.close()
    return [concurrent, threads, f"{steps / seconds:.0f}", f"{cpu / max(steps, 1) * 1000:.2f}"]


def queue_row(runs_n: int, slots: int, epochs: int, windows) -> list:
    os.environ[TORCH_THREADS_ENV] = "1"
    admission = Admission(slots=slots)
    runs = _runs(runs_n, admission, epochs, windows)
    t0 = time.monotonic()
    for r in runs:
        r.start()
    first_step, done = {}, {}
    while len(done) < runs_n:
        now = time.monotonic() - t0
        for i, r in enumerate(runs):
            if i not in first_step and r.snapshot(max_points=2).step > 0:
                first_step[i] = now
            if i not in done and not r.join(0):
                continue
            done.setdefault(i, now)
        time.sleep(0.02)
    waits = list(admission.waits)
    return [runs_n, slots, fmt_s(max(done.values())), fmt_s(sum(done.values()) / runs_n),
            fmt_s(sum(waits) / len(waits)), fmt_s(median(list(first_step.values())))]


def main(argv: list[str] | None = None) -> None:
    p = parser(__doc__.splitlines()[0])
    p.add_argument("--seconds", type=float, default=6.0, help="training time per threads variant")
    p.add_argument("--runs", type=int, default=4, help="runs started together in part 2")
    p.add_argument("--epochs", type=int, default=6, help="epochs of each run in part 2")
    args = p.parse_args(argv)
    if args.quick:
        args.seconds, args.runs, args.epochs = 1.0, 2, 1
    windows = _windows()
    warm_up()                   # torch's one-off start-up costs, not part of any variant
    n = cpus()
    print(f"{n} CPU(s) available to this process\n")
    rows = []
    for concurrent in sorted({1, n, 2 * n} if not args.quick else {1, 2}):
        for threads in sorted({1, n} if not args.quick else {1}):
            rows.append(threads_row(concurrent, threads, args.seconds, windows))
    print("Part 1: steps per second of C concurrent runs, t torch threads each")
    print(table(["C runs", "t threads", "steps/s (all runs)", "CPU ms / step"], rows))
    qrows = [queue_row(args.runs, slots, args.epochs, windows)
             for slots in sorted({1, min(n, args.runs), args.runs})]
    print(f"\nPart 2: {args.runs} runs of {args.epochs} epochs started together, 1 torch thread each")
    print(table(["runs", "slots", "all done", "mean done", "mean queue wait", "median first step"], qrows))
    wrows = [[kind, *threads_row(concurrent, 1, args.seconds, windows, workers=kind == "worker processes")]
             for concurrent in sorted({1, n} if not args.quick else {1})
             for kind in ("threads here", "worker processes")]
    print("\nPart 3: C runs on threads in this process (the server) or in worker processes, 1 torch thread each")
    print(table(["runs on", "C runs", "t threads", "steps/s (all runs)", "this process's CPU ms / step"], wrows))


if __name__ == "__main__":
    main()
