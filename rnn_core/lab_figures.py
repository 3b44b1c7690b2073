"""Plotly figures of the Gradient Lab, Compare and Learn pages: `rnn_core.lab` dicts in, `go.Figure` out.

Holds `lab_gradient_figure` (one cell's ‖∂L/∂h_t‖ over seeds with its band and the theory line, built
on `figures.gradient_time_figure`), `overlay_figure` (all cells on one log chart), `phase_figure`
(gain × timestep heatmap with the σ_max·γ = 1 border), `singular_values_figure`, `jacobian_figure`,
`truncation_figure` (what truncated BPTT cuts), and for Compare `compare_loss_figure`,
`compare_gradient_figure` and `compare_table` (a sweep's figures: `sweep_figures.py`).
Leaves to others: the Playground's figures (`figures.py`), the numbers (`lab.py`). No Streamlit.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
import pandas as pd
import plotly.graph_objects as go

from rnn_core.config import CELL_SPECS, CELLS
from rnn_core.figures import decade_ticks, decimate_indices, gradient_time_figure, latest_probe, relog

GREY, RED, DARK = "#868e96", "#e03131", "#1f2330"
# The title sits at the very top and the legend on its own rows between the title and the plot, so
# that neither covers the other in a half-width column.
LEGEND_TOP = {"orientation": "h", "yanchor": "bottom", "y": 1.02, "xanchor": "left", "x": 0.0}
MARGIN = {"l": 60, "r": 20, "t": 96, "b": 45}


# Line colours by cell: a view of config.CELL_SPECS (sweep_figures reads it).
CELL_COLORS: dict[str, str] = {name: spec.color for name, spec in CELL_SPECS.items()}


def _color(cell: str) -> str:
    """A cell's line colour (config.CELL_SPECS), dark grey for anything else."""
    return CELL_SPECS[cell].color if cell in CELL_SPECS else DARK


def _title(text: str) -> dict:
    return {"text": text, "x": 0.0, "xanchor": "left", "y": 0.985, "yanchor": "top", "font": {"size": 15}}


def _rgba(hex_color: str, alpha: float) -> str:
    r, g, b = (int(hex_color[i:i + 2], 16) for i in (1, 3, 5))
    return f"rgba({r},{g},{b},{alpha})"


def _pos(values: Sequence[float | None]) -> list[float | None]:
    """For a log axis: zero, negative, NaN and Inf become gaps."""
    return [float(v) if v is not None and math.isfinite(float(v)) and v > 0 else None for v in values]


def _finite(values: Sequence[float | None]) -> list[float | None]:
    return [float(v) if v is not None and math.isfinite(float(v)) else None for v in values]


def _style(fig: go.Figure, title: str, x_title: str, y_title: str, log_y: bool = False,
           height: int = 360) -> go.Figure:
    fig.update_layout(
        title=_title(title), template="plotly_white", height=height, margin=MARGIN, legend=LEGEND_TOP,
        hovermode="x unified")
    fig.update_xaxes(title_text=x_title)
    fig.update_yaxes(title_text=y_title, type="log" if log_y else "linear", exponentformat="power")
    if log_y:
        decade_ticks(fig)
    return fig


def _empty(title: str, message: str, height: int = 360) -> go.Figure:
    fig = go.Figure()
    fig.add_annotation(text=message, showarrow=False, x=0.5, y=0.5, xref="paper", yref="paper",
                       font={"size": 14, "color": GREY})
    fig.update_xaxes(visible=False)
    fig.update_yaxes(visible=False)
    fig.update_layout(title={"text": title, "x": 0.0}, template="plotly_white", height=height)
    return fig


def _band(fig: go.Figure, x: list, lo: Sequence[float], hi: Sequence[float], color: str, name: str,
          group: str) -> None:
    """A shaded min–max band between `lo` and `hi` (drawn below the line of the same group)."""
    fig.add_trace(go.Scatter(x=x, y=_pos(hi), mode="lines", line={"width": 0}, showlegend=False,
                             legendgroup=group, hoverinfo="skip", name=f"{name} max"))
    fig.add_trace(go.Scatter(x=x, y=_pos(lo), mode="lines", line={"width": 0}, fill="tonexty",
                             fillcolor=_rgba(color, 0.16), showlegend=False, legendgroup=group,
                             hoverinfo="skip", name=f"{name} min"))


# ---------------------------------------------------------------------------------------- Gradient Lab
def lab_gradient_figure(stats: dict, height: int = 380) -> go.Figure:
    """‖∂L/∂h_t‖ at initialisation: geometric mean over seeds per layer, the min–max band, the theory
    (σ_max·γ)^(T−1−t) — `figures.gradient_time_figure` on the mean, plus the bands underneath."""
    what = "‖∂L/∂hₜ‖ / ‖∂L/∂h_T‖" if stats.get("normalised") else "‖∂L/∂hₜ‖"
    title = f"{CELLS[stats['cell']]}: {what} at initialisation"
    fig = gradient_time_figure(stats, log_y=True, show_theory=True, title=title)
    n_before = len(fig.data)
    t = list(range(stats["timesteps"]))
    colors = ["#3b5bdb", "#d6336c", "#2b8a3e", "#f08c00"]
    for l, (lo, hi) in enumerate(zip(stats["grad_h_lo"], stats["grad_h_hi"])):
        if stats["seeds"] > 1:
            _band(fig, t, lo, hi, colors[l % 4], f"layer {l + 1}", f"band{l}")
    # bands first so the lines are drawn on top
    fig.data = fig.data[n_before:] + fig.data[:n_before]
    fig.update_layout(height=height, legend=LEGEND_TOP, margin=MARGIN, title=_title(title))
    fig.update_yaxes(title_text=what)
    return relog(fig)                                  # the bands widen the range: label it again


def overlay_figure(curves: dict[str, dict], normalised: bool = True, height: int = 380) -> go.Figure:
    """Every cell's ‖∂L/∂h_t‖ (first layer) on one log chart: geometric mean line, min–max band."""
    what = "‖∂L/∂hₜ‖ / ‖∂L/∂h_T‖" if normalised else "‖∂L/∂hₜ‖"
    title = "All cells, same settings: how much gradient reaches timestep t"
    if not curves:
        return _empty(title, "No cells to draw.", height)
    fig = go.Figure()
    for cell, c in curves.items():
        color = _color(cell)
        _band(fig, c["t"], c["lo"], c["hi"], color, CELLS.get(cell, cell), cell)
        fig.add_trace(go.Scatter(x=c["t"], y=_pos(c["mean"]), mode="lines", name=CELLS.get(cell, cell),
                                 legendgroup=cell, line={"color": color, "width": 2.5}))
    T = len(next(iter(curves.values()))["t"])
    return _style(fig, title, f"timestep t (0 = oldest input, {T - 1} = last)", what, log_y=True,
                  height=height)


def phase_figure(phase: dict, height: int = 400) -> go.Figure:
    """Gain × timestep heatmap of log10(‖∂L/∂h_t‖ / ‖∂L/∂h_T‖), blue = vanished, red = grown, with
    the gain where σ_max·γ = 1 marked."""
    title = f"Phase diagram: {CELLS[phase['cell']]}, {phase['init']} × gain"
    z = np.array([[np.nan if v is None else v for v in row] for row in phase["z"]], dtype=float)
    t = phase["t"]
    cols = decimate_indices(len(t), 250)
    z = z[:, cols]
    finite = z[np.isfinite(z)]
    span = float(np.clip(np.max(np.abs(finite)) if finite.size else 1.0, 1.0, 30.0))
    fig = go.Figure(go.Heatmap(
        z=np.where(np.isfinite(z), np.clip(z, -span, span), None).tolist(), x=[t[i] for i in cols],
        y=phase["gains"], colorscale="RdBu_r", zmid=0.0, zmin=-span, zmax=span,
        colorbar={"title": {"text": "log₁₀ ratio"}},
        customdata=[[sg] * len(cols) for sg in phase["sigma_gamma"]],
        hovertemplate="gain %{y}, t = %{x}: 10^%{z:.2f} of the last step's gradient"
                      "<br>σ_max·γ = %{customdata:.2f}<extra></extra>"))
    border = phase.get("border_gain")
    if border is not None:
        fig.add_hline(y=border, line={"color": DARK, "dash": "dash", "width": 2},
                      annotation_text=f"σ_max·γ = 1 (gain ≈ {border:.2f})", annotation_position="top left",
                      annotation_font={"color": DARK})
    fig = _style(fig, title, "timestep t (0 = oldest input)", "gain of W_hh", height=height)
    fig.update_layout(hovermode="closest")
    return fig


def singular_values_figure(spectra: list[dict], gamma: float = 1.0, height: int = 320) -> go.Figure:
    """The singular values of each layer's recurrent matrix, largest first, with the line 1/γ."""
    matrix = spectra[0].get("matrix", "W_hh").split(" ")[0] if spectra else "W_hh"
    title = f"Singular values of {matrix} (largest first)"
    if not spectra:
        return _empty(title, "No recurrent weights.", height)
    fig = go.Figure()
    colors = ["#3b5bdb", "#d6336c", "#2b8a3e", "#f08c00"]
    for l, s in enumerate(spectra):
        sv = s["singular_values"]
        fig.add_trace(go.Bar(x=list(range(1, len(sv) + 1)), y=_finite(sv), name=f"layer {l + 1}",
                             marker={"color": colors[l % 4]}, opacity=0.85,
                             hovertemplate="σ_%{x} = %{y:.3f}<extra></extra>"))
    fig.add_hline(y=1.0 / gamma, line={"color": RED, "dash": "dash"},
                  annotation_text=f"1/γ = {1.0 / gamma:g}", annotation_position="top right")
    fig = _style(fig, title, "index i", "σᵢ", height=height)
    fig.update_layout(barmode="group", bargap=0.1, hovermode="closest")
    return fig


def jacobian_figure(jac: dict, height: int = 320) -> go.Figure:
    """‖∏ ∂h_j/∂h_{j−1}‖₂ over k steps (mean and min–max over seeds) against its bound (σ_max·γ)^k where
    it is one (Elman, Jordan) or, for LSTM / GRU, the product of the additive path's gates (not a bound)."""
    title = "Norm of the product of Jacobians over k steps"
    if not jac.get("k"):
        return _empty(title, "Needs at least two timesteps.", height)
    fig = go.Figure()
    _band(fig, jac["k"], jac["lo"], jac["hi"], "#3b5bdb", "seeds", "jac")
    fig.add_trace(go.Scatter(x=jac["k"], y=_pos(jac["mean"]), mode="lines", name="‖∏ ∂hⱼ/∂hⱼ₋₁‖₂",
                             line={"color": "#3b5bdb", "width": 2.5}, legendgroup="jac"))
    sg = jac["sigma_max"] * jac["gamma"]
    if jac.get("theory"):
        fig.add_trace(go.Scatter(x=jac["k"], y=_pos(jac["theory"]), mode="lines",
                                 name=f"upper bound (σ_max·γ)^k = {sg:.2f}^k", line={"color": GREY, "dash": "dash"}))
    if jac.get("gate_path"):
        fig.add_trace(go.Scatter(x=jac["k"], y=_pos(jac["gate_path"]), mode="lines",
                                 name="gate path alone ‖∏ diag(gⱼ)‖₂ (not a bound)",
                                 line={"color": GREY, "dash": "dashdot"}))
    return _style(fig, title, "k (steps back)", "spectral norm", log_y=True, height=height)


def truncation_figure(report: dict, height: int = 320) -> go.Figure:
    """Per-timestep contribution ‖δ_t h_{t−1}ᵀ‖ to ∂L/∂W_hh; bars truncation throws away are grey."""
    k, T = report["truncate"], report["timesteps"]
    title = (f"What truncated BPTT keeps: the last {k} of {T} contributions to ∂L/∂W_hh" if k
             else f"Full BPTT: all {T} per-timestep contributions to ∂L/∂W_hh")
    kept = report["kept"]
    colors = ["#3b5bdb" if keep else "#ced4da" for keep in kept]
    fig = go.Figure(go.Bar(x=report["t"], y=_pos(report["contrib"]), marker={"color": colors},
                           name="‖δₜ hₜ₋₁ᵀ‖", hovertemplate="t = %{x}: %{y:.2e}<extra></extra>"))
    if k:
        fig.add_vline(x=T - k - 0.5, line={"color": RED, "dash": "dash"},
                      annotation_text=f"cut: {k} steps back", annotation_position="top left")
    fig = _style(fig, title, "timestep t", "‖δₜ hₜ₋₁ᵀ‖_F", log_y=True, height=height)
    fig.update_layout(hovermode="closest", showlegend=False)
    return fig


# --------------------------------------------------------------------------------------------- Compare
def compare_loss_figure(runs: dict[str, dict], baseline: float | None = None, log_y: bool = True,
                        height: int = 380, baseline_label: str = "constant guess") -> go.Figure:
    """Validation loss per epoch (solid) and training loss per epoch (dotted) for each cell, with the
    constant-guess baseline dashed. `runs`: {cell: {"epochs": [epoch records]}}."""
    title = "Loss per epoch (solid: validation, dotted: training)"
    if not any(r.get("epochs") for r in runs.values()):
        return _empty(title, "Press Start race; the loss curves appear here.", height)
    fig = go.Figure()
    clean = _pos if log_y else _finite
    for cell, r in runs.items():
        color = _color(cell)
        ep = [e for e in r.get("epochs", []) if e.get("train_loss") is not None]
        fig.add_trace(go.Scatter(x=[e["epoch"] for e in ep], y=clean([e["train_loss"] for e in ep]),
                                 mode="lines", name=f"{CELLS.get(cell, cell)} train", legendgroup=cell,
                                 showlegend=False, line={"color": color, "width": 1.5, "dash": "dot"}))
        ev = [e for e in r.get("epochs", []) if e.get("val_loss") is not None]
        fig.add_trace(go.Scatter(x=[e["epoch"] for e in ev], y=clean([e["val_loss"] for e in ev]),
                                 mode="lines+markers", name=CELLS.get(cell, cell), legendgroup=cell,
                                 line={"color": color, "width": 2.5}, marker={"size": 5}))
    if baseline is not None and math.isfinite(baseline) and baseline > 0:
        fig.add_hline(y=baseline, line={"color": GREY, "dash": "dash"},
                      annotation_text=f"{baseline_label} = {baseline:.3g}", annotation_position="bottom left")
    return _style(fig, title, "epoch", "MSE", log_y=log_y, height=height)


def compare_gradient_figure(runs: dict[str, dict], height: int = 380) -> go.Figure:
    """The latest probe's ‖∂L/∂h_t‖ (first layer) for each cell, normalised to its last step."""
    title = "Gradient through time (latest probe)"
    fig = go.Figure()
    for cell, r in runs.items():
        p = latest_probe(r.get("epochs", []))
        if not p or not p.get("grad_h"):
            continue
        g = np.asarray(p["grad_h"][0], dtype=float)
        g = g / g[-1] if g[-1] > 0 else g
        fig.add_trace(go.Scatter(x=list(range(len(g))), y=_pos(g.tolist()), mode="lines",
                                 name=CELLS.get(cell, cell), line={"color": _color(cell),
                                                                   "width": 2.5}))
    if not fig.data:
        return _empty(title, "The gradient profiles appear with the first probe.", height)
    return _style(fig, title, "timestep t (0 = oldest input)", "‖∂L/∂hₜ‖ / ‖∂L/∂h_T‖",
                  log_y=True, height=height)


def compare_table(runs: dict[str, dict], baseline: float | None = None) -> pd.DataFrame:
    """One row per cell: status, epochs, final train / validation loss, best validation loss, and the
    validation loss relative to the constant guess (below 1 = learned something)."""
    rows = []
    for cell, r in runs.items():
        ep = r.get("epochs", [])
        val = [e["val_loss"] for e in ep if e.get("val_loss") is not None and math.isfinite(e["val_loss"])]
        last = ep[-1] if ep else {}
        final_val = last.get("val_loss")
        rows.append({
            "cell": CELLS.get(cell, cell), "status": r.get("status", ""), "epochs": last.get("epoch", 0),
            "train loss": last.get("train_loss"), "validation loss": final_val,
            "best validation": min(val) if val else None,
            "÷ constant guess": (final_val / baseline) if final_val is not None and baseline else None,
            "seconds": round(float(r.get("elapsed", 0.0)), 1)})
    return pd.DataFrame(rows)
