"""How the cost of an epoch grows with the timesteps T and the hidden size H, per cell type.

Two sweeps per cell (Elman tanh, LSTM, GRU, Jordan): T = 25 → 400 at H = 32, and H = 16 → 256 at
T = 50, one layer, batch 32. To keep the whole run to a few minutes on 2 cores each epoch holds only
128 training windows (4 optimiser steps) and 32 validation windows of a sine series; the trainer
still does all its per-epoch work (split losses, the probe on 16 windows, spectra), which is
therefore a larger share of an epoch here than with a full dataset. Seconds per epoch, wall (the
trainer's own clock between epoch records) and CPU time of the process, median over the epochs after
the first; the plain loop of bench/overhead.py timed per epoch the same way. The tables and the fits
use CPU time (steadier on a shared machine); the CSV holds both.
Prints a table, writes bench/out/scaling.csv, fits s(T) = a + b·T per cell and states whether the
cost grows linearly in T (and where not, from the local exponent d log s / d log T).

    .venv/bin/python -m bench.scaling
    .venv/bin/python -m bench.scaling --cells lstm --timesteps 25,100,400 --hidden 32,128
Leaves to others: the trainer (rnn_core/nn/train.py), the probe (rnn_core/nn/probe.py).
"""

from __future__ import annotations

import math

import numpy as np

from bench.common import fmt_s, parser, setup_threads, table, windows_subset, write_csv
from bench.stock_setup import medians, plain_epoch_seconds, trainer_epoch_seconds
from rnn_core.config import DataConfig, TrainConfig
from rnn_core.data.windows import prepare
from rnn_core.nn.cells import CELLS
from rnn_core.nn.model_config import ModelConfig

TIMESTEPS = (25, 50, 100, 200, 400)
HIDDEN = (16, 32, 64, 128, 256)
BASE_T, BASE_H = 50, 32
HEADERS = ["sweep", "cell", "timesteps", "hidden", "train_windows", "trainer_wall_s_per_epoch",
           "trainer_cpu_s_per_epoch", "plain_wall_s_per_epoch", "plain_cpu_s_per_epoch", "ratio_cpu"]
TRAIN_CPU, PLAIN_CPU, RATIO = 6, 8, 9      # columns of a row


def sweep_windows(T: int, n_train: int, n_val: int):
    """A sine series long enough for n_train + n_val windows of length T (70/15/15 split), cut to size."""
    length = T + int((n_train + n_val) / 0.7) + 40
    return windows_subset(prepare(DataConfig(timesteps=T, params={"length": length})), n_train, n_val)


def measure_point(cell: str, T: int, H: int, windows, epochs: int) -> tuple[float, float, float, float]:
    """(trainer wall, trainer CPU, plain wall, plain CPU) seconds per epoch, medians."""
    cfg = TrainConfig(epochs=epochs)
    model_cfg = ModelConfig(cell=cell, hidden_size=H)
    return (*medians(trainer_epoch_seconds(model_cfg, windows, cfg)[1:]),
            *medians(plain_epoch_seconds(model_cfg, windows, cfg)[1:]))


def linear_fit(x: list[float], y: list[float]) -> tuple[float, float, float]:
    """Least squares y = a + b·x; returns (a, b, R²)."""
    X, Y = np.asarray(x, float), np.asarray(y, float)
    b, a = np.polyfit(X, Y, 1)
    ss_res = float(((Y - (a + b * X)) ** 2).sum())
    ss_tot = float(((Y - Y.mean()) ** 2).sum())
    return float(a), float(b), 1.0 - ss_res / ss_tot if ss_tot > 0 else 1.0


def local_exponents(x: list[float], y: list[float]) -> list[float]:
    """d log y / d log x between consecutive points: 1 = linear, 0 = flat, 2 = quadratic."""
    return [math.log(y2 / y1) / math.log(x2 / x1) for x1, x2, y1, y2 in zip(x, x[1:], y, y[1:])
            if y1 > 0 and y2 > 0]


def verdict_T(cell: str, Ts: list[int], ys: list[float]) -> str:
    """One sentence on whether seconds per epoch grow linearly in T for this cell."""
    a, b, r2 = linear_fit(Ts, ys)
    ex = local_exponents(Ts, ys)
    pairs = ", ".join(f"{t1}→{t2}: {e:.2f}" for t1, t2, e in zip(Ts, Ts[1:], ex))
    fixed = a / (a + b * Ts[-1]) if a > 0 else 0.0
    linear = r2 >= 0.98
    words = "linear" if linear else "NOT linear"
    where = ""
    if ex and ex[-1] > 1.2:
        where = f"; super-linear at the long end (exponent {ex[-1]:.2f})"
    elif ex and min(ex) < 0.7:
        where = (f"; sub-linear at short windows (a fixed cost a = {fmt_s(a)} per epoch, "
                 f"{100 * fixed:.0f}% at T={Ts[-1]})")
    return (f"{cell}: s/epoch ≈ {fmt_s(max(a, 0.0))} + {b * 1000:.3g} ms·T, R² = {r2:.3f} → {words} in T"
            f"{where}; local exponents {pairs}")


def main(argv: list[str] | None = None, summary: list[str] | None = None) -> int:
    """Run the benchmark and print it; `summary` (when given) receives the lines run_all quotes."""
    p = parser("Seconds per epoch against timesteps and hidden size, per cell; CSV to bench/out/.")
    p.add_argument("--cells", default=",".join(CELLS))
    p.add_argument("--timesteps", default=",".join(map(str, TIMESTEPS)))
    p.add_argument("--hidden", default=",".join(map(str, HIDDEN)))
    p.add_argument("--windows", type=int, default=128, help="training windows per epoch (default %(default)s)")
    p.add_argument("--epochs", type=int, default=3, help="epochs per point; the first is not counted")
    args = p.parse_args(argv)
    threads = setup_threads(args.threads)
    cells = [c for c in args.cells.split(",") if c]
    Ts = [int(t) for t in args.timesteps.split(",") if t]
    Hs = [int(h) for h in args.hidden.split(",") if h]
    n_train, epochs, base_T, base_H = args.windows, max(2, args.epochs), BASE_T, BASE_H
    if args.quick:
        cells, Ts, Hs, n_train, epochs, base_T, base_H = ["rnn", "lstm"], [5, 10, 20], [4, 8], 32, 2, 10, 8
    n_val = max(8, n_train // 4)
    print("## Scaling: seconds per epoch against timesteps T and hidden size H")
    print(f"{n_train} training + {n_val} validation windows per epoch (a sine series; fewer windows than a "
          f"real run so the sweep takes minutes), batch 32, 1 layer, default TrainConfig (probe every "
          f"2nd epoch on 16 windows); {epochs} epochs per point, first not counted; torch threads {threads}.")

    rows: list[list] = []
    windows_by_T = {T: sweep_windows(T, n_train, n_val) for T in sorted({*Ts, base_T})}
    by_T: dict[str, list[float]] = {c: [] for c in cells}
    for cell in cells:
        for T in Ts:
            t = measure_point(cell, T, base_H, windows_by_T[T], epochs)
            by_T[cell].append(t[1])
            rows.append(["timesteps", cell, T, base_H, n_train, *t, t[1] / t[3]])
        for H in Hs:
            t = measure_point(cell, base_T, H, windows_by_T[base_T], epochs)
            rows.append(["hidden", cell, base_T, H, n_train, *t, t[1] / t[3]])

    for sweep, key in (("timesteps", 2), ("hidden", 3)):
        fixed = f"H={base_H}" if sweep == "timesteps" else f"T={base_T}"
        print(f"\n{sweep} sweep ({fixed}): trainer CPU s/epoch (plain loop CPU s/epoch, ratio)")
        values = Ts if sweep == "timesteps" else Hs
        grid = []
        for cell in cells:
            cells_row = [cell]
            for v in values:
                r = next(r for r in rows if r[0] == sweep and r[1] == cell and r[key] == v)
                cells_row.append(f"{fmt_s(r[TRAIN_CPU])} ({fmt_s(r[PLAIN_CPU])}, {r[RATIO]:.2f}×)")
            grid.append(cells_row)
        print(table(["cell", *[f"{'T' if sweep == 'timesteps' else 'H'}={v}" for v in values]], grid))

    print("\nLinear in T? (fit of the trainer's CPU s/epoch over the timesteps sweep)")
    for cell in cells:
        line = verdict_T(cell, Ts, by_T[cell])
        print("- " + line)
        if summary is not None:
            summary.append("Scaling in T: " + line.split("; local exponents")[0])
    print("\nGrowth in H (local exponents d log s / d log H of the trainer's CPU s/epoch; 2 = quadratic):")
    for cell in cells:
        ys = [next(r[TRAIN_CPU] for r in rows if r[0] == "hidden" and r[1] == cell and r[3] == H) for H in Hs]
        ex = local_exponents(Hs, ys)
        print(f"- {cell}: " + ", ".join(f"{h1}→{h2}: {e:.2f}" for h1, h2, e in zip(Hs, Hs[1:], ex)))

    path = write_csv(args.out / "scaling.csv", HEADERS,
                     [[*r[:5], *(f"{v:.6f}" for v in r[5:9]), f"{r[9]:.4f}"] for r in rows])
    print(f"\nwrote {path}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
