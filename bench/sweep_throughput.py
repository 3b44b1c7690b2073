"""Sweep throughput: runs per second of one fixed grid on each backend of `rnn_core.sweep`, and the
overhead per run against the same trials in one plain loop in this process.

Variants: "one loop" (`run_trial` called in a loop here: the work itself), local worker processes
(1 and 2, or `--workers`), and a local Ray instance with 2 CPUs (when Ray is installed; otherwise one
line says why). Every variant trains the same trials; the script checks that they all return the
same records (all fields but the wall time).

Overhead per run = (workers × wall − loop wall) / runs: the CPU-seconds each run costs beyond its own
training when the workers are kept busy — process or Ray start-up, shipping configs and records,
imports. Wall time includes starting the worker processes (each imports torch) or the Ray instance.

    .venv/bin/python -m bench.sweep_throughput                  # 24 runs (2 cells × 2 T × 3 gains × 2 seeds)
    .venv/bin/python -m bench.sweep_throughput --quick          # 4 tiny runs, seconds
    RAY_ADDRESS=ray://head:10001 .venv/bin/python -m bench.sweep_throughput --workers 8 --ray-only
Leaves to others: the runs and backends (`rnn_core/sweep/trials.py`).
"""

from __future__ import annotations

import os
import time

from bench.common import parser, table
from rnn_core.config import DataConfig, TrainConfig
from rnn_core.nn.model_config import ModelConfig
from rnn_core.sweep.backends import ray_available, run_sweep
from rnn_core.sweep.trials import grid, run_trial


def trials(quick: bool):
    if quick:
        return grid(["rnn", "gru"], [5], [0.5, 1.5], 1, model=ModelConfig(hidden_size=4, init="orthogonal"),
                    data=DataConfig(dataset="adding", params={"n_samples": 120}), train=TrainConfig(epochs=1))
    return grid(["rnn", "gru"], [10, 25], [0.5, 1.0, 1.5], 2, model=ModelConfig(hidden_size=16, init="orthogonal"),
                data=DataConfig(dataset="adding", params={"n_samples": 400}), train=TrainConfig(epochs=2))


def _same(a: list[dict], b: list[dict]) -> bool:
    def strip(rs):
        return sorted(({k: v for k, v in r.items() if k != "seconds"} for r in rs), key=lambda r: r["key"])
    return strip(a) == strip(b)


def main(argv: list[str] | None = None, summary: list[str] | None = None) -> int:
    p = parser("Runs per second of a fixed sweep grid: one loop, worker processes, local Ray.")
    p.add_argument("--workers", default="1,2", help="worker-process counts to measure (%(default)s)")
    p.add_argument("--ray-workers", type=int, default=2, help="CPUs of the local Ray instance (%(default)s)")
    p.add_argument("--ray-only", action="store_true", help="measure only the loop and Ray (e.g. on a cluster)")
    p.add_argument("--no-ray", action="store_true", help="leave Ray out")
    args = p.parse_args(argv)
    summary = summary if summary is not None else []
    ts = trials(args.quick)
    n = len(ts)
    what = "quick" if args.quick else ("rnn, gru × T 10, 25 × gain 0.5, 1, 1.5 × 2 seeds; H 16, adding, "
                                       "400 samples, 2 epochs")
    print(f"## Sweep throughput: {n} runs ({what}), {os.cpu_count()} CPUs")

    t0 = time.perf_counter()
    loop = [run_trial(t) for t in ts]
    loop_wall = time.perf_counter() - t0
    rows = [["one loop (this process)", 1, f"{loop_wall:.1f}", f"{n / loop_wall:.2f}", "—", "—"]]
    variants = [] if args.ray_only else [("local", int(w)) for w in args.workers.split(",") if w.strip()]
    why = "left out (--no-ray)." if args.no_ray else ray_available()
    if why is None:
        variants.append(("ray", args.ray_workers))
    for backend, workers in variants:
        t0 = time.perf_counter()
        records = list(run_sweep(ts, backend=backend, workers=workers))
        wall = time.perf_counter() - t0
        name = (f"Ray at {os.environ['RAY_ADDRESS']}" if backend == "ray" and os.environ.get("RAY_ADDRESS")
                else "local Ray" if backend == "ray" else "worker processes")
        overhead = (workers * wall - loop_wall) / n
        rows.append([name, workers, f"{wall:.1f}", f"{n / wall:.2f}", f"{overhead:+.2f}",
                     "yes" if _same(records, loop) else "NO"])
    print(table(["backend", "workers", "wall s", "runs/s", "overhead s/run", "same records"], rows))
    if why:
        print(f"Ray not measured: {why}")
    best = max(rows[1:], key=lambda r: float(r[3]), default=None)
    summary.append(f"Sweep ({n} runs): one loop {n / loop_wall:.2f} runs/s"
                   + (f"; best {best[0]} × {best[1]}: {best[3]} runs/s" if best else ""))
    return 0 if all(r[5] in ("yes", "—") for r in rows) else 1


if __name__ == "__main__":
    raise SystemExit(main())
