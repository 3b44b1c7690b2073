"""Training curves, from the step and epoch records of `rnn_core.nn.train` (format: docs/architecture.md).

    loss_figure(steps, epochs, baseline, log_y, baseline_label, y_title)   loss per step (thin) and per epoch
    add_ghost_loss(fig, epochs, label, log_y)                     another run's loss per epoch, dashed
    grad_norm_figure(steps, clip, clip_value, log_y)              ‖g‖ per step, clipping marked
    param_norms_figure(epochs, log_y)                             ‖∂L/∂W‖ per parameter over epochs
    spectra_figure(epochs, gamma, matrix, bounded)                σ_max and spectral radius over epochs
    param_label(name)                                             "rnn.weight_hh_l0" → "W_hh, layer 1"
Series longer than `points.MAX_POINTS` are decimated (bucket min/max, so spikes survive).
Leaves to others: the gradient through time (`plots/gradients.py`), the look (`plots/style.py`).
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence

import numpy as np
import plotly.graph_objects as go

from plots.axes import relog
from plots.points import clean, positive, thin
from plots.spec import figure, hline, scatter
from plots.style import COLORS, LAYER_COLORS, drawn, empty, legend_below_if_long, legend_names
from rnn_core.readable import D3, readable


def loss_figure(steps: Sequence[dict], epochs: Sequence[dict], baseline: float | None = None,
                log_y: bool = True, baseline_label: str = "persistence baseline",
                y_title: str = "MSE (scaled units)") -> go.Figure:
    """Training loss per step (thin), train and validation loss per epoch (markers), the baseline
    dashed. x is the optimiser step; epoch records sit at the step they closed. `y_title`: the loss's
    name (the task's `loss_label`)."""
    title = "Loss"
    if not steps and not epochs:
        return empty(title, "Press Train: the loss appears here.")
    values = positive if log_y else clean
    traces, shapes, labels = [], [], []
    if steps:
        x, y = thin([r["step"] for r in steps], values([r["loss"] for r in steps]))
        traces.append(scatter(x, y, mode="lines", name="train (per step)",
                              line={"color": COLORS["train"], "width": 1}, opacity=0.45))
    for field, name, color in (("train_loss", "train (epoch)", COLORS["train"]),
                               ("val_loss", "validation (epoch)", COLORS["val"])):
        ep = [r for r in epochs if r.get(field) is not None]
        if ep:
            traces.append(scatter(np.array([r["step"] for r in ep]), values([r[field] for r in ep]),
                                  mode="lines+markers", name=name, line={"color": color, "width": 2.5},
                                  customdata=[r["epoch"] for r in ep],
                                  hovertemplate="epoch %{customdata}: %{y:" + D3["value"] + "}"))
    if baseline is not None and math.isfinite(baseline) and (baseline > 0 or not log_y):
        shape, label = hline(baseline, {"color": COLORS["baseline"], "dash": "dash", "width": 2},
                             f"{baseline_label} {readable(baseline)}", "top left")
        shapes.append(shape)
        labels.append(label)
        traces.append(scatter([None], [None], mode="lines", name=baseline_label,
                              line={"color": COLORS["baseline"], "dash": "dash"}))
    return figure(traces, title, "optimiser step", y_title, log_y, shapes=shapes, annotations=labels, told_apart=True)


def add_ghost_loss(fig: go.Figure, epochs: Sequence[dict], label: str, log_y: bool = True) -> go.Figure:
    """Draw another run's loss per epoch (validation, else training) on a `loss_figure`, dashed, at the
    step each epoch closed: the same setup with another cell, without leaving the page."""
    pts = [(r["step"], r.get("val_loss") if r.get("val_loss") is not None else r.get("train_loss"))
           for r in epochs if r.get("step") is not None]
    pts = [(s, v) for s, v in pts if v is not None]
    if not drawn(fig) or not pts:
        return fig
    values = positive if log_y else clean
    before = len(legend_names(fig))
    fig.add_trace(go.Scatter(x=np.array([s for s, _ in pts]), y=values([v for _, v in pts]), mode="lines+markers",
                             name=label, line={"color": COLORS["ghost"], "width": 2.5, "dash": "dash"},
                             marker={"size": 5}))
    legend_below_if_long(fig, before)
    return relog(fig) if log_y else fig


def grad_norm_figure(steps: Sequence[dict], clip: str = "off", clip_value: float | None = None,
                     log_y: bool = True) -> go.Figure:
    """Total gradient norm per step (before clipping), the clipping threshold, clipped steps marked."""
    title = "Gradient norm per step (before clipping)"
    if not steps:
        return empty(title, "The gradient norm per step appears here.")
    values = positive if log_y else clean
    x, y = thin([r["step"] for r in steps], values([r["grad_norm"] for r in steps]))
    traces, shapes = [scatter(x, y, mode="lines", name="‖g‖", line={"color": COLORS["train"], "width": 1.3})], []
    clipped = [r for r in steps if r.get("clipped")]
    if clipped:
        cx, cy = thin([r["step"] for r in clipped], values([r["grad_norm"] for r in clipped]))
        traces.append(scatter(cx, cy, mode="markers", name=f"clipped ({len(clipped)} steps)",
                              marker={"color": COLORS["clip"], "symbol": "x", "size": 6}))
    if clip == "norm" and clip_value:
        # named in the legend, not on the line, where the clipped steps' crosses covered a label
        shapes.append(hline(clip_value, {"color": COLORS["clip"], "dash": "dash"})[0])
        traces.append(scatter([None], [None], mode="lines", name=f"clip at ‖g‖ = {readable(clip_value)}",
                              line={"color": COLORS["clip"], "dash": "dash"}))
    return figure(traces, title, "optimiser step", "‖∂L/∂θ‖", log_y, shapes=shapes, told_apart=True)


_PARAM_PART = re.compile(r"^(?:rnn\.)?(weight|bias)_(ih|hh|hy)_l(\d+)$")
_PARAM_SYMBOL = {"ih": "xh", "hh": "hh", "hy": "hy"}    # h_t = φ(W_xh·x_t + W_hh·h_{t−1} + b)


def param_label(name: str) -> str:
    """A parameter's name as the equations write it: "rnn.weight_hh_l0" → "W_hh, layer 1",
    "rnn.bias_ih_l1" → "b_xh, layer 2", "head.weight" → "W_out (output layer)"."""
    m = _PARAM_PART.match(name)
    if m:
        kind, part, layer = m.groups()
        return f"{'W' if kind == 'weight' else 'b'}_{_PARAM_SYMBOL[part]}, layer {int(layer) + 1}"
    if name.startswith("head."):
        return "W_out (output layer)" if name.endswith("weight") else "b_out (output layer)"
    return name


def param_norms_figure(epochs: Sequence[dict], log_y: bool = True, max_params: int = 12) -> go.Figure:
    """Per-parameter gradient norm over epochs (one line per tensor, e.g. rnn.weight_hh_l0, labelled
    "W_hh, layer 1")."""
    title = "Gradient norm per parameter"
    ep = [r for r in epochs if r.get("param_grad_norms")]
    if not ep:
        return empty(title, "Appears after the first epoch.")
    names = list(ep[-1]["param_grad_norms"])[:max_params]
    values = positive if log_y else clean
    traces = [scatter(np.array([r["epoch"] for r in ep]), values([r["param_grad_norms"].get(name) for r in ep]),
                      mode="lines+markers", name=param_label(name), marker={"size": 4},
                      line={"width": 2 if "hh" in name else 1.3, "dash": "solid" if "hh" in name else "dot"},
                      legendrank=i)
              for i, name in enumerate(names)]
    return figure(traces, title, "epoch", "‖∂L/∂W‖", log_y, told_apart=True, layout={"legend": {
        "orientation": "v", "yref": "paper", "y": 1.0, "x": 1.02, "xanchor": "left", "yanchor": "top",
        "font": {"size": 10}}})


def spectra_figure(epochs: Sequence[dict], gamma: float = 1.0, matrix: str = "W_hh",
                   bounded: bool = True) -> go.Figure:
    """σ_max and spectral radius of each layer's recurrent matrix (`matrix`, e.g. "W_hh") over epochs.
    With `bounded` (`Cell.bounded`: the step Jacobian is diag(φ′)·matrix) the line σ_max = 1/γ, below
    which the recurrence can only shrink the gradient (Pascanu et al., 2013); for gated cells no line:
    their gates add paths that σ_max does not bound."""
    # the matrix's short name (the caption under the chart says which block it is): a half-width
    # column at 1400 px cut "Recurrent matrix W_hg (candidate block of W_hh): σ_max and spectral…"
    title = f"σ_max and spectral radius of {matrix.split(' (')[0]}"
    ep = [r for r in epochs if r.get("spectra")]
    if not ep:
        return empty(title, f"σ_max of {matrix} appears here.")
    traces, shapes, labels = [], [], []
    n_layers = len(ep[-1]["spectra"])
    for l in range(n_layers):
        color = LAYER_COLORS[l % len(LAYER_COLORS)]
        x = [r["epoch"] for r in ep if l < len(r["spectra"])]
        traces.append(scatter(x, clean([r["spectra"][l]["sigma_max"] for r in ep if l < len(r["spectra"])]),
                              mode="lines+markers", name=f"σ_max layer {l + 1}",
                              line={"color": color, "width": 2.5}, marker={"size": 4}))
        traces.append(scatter(x, clean([r["spectra"][l]["spectral_radius"] for r in ep if l < len(r["spectra"])]),
                              mode="lines", name=f"spectral radius layer {l + 1}",
                              line={"color": color, "width": 1.5, "dash": "dot"}))
    if bounded and gamma and gamma > 0:
        shape, label = hline(1.0 / gamma, {"color": COLORS["clip"], "dash": "dash"},
                             "σ_max·γ = 1 (below: each step back can only shrink the gradient)", "bottom left")
        shapes.append(shape)
        labels.append(label)
    return figure(traces, title, "epoch", "value", shapes=shapes, annotations=labels, told_apart=True)
