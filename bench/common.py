"""Shared helpers of the benchmark scripts: argument parsing, torch threads, tables, CSV, medians.

Holds `parser(description)` (the flags every script shares: --quick, --threads, --out),
`setup_threads(n)`, `table(headers, rows)`, `write_csv(path, headers, rows)`, `median`, `fmt_s`,
`cuda_available()` / `NO_CUDA` and `windows_subset(windows, n)`.
Leaves to the scripts what they measure; nothing here times anything by itself.
"""

from __future__ import annotations

import argparse
import csv
import statistics
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

import torch

ROOT = Path(__file__).resolve().parent.parent
OUT_DIR = ROOT / "bench" / "out"          # git-ignored
NO_CUDA = "CUDA: no CUDA device is present here (torch.cuda.is_available() is False); GPU figures not measured."


def default_threads() -> int:
    """What one app run uses: CPUs ÷ admission slots (1 with the default slots), at most 4."""
    from rnn_core.serve.admission import threads_per_run

    return min(4, threads_per_run())


def parser(description: str) -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(description=description)
    p.add_argument("--quick", action="store_true", help="a tiny setting that runs in seconds (smoke test)")
    p.add_argument("--threads", type=int, default=default_threads(),
                   help="torch intra-op threads, the same for every variant (default: what the app uses)")
    p.add_argument("--out", type=Path, default=OUT_DIR, help="folder for CSV output (default bench/out/)")
    return p


def setup_threads(n: int) -> int:
    """Set torch's intra-op threads to n (both raising and lowering) and return the number in force."""
    torch.set_num_threads(max(1, n))
    return torch.get_num_threads()


def cuda_available() -> bool:
    return torch.cuda.is_available()


def median(xs: Sequence[float]) -> float:
    return float(statistics.median(xs)) if xs else float("nan")


def fmt_s(seconds: float) -> str:
    """Seconds with 3 significant digits, as ms below 1 s."""
    if seconds != seconds:      # NaN
        return "—"
    ms = float(f"{seconds * 1000:.3g}")       # 999.7 ms rounds to 1000: say "1 s", not "1e+03 ms"
    return f"{ms:g} ms" if ms < 1000 else f"{seconds:.3g} s"


def table(headers: Sequence[str], rows: Sequence[Sequence[Any]]) -> str:
    """A plain-text table with aligned columns (a Markdown table, so docs/benchmarks.md can quote it)."""
    cells = [[str(h) for h in headers]] + [[str(c) for c in row] for row in rows]
    widths = [max(len(r[i]) for r in cells) for i in range(len(headers))]
    lines = ["| " + " | ".join(c.ljust(w) for c, w in zip(r, widths)) + " |" for r in cells]
    lines.insert(1, "|" + "|".join("-" * (w + 2) for w in widths) + "|")
    return "\n".join(lines)


def write_csv(path: Path, headers: Sequence[str], rows: Sequence[Sequence[Any]]) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(headers)
        w.writerows(rows)
    return path


def windows_subset(windows: Any, n_train: int, n_val: int | None = None) -> Any:
    """The same Windows with only the first `n_train` training (and `n_val` validation) windows."""
    n_val = len(windows.X_val) if n_val is None else n_val
    return replace(windows, X_train=windows.X_train[:n_train], y_train=windows.y_train[:n_train],
                   idx_train=windows.idx_train[:n_train], X_val=windows.X_val[:n_val],
                   y_val=windows.y_val[:n_val], idx_val=windows.idx_val[:n_val])


def redraw_builders(snap: Any, cell: str, clip: str, clip_value: float, baseline: float | None) -> dict:
    """The figures the Playground rebuilds on every redraw while a run trains (ui/views.draw_run), by
    name, as zero-argument builders: loss, grad_time, heatmap, gates, grad_norm, param_norms, spectra.
    (The predictions figure is computed only when a run is paused or finished, so it is not part of
    a live redraw.)"""
    from plots import gradients as G
    from plots import series as S
    from rnn_core.nn.cells import cell_of

    probe = G.latest_probe(snap.epochs)
    return {
        "loss": lambda: S.loss_figure(snap.steps, snap.epochs, baseline, True),
        "grad_time": lambda: G.gradient_time_figure(probe, True, True),
        "heatmap": lambda: G.gradient_heatmap_figure(snap.epochs, layer=0),
        "gates": lambda: G.gates_figure(probe if cell_of(cell).gates else None, cell),
        "grad_norm": lambda: S.grad_norm_figure(snap.steps, clip, clip_value, True),
        "param_norms": lambda: S.param_norms_figure(snap.epochs, True),
        "spectra": lambda: S.spectra_figure(snap.epochs, (probe or {}).get("gamma", 1.0)),
    }


def redraw_figures(snap: Any, cell: str, clip: str, clip_value: float, baseline: float | None) -> dict:
    """{name: go.Figure} of one live redraw (see `redraw_builders`)."""
    return {name: build() for name, build in redraw_builders(snap, cell, clip, clip_value, baseline).items()}


def figure_bytes(fig: Any) -> int:
    """Bytes of the figure's JSON as st.plotly_chart sends it (plotly.io.to_json, unvalidated)."""
    import plotly.io as pio

    return len(pio.to_json(fig, validate=False).encode())
