"""Overhead of the instrumented trainer over a plain PyTorch loop, per cell type.

Three variants train the same network (same initial weights), on the same windows, in the same batch
order, with the same optimiser (Adam, foreach=True, as train.py builds it) and the same clipping, in
one process, with the same torch thread count; repeats are interleaved (the variant order rotates)
and each figure is a median, of wall time and of the process's CPU time (the steadier one on a
shared machine; the ratios and the 1.15 target use it):
    plain    a bare loop on the fused nn.RNN / nn.LSTM / nn.GRU + linear head: forward, MSE, backward,
             clip_grad_norm_, step; no record, no sync, no evaluation (Jordan has no fused kernel: its
             plain loop drives the same Python-unrolled JordanRNN, so its ratio is trainer vs own loop)
    train()  rnn_core.train.train at the default TrainConfig (probe every 2nd epoch on 16 windows,
             validation loss after each epoch, W_hh spectra), every record consumed
    live     rnn_core.serve.live.LiveRun on its thread while this thread polls snapshot() every 0.5 s and
             rebuilds the Playground's figures from it, as the app's fragment does
Then a per-epoch breakdown of the trainer's extra work, timed piece by piece on a fresh model:
the split losses (a no-grad forward over the validation windows each epoch, over the training
windows once at epoch 0), the probe (when due), the spectra; what is left of the gap is per-step
bookkeeping (norms, records, generator).

    .venv/bin/python -m bench.overhead --epochs 20 --repeats 3   # what run_all runs (default epochs)
    .venv/bin/python -m bench.overhead --cells rnn,lstm --no-live      # 5 epochs, 5 repeats
Leaves to others: the trainer itself (rnn_core/nn/train.py), the probe (rnn_core/nn/probe.py).
"""

from __future__ import annotations

import copy
import dataclasses
import math
import time
from typing import Any

import torch
from torch import nn

from bench.common import (
    NO_CUDA,
    cuda_available,
    fmt_s,
    median,
    parser,
    redraw_figures,
    setup_threads,
    table,
    windows_subset,
)
from rnn_core.config import DataConfig, TrainConfig
from rnn_core.data.windows import naive_loss, prepare
from rnn_core.nn.cells import CELLS, cell_of
from rnn_core.nn.model_config import ModelConfig
from rnn_core.nn.models import build_model, spectra
from rnn_core.nn.probe import probe
from rnn_core.nn.train import steps_per_epoch, train
from rnn_core.serve.live import LiveRun

VARIANTS = ("plain", "train", "live")
TARGET = 1.15          # issue 8: at most 10–15 % over plain PyTorch
WALL, CPU = 0, 1       # indices into a (wall, cpu) timing


class PlainNet(nn.Module):
    """The cell's recurrent module and the head, nothing else: ŷ = W_out h_T + b_out."""

    def __init__(self, rnn: nn.Module, head: nn.Linear, output_feedback: bool = False):
        super().__init__()
        self.rnn, self.head, self.output_feedback = rnn, head, output_feedback

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.output_feedback:                                         # the head runs at every step
            _, y_hat = self.rnn(x, self.head)                            # (B, T, O)
            return y_hat[:, -1]                                          # (B, O)
        out, _ = self.rnn(x)                                             # (B, T, H)
        return self.head(out[:, -1])                                     # (B, O)


def plain_net(model_cfg: ModelConfig, seed: int) -> PlainNet:
    """A bare copy of what build_model builds (same weights for the same seed)."""
    model = build_model(model_cfg, seed=seed)
    return PlainNet(copy.deepcopy(model.rnn), copy.deepcopy(model.head), cell_of(model_cfg.cell).output_feedback)


def own_loop(cell: str) -> bool:
    """Does the cell's module unroll in Python (no fused torch kernel)?"""
    return not isinstance(cell_of(cell).module(ModelConfig(cell=cell)), nn.RNNBase)


def plain_loop(net: nn.Module, windows: Any, cfg: TrainConfig) -> None:
    """The loop one writes by hand: same data order (seeded randperm per epoch), optimiser and clipping."""
    device = torch.device(cfg.device)
    net.to(device).train()
    X = torch.as_tensor(windows.X_train, device=device)
    y = torch.as_tensor(windows.y_train, device=device)
    params = list(net.parameters())
    optimizer = torch.optim.Adam(params, lr=cfg.lr, foreach=True)
    shuffle = torch.Generator().manual_seed(cfg.seed)
    for _ in range(cfg.epochs):
        order = torch.randperm(len(X), generator=shuffle).to(device)
        for start in range(0, len(X), cfg.batch_size):
            idx = order[start:start + cfg.batch_size]
            optimizer.zero_grad(set_to_none=True)
            loss = nn.functional.mse_loss(net(X[idx]), y[idx])
            loss.backward()
            if cfg.clip == "norm":
                nn.utils.clip_grad_norm_(params, cfg.clip_value)
            elif cfg.clip == "value":
                nn.utils.clip_grad_value_(params, cfg.clip_value)
            optimizer.step()
    _sync(device)


def trainer_run(model_cfg: ModelConfig, windows: Any, cfg: TrainConfig) -> int:
    model = build_model(model_cfg, seed=cfg.seed)
    n = sum(1 for _ in train(model, windows, cfg))
    _sync(torch.device(cfg.device))
    return n


def live_run(model_cfg: ModelConfig, windows: Any, cfg: TrainConfig, poll: float = 0.5) -> int:
    """LiveRun with the app's polling: every `poll` s a snapshot and the figures of one redraw."""
    run = LiveRun(model_cfg, cfg, windows, idle_timeout=None)
    baseline = naive_loss(windows)              # the loss chart's dashed line, as the app draws it
    run.start()
    redraws = 0
    while not run.join(timeout=poll):
        redraw_figures(run.snapshot(), model_cfg.cell, cfg.clip, cfg.clip_value, baseline)
        redraws += 1
    return redraws


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize()


def _timed(fn, *args) -> tuple[float, float]:
    """(wall seconds, CPU seconds of this process): on a shared machine CPU time is the steadier one."""
    t0, c0 = time.perf_counter(), time.process_time()
    fn(*args)
    return time.perf_counter() - t0, time.process_time() - c0


def run_variant(variant: str, model_cfg: ModelConfig, windows: Any, cfg: TrainConfig) -> tuple[float, float]:
    if variant == "plain":
        net = plain_net(model_cfg, cfg.seed)
        return _timed(plain_loop, net, windows, cfg)
    if variant == "train":
        return _timed(trainer_run, model_cfg, windows, cfg)
    return _timed(live_run, model_cfg, windows, cfg)


def epoch_extras(model_cfg: ModelConfig, windows: Any, cfg: TrainConfig, repeats: int) -> dict[str, float]:
    """Median seconds of each piece of one epoch record, timed alone on a freshly built model."""
    device = torch.device(cfg.device)
    model = build_model(model_cfg, seed=cfg.seed).to(device)
    X = torch.as_tensor(windows.X_train, device=device)
    Xv = torch.as_tensor(windows.X_val, device=device)
    g = torch.Generator().manual_seed(cfg.seed)
    pick = torch.randperm(len(X), generator=g)[:cfg.probe_batch].sort().values
    Xp, yp = windows.X_train[pick.numpy()], windows.y_train[pick.numpy()]

    @torch.no_grad()
    def split_loss(part) -> None:
        model.eval()
        if len(part):
            model(part)
        model.train()
        _sync(device)

    pieces = {"train loss": lambda: split_loss(X), "val loss": lambda: split_loss(Xv),
              "probe": lambda: probe(model, Xp, yp), "spectra": lambda: spectra(model)}
    times: dict[str, list[float]] = {k: [] for k in pieces}
    for _ in range(repeats):
        for name, fn in pieces.items():
            times[name].append(_timed(fn)[CPU])
    return {k: median(v) for k, v in times.items()}


def measure(cells, windows, cfg: TrainConfig, repeats: int, variants=VARIANTS) -> dict:
    """{(cell, variant): [(wall, cpu) seconds per repeat]}, interleaved, after an untimed warm-up of each."""
    warm_cfg = dataclasses.replace(cfg, epochs=1)
    warm_w = windows_subset(windows, min(len(windows.X_train), 2 * cfg.batch_size), 8)
    for cell in cells:
        for v in variants:
            run_variant(v, ModelConfig(cell=cell), warm_w, warm_cfg)
    times: dict[tuple[str, str], list[tuple[float, float]]] = {(c, v): [] for c in cells for v in variants}
    for r in range(repeats):
        for cell in cells:
            k = r % len(variants)
            for v in variants[k:] + variants[:k]:           # rotate the order each repeat
                times[cell, v].append(run_variant(v, ModelConfig(cell=cell), windows, cfg))
    return times


def main(argv: list[str] | None = None, summary: list[str] | None = None) -> int:
    """Run the benchmark and print it; `summary` (when given) receives the lines run_all quotes."""
    p = parser("Instrumented trainer vs a plain PyTorch loop, per cell type.")
    p.add_argument("--cells", default=",".join(CELLS), help="comma-separated cells (default %(default)s)")
    p.add_argument("--epochs", type=int, default=5, help="epochs per run (default %(default)s)")
    p.add_argument("--repeats", type=int, default=5, help="interleaved repeats; medians (default %(default)s)")
    p.add_argument("--device", default="cpu", choices=("cpu", "cuda"))
    p.add_argument("--no-live", action="store_true", help="skip the LiveRun + redraw variant")
    args = p.parse_args(argv)
    if args.device == "cuda" and not cuda_available():
        print(NO_CUDA)
        return 0
    threads = setup_threads(args.threads)
    cells = [c.strip() for c in args.cells.split(",") if c.strip()]
    data_cfg = DataConfig()                               # the app's default: sine, T = 50, 1000 points
    epochs, repeats = args.epochs, args.repeats
    windows = prepare(data_cfg)
    if args.quick:
        data_cfg = DataConfig(timesteps=10, params={"length": 200})
        windows = windows_subset(prepare(data_cfg), 64, 16)
        epochs, repeats = 1, 1
    cfg = TrainConfig(epochs=epochs, device=args.device)
    variants = ("plain", "train") if args.no_live else VARIANTS
    n_train = len(windows.X_train)
    spe = steps_per_epoch(n_train, cfg.batch_size)
    print(f"## Overhead: rnn_core.train.train vs a plain PyTorch loop ({args.device})")
    print(f"data: {data_cfg.dataset}, {n_train} training + {len(windows.X_val)} validation windows × "
          f"T={data_cfg.timesteps}; H={ModelConfig().hidden_size}, 1 layer; batch {cfg.batch_size} → {spe} "
          f"steps/epoch; {epochs} epochs; Adam lr {cfg.lr}, clip {cfg.clip} {cfg.clip_value}; probe every "
          f"{cfg.probe_every} epoch on {cfg.probe_batch} windows; torch threads {threads}; {repeats} "
          "interleaved repeats, medians.")

    times = measure(cells, windows, cfg, repeats, variants)

    def med(cell: str, v: str, kind: int) -> float:
        return median([t[kind] for t in times[cell, v]])

    rows, ratios = [], {}
    for cell in cells:
        plain, plain_cpu = med(cell, "plain", WALL), med(cell, "plain", CPU)
        row = [cell + (" (own unrolled loop)" if own_loop(cell) else ""), f"{fmt_s(plain)} / {fmt_s(plain_cpu)}"]
        for v in variants[1:]:
            t, c = med(cell, v, WALL), med(cell, v, CPU)
            ratios[cell, v] = c / plain_cpu
            row += [f"{fmt_s(t)} / {fmt_s(c)}", f"{t / plain:.2f}× / {c / plain_cpu:.2f}×"]
        rows.append(row)
    headers = ["cell", "plain loop wall / CPU"]
    for v in variants[1:]:
        headers += [("train()" if v == "train" else "LiveRun + redraws") + " wall / CPU", "ratio wall / CPU"]
    print(table(headers, rows))

    print(f"\nWhere the trainer's extra CPU time goes, per epoch (each piece timed alone, median of "
          f"{max(3, repeats)}; % of a plain epoch's CPU time):")
    rows = []
    for cell in cells:
        plain_epoch = med(cell, "plain", CPU) / epochs
        gap_epoch = (med(cell, "train", CPU) - med(cell, "plain", CPU)) / epochs
        extra = epoch_extras(ModelConfig(cell=cell), windows, cfg, max(3, repeats))
        # epochs + 1 epoch records (epoch 0 = at initialisation) spread over `epochs` epochs: the full
        # training-split loss only at epoch 0, the validation loss and spectra every time, the probe
        # when due (epoch 0, every probe_every, the last)
        probed = len({0, epochs, *range(0, epochs + 1, max(1, cfg.probe_every))}) if cfg.probe_every else 0
        counts = {"train loss": 1, "val loss": epochs + 1, "probe": probed, "spectra": epochs + 1}
        per_epoch = {k: extra[k] * counts[k] / epochs for k in counts}
        per_epoch["split losses"] = per_epoch.pop("train loss") + per_epoch.pop("val loss")
        rest = gap_epoch - sum(per_epoch.values())

        def pct(s: float, base: float = plain_epoch) -> str:
            return f"{fmt_s(s)} ({100 * s / base:+.0f}%)" if base > 0 else fmt_s(s)

        rows.append([cell, fmt_s(plain_epoch), pct(per_epoch["split losses"]), pct(per_epoch["probe"]),
                     pct(per_epoch["spectra"]), pct(rest), pct(gap_epoch)])
    print(table(["cell", "plain epoch", "split losses", "probe", "spectra", "rest (per-step bookkeeping)",
                 "total gap"], rows))

    worst = max(ratios[c, "train"] for c in cells)
    met = [c for c in cells if ratios[c, "train"] <= TARGET]
    print(f"\ntarget train()/plain ≤ {TARGET:.2f} (CPU time): " + ("met for every cell" if len(met) == len(cells) else
          f"met for {', '.join(met) or 'no cell'}; worst {worst:.2f}×"))
    if summary is not None:
        summary.append(f"Overhead ({args.device}, default settings, {epochs} epochs, CPU time): train()/plain = "
                       + ", ".join(f"{c} {ratios[c, 'train']:.2f}×" for c in cells)
                       + (f" → target ≤ {TARGET:.2f} " + ("met" if len(met) == len(cells) else "NOT met")))
        if "live" in variants:
            summary.append("LiveRun + the app's redraws every 0.5 s / plain (CPU): "
                           + ", ".join(f"{c} {ratios[c, 'live']:.2f}×" for c in cells))
    if args.device == "cpu" and not cuda_available():
        print(NO_CUDA)
    return 0 if all(math.isfinite(r) for r in ratios.values()) else 1


if __name__ == "__main__":
    raise SystemExit(main())
