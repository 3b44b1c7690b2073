"""The gradient through time, from the probe dicts of `rnn_core.nn.probe` (format: docs/architecture.md).

    gradient_time_figure(probe, log_y, show_theory, title, overlays)   ‖∂L/∂hₜ‖ against t per layer
                                (‖∂L/∂cₜ‖ dotted), the σ_max·γ bound dashed (where it is one) or the gate
                                path dash-dotted (LSTM / GRU); a stateful run's probe adds how far back the
                                state holds each input, ‖∂h_T/∂xₜ‖, and a line where the gradient is cut;
                                `overlays` (`Profile`s: epoch 0, a ghost run) drawn over it in the same
                                build, exactly what `add_profile` would add, one Plotly validation
    gradient_time_traces(probe, log_y, show_theory)          its traces, shapes and labels as dicts
    gradient_heatmap_figure(epochs, layer)                   epoch × timestep, log₁₀ colour (Magma),
                                                             thinned to ≤ `HEATMAP_CELLS`
    gates_figure(probe, cell)                                mean gate activation at each timestep
    add_profile(fig, probe, label, …)                        another probe drawn over a built figure (epoch 0,
                                                             a ghost run); profile_traces(…): its traces as dicts
    latest_probe(epochs), first_probe(epochs), last_probe(epochs)   the probe to draw from a run's epoch records
Leaves to others: the numbers (`rnn_core/nn/probe.py`), the look (`plots/style.py`).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import plotly.graph_objects as go

from plots.axes import measured_axis, nice_step, relog
from plots.points import clean, decimate_indices, positive, thin
from plots.spec import figure, scatter
from plots.style import (
    GATE_COLORS,
    LAYER_COLORS,
    MAGMA,
    RED,
    SLATE,
    TEAL,
    drawn,
    empty,
    legend_below_if_long,
    legend_names,
    rgba,
)
from rnn_core.nn.cells import cell_of, labels_where
from rnn_core.readable import D3, fixed, power_of_ten, readable

HEATMAP_CELLS = 20_000     # rows × columns of a heatmap, at most


def latest_probe(epochs: Sequence[dict]) -> dict | None:
    """The probe of the last epoch record that has one."""
    for rec in reversed(epochs):
        if rec.get("probe"):
            return rec["probe"]
    return None


def last_probe(epochs: Sequence[dict]) -> tuple[int, dict] | None:
    """(epoch, probe) of the last epoch record that has a probe."""
    for rec in reversed(epochs):
        if rec.get("probe"):
            return int(rec.get("epoch", 0)), rec["probe"]
    return None


def first_probe(epochs: Sequence[dict]) -> tuple[int, dict] | None:
    """(epoch, probe) of the first epoch record that has a probe (epoch 0: the initialisation)."""
    for rec in epochs:
        if rec.get("probe"):
            return int(rec.get("epoch", 0)), rec["probe"]
    return None


@dataclass(frozen=True)
class Profile:
    """Another probe drawn over a gradient-through-time chart (`add_profile`'s arguments)."""
    probe: dict | None
    label: str
    color: str | None = None
    dash: str = "dot"
    opacity: float = 0.55


def gradient_time_figure(probe: dict | None, log_y: bool = True, show_theory: bool = True,
                         title: str = "Gradient through time ‖∂L/∂hₜ‖", overlays: Sequence[Profile] = ()) -> go.Figure:
    """‖∂L/∂h_t‖ against t for one probe, one line per layer (‖∂L/∂c_t‖ dotted for LSTM); where the probe
    has a bound (`Cell.bounded`, top layer) the upper bound ‖∂L/∂h_T‖·(σ_max·γ)^(T−1−t) dashed with the
    region it allows shaded beneath it; for LSTM / GRU the gate path (what the additive path alone
    carries back, `probe.py`) dash-dotted. `overlays`: the figure `add_profile` makes of it, one
    `add_profile` per overlay in order, built at once (a live page redraws it at every epoch)."""
    if not probe or not probe.get("grad_h"):
        return empty(title, "The gradient probe appears here.")
    traces, shapes, notes = gradient_time_traces(probe, log_y, show_theory)
    for o in overlays:
        if o.probe and o.probe.get("grad_h"):
            traces += profile_traces(o.probe, o.label, log_y, o.color, o.dash, o.opacity)
    T = probe.get("timesteps") or len(probe["grad_h"][0])
    readable_axis = (measured_axis(traces) if log_y else None) or {}
    return figure(traces, title, f"timestep t (0 = oldest input, {T - 1} = last)", "gradient norm", log_y,
                  shapes=shapes, annotations=notes, layout={"yaxis": readable_axis})


def gradient_time_traces(probe: dict, log_y: bool = True, show_theory: bool = True) -> tuple[list, list, list]:
    """`gradient_time_figure`'s (traces, shapes, annotations) as dicts (`plots/spec.py`), for a figure that
    adds its own (the Gradient Lab's seed bands)."""
    traces = []
    values = positive if log_y else clean
    n_layers = len(probe["grad_h"])
    for l, g in enumerate(probe["grad_h"]):
        color = LAYER_COLORS[l % len(LAYER_COLORS)]
        theory = probe.get("theory") or []
        if show_theory and l < len(theory) and theory[l]:
            t, y = thin(np.arange(len(theory[l])), values(theory[l]))
            sm = (probe.get("sigma_max") or [None] * n_layers)[l]
            rate = "(σ_max·γ)" if sm is None else _rate(sm * probe.get("gamma", 1.0))
            traces.append(scatter(t, y, mode="lines", fill="tozeroy", fillcolor=rgba(color, 0.07),
                                  name=f"theory: upper bound ∝ {rate}^(T−1−t), layer {l + 1} (shaded: allowed)",
                                  line={"color": color, "width": 1.5, "dash": "dash"}, opacity=0.8))
        t, y = thin(np.arange(len(g)), values(g))
        traces.append(scatter(t, y, mode="lines+markers" if len(g) <= 60 else "lines",
                              name=f"layer {l + 1} ‖∂L/∂hₜ‖", line={"color": color, "width": 2.5}, marker={"size": 4}))
        if probe.get("grad_c") and l < len(probe["grad_c"]) and probe["grad_c"][l] is not None:
            gc = probe["grad_c"][l]
            t, y = thin(np.arange(len(gc)), values(gc))
            traces.append(scatter(t, y, mode="lines", name=f"layer {l + 1} ‖∂L/∂cₜ‖",
                                  line={"color": color, "width": 2, "dash": "dot"}))
        paths = probe.get("gate_path") or []
        if show_theory and l < len(paths) and paths[l]:
            gate = "f" if probe.get("grad_c") else "z"
            t, y = thin(np.arange(len(paths[l])), values(paths[l]))
            traces.append(scatter(t, y, mode="lines", name=f"gate path: ∏ {gate}ⱼ alone, layer {l + 1}",
                                  line={"color": color, "width": 1.5, "dash": "dashdot"}, opacity=0.8))
    shapes, notes = _carry(traces, probe, values)
    return traces, shapes, notes


CARRY_NAME = "state: ‖∂h_T/∂xₜ‖, never truncated"


def _carry(traces: list[dict], probe: dict, values) -> tuple[list[dict], list[dict]]:
    """A stateful run's probe: how far back the state still holds each input, ‖∂h_T/∂xₜ‖ (teal, long
    dashes, added to `traces`), and where the gradient is cut (a vertical line and its label)."""
    carry = probe.get("carry")
    if not carry:
        return [], []
    t, y = thin(np.arange(len(carry)), values(carry))
    traces.append(scatter(t, y, mode="lines+markers" if len(carry) <= 60 else "lines", name=CARRY_NAME,
                          line={"color": TEAL, "width": 2.5, "dash": "longdash"}, marker={"size": 4}))
    cut, T = int(probe.get("cut") or 0), int(probe.get("timesteps") or len(carry))
    if cut <= 0:
        return [], []
    x = cut - 0.5
    line = {"type": "line", "xref": "x", "x0": x, "x1": x, "yref": "y domain", "y0": 0, "y1": 1,
            "line": {"color": RED, "width": 1.5, "dash": "dot"}}
    label = {"showarrow": False, "text": f"gradient cut {T - cut} step{'s' if T - cut != 1 else ''} back",
             "x": x, "xref": "x", "xanchor": "right", "y": 1, "yref": "y domain", "yanchor": "top"}
    return [line], [label]


def gradient_heatmap_figure(epochs: Sequence[dict], layer: int = 0, max_cells: int = HEATMAP_CELLS,
                            title: str = "‖∂L/∂hₜ‖ over training (log₁₀ colour)") -> go.Figure:
    """Epoch × timestep heatmap of log10 ‖∂L/∂h_t‖ for one layer, rows and columns thinned so that
    rows × columns ≤ `max_cells`."""
    rows = [(r["epoch"], r["probe"]["grad_h"][layer]) for r in epochs
            if r.get("probe") and r["probe"].get("grad_h") and layer < len(r["probe"]["grad_h"])]
    if not rows:
        return empty(title, "Fills in epoch by epoch.")
    z = np.array([[v if v is not None else np.nan for v in g] for _, g in rows], dtype=float)  # (E, T)
    with np.errstate(divide="ignore", invalid="ignore"):
        z = np.where((z > 0) & np.isfinite(z), np.log10(np.where(z > 0, z, 1.0)), np.nan)
    n_e, n_t = z.shape
    col_budget = max(2, min(n_t, max_cells // max(1, min(n_e, 400))))
    ci = decimate_indices(n_t, col_budget)
    ri = decimate_indices(n_e, max(2, max_cells // len(ci)))
    z = np.round(z[np.ix_(ri, ci)], 4)                                                       # (E', T')
    finite = z[np.isfinite(z)]
    lo, hi = (float(finite.min()), float(finite.max())) if finite.size else (-1.0, 0.0)
    step = max(1, math.ceil((hi - lo) / 6))                                  # at most ~7 labels
    ticks = list(range(step * math.floor(lo / step), math.ceil(hi) + 1, step))
    epochs_shown = np.array([rows[i][0] for i in ri])
    heatmap = {"type": "heatmap", "z": z, "x": ci.astype(int), "y": epochs_shown, "colorscale": MAGMA,
               "colorbar": {"title": {"text": "‖∂L/∂hₜ‖"}, "tickvals": ticks,
                            "ticktext": [power_of_ten(k) for k in ticks]},
               "hovertemplate": "epoch %{y}, t = %{x}: 10^%{z:" + D3["ratio"] + "}<extra></extra>"}
    # whole timesteps and epochs only (one row must not get ticks at epoch 0.5); a few rows are labelled
    # with exactly the epochs that were probed (every 2nd by default), not the ones in between
    rows_axis = ({"tickmode": "array", "tickvals": epochs_shown.tolist()} if len(epochs_shown) <= 12
                 else {"tick0": 0, "dtick": nice_step(float(np.ptp(epochs_shown)))})
    return figure([heatmap], title, "timestep t (0 = oldest input)", "epoch", layout={
        "hovermode": "closest", "xaxis": {"tick0": 0, "dtick": nice_step(n_t - 1)}, "yaxis": rows_axis})


def gates_figure(probe: dict | None, cell: str = "lstm") -> go.Figure:
    """Mean gate activation at each timestep for the latest probe; one colour per gate, one dash
    per layer. A forget gate near 1 lets c_t carry the gradient back unchanged."""
    title = "Mean gate activations over time"
    gates = (probe or {}).get("gates") or []
    if not any(gates):
        return empty(title, f"Only {labels_where(lambda c: c.gates)} have gates." if not cell_of(cell).gates
                     else "Gate activations appear with the first probe.")
    dashes = ["solid", "dash", "dot", "dashdot"]
    traces = []
    for l, layer_gates in enumerate(gates):
        for name, values in layer_gates.items():
            t, y = thin(np.arange(len(values)), clean(values))
            traces.append(scatter(t, y, mode="lines", name=f"{name} (layer {l + 1})",
                                  line={"color": GATE_COLORS.get(name, SLATE), "width": 2,
                                        "dash": dashes[l % len(dashes)]}))
    span = [-1.05, 1.05] if any("cell" in g for g in gates) else [0, 1.02]
    return figure(traces, title, "timestep t", "mean activation", layout={"yaxis": {"range": span}})


def add_profile(fig: go.Figure, probe: dict | None, label: str, log_y: bool = True, color: str | None = None,
                dash: str = "dot", opacity: float = 0.55) -> go.Figure:
    """Draw another probe's ‖∂L/∂hₜ‖ (one line per layer) on a `gradient_time_figure`: the epoch-0
    profile next to the latest one, or a ghost run's. Nothing happens on an empty figure."""
    if not drawn(fig) or not probe or not probe.get("grad_h"):
        return fig
    before = len(legend_names(fig))
    fig.add_traces(profile_traces(probe, label, log_y, color, dash, opacity))
    legend_below_if_long(fig, before)
    return relog(fig) if log_y else fig


def profile_traces(probe: dict, label: str, log_y: bool = True, color: str | None = None, dash: str = "dot",
                   opacity: float = 0.55) -> list[dict]:
    """`add_profile`'s lines as trace dicts: the probe's ‖∂L/∂hₜ‖, one line per layer."""
    values = positive if log_y else clean
    n_layers = len(probe["grad_h"])
    traces = []
    for l, g in enumerate(probe["grad_h"]):
        t, y = thin(np.arange(len(g)), values(g))
        traces.append(scatter(t, y, mode="lines", name=label if n_layers == 1 else f"{label}, layer {l + 1}",
                              line={"color": color or LAYER_COLORS[l % len(LAYER_COLORS)], "width": 2,
                                    "dash": dash}, opacity=opacity))
    return traces


def _rate(rate: float) -> str:
    """σ_max·γ in the theory line's legend: "0.80", "1.36" (the side of 1 is the lesson); a runaway one
    short enough for the legend, "503,000" or "2.1 × 10⁸", not "502785.63"."""
    return fixed(rate, 2) if abs(rate) < 100 else readable(rate)
