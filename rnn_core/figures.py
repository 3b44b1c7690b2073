"""Plotly figure builders: training records and evaluation dicts in, `go.Figure` out.

Every builder takes plain data in the formats of `docs/architecture.md` (step / epoch records from
`train.py`, the probe dict from `probe.py`, the evaluation dict from `evaluate.py`, a `Windows`) and
returns a small `plotly.graph_objects.Figure`: series longer than `MAX_POINTS` are decimated (bucket
min/max, so spikes survive) and the epoch × timestep heatmap is thinned to at most `HEATMAP_CELLS`.
No Streamlit here; the pages draw these with `st.plotly_chart` (see `ui/views.py`).

Builders: `loss_figure`, `gradient_time_figure`, `gradient_heatmap_figure`, `grad_norm_figure`,
`param_norms_figure`, `spectra_figure`, `predictions_figure`, `gates_figure`, `series_figure`,
`window_figure`; and `metrics_frame` (the metrics table as a DataFrame).
Overlays on those: `add_profile` (another probe's ‖∂L/∂hₜ‖: epoch 0, a ghost run), `add_ghost_loss`
(another run's loss per epoch); `param_label` ("rnn.weight_hh_l0" → "W_hh, layer 1"); `present(fig)`
(a copy for a lecture screen: text ≥ 18 px, legend at the right).
"""

from __future__ import annotations

import html
import itertools
import math
import re
from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd
import plotly.colors as pc
import plotly.graph_objects as go

from rnn_core.config import CELL_SPECS
from rnn_core.evaluate import MAPE_UNDEFINED, SKILL_FORMULA

MAX_POINTS = 2000          # points per trace, at most
THEORY_SPARE_DECADES = 4.0  # powers of ten a theory line may stretch the log axis beyond the measured lines
HEATMAP_CELLS = 20_000     # rows × columns of a heatmap, at most

COLORS = {
    "train": "#3b5bdb", "val": "#f08c00", "test": "#2b8a3e", "pred": "#d6336c", "baseline": "#868e96",
    "closed": "#7048e8", "theory": "#495057", "clip": "#e03131", "actual": "#1f2330", "ghost": "#ae3ec9",
}
LAYER_COLORS = ["#3b5bdb", "#d6336c", "#2b8a3e", "#f08c00"]
GATE_COLORS = {"input": "#3b5bdb", "forget": "#d6336c", "cell": "#2b8a3e", "output": "#f08c00",
               "reset": "#7048e8", "update": "#1098ad"}
SPLIT_FILL = {"train": "rgba(59,91,219,0.06)", "val": "rgba(240,140,0,0.10)", "test": "rgba(43,138,62,0.10)"}
SPLIT_LABEL = {"train": "train", "val": "validation", "test": "test"}
# Magma, written out as rgb(): Streamlit's chart theme treats the hex colours "#000001" … "#000040" as
# placeholders for its own palette, so Plotly's "Magma" (which starts at "#000004") would lose its black.
MAGMA = [[i / (len(pc.sequential.Magma) - 1), "rgb({}, {}, {})".format(*pc.hex_to_rgb(c))]
         for i, c in enumerate(pc.sequential.Magma)]


# ---------------------------------------------------------------------------------------------- helpers
def decimate_indices(n: int, max_points: int = MAX_POINTS, values: Sequence[float] | None = None) -> np.ndarray:
    """Indices of at most `max_points` of `n` points: first and last kept; with `values`, each bucket
    keeps its min and max (a gradient spike stays visible), else an even stride."""
    if n <= max_points:
        return np.arange(n)
    if values is None:
        return np.unique(np.linspace(0, n - 1, max_points).round().astype(int))
    v = np.asarray(values, dtype=float)
    v = np.where(np.isfinite(v), v, np.nan)
    n_buckets = max(1, (max_points - 2) // 2)
    edges = np.linspace(0, n, n_buckets + 1).astype(int)
    keep = [0, n - 1]
    for lo, hi in itertools.pairwise(edges):
        if hi <= lo:
            continue
        chunk = v[lo:hi]
        if np.all(np.isnan(chunk)):
            keep.append(lo)
            continue
        keep += [lo + int(np.nanargmin(chunk)), lo + int(np.nanargmax(chunk))]
    return np.unique(np.array(keep))


def _thin(x: Sequence, y: Sequence[float], max_points: int = MAX_POINTS) -> tuple[np.ndarray, np.ndarray]:
    """Decimate paired x, y keeping min/max per bucket; returns numpy arrays (plotly validates and
    serialises those ~10× faster than lists, as typed arrays)."""
    y_arr = _clean(y)
    idx = decimate_indices(len(y_arr), max_points, y_arr)
    return np.asarray(x)[idx], y_arr[idx]


def _clean(values: Sequence[float | None]) -> np.ndarray:
    """Values as float64 with NaN for None / NaN / ±Inf (a gap in the line; valid JSON)."""
    arr = np.array([np.nan if v is None else v for v in values], dtype=float) if not isinstance(
        values, np.ndarray) else values.astype(float, copy=True)
    arr[~np.isfinite(arr)] = np.nan
    return arr


def _positive(values: Sequence[float | None]) -> np.ndarray:
    """Values for a log axis: zero, negative and non-finite become gaps."""
    arr = _clean(values)
    arr[~(arr > 0)] = np.nan
    return arr


def _layout(fig: go.Figure, title: str, x_title: str, y_title: str, log_y: bool = False,
            height: int = 330) -> go.Figure:
    fig.update_layout(
        title={"text": title, "x": 0.0, "xanchor": "left", "font": {"size": 15}},
        height=height, margin={"l": 60, "r": 20, "t": 60, "b": 45},
        legend={"orientation": "h", "yanchor": "bottom", "y": 1.0, "xanchor": "right", "x": 1.0},
        hovermode="x unified",
    )
    fig.update_xaxes(title_text=x_title)
    fig.update_yaxes(title_text=y_title, type="log" if log_y else "linear", exponentformat="power")
    names = [t.name for t in fig.data if t.name and t.showlegend is not False]
    entries = len(names)
    if entries > 4 or (entries > 2 and sum(map(len, names)) > 50):   # a long legend goes under the plot,
        # not over the title
        fig.update_layout(height=height + 22 * math.ceil(entries / 2), margin={"b": 45 + 22 * math.ceil(entries / 2)},
                          legend={"yanchor": "top", "y": -0.3, "xanchor": "left", "x": 0.0})
    if log_y:
        decade_ticks(fig)
    return fig


def decade_ticks(fig: go.Figure, max_labels: int = 8) -> go.Figure:
    """Label a log y axis at powers of ten only — never Plotly's crowded "2" and "5" between them —
    every 1, 2, 5, 10, 20, … decades so that at most about `max_labels` labels show. Values spanning
    less than two powers of ten would get one label or none: the axis then widens to the powers of ten
    around them."""
    lo_hi = _log10_range(list(fig.data) + _hline_traces(fig))
    if lo_hi is None:
        return fig
    lo, hi = lo_hi
    if math.floor(hi) - math.ceil(lo) >= 1:                    # two powers of ten or more inside
        fig.update_yaxes(tick0=0, dtick=_nice_step(hi - lo, max_labels))   # 1, 2, 5, 10, 20, … decades
    else:
        a, b = math.floor(lo), max(math.ceil(hi), math.floor(lo) + 1)
        fig.update_yaxes(tick0=0, dtick=1, range=[a - 0.05, b + 0.05])   # range in log10 units
    return fig


def relog(fig: go.Figure) -> go.Figure:
    """After traces were added to a log-y figure (bands, another probe): label it again from scratch —
    decades only (`decade_ticks`), and a loose theory line kept from flattening the measured ones."""
    fig.update_yaxes(range=None, dtick=None)
    decade_ticks(fig)
    keep_measured_readable(fig)
    return fig


def _hline_traces(fig: go.Figure) -> list:
    """Horizontal lines (`add_hline`, e.g. a baseline) as stand-in traces, so they count in the range."""
    ys = [sh.y0 for sh in fig.layout.shapes or () if sh.yref == "y" and sh.y0 is not None and sh.y0 == sh.y1]
    return [go.Scatter(y=[float(y) for y in ys])] if ys else []


def _empty(title: str, message: str, height: int = 330) -> go.Figure:
    fig = go.Figure()
    fig.add_annotation(text=message, showarrow=False, x=0.5, y=0.5, xref="paper", yref="paper",
                       font={"size": 14, "color": COLORS["baseline"]})
    fig.update_xaxes(visible=False)
    fig.update_yaxes(visible=False)
    fig.update_layout(title={"text": title, "x": 0.0, "font": {"size": 15}},
                      height=height, margin={"l": 20, "r": 20, "t": 60, "b": 20})
    return fig


def latest_probe(epochs: Sequence[dict]) -> dict | None:
    """The probe of the last epoch record that has one."""
    for rec in reversed(epochs):
        if rec.get("probe"):
            return rec["probe"]
    return None


# ---------------------------------------------------------------------------------------------- 1. loss
def loss_figure(steps: Sequence[dict], epochs: Sequence[dict], baseline: float | None = None,
                log_y: bool = True, baseline_label: str = "persistence baseline") -> go.Figure:
    """Training loss per step (thin), train and validation loss per epoch (markers), the baseline
    dashed. x is the optimiser step; epoch records sit at the step they closed."""
    title = "Loss"
    if not steps and not epochs:
        return _empty(title, "Press Train: the loss appears here.")
    fig = go.Figure()
    clean = _positive if log_y else _clean
    ys = clean([r["loss"] for r in steps])
    if steps:
        x, y = _thin([r["step"] for r in steps], ys)
        fig.add_trace(go.Scatter(x=x, y=y, mode="lines", name="train (per step)",
                                   line={"color": COLORS["train"], "width": 1}, opacity=0.45))
    ep = [r for r in epochs if r.get("train_loss") is not None]
    if ep:
        fig.add_trace(go.Scatter(
            x=np.array([r["step"] for r in ep]), y=clean([r["train_loss"] for r in ep]), mode="lines+markers",
            name="train (epoch)", line={"color": COLORS["train"], "width": 2.5},
            customdata=[r["epoch"] for r in ep], hovertemplate="epoch %{customdata}: %{y:.4g}"))
    ev = [r for r in epochs if r.get("val_loss") is not None]
    if ev:
        fig.add_trace(go.Scatter(
            x=np.array([r["step"] for r in ev]), y=clean([r["val_loss"] for r in ev]), mode="lines+markers",
            name="validation (epoch)", line={"color": COLORS["val"], "width": 2.5},
            customdata=[r["epoch"] for r in ev], hovertemplate="epoch %{customdata}: %{y:.4g}"))
    if baseline is not None and math.isfinite(baseline) and (baseline > 0 or not log_y):
        fig.add_hline(y=baseline, line={"color": COLORS["baseline"], "dash": "dash", "width": 2},
                      annotation_text=f"{baseline_label} {baseline:.3g}", annotation_position="top left")
        fig.add_trace(go.Scatter(x=[None], y=[None], mode="lines", name=baseline_label,
                                 line={"color": COLORS["baseline"], "dash": "dash"}))
    return _layout(fig, title, "optimiser step", "MSE (scaled units)", log_y)


# ------------------------------------------------------------------------------- 2. gradient through time
def gradient_time_figure(probe: dict | None, log_y: bool = True, show_theory: bool = True,
                         title: str = "Gradient through time ‖∂L/∂hₜ‖") -> go.Figure:
    """‖∂L/∂h_t‖ against t for one probe, one line per layer (‖∂L/∂c_t‖ dotted for LSTM); where the probe
    has a bound (Elman / Jordan, top layer) the upper bound ‖∂L/∂h_T‖·(σ_max·γ)^(T−1−t) dashed with the
    region it allows shaded beneath it; for LSTM / GRU the gate path (what the additive path alone
    carries back, `probe.py`) dash-dotted."""
    if not probe or not probe.get("grad_h"):
        return _empty(title, "The gradient probe appears here.")
    fig = go.Figure()
    clean = _positive if log_y else _clean
    n_layers = len(probe["grad_h"])
    for l, g in enumerate(probe["grad_h"]):
        color = LAYER_COLORS[l % len(LAYER_COLORS)]
        theory = probe.get("theory") or []
        if show_theory and l < len(theory) and theory[l]:
            t, y = _thin(np.arange(len(theory[l])), clean(theory[l]))
            sm = (probe.get("sigma_max") or [None] * n_layers)[l]
            rate = "(σ_max·γ)" if sm is None else f"{sm * probe.get('gamma', 1.0):.2f}"
            fig.add_trace(go.Scatter(
                x=t, y=y, mode="lines", fill="tozeroy", fillcolor=_rgba(color, 0.07),
                name=f"theory: upper bound ∝ {rate}^(T−1−t), layer {l + 1} (shaded: allowed)",
                line={"color": color, "width": 1.5, "dash": "dash"}, opacity=0.8))
        t, y = _thin(np.arange(len(g)), clean(g))
        fig.add_trace(go.Scatter(x=t, y=y, mode="lines+markers" if len(g) <= 60 else "lines",
                                 name=f"layer {l + 1} ‖∂L/∂hₜ‖", line={"color": color, "width": 2.5},
                                 marker={"size": 4}))
        if probe.get("grad_c") and l < len(probe["grad_c"]) and probe["grad_c"][l] is not None:
            gc = probe["grad_c"][l]
            t, y = _thin(np.arange(len(gc)), clean(gc))
            fig.add_trace(go.Scatter(x=t, y=y, mode="lines", name=f"layer {l + 1} ‖∂L/∂cₜ‖",
                                     line={"color": color, "width": 2, "dash": "dot"}))
        paths = probe.get("gate_path") or []
        if show_theory and l < len(paths) and paths[l]:
            gate = "f" if probe.get("grad_c") else "z"
            t, y = _thin(np.arange(len(paths[l])), clean(paths[l]))
            fig.add_trace(go.Scatter(x=t, y=y, mode="lines", name=f"gate path: ∏ {gate}ⱼ alone, layer {l + 1}",
                                     line={"color": color, "width": 1.5, "dash": "dashdot"}, opacity=0.8))
    T = probe.get("timesteps") or len(probe["grad_h"][0])
    fig = _layout(fig, title, f"timestep t (0 = oldest input, {T - 1} = last)", "gradient norm", log_y)
    if log_y:
        keep_measured_readable(fig)
    return fig


def _rgba(hex_color: str, alpha: float) -> str:
    r, g, b = (int(hex_color[i:i + 2], 16) for i in (1, 3, 5))
    return f"rgba({r},{g},{b},{alpha})"


REFERENCE_LINES = ("theory", "gate path")   # trace names that are references, not measured gradients


def keep_measured_readable(fig: go.Figure, spare_decades: float = THEORY_SPARE_DECADES) -> None:
    """A loose bound (σ_max·γ = 2.2 gives 10³⁰ over 100 steps) must not flatten the measured lines:
    the log y axis shows the measured range and at most `spare_decades` more on either side; the
    reference lines (bound, gate path) run off the chart beyond that."""
    measured = [t for t in fig.data if not (t.name or "").startswith(REFERENCE_LINES)]
    lo_hi = _log10_range(measured)
    everything = _log10_range(fig.data)
    if lo_hi is None or everything is None:
        return
    lo, hi = max(everything[0], lo_hi[0] - spare_decades), min(everything[1], lo_hi[1] + spare_decades)
    if (lo, hi) == everything:
        return
    fig.update_yaxes(range=[lo - 0.2, hi + 0.2], dtick=max(1, math.ceil((hi - lo) / 8)))


def _log10_range(traces) -> tuple[float, float] | None:
    """(log10 min, log10 max) of the traces' positive finite y values, or None when there are none."""
    ys = [np.asarray(t.y, dtype=float) for t in traces if getattr(t, "y", None) is not None]
    ys = [y[np.isfinite(y) & (y > 0)] for y in ys]
    ys = [y for y in ys if y.size]
    if not ys:
        return None
    return float(np.log10(min(y.min() for y in ys))), float(np.log10(max(y.max() for y in ys)))


def gradient_heatmap_figure(epochs: Sequence[dict], layer: int = 0, max_cells: int = HEATMAP_CELLS,
                            title: str = "‖∂L/∂hₜ‖ over training (log₁₀ colour)") -> go.Figure:
    """Epoch × timestep heatmap of log10 ‖∂L/∂h_t‖ for one layer, rows and columns thinned so that
    rows × columns ≤ `max_cells`."""
    rows = [(r["epoch"], r["probe"]["grad_h"][layer]) for r in epochs
            if r.get("probe") and r["probe"].get("grad_h") and layer < len(r["probe"]["grad_h"])]
    if not rows:
        return _empty(title, "Fills in epoch by epoch.")
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
    fig = go.Figure(go.Heatmap(
        z=z, x=ci.astype(int), y=epochs_shown, colorscale=MAGMA,
        colorbar={"title": {"text": "‖∂L/∂hₜ‖"}, "tickvals": ticks, "ticktext": [_power_of_ten(k) for k in ticks]},
        hovertemplate="epoch %{y}, t = %{x}: 10^%{z:.2f}<extra></extra>"))
    fig = _layout(fig, title, "timestep t (0 = oldest input)", "epoch")
    fig.update_layout(hovermode="closest")
    # whole timesteps and epochs only (one row must not get ticks at epoch 0.5); a few rows are labelled
    # with exactly the epochs that were probed (every 2nd by default), not the ones in between
    fig.update_xaxes(tick0=0, dtick=_nice_step(n_t - 1))
    if len(epochs_shown) <= 12:
        fig.update_yaxes(tickmode="array", tickvals=epochs_shown.tolist())
    else:
        fig.update_yaxes(tick0=0, dtick=_nice_step(float(np.ptp(epochs_shown))))
    return fig


def _nice_step(span: float, max_labels: int = 8) -> int:
    """The smallest of 1, 2, 5, 10, 20, 50, … that puts at most about `max_labels` labels on `span`."""
    for k in itertools.count():
        for m in (1, 2, 5):
            if m * 10**k * max_labels >= span:
                return m * 10**k
    raise AssertionError("unreachable")


def _power_of_ten(k: int) -> str:
    """10 to the power k, written as on the log axes: 10⁻³."""
    return "10" + str(k).translate(str.maketrans("-0123456789", "⁻⁰¹²³⁴⁵⁶⁷⁸⁹"))


# ---------------------------------------------------------------------------------- 3. gradient norms
def grad_norm_figure(steps: Sequence[dict], clip: str = "off", clip_value: float | None = None,
                     log_y: bool = True) -> go.Figure:
    """Total gradient norm per step (before clipping), the clipping threshold, clipped steps marked."""
    title = "Gradient norm per step (before clipping)"
    if not steps:
        return _empty(title, "The gradient norm per step appears here.")
    clean = _positive if log_y else _clean
    x, y = _thin([r["step"] for r in steps], clean([r["grad_norm"] for r in steps]))
    fig = go.Figure(go.Scatter(x=x, y=y, mode="lines", name="‖g‖", line={"color": COLORS["train"],
                                                                            "width": 1.3}))
    clipped = [r for r in steps if r.get("clipped")]
    if clipped:
        cx, cy = _thin([r["step"] for r in clipped], clean([r["grad_norm"] for r in clipped]))
        fig.add_trace(go.Scatter(x=cx, y=cy, mode="markers", name=f"clipped ({len(clipped)} steps)",
                                   marker={"color": COLORS["clip"], "symbol": "x", "size": 6}))
    if clip == "norm" and clip_value:
        fig.add_hline(y=clip_value, line={"color": COLORS["clip"], "dash": "dash"},
                      annotation_text=f"clip at ‖g‖ = {clip_value:g}", annotation_position="top left")
    return _layout(fig, title, "optimiser step", "‖∂L/∂θ‖", log_y)


def param_norms_figure(epochs: Sequence[dict], log_y: bool = True, max_params: int = 12) -> go.Figure:
    """Per-parameter gradient norm over epochs (one line per tensor, e.g. rnn.weight_hh_l0, labelled
    "W_hh, layer 1")."""
    title = "Gradient norm per parameter"
    ep = [r for r in epochs if r.get("param_grad_norms")]
    if not ep:
        return _empty(title, "Appears after the first epoch.")
    names = list(ep[-1]["param_grad_norms"])[:max_params]
    clean = _positive if log_y else _clean
    fig = go.Figure()
    for i, name in enumerate(names):
        fig.add_trace(go.Scatter(
            x=np.array([r["epoch"] for r in ep]), y=clean([r["param_grad_norms"].get(name) for r in ep]),
            mode="lines+markers", name=param_label(name), marker={"size": 4},
            line={"width": 2 if "hh" in name else 1.3, "dash": "solid" if "hh" in name else "dot"},
            legendrank=i))
    fig = _layout(fig, title, "epoch", "‖∂L/∂W‖", log_y)
    fig.update_layout(legend={"orientation": "v", "y": 1.0, "x": 1.02, "xanchor": "left", "yanchor": "top",
                              "font": {"size": 10}})
    return fig


def spectra_figure(epochs: Sequence[dict], gamma: float = 1.0, matrix: str = "W_hh",
                   bounded: bool = True) -> go.Figure:
    """σ_max and spectral radius of each layer's recurrent matrix (`matrix`, e.g. "W_hh") over epochs.
    With `bounded` (Elman / Jordan: the step Jacobian is diag(φ′)·matrix) the line σ_max = 1/γ, below
    which the recurrence can only shrink the gradient (Pascanu et al., 2013); for gated cells no line:
    their gates add paths that σ_max does not bound."""
    title = f"Recurrent matrix {matrix}: σ_max and spectral radius"
    ep = [r for r in epochs if r.get("spectra")]
    if not ep:
        return _empty(title, f"σ_max of {matrix} appears here.")
    fig = go.Figure()
    n_layers = len(ep[-1]["spectra"])
    for l in range(n_layers):
        color = LAYER_COLORS[l % len(LAYER_COLORS)]
        x = [r["epoch"] for r in ep if l < len(r["spectra"])]
        fig.add_trace(go.Scatter(x=x, y=_clean([r["spectra"][l]["sigma_max"] for r in ep
                                                if l < len(r["spectra"])]),
                                 mode="lines+markers", name=f"σ_max layer {l + 1}",
                                 line={"color": color, "width": 2.5}, marker={"size": 4}))
        fig.add_trace(go.Scatter(x=x, y=_clean([r["spectra"][l]["spectral_radius"] for r in ep
                                                if l < len(r["spectra"])]),
                                 mode="lines", name=f"spectral radius layer {l + 1}",
                                 line={"color": color, "width": 1.5, "dash": "dot"}))
    if bounded and gamma and gamma > 0:
        fig.add_hline(y=1.0 / gamma, line={"color": COLORS["clip"], "dash": "dash"},
                      annotation_text="σ_max·γ = 1 (below: each step back can only shrink the gradient)",
                      annotation_position="bottom left")
    return _layout(fig, title, "epoch", "value")


# ------------------------------------------------------------------------------ 4. predicted vs actual
def _split_dict(evaluation: dict, split: str) -> dict | None:
    """The split's part of an evaluation, or None when it is missing or has no windows (e.g. the
    stock preset's 80/20 split has no validation part)."""
    d = evaluation.get(split) if evaluation else None
    return d if isinstance(d, dict) and d.get("y_true") is not None and len(d["y_true"]) else None


def _first_column(values: Any) -> np.ndarray:
    """A (N,) or (N, O) array-like (None = missing) → the first output column, NaN for gaps."""
    arr = np.array(values, dtype=float)
    if arr.ndim > 1:
        arr = arr[:, 0]
    return _clean(arr)


def _axis_values(index: Sequence) -> np.ndarray:
    """An index as an array plotly reads fast: dates (Timestamps or ISO strings) as datetime64,
    step numbers as numbers."""
    values = list(index)
    if values and isinstance(values[0], str | pd.Timestamp | np.datetime64):
        try:
            return pd.to_datetime(pd.Series(values), format="ISO8601").to_numpy()
        except (ValueError, TypeError):
            return np.asarray(values, dtype=object)
    return np.asarray(values)


def predictions_figure(evaluation: dict, closed: dict | None = None, task: str = "forecast",
                       target_name: str = "value", show_persistence: bool = True,
                       max_points: int = MAX_POINTS) -> go.Figure:
    """Actual series in real units with train/validation/test shaded, one-step predictions, the
    persistence baseline and (optionally) the closed-loop forecast fed with its own predictions.
    Sequence tasks (adding, echo): predicted against true value on the test windows."""
    target_name = plain_text(target_name)
    title = f"Predicted vs actual — {target_name}"
    if task == "sequence":
        return _sequence_scatter(evaluation, target_name)
    splits = [s for s in ("train", "val", "test") if _split_dict(evaluation, s)]
    if not splits:
        return _empty(title, "Predictions appear when a run is paused or finished.")
    fig = go.Figure()
    for n, split in enumerate(splits):
        d = _split_dict(evaluation, split)
        x_all = _axis_values(d["index"])
        # each bucket keeps the actual series' min and max, so a spike survives the decimation
        idx = decimate_indices(len(x_all), max_points // len(splits), _first_column(d["y_true"]))
        x = x_all[idx]

        def pick(vals: np.ndarray, idx: np.ndarray = idx) -> np.ndarray:
            return vals[idx]

        y_true = _first_column(d["y_true"])
        fig.add_vrect(x0=x_all[0], x1=x_all[-1], fillcolor=SPLIT_FILL[split], line_width=0, layer="below",
                      annotation_text=SPLIT_LABEL[split], annotation_position="top left")
        fig.add_trace(go.Scatter(x=x, y=pick(y_true), mode="lines", name="actual", legendgroup="actual",
                                 showlegend=n == 0, line={"color": COLORS["actual"], "width": 1.5}))
        fig.add_trace(go.Scatter(x=x, y=pick(_first_column(d["y_pred"])), mode="lines",
                                 name="one-step prediction", legendgroup="pred", showlegend=n == 0,
                                 line={"color": COLORS["pred"], "width": 1.8}))
        if show_persistence and d.get("persistence") is not None:
            fig.add_trace(go.Scatter(x=x, y=pick(_first_column(d["persistence"])), mode="lines",
                                     name="persistence (yesterday's value)", legendgroup="persist",
                                     showlegend=n == 0, visible="legendonly",
                                     line={"color": COLORS["baseline"], "width": 1.2, "dash": "dash"}))
    if closed and closed.get("y_pred") is not None and len(closed["y_pred"]):
        cx = _axis_values(closed.get("index", list(range(len(closed["y_pred"])))))
        cy = _first_column(closed["y_pred"])
        ci = decimate_indices(len(cy), max_points)
        fig.add_trace(go.Scatter(x=cx[ci], y=cy[ci],
                                 mode="lines", name="closed-loop forecast (own predictions fed back)",
                                 line={"color": COLORS["closed"], "width": 2, "dash": "dot"}))
    is_date = np.issubdtype(np.asarray(fig.data[0].x).dtype, np.datetime64)
    fig = _layout(fig, title, "date" if is_date else "step", target_name, height=400)
    _keep_actual_readable(fig)
    return fig


def _keep_actual_readable(fig: go.Figure) -> None:
    """Predictions of a broken model (e.g. −4e20 after a divergence) must not flatten the actual series
    into a line: the y axis keeps the actual values with one span of margin on either side, and a note
    says how far the predictions went."""
    def values(names: tuple[str, ...], keep: bool) -> np.ndarray:
        ys = [np.asarray(t.y, dtype=float) for t in fig.data
              if ((t.name or "").startswith(names)) == keep and t.y is not None]
        ys = np.concatenate(ys) if ys else np.zeros(0)
        return ys[np.isfinite(ys)]

    actual, predicted = values(("actual",), True), values(("actual",), False)
    if actual.size == 0 or predicted.size == 0:
        return
    lo, hi = float(actual.min()), float(actual.max())
    span = max(hi - lo, abs(hi) * 1e-6, 1e-12)
    # shown: [min(actual) − span, max(actual) + span]
    bottom, top = lo - span, hi + span
    if predicted.min() >= bottom and predicted.max() <= top:
        return
    fig.update_yaxes(range=[bottom, top])
    fig.add_annotation(text=f"Some predictions lie off the chart (from {predicted.min():.3g} to "
                            f"{predicted.max():.3g}): the axis keeps the actual series readable.",
                       xref="paper", yref="paper", x=0.5, y=0.02, showarrow=False,
                       font={"size": 12, "color": "#c92a2a"}, bgcolor="rgba(255,255,255,0.8)")


def _sequence_scatter(evaluation: dict, target_name: str) -> go.Figure:
    title = "Predicted vs true target (test windows)"
    d = _split_dict(evaluation, "test") or _split_dict(evaluation, "val")
    if not d:
        return _empty(title, "Predictions appear when a run is paused or finished.")
    y_true, y_pred = _first_column(d["y_true"]), _first_column(d["y_pred"])
    idx = decimate_indices(len(y_true), MAX_POINTS)
    yt, yp = y_true[idx], y_pred[idx]
    both = np.concatenate([yt, yp])
    finite = both[np.isfinite(both)]
    lo, hi = (float(finite.min()), float(finite.max())) if finite.size else (0.0, 1.0)
    fig = go.Figure(go.Scatter(x=yt, y=yp, mode="markers", name="test windows",
                                 marker={"color": COLORS["pred"], "size": 5, "opacity": 0.6}))
    fig.add_trace(go.Scatter(x=[lo, hi], y=[lo, hi], mode="lines", name="perfect (ŷ = y)",
                             line={"color": COLORS["actual"], "dash": "dash"}))
    baseline = d.get("constant") if d.get("constant") is not None else d.get("persistence")
    if baseline is not None:
        b = _first_column(baseline)
        if len(b) and np.isfinite(b[0]):
            fig.add_hline(y=float(b[0]), line={"color": COLORS["baseline"], "dash": "dot"},
                          annotation_text="constant guess", annotation_position="bottom right")
    fig = _layout(fig, title, f"true {target_name}", f"predicted {target_name}", height=400)
    fig.update_layout(hovermode="closest")
    return fig


METRIC_LABELS = {
    "rmse": "RMSE", "mae": "MAE", "mape": "MAPE %", "directional_accuracy": "direction right",
    "naive_rmse": "baseline RMSE", "skill_score": SKILL_FORMULA, "best_lag": "best lag", "n": "n",
}
# how each column reads in the displayed table (`metrics_display`); a missing value shows as "—"
METRIC_FORMATS = {"RMSE": "{:.4g}", "MAE": "{:.4g}", "MAPE %": "{:.2f}", "direction right": "{:.1%}",
                  "baseline RMSE": "{:.4g}", SKILL_FORMULA: "{:+.3f}", "best lag": "{:d}", "n": "{:d}"}
PREDICTOR_LABELS = {"model": "model", "persistence": "persistence", "moving_average": "moving average",
                    "constant": "constant guess"}


def metrics_frame(evaluation: dict, splits: Sequence[str] = ("train", "val", "test")) -> pd.DataFrame:
    """The metrics table: one row per (split, predictor) — the model next to its baselines — with
    the columns of `evaluate.metrics` in real units. Accepts a split's metrics either nested per
    predictor ({"model": m, "persistence": m, …}) or flat (m)."""
    rows, index = [], []
    for split in splits:
        d = evaluation.get(split) if evaluation else None
        if not isinstance(d, dict) or not isinstance(d.get("metrics"), dict):
            continue
        if d.get("y_true") is not None and not len(d["y_true"]):     # a split without windows
            continue
        m = d["metrics"]
        per_predictor = m if all(isinstance(v, dict) for v in m.values()) else {"model": m}
        for predictor, values in per_predictor.items():
            index.append((SPLIT_LABEL[split], PREDICTOR_LABELS.get(predictor, predictor)))
            rows.append({METRIC_LABELS.get(k, k): v for k, v in values.items()
                         if isinstance(v, int | float) or v is None})
    frame = pd.DataFrame(rows, index=pd.MultiIndex.from_tuples(index, names=["split", "predictor"])
                         if index else None)
    return frame


def metrics_display(frame: pd.DataFrame) -> tuple[pd.DataFrame, list[str]]:
    """The metrics table as a reader sees it: each value formatted (`METRIC_FORMATS`), "—" where a
    metric is undefined, columns undefined for every row dropped (MAPE stays, with its reason); and one
    footnote per kind of "—"."""
    shown = frame[[c for c in frame.columns if c == "MAPE %" or frame[c].notna().any()]]
    text = pd.DataFrame({c: [_cell(shown[c].iloc[i], METRIC_FORMATS.get(c, "{:.4g}")) for i in range(len(shown))]
                         for c in shown.columns}, index=shown.index)
    notes = []
    if "MAPE %" in shown and shown["MAPE %"].isna().any():
        notes.append(MAPE_UNDEFINED)
    if "direction right" in shown:
        missing = shown["direction right"].isna()
        if missing.any() and all(p == PREDICTOR_LABELS["persistence"]
                                 for p in shown.index.get_level_values(-1)[missing.to_numpy()]):
            notes.append("Direction right is — for persistence: it predicts no change, so it has no "
                         "direction to get right.")
        elif missing.any():
            notes.append("Direction right is — where the forecast never predicts a change or the truth "
                         "never moves.")
    return text, notes


def _cell(value: Any, fmt: str) -> str:
    if value is None or (isinstance(value, float) and not math.isfinite(value)):
        return "—"
    if fmt.endswith("d}"):
        value = int(value)
    return fmt.format(value).replace("-", "−")


# ---------------------------------------------------------------------------------------- 5. gates
def gates_figure(probe: dict | None, cell: str = "lstm") -> go.Figure:
    """Mean gate activation at each timestep for the latest probe; one colour per gate, one dash
    per layer. A forget gate near 1 lets c_t carry the gradient back unchanged."""
    title = "Mean gate activations over time"
    gates = (probe or {}).get("gates") or []
    if not any(gates):
        return _empty(title, "Only LSTM and GRU cells have gates." if not CELL_SPECS[cell].gates
                      else "Gate activations appear with the first probe.")
    fig = go.Figure()
    dashes = ["solid", "dash", "dot", "dashdot"]
    for l, layer_gates in enumerate(gates):
        for name, values in layer_gates.items():
            t, y = _thin(np.arange(len(values)), _clean(values))
            fig.add_trace(go.Scatter(x=t, y=y, mode="lines", name=f"{name} (layer {l + 1})",
                                     line={"color": GATE_COLORS.get(name, "#495057"), "width": 2,
                                           "dash": dashes[l % len(dashes)]}))
    fig = _layout(fig, title, "timestep t", "mean activation")
    fig.update_yaxes(range=[-1.05, 1.05] if any("cell" in g for g in gates) else [0, 1.02])
    return fig


# -------------------------------------------------------------------------------------- data page
def plain_text(text: Any) -> str:
    """User text (a CSV column name, a ticker) for a Plotly label or title: Plotly reads <a href>, <img>-
    like tags in labels, so `<`, `>` and `&` are written as entities and show as typed; nothing links."""
    return html.escape(str(text), quote=False)


def series_figure(frame: pd.DataFrame, columns: Sequence[str] | None = None, title: str = "",
                  max_points: int = MAX_POINTS) -> go.Figure:
    """The dataset's columns against its index (dates or steps), decimated."""
    cols = [c for c in (columns or frame.columns) if c in frame.columns]
    cols = [c for c in cols if pd.api.types.is_numeric_dtype(frame[c])][:6]
    if frame.empty or not cols:
        return _empty(title or "Series", "Nothing numeric to draw.")
    # per shown column, each bucket keeps its min and max (a spike survives the decimation)
    shown = cols[:2]
    idx = np.unique(np.concatenate([decimate_indices(len(frame), max_points // len(shown),
                                                     frame[c].to_numpy(dtype=float)) for c in shown]))
    x = frame.index[idx].to_numpy()
    fig = go.Figure()
    for i, c in enumerate(cols):
        fig.add_trace(go.Scatter(x=x, y=_clean(frame[c].to_numpy(dtype=float)[idx]), mode="lines",
                                 name=plain_text(c), line={"width": 1.6, "color": LAYER_COLORS[i % 4]},
                                 yaxis="y" if i == 0 else "y2", visible=True if i < 2 else "legendonly"))
    fig = _layout(fig, plain_text(title), plain_text(frame.index.name or "index"), plain_text(cols[0]))
    if len(cols) > 1:
        fig.update_layout(yaxis2={"overlaying": "y", "side": "right", "showgrid": False,
                                  "title": {"text": "other columns"}})
    return fig


def window_figure(X_window: np.ndarray, y_target: np.ndarray, feature_names: Sequence[str],
                  target_name: str, title: str = "One training window, as the network sees it") -> go.Figure:
    """One window X (T, F) in scaled units over t = 0…T−1 and its target drawn at t = T."""
    X_window = np.asarray(X_window, dtype=float)
    if X_window.ndim == 1:
        X_window = X_window[:, None]
    T, F = X_window.shape
    fig = go.Figure()
    for f in range(min(F, 6)):
        name = feature_names[f] if f < len(feature_names) else f"feature {f}"
        fig.add_trace(go.Scatter(x=np.arange(T), y=_clean(X_window[:, f]),
                                 mode="lines+markers" if T <= 60 else "lines", name=f"input: {plain_text(name)}",
                                 line={"color": LAYER_COLORS[f % 4], "width": 2}, marker={"size": 4}))
    y = np.asarray(y_target, dtype=float).reshape(-1)
    fig.add_trace(go.Scatter(x=np.full(len(y), T), y=_clean(y), mode="markers",
                             name=f"target: {plain_text(target_name)}",
                             marker={"color": COLORS["pred"], "size": 13, "symbol": "star"}))
    fig.add_vline(x=T - 0.5, line={"color": COLORS["baseline"], "dash": "dot"})
    return _layout(fig, title, f"timestep t (window of T = {T}; target at t = {T})", "scaled value",
                   height=300)


# ------------------------------------------------------------------------- overlays, labels, lecture style
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


def first_probe(epochs: Sequence[dict]) -> tuple[int, dict] | None:
    """(epoch, probe) of the first epoch record that has a probe (epoch 0: the initialisation)."""
    for rec in epochs:
        if rec.get("probe"):
            return int(rec.get("epoch", 0)), rec["probe"]
    return None


def _drawn(fig: go.Figure) -> bool:
    """Whether a figure shows data (the `_empty` placeholders hide their axes)."""
    return fig.layout.xaxis.visible is not False and len(fig.data) > 0


def _legend_names(fig: go.Figure) -> list[str]:
    return [t.name for t in fig.data if t.name and t.showlegend is not False]


def _legend_below_if_long(fig: go.Figure, entries_before: int) -> None:
    """After overlay traces: a legend that got long goes under the plot, as `_layout` does it, so it
    never covers the title."""
    names = _legend_names(fig)
    if not (len(names) > 4 or (len(names) > 2 and sum(map(len, names)) > 50)):
        return
    moved = fig.layout.legend.y == -0.3
    base = (fig.layout.height or 330) - (22 * math.ceil(entries_before / 2) if moved else 0)
    rows = math.ceil(len(names) / 2)
    fig.update_layout(height=base + 22 * rows, margin={"b": 45 + 22 * rows},
                      legend={"yanchor": "top", "y": -0.3, "xanchor": "left", "x": 0.0})


def add_profile(fig: go.Figure, probe: dict | None, label: str, log_y: bool = True, color: str | None = None,
                dash: str = "dot", opacity: float = 0.55) -> go.Figure:
    """Draw another probe's ‖∂L/∂hₜ‖ (one line per layer) on a `gradient_time_figure`: the epoch-0
    profile next to the latest one, or a ghost run's. Nothing happens on an empty figure."""
    if not _drawn(fig) or not probe or not probe.get("grad_h"):
        return fig
    clean = _positive if log_y else _clean
    n_layers, before = len(probe["grad_h"]), len(_legend_names(fig))
    for l, g in enumerate(probe["grad_h"]):
        t, y = _thin(np.arange(len(g)), clean(g))
        fig.add_trace(go.Scatter(x=t, y=y, mode="lines", name=label if n_layers == 1 else f"{label}, layer {l + 1}",
                                 line={"color": color or LAYER_COLORS[l % len(LAYER_COLORS)], "width": 2,
                                       "dash": dash}, opacity=opacity))
    _legend_below_if_long(fig, before)
    return relog(fig) if log_y else fig


def add_ghost_loss(fig: go.Figure, epochs: Sequence[dict], label: str, log_y: bool = True) -> go.Figure:
    """Draw another run's loss per epoch (validation, else training) on a `loss_figure`, dashed, at the
    step each epoch closed: the same setup with another cell, without leaving the page."""
    pts = [(r["step"], r.get("val_loss") if r.get("val_loss") is not None else r.get("train_loss"))
           for r in epochs if r.get("step") is not None]
    pts = [(s, v) for s, v in pts if v is not None]
    if not _drawn(fig) or not pts:
        return fig
    clean = _positive if log_y else _clean
    before = len(_legend_names(fig))
    fig.add_trace(go.Scatter(x=np.array([s for s, _ in pts]), y=clean([v for _, v in pts]), mode="lines+markers",
                             name=label, line={"color": COLORS["ghost"], "width": 2.5, "dash": "dash"},
                             marker={"size": 5}))
    _legend_below_if_long(fig, before)
    return relog(fig) if log_y else fig


PRESENTER_FONT = 18        # px: the smallest text a lecture screen shows


def present(fig: go.Figure, height: int = 430) -> go.Figure:
    """A copy of `fig` for a lecture screen: every text ≥ `PRESENTER_FONT` px, a larger title, the
    legend at the right of the plot (never over the title), and `height`."""
    fig = go.Figure(fig)
    size = PRESENTER_FONT
    fig.update_layout(font={"size": size}, title_font_size=size + 6, height=height, legend_font_size=size,
                      legend={"orientation": "v", "x": 1.01, "xanchor": "left", "y": 1.0, "yanchor": "top"},
                      margin={"l": 95, "r": 20, "t": 60, "b": 75}, hoverlabel_font_size=size)
    fig.update_xaxes(tickfont_size=size, title_font_size=size + 2)
    fig.update_yaxes(tickfont_size=size, title_font_size=size + 2)
    for a in fig.layout.annotations:
        a.font.size = max(a.font.size or 0, size)
    if fig.layout.yaxis.type == "log" and fig.layout.yaxis.dtick is None:
        decade_ticks(fig)        # Plotly labels 2…9 between decades at ¾ size: decades only
    fig.update_traces(colorbar_tickfont_size=size, colorbar_title_font_size=size, selector={"type": "heatmap"})
    return fig
