"""A chart for someone who cannot see it: what a figure shows, in numbers, and its data as a table.
Both are read off the finished figure itself (its traces, axes and reference lines), so they can never
say something other than what is drawn.

    title_of(fig) -> str                  the figure's title as plain text ("" when it has none)
    describe(fig) -> str                  one sentence per line, shape and reference line, e.g.
        "Loss (log axis) against optimiser step. validation (epoch): 0.33 at 0 to 0.0028 at 75,
         lowest 0.0028 at 75. Line at 0.0908: persistence baseline 0.0908."
    figure_table(fig) -> DataFrame        every point of every trace: series, x, y (heatmaps: row,
                                          column, value), with the axes' titles as column names
Leaves to others: the figures (`plots/*`), where the text and the table go on a page (`ui/charts.py`).
"""

from __future__ import annotations

import html
import re
from typing import Any

import numpy as np
import pandas as pd

from rnn_core.readable import readable

_TAG = re.compile(r"<[^>]+>")
MAX_SERIES = 12            # a sentence names at most this many traces; the table holds all of them


def _plain(text: Any) -> str:
    """Plotly label text as plain words: <br> a space, other tags dropped, entities decoded."""
    return html.unescape(_TAG.sub("", str(text or "").replace("<br>", " "))).strip()


def title_of(fig: Any) -> str:
    return _plain(fig.layout.title.text)


def _axis_title(axis: Any, default: str) -> str:
    return _plain(axis.title.text) if axis is not None and axis.title.text else default


def _value(v: Any) -> str:
    if isinstance(v, (int, float, np.integer, np.floating)) and not isinstance(v, bool):
        return readable(float(v))
    return _plain(v)


def _numbers(values: Any) -> np.ndarray:
    """The values as floats, NaN where one is missing or not a number."""
    try:
        return np.asarray(values, dtype=float)        # the usual case, at numpy's speed (None → NaN)
    except (TypeError, ValueError):
        pass
    out = np.full(len(values), np.nan)
    for i, v in enumerate(values):
        if isinstance(v, (int, float, np.integer, np.floating)) and not isinstance(v, bool):
            out[i] = float(v)
    return out


def _grid(trace: Any) -> np.ndarray:
    """A heatmap's values as a 2-D float array (NaN where a square is blank); a colour drawn on a log₁₀
    scale (its hover reads "10^z") as the values themselves."""
    z = trace.z if trace.z is not None else []
    grid = np.array([_numbers(row) for row in z], dtype=float).reshape(len(z), len(z[0]) if len(z) else 0)
    return 10.0 ** grid if "10^%{z" in str(trace.hovertemplate or "") else grid


def _points(trace: Any) -> tuple[Any, np.ndarray] | None:
    """(x values, y as floats) of a line, scatter or bar trace with at least one finite y; else None."""
    y = trace.y
    if y is None or len(y) == 0:
        return None
    x = trace.x if trace.x is not None else range(len(y))      # indexed at a few points: never copied
    ys = _numbers(y)
    return (x, ys) if np.isfinite(ys).any() else None


def _trace_sentence(trace: Any) -> str | None:
    found = _points(trace)
    if found is None:
        return None
    x, ys = found
    ok = np.flatnonzero(np.isfinite(ys))
    first, last = ok[0], ok[-1]
    lo, hi = ok[np.argmin(ys[ok])], ok[np.argmax(ys[ok])]
    name = _plain(trace.name) or "values"
    if first == last:
        return f"{name}: {_value(ys[first])} at {_value(x[first])}."
    text = f"{name}: {_value(ys[first])} at {_value(x[first])} to {_value(ys[last])} at {_value(x[last])}"
    if lo not in (first, last):
        text += f", lowest {_value(ys[lo])} at {_value(x[lo])}"
    if hi not in (first, last):
        text += f", highest {_value(ys[hi])} at {_value(x[hi])}"
    return text + "."


def _span(values: Any, otherwise: str) -> str:
    return f"{_value(values[0])} to {_value(values[-1])}" if values is not None and len(values) else otherwise


def _heatmap_sentence(trace: Any, x_title: str, y_title: str) -> str | None:
    z = _grid(trace)
    if z.size == 0 or not np.isfinite(z).any():
        return None
    rows, cols = z.shape
    name = _plain(trace.name) or _plain(trace.colorbar.title.text) or "colour"
    span_x = _span(trace.x, f"{cols} columns")
    span_y = _span(trace.y, f"{rows} rows")
    blank = int(np.size(z) - np.isfinite(z).sum())
    text = (f"{name}: a grid of {y_title} {span_y} by {x_title} {span_x}, values from "
            f"{_value(np.nanmin(z))} to {_value(np.nanmax(z))}")
    return text + (f", {blank} of {z.size} squares blank." if blank else ".")


def _reference_lines(fig: Any) -> list[str]:
    """Horizontal and vertical lines across the plot (a baseline, a threshold), with their labels."""
    labels = [_plain(a.text) for a in fig.layout.annotations or [] if a.text]
    lines = []
    for shape in fig.layout.shapes or []:
        if shape.type != "line":
            continue
        if shape.y0 is not None and shape.y0 == shape.y1 and shape.xref and "domain" in str(shape.xref):
            where = f"Line at {_value(shape.y0)}"
        elif shape.x0 is not None and shape.x0 == shape.x1 and shape.yref and "domain" in str(shape.yref):
            where = f"Vertical line at {_value(shape.x0)}"
        else:
            continue
        near = [t for t in labels if _value(shape.y0 if where.startswith("Line") else shape.x0) in t]
        lines.append(f"{where}" + (f": {near[0]}." if near else "."))
    return lines


class _Values:
    """A figure part's own values read as attributes, straight from the dict Plotly keeps them in (`_props`):
    what `trace.name` or `fig.layout.xaxis.title.text` gives, without Plotly's property machinery, which
    validates the path of every read (most of a live chart's description time, at every poll). A value not
    set reads None; a part not set (a title, an axis, a colour bar) reads as a part with nothing set."""

    __slots__ = ("_values",)
    _PARTS = frozenset({"title", "xaxis", "yaxis", "colorbar"})

    def __init__(self, values: dict | None) -> None:
        self._values = values or {}

    def __getattr__(self, name: str) -> Any:
        value = self._values.get(name)
        if isinstance(value, dict):
            return _Values(value)
        if name in self._PARTS:
            return _Values({"text": value} if isinstance(value, str) else None)    # a title given as text
        if name in ("annotations", "shapes") and isinstance(value, (list, tuple)):
            return [_Values(v) for v in value]
        return value


class _FigureValues:
    """A figure's `layout` and `data` as `_Values` (what `describe` reads)."""

    __slots__ = ("data", "layout")

    def __init__(self, layout: dict, data: list) -> None:
        # a trace without a type is a scatter (what `trace.type` says)
        self.layout, self.data = _Values(layout), [_Values(t if "type" in t else {**t, "type": "scatter"})
                                                   for t in data]


def _values(fig: Any) -> Any:
    """`fig` read through `_Values` where it is a Plotly figure keeping its values as Plotly 6 does; else
    `fig` itself."""
    layout, data = getattr(fig, "_layout", None), getattr(fig, "_data", None)
    if isinstance(layout, dict) and isinstance(data, list) and all(isinstance(t, dict) for t in data):
        return _FigureValues(layout, data)
    return fig


def describe(fig: Any) -> str:
    """What the figure shows, in numbers (see the module's docstring); an empty chart says its message."""
    fig = _values(fig)
    title = title_of(fig) or "Chart"
    x_axis, y_axis = fig.layout.xaxis, fig.layout.yaxis
    if x_axis.visible is False and not fig.data:                 # `style.empty`: a placeholder
        message = " ".join(_plain(a.text) for a in fig.layout.annotations or [] if a.text)
        return f"{title}: no data yet. {message}".strip()
    x_title, y_title = _axis_title(x_axis, "x"), _axis_title(y_axis, "y")
    log = " (log axis)" if y_axis.type == "log" else ""
    parts = [f"{title}: {y_title}{log} against {x_title}."]
    sentences = []
    for trace in fig.data:
        if trace.type == "heatmap":
            sentence = _heatmap_sentence(trace, x_title, y_title)
        elif trace.type in ("scatter", "scattergl", "bar"):
            sentence = _trace_sentence(trace)
        else:
            sentence = None
        if sentence:
            sentences.append(sentence)
    parts += sentences[:MAX_SERIES]
    if len(sentences) > MAX_SERIES:
        parts.append(f"And {len(sentences) - MAX_SERIES} more series (in the table).")
    parts += _reference_lines(fig)
    return " ".join(parts)


def figure_table(fig: Any) -> pd.DataFrame:
    """Every drawn point: a row per (series, x) with its y; a heatmap's squares as (row, column, value)."""
    x_title, y_title = _axis_title(fig.layout.xaxis, "x"), _axis_title(fig.layout.yaxis, "y")
    frames = []
    for trace in fig.data:
        name = _plain(trace.name) or trace.type
        if trace.type == "heatmap" and trace.z is not None:
            z = _grid(trace)
            xs = list(trace.x) if trace.x is not None else list(range(z.shape[1]))
            ys = list(trace.y) if trace.y is not None else list(range(z.shape[0]))
            rows, cols = np.meshgrid(range(len(ys)), range(len(xs)), indexing="ij")
            frames.append(pd.DataFrame({"series": name, y_title: [_plain(ys[r]) if isinstance(ys[r], str) else ys[r]
                                                                   for r in rows.ravel()],
                                        x_title: [xs[c] for c in cols.ravel()], "value": z.ravel()}))
            continue
        found = _points(trace)
        if found is not None:
            x, ys = found
            frames.append(pd.DataFrame({"series": name, x_title: x, y_title: ys}))
    if not frames:
        return pd.DataFrame({"series": []})
    table = pd.concat(frames, ignore_index=True).dropna(axis=1, how="all")
    for column in table.columns[table.dtypes == "object"]:   # labels and numbers mixed: one type per column
        table[column] = table[column].map(lambda v: v if isinstance(v, str) else "" if v is None else _value(v))
    return table
