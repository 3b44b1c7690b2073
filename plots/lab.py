"""Figures of the Gradient Lab, Compare and Learn pages: `rnn_core.lessons.lab` dicts in, `go.Figure` out.

    lab_gradient_figure(stats)         one cell's ‖∂L/∂hₜ‖ over seeds: mean, min–max band, theory line
                                       (`gradients.gradient_time_figure` on the mean, bands beneath)
    overlay_figure(curves)             every cell on one log chart
    phase_figure(phase)                gain × timestep heatmap with the σ_max·γ = 1 border
    singular_values_figure(spectra)    the recurrent matrix's singular values against 1/γ
    jacobian_figure(jac)               ‖∏ ∂hⱼ/∂hⱼ₋₁‖₂ over k steps against its bound or gate path
    truncation_figure(report)          what truncated BPTT cuts (the Learn page)
    compare_loss_figure(runs), compare_gradient_figure(runs)   Compare's race
These charts sit in half-width columns: legend "above" (`style.layout`). Cell colours:
`style.cell_color` (from the cell registry). A sweep's figures: `plots/sweep.py`; Compare's table:
`plots/tables.py`. Leaves to others: the numbers (`rnn_core/lessons/lab.py`).
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
import plotly.graph_objects as go
from plotly.colors import get_colorscale

from plots.axes import measured_axis, nice_step
from plots.gradients import gradient_time_traces, latest_probe
from plots.points import decimate_indices, finite_list, positive_list
from plots.spec import figure, hline, scatter
from plots.style import COLORS, DIVERGING, LAYER_COLORS, cell_color, empty, layout, rgba
from rnn_core.nn.cells import CELLS, label_of
from rnn_core.readable import D3, fixed, power_of_ten, readable


def _band(x: list, lo: Sequence[float], hi: Sequence[float], color: str, name: str, group: str) -> list[dict]:
    """A shaded min–max band between `lo` and `hi` (two traces; put them before the line of the same group,
    which is drawn on top)."""
    return [scatter(x, positive_list(hi), mode="lines", line={"width": 0}, showlegend=False, legendgroup=group,
                    hoverinfo="skip", name=f"{name} max"),
            scatter(x, positive_list(lo), mode="lines", line={"width": 0}, fill="tonexty",
                    fillcolor=rgba(color, 0.16), showlegend=False, legendgroup=group, hoverinfo="skip",
                    name=f"{name} min")]


# ---------------------------------------------------------------------------------------- Gradient Lab
# Each chart is built as one dict (`plots/spec.py`), the same figure key for key as add_trace / update_layout
# calls gave, without Plotly's validators (`LAB`: a slider step of the Lab redraws all five; a third of the
# build): tests/engine/test_lab_figures.py holds their JSON and text alternatives equal to validated builds.
LAB = {"validated": False}
LAB_COLORSCALE = get_colorscale(DIVERGING)           # the phase diagram's scale written out, as validation gives it
def lab_gradient_figure(stats: dict, height: int = 380) -> go.Figure:
    """‖∂L/∂h_t‖ at initialisation: geometric mean over seeds per layer, the min–max band, the theory
    (σ_max·γ)^(T−1−t) — `gradients.gradient_time_figure`'s lines on the mean, the bands underneath, its log
    axis labelled again over both (the bands widen the range)."""
    what = "‖∂L/∂hₜ‖ / ‖∂L/∂h_T‖" if stats.get("normalised") else "‖∂L/∂hₜ‖"
    title = f"{label_of(stats['cell'])}: {what} at initialisation"
    if not stats.get("grad_h"):
        return empty(title, "The gradient probe appears here.", height)
    lines, shapes, notes = gradient_time_traces(stats, log_y=True, show_theory=True)
    t = list(range(stats["timesteps"]))
    bands = [trace for l, (lo, hi) in enumerate(zip(stats["grad_h_lo"], stats["grad_h_hi"])) if stats["seeds"] > 1
             for trace in _band(t, lo, hi, LAYER_COLORS[l % len(LAYER_COLORS)], f"layer {l + 1}", f"band{l}")]
    traces = bands + lines                             # bands first so the lines are drawn on top
    T = stats.get("timesteps") or len(stats["grad_h"][0])
    return figure(traces, title, f"timestep t (0 = oldest input, {T - 1} = last)", what, log_y=True,
                  height=height, legend="above", shapes=shapes, annotations=notes,
                  layout={"yaxis": measured_axis(traces) or {}}, **LAB)


# Told apart by more than colour on the overlay (lines that coincide, colour-blind readers, a projector)
CELL_DASHES = ("solid", "dash", "dot", "dashdot", "longdash", "longdashdot")
CELL_MARKERS = ("circle", "square", "diamond", "triangle-up", "x", "star")
OVERLAY_MARKERS = 12      # markers per line, at most (they tell the lines apart; more would clutter)


def overlay_figure(curves: dict[str, dict], normalised: bool = True, height: int = 380) -> go.Figure:
    """Every cell's ‖∂L/∂h_t‖ (first layer) on one log chart: geometric mean line, min–max band."""
    what = "‖∂L/∂hₜ‖ / ‖∂L/∂h_T‖" if normalised else "‖∂L/∂hₜ‖"
    title = "All cells, same settings: gradient reaching t"     # fits a half-width column at 1280 px
    if not curves:
        return empty(title, "No cells to draw.", height)
    traces = []
    for cell, c in curves.items():
        traces += _band(c["t"], c["lo"], c["hi"], cell_color(cell), label_of(cell), cell)
    # lines after all the bands, each cell with its own dash and marker: two cells whose profiles coincide
    # (Elman tanh and Jordan at small inputs) stay told apart, the one drawn later not hiding the other
    for cell, c in curves.items():
        i = list(CELLS).index(cell) if cell in CELLS else 0      # a cell keeps its dash on every chart
        traces.append(scatter(c["t"], positive_list(c["mean"]), mode="lines+markers", name=label_of(cell),
                              legendgroup=cell,
                              line={"color": cell_color(cell), "width": 2.5, "dash": CELL_DASHES[i % len(CELL_DASHES)]},
                              marker={"symbol": CELL_MARKERS[i % len(CELL_MARKERS)], "size": 7,
                                      "maxdisplayed": OVERLAY_MARKERS}))
    T = len(next(iter(curves.values()))["t"])
    return figure(traces, title, f"timestep t (0 = oldest input, {T - 1} = last)", what, log_y=True,
                  height=height, legend="above", **LAB)


def phase_figure(phase: dict, height: int = 400) -> go.Figure:
    """Gain × timestep heatmap of log10(‖∂L/∂h_t‖ / ‖∂L/∂h_T‖) — the fraction of the last step's gradient
    that reaches t, labelled as powers of ten on the colour bar — blue = vanished, red = grown, with the
    gain where σ_max·γ = 1 marked."""
    title = f"Phase diagram: {label_of(phase['cell'])}, {phase['init']} × gain"
    z = np.array([[np.nan if v is None else v for v in row] for row in phase["z"]], dtype=float)
    t = phase["t"]
    cols = decimate_indices(len(t), 250)
    z = z[:, cols]
    finite = z[np.isfinite(z)]
    span = float(np.clip(np.max(np.abs(finite)) if finite.size else 1.0, 1.0, 30.0))
    step = nice_step(2 * span, 6)
    ticks = list(range(-step * math.floor(span / step), step * math.floor(span / step) + 1, step))
    heatmap = {"type": "heatmap", "z": np.where(np.isfinite(z), np.clip(z, -span, span), None).tolist(),
               "x": [t[i] for i in cols], "y": phase["gains"], "colorscale": LAB_COLORSCALE, "zmid": 0.0,
               "zmin": -span, "zmax": span,
               "colorbar": {"title": {"text": "log₁₀(‖∂L/∂hₜ‖ ÷ ‖∂L/∂h_T‖)"}, "tickvals": ticks,
                            "ticktext": [power_of_ten(k) for k in ticks]},
               "customdata": [[sg] * len(cols) for sg in phase["sigma_gamma"]],
               "hovertemplate": "gain %{y}, t = %{x}: 10^%{z:" + D3["ratio"] + "} of the last step's gradient"
                                "<br>σ_max·γ = %{customdata:" + D3["ratio"] + "}<extra></extra>"}
    shapes, notes = [], []
    border = phase.get("border_gain")
    if border is not None:
        line, label = hline(border, {"color": COLORS["border"], "dash": "dash", "width": 2},
                            f"σ_max·γ = 1 (gain ≈ {fixed(border, 2)})", "top left")
        shapes, notes = [line], [{**label, "font": {"color": COLORS["border"]}}]
    return figure([heatmap], title, "timestep t (0 = oldest input)", "gain of W_hh", height=height, legend="above",
                  shapes=shapes, annotations=notes, layout={"hovermode": "closest"}, **LAB)


def singular_values_figure(spectra: list[dict], gamma: float = 1.0, height: int = 320) -> go.Figure:
    """The singular values of each layer's recurrent matrix, largest first, with the line 1/γ."""
    matrix = spectra[0].get("matrix", "W_hh").split(" ")[0] if spectra else "W_hh"
    title = f"Singular values of {matrix} (largest first)"
    if not spectra:
        return empty(title, "No recurrent weights.", height)
    bars = [{"type": "bar", "x": list(range(1, len(s["singular_values"]) + 1)), "y": finite_list(s["singular_values"]),
             "name": f"layer {l + 1}", "marker": {"color": LAYER_COLORS[l % len(LAYER_COLORS)]}, "opacity": 0.85,
             "hovertemplate": "σ_%{x} = %{y:" + D3["value"] + "}<extra></extra>"} for l, s in enumerate(spectra)]
    line, label = hline(1.0 / gamma, {"color": COLORS["clip"], "dash": "dash"}, f"1/γ = {readable(1.0 / gamma)}",
                        "top right")
    return figure(bars, title, "index i", "σᵢ", height=height, legend="above", shapes=[line], annotations=[label],
                  layout={"barmode": "group", "bargap": 0.1, "hovermode": "closest"}, **LAB)


def jacobian_figure(jac: dict, height: int = 320) -> go.Figure:
    """‖∏ ∂h_j/∂h_{j−1}‖₂ over k steps (mean and min–max over seeds) against its bound (σ_max·γ)^k where
    it is one (`Cell.bounded`) or, for a gated cell, the product of the additive path's gates (not a bound)."""
    title = "Norm of the product of Jacobians over k steps"
    if not jac.get("k"):
        return empty(title, "Needs at least two timesteps.", height)
    color = LAYER_COLORS[0]
    traces = _band(jac["k"], jac["lo"], jac["hi"], color, "seeds", "jac")
    traces.append(scatter(jac["k"], positive_list(jac["mean"]), mode="lines", name="‖∏ ∂hⱼ/∂hⱼ₋₁‖₂",
                          line={"color": color, "width": 2.5}, legendgroup="jac"))
    sg = jac["sigma_max"] * jac["gamma"]
    if jac.get("theory"):
        traces.append(scatter(jac["k"], positive_list(jac["theory"]), mode="lines",
                              name=f"upper bound (σ_max·γ)^k = {fixed(sg, 2)}^k",
                              line={"color": COLORS["reference"], "dash": "dash"}))
    if jac.get("gate_path"):
        traces.append(scatter(jac["k"], positive_list(jac["gate_path"]), mode="lines",
                              name="gate path alone ‖∏ diag(gⱼ)‖₂ (not a bound)",
                              line={"color": COLORS["reference"], "dash": "dashdot"}))
    return figure(traces, title, "k (steps back)", "spectral norm", log_y=True, height=height, legend="above", **LAB)


def truncation_figure(report: dict, height: int = 320) -> go.Figure:
    """Per-timestep contribution ‖δ_t h_{t−1}ᵀ‖ to ∂L/∂W_hh; bars truncation throws away are grey."""
    k, T = report["truncate"], report["timesteps"]
    title = (f"What truncated BPTT keeps: the last {k} of {T} contributions to ∂L/∂W_hh" if k
             else f"Full BPTT: all {T} per-timestep contributions to ∂L/∂W_hh")
    if not k and report["contrib"] and report["contrib"][0] == 0:   # h₋₁ = 0: t = 0 adds nothing to ∂L/∂W_hh
        title += " (t = 0 adds 0: h₋₁ = 0)"
    colors = [LAYER_COLORS[0] if keep else COLORS["left_out"] for keep in report["kept"]]
    fig = go.Figure(go.Bar(x=report["t"], y=positive_list(report["contrib"]), marker={"color": colors},
                           name="‖δₜ hₜ₋₁ᵀ‖", hovertemplate="t = %{x}: %{y:" + D3["tiny"] + "}<extra></extra>"))
    if k:
        fig.add_vline(x=T - k - 0.5, line={"color": COLORS["clip"], "dash": "dash"},
                      annotation_text=f"cut: {k} steps back", annotation_position="top left")
    fig = layout(fig, title, "timestep t", "‖δₜ hₜ₋₁ᵀ‖_F", log_y=True, height=height, legend="above")
    fig.update_layout(hovermode="closest", showlegend=False)
    return fig


# --------------------------------------------------------------------------------------------- Compare
def compare_loss_figure(runs: dict[str, dict], baseline: float | None = None, log_y: bool = True,
                        height: int = 380, baseline_label: str = "constant guess",
                        loss_label: str = "MSE") -> go.Figure:
    """Validation loss per epoch (solid) and training loss per epoch (dotted) for each cell, with the
    constant-guess baseline dashed. `runs`: {cell: {"epochs": [epoch records]}}; `loss_label`: the
    y axis (the task's loss: MSE, or bits per character for text)."""
    title = "Loss per epoch (solid: validation, dotted: training)"
    if not any(r.get("epochs") for r in runs.values()):
        return empty(title, "Press Start race; the loss curves appear here.", height)
    fig = go.Figure()
    values = positive_list if log_y else finite_list
    for cell, r in runs.items():
        color = cell_color(cell)
        ep = [e for e in r.get("epochs", []) if e.get("train_loss") is not None]
        fig.add_trace(go.Scatter(x=[e["epoch"] for e in ep], y=values([e["train_loss"] for e in ep]),
                                 mode="lines", name=f"{label_of(cell)} train", legendgroup=cell,
                                 showlegend=False, line={"color": color, "width": 1.5, "dash": "dot"}))
        ev = [e for e in r.get("epochs", []) if e.get("val_loss") is not None]
        fig.add_trace(go.Scatter(x=[e["epoch"] for e in ev], y=values([e["val_loss"] for e in ev]),
                                 mode="lines+markers", name=label_of(cell), legendgroup=cell,
                                 line={"color": color, "width": 2.5}, marker={"size": 5}))
    if baseline is not None and math.isfinite(baseline) and baseline > 0:
        # named in the legend, not on the line: the curves start at the constant guess and covered a label
        fig.add_hline(y=baseline, line={"color": COLORS["baseline"], "dash": "dash"})
        fig.add_trace(go.Scatter(x=[None], y=[None], mode="lines", name=f"{baseline_label} = {readable(baseline)}",
                                 line={"color": COLORS["baseline"], "dash": "dash"}))
    return layout(fig, title, "epoch", loss_label, log_y=log_y, height=height, legend="above")


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
        fig.add_trace(go.Scatter(x=list(range(len(g))), y=positive_list(g.tolist()), mode="lines",
                                 name=label_of(cell), line={"color": cell_color(cell), "width": 2.5}))
    if not fig.data:
        return empty(title, "The gradient profiles appear with the first probe.", height)
    return layout(fig, title, "timestep t (0 = oldest input)", "‖∂L/∂hₜ‖ / ‖∂L/∂h_T‖",
                  log_y=True, height=height, legend="above")
