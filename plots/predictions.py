"""The data and what the model makes of it: the evaluation dict of `rnn_core.measure.evaluate` and the frames
and windows of `rnn_core.data.windows` in, `go.Figure` out.

    predictions_figure(evaluation, closed, task, target_name)   the series in real units, splits shaded,
                             one-step predictions, persistence, the closed-loop forecast; sequence
                             tasks: predicted against true value on the test windows
    series_figure(frame, columns, title)                        a dataset's columns against its index
    window_figure(X_window, y_target, feature_names, target_name) one window as the network sees it
User text (column names, the target's name) reaches the labels through `style.plain_text`.
Leaves to others: the numbers (`rnn_core/measure/evaluate.py`), the metrics table (`plots/tables.py`).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd
import plotly.graph_objects as go

from plots.points import MAX_POINTS, clean, decimate_indices
from plots.style import COLORS, LAYER_COLORS, SPLIT_FILL, SPLIT_LABEL, empty, layout, plain_text
from rnn_core.readable import readable


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
    return clean(arr)


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
        return empty(title, "Predictions appear when a run is paused or finished.")
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
    fig = layout(fig, title, "date" if is_date else "step", target_name, height=400)
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
    fig.add_annotation(text=f"Some predictions lie off the chart (from {readable(float(predicted.min()))} to "
                            f"{readable(float(predicted.max()))}): the axis keeps the actual series readable.",
                       xref="paper", yref="paper", x=0.5, y=0.02, showarrow=False,
                       font={"size": 12, "color": COLORS["warning"]}, bgcolor="rgba(255,255,255,0.8)")


def _sequence_scatter(evaluation: dict, target_name: str) -> go.Figure:
    title = "Predicted vs true target (test windows)"
    d = _split_dict(evaluation, "test") or _split_dict(evaluation, "val")
    if not d:
        return empty(title, "Predictions appear when a run is paused or finished.")
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
    fig = layout(fig, title, f"true {target_name}", f"predicted {target_name}", height=400)
    fig.update_layout(hovermode="closest")
    return fig


def series_figure(frame: pd.DataFrame, columns: Sequence[str] | None = None, title: str = "",
                  max_points: int = MAX_POINTS) -> go.Figure:
    """The dataset's columns against its index (dates or steps), decimated."""
    cols = [c for c in (columns or frame.columns) if c in frame.columns]
    cols = [c for c in cols if pd.api.types.is_numeric_dtype(frame[c])][:6]
    if frame.empty or not cols:
        return empty(title or "Series", "Nothing numeric to draw.")
    # per shown column, each bucket keeps its min and max (a spike survives the decimation)
    shown = cols[:2]
    idx = np.unique(np.concatenate([decimate_indices(len(frame), max_points // len(shown),
                                                     frame[c].to_numpy(dtype=float)) for c in shown]))
    x = frame.index[idx].to_numpy()
    fig = go.Figure()
    for i, c in enumerate(cols):
        fig.add_trace(go.Scatter(x=x, y=clean(frame[c].to_numpy(dtype=float)[idx]), mode="lines",
                                 name=plain_text(c), line={"width": 1.6, "color": LAYER_COLORS[i % 4]},
                                 yaxis="y" if i == 0 else "y2", visible=True if i < 2 else "legendonly"))
    fig = layout(fig, plain_text(title), plain_text(frame.index.name or "index"), plain_text(cols[0]))
    if len(cols) > 1:
        fig.update_layout(yaxis2={"overlaying": "y", "side": "right", "showgrid": False,
                                  "title": {"text": "other columns"}})
    return fig


def window_figure(X_window: np.ndarray, y_target: np.ndarray, feature_names: Sequence[str],
                  target_name: str, title: str = "One training window, as the network sees it",
                  units: str = "scaled value") -> go.Figure:
    """One window X (T, F) over t = 0…T−1 and its target drawn at t = T; `units` labels the y axis
    (a window the network reads is scaled; a freshly generated sample is in raw units)."""
    X_window = np.asarray(X_window, dtype=float)
    if X_window.ndim == 1:
        X_window = X_window[:, None]
    T, F = X_window.shape
    fig = go.Figure()
    for f in range(min(F, 6)):
        name = feature_names[f] if f < len(feature_names) else f"feature {f}"
        fig.add_trace(go.Scatter(x=np.arange(T), y=clean(X_window[:, f]),
                                 mode="lines+markers" if T <= 60 else "lines", name=f"input: {plain_text(name)}",
                                 line={"color": LAYER_COLORS[f % 4], "width": 2}, marker={"size": 4}))
    y = np.asarray(y_target, dtype=float).reshape(-1)
    fig.add_trace(go.Scatter(x=np.full(len(y), T), y=clean(y), mode="markers",
                             name=f"target: {plain_text(target_name)}",
                             marker={"color": COLORS["pred"], "size": 13, "symbol": "star"}))
    fig.add_vline(x=T - 0.5, line={"color": COLORS["baseline"], "dash": "dot"})
    return layout(fig, title, f"timestep t (window of T = {T}; target at t = {T})", units, height=300)
