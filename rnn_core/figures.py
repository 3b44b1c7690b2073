"""Plotly figure builders: training records and evaluation dicts in, `go.Figure` out.

Every builder takes plain data in the formats of `docs/architecture.md` (step / epoch records from
`train.py`, the probe dict from `probe.py`, the evaluation dict from `evaluate.py`, a `Windows`) and
returns a small `plotly.graph_objects.Figure`: series longer than `MAX_POINTS` are decimated (bucket
min/max, so spikes survive) and the epoch × timestep heatmap is thinned to at most `HEATMAP_CELLS`.
No Streamlit here; the pages draw these with `st.plotly_chart` (see `ui/views.py`).

Builders: `loss_figure`, `gradient_time_figure`, `gradient_heatmap_figure`, `grad_norm_figure`,
`param_norms_figure`, `spectra_figure`, `predictions_figure`, `gates_figure`, `series_figure`,
`window_figure`; and `metrics_frame` (the metrics table as a DataFrame).
"""

from __future__ import annotations

import html
import itertools
import math
from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd
import plotly.graph_objects as go

MAX_POINTS = 2000          # points per trace, at most
THEORY_SPARE_DECADES = 4.0  # powers of ten a theory line may stretch the log axis beyond the measured lines
HEATMAP_CELLS = 20_000     # rows × columns of a heatmap, at most

COLORS = {
    "train": "#3b5bdb", "val": "#f08c00", "test": "#2b8a3e", "pred": "#d6336c", "baseline": "#868e96",
    "closed": "#7048e8", "theory": "#495057", "clip": "#e03131", "actual": "#1f2330",
}
LAYER_COLORS = ["#3b5bdb", "#d6336c", "#2b8a3e", "#f08c00"]
GATE_COLORS = {"input": "#3b5bdb", "forget": "#d6336c", "cell": "#2b8a3e", "output": "#f08c00",
               "reset": "#7048e8", "update": "#1098ad"}
SPLIT_FILL = {"train": "rgba(59,91,219,0.06)", "val": "rgba(240,140,0,0.10)", "test": "rgba(43,138,62,0.10)"}
SPLIT_LABEL = {"train": "train", "val": "validation", "test": "test"}


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
    decades = _decades(fig) if log_y else 0.0
    if decades >= 2.0:
        # one label per power of ten (no 2s and 5s between), thinned to about eight labels
        fig.update_yaxes(dtick=max(1, math.ceil(decades / 8)))
    return fig


def _decades(fig: go.Figure) -> float:
    """How many powers of ten the positive y values of a figure's traces span."""
    lo_hi = _log10_range(fig.data)
    return 0.0 if lo_hi is None else lo_hi[1] - lo_hi[0]      # in log space: no overflow


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
    """‖∂L/∂h_t‖ against t for one probe, one line per layer (‖∂L/∂c_t‖ dotted for LSTM), and the
    theory (σ_max·γ)^(T−1−t) scaled to meet the measured value at t = T−1."""
    if not probe or not probe.get("grad_h"):
        return _empty(title, "The gradient probe appears here.")
    fig = go.Figure()
    clean = _positive if log_y else _clean
    n_layers = len(probe["grad_h"])
    for l, g in enumerate(probe["grad_h"]):
        color = LAYER_COLORS[l % len(LAYER_COLORS)]
        t, y = _thin(np.arange(len(g)), clean(g))
        fig.add_trace(go.Scatter(x=t, y=y, mode="lines+markers" if len(g) <= 60 else "lines",
                                 name=f"layer {l + 1} ‖∂L/∂hₜ‖", line={"color": color, "width": 2.5},
                                 marker={"size": 4}))
        if probe.get("grad_c") and l < len(probe["grad_c"]) and probe["grad_c"][l] is not None:
            gc = probe["grad_c"][l]
            t, y = _thin(np.arange(len(gc)), clean(gc))
            fig.add_trace(go.Scatter(x=t, y=y, mode="lines", name=f"layer {l + 1} ‖∂L/∂cₜ‖",
                                     line={"color": color, "width": 2, "dash": "dot"}))
        theory = probe.get("theory") or []
        if show_theory and l < len(theory) and theory[l]:
            t, y = _thin(np.arange(len(theory[l])), clean(theory[l]))
            sm = (probe.get("sigma_max") or [None] * n_layers)[l]
            gamma = probe.get("gamma", 1.0)
            label = f"theory (σ_max·γ)^k, layer {l + 1}"
            if sm is not None:
                label += f" = {sm * gamma:.2f}^k"
            fig.add_trace(go.Scatter(x=t, y=y, mode="lines", name=label,
                                     line={"color": color, "width": 1.5, "dash": "dash"}, opacity=0.7))
    T = probe.get("timesteps") or len(probe["grad_h"][0])
    fig = _layout(fig, title, f"timestep t (0 = oldest input, {T - 1} = last)", "gradient norm", log_y)
    if log_y:
        _keep_measured_readable(fig)
    return fig


def _keep_measured_readable(fig: go.Figure, spare_decades: float = THEORY_SPARE_DECADES) -> None:
    """A loose bound (an LSTM's σ_max·γ = 2.2 gives 10³⁰ over 100 steps) must not flatten the measured
    lines: the log y axis shows the measured range and at most `spare_decades` more on either side;
    the theory line runs off the chart beyond that."""
    measured = [t for t in fig.data if not (t.name or "").startswith("theory")]
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
    ticks = list(range(math.floor(lo), math.ceil(hi) + 1)) if hi - lo < 40 else None
    fig = go.Figure(go.Heatmap(
        z=z, x=ci.astype(int), y=np.array([rows[i][0] for i in ri]), colorscale="Magma",
        colorbar={"title": {"text": "‖∂L/∂hₜ‖"}, "tickvals": ticks,
                  "ticktext": [f"1e{k}" for k in ticks] if ticks else None},
        hovertemplate="epoch %{y}, t = %{x}: 10^%{z:.2f}<extra></extra>"))
    fig = _layout(fig, title, "timestep t (0 = oldest input)", "epoch")
    fig.update_layout(hovermode="closest")
    return fig


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
    """Per-parameter gradient norm over epochs (one line per tensor, e.g. rnn.weight_hh_l0)."""
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
            mode="lines+markers", name=name, marker={"size": 4},
            line={"width": 2 if "hh" in name else 1.3, "dash": "solid" if "hh" in name else "dot"},
            legendrank=i))
    fig = _layout(fig, title, "epoch", "‖∂L/∂W‖", log_y)
    fig.update_layout(legend={"orientation": "v", "y": 1.0, "x": 1.02, "xanchor": "left", "yanchor": "top",
                              "font": {"size": 10}})
    return fig


def spectra_figure(epochs: Sequence[dict], gamma: float = 1.0) -> go.Figure:
    """σ_max and spectral radius of each layer's W_hh over epochs, with σ_max = 1/γ: below that line
    the gradient through time is guaranteed to vanish (Pascanu et al., 2013)."""
    title = "Recurrent weights W_hh: σ_max and spectral radius"
    ep = [r for r in epochs if r.get("spectra")]
    if not ep:
        return _empty(title, "σ_max of W_hh appears here.")
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
    if gamma and gamma > 0:
        fig.add_hline(y=1.0 / gamma, line={"color": COLORS["clip"], "dash": "dash"},
                      annotation_text=f"σ_max = 1/γ = {1.0 / gamma:.2g} (below: gradients must vanish)",
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
        idx = decimate_indices(len(x_all), max_points // len(splits))
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
    return _layout(fig, title, "date" if is_date else "step", target_name, height=400)


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
    "naive_rmse": "baseline RMSE", "skill": "skill (RMSE / baseline RMSE)", "best_lag": "best lag", "n": "n",
}
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


# ---------------------------------------------------------------------------------------- 5. gates
def gates_figure(probe: dict | None, cell: str = "lstm") -> go.Figure:
    """Mean gate activation at each timestep for the latest probe; one colour per gate, one dash
    per layer. A forget gate near 1 lets c_t carry the gradient back unchanged."""
    title = "Mean gate activations over time"
    gates = (probe or {}).get("gates") or []
    if not any(gates):
        return _empty(title, "Only LSTM and GRU cells have gates." if cell not in ("lstm", "gru")
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
    idx = decimate_indices(len(frame), max_points)
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
