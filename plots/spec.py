"""A chart as one plain dict, made into a Plotly figure once: the cheapest form Plotly accepts.

Building a figure trace by trace and option by option (`add_trace`, `update_layout`, `update_yaxes`,
`add_hline`) runs Plotly's validation and update machinery at every call: 10–25 ms per chart, most of a
live redraw's server time. The same chart written as {"data": [trace dicts], "layout": {…}} and handed
to `go.Figure` once is validated once: about a tenth of that. The figure is the same, key for key.

    figure(traces, title, x_title, y_title, log_y=False, height=HEIGHT, legend="right", *,
           shapes=(), annotations=(), layout=None) -> go.Figure
                       what `style.layout` makes of a figure, from dicts: title, axis titles, height,
                       legend placement (a long legend under the plot), unified hover, a log y axis
                       labelled at powers of ten; `layout` merged over it (nested dicts key by key)
    scatter(x, y, **props) -> dict          one scatter trace
    hline(y, line, text=None, position="top left") -> (shape, annotation | None)   (or "bottom left", "top right")
                       the line `fig.add_hline` draws across the plot at y, and its label
    merge(base, extra) -> dict              `extra` over `base`, nested dicts merged (as Plotly's update)
Leaves to others: the look (`plots/style.py`: colours, margins, legend rules), log axes
(`plots/axes.py`: which ticks), what a chart shows (the builders).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any, Literal

import plotly.graph_objects as go

from plots.axes import decade_axis, log10_range
from plots.style import HEIGHT, LEGEND_ABOVE, LEGEND_RIGHT, MARGIN, MARGIN_ABOVE, chart_title, legend_below


def merge(base: dict, extra: dict) -> dict:
    """A new dict: `extra`'s keys over `base`'s, nested dicts merged key by key (Plotly's `update`)."""
    out = dict(base)
    for key, value in extra.items():
        out[key] = merge(out[key], value) if isinstance(value, dict) and isinstance(out.get(key), dict) else value
    return out


def scatter(x: Any, y: Any, **props: Any) -> dict:
    """One scatter trace as a dict (x, y: numpy arrays travel as Plotly's typed arrays)."""
    return {"type": "scatter", "x": x, "y": y, **props}


def hline(y: float, line: dict, text: str | None = None,
          position: Literal["top left", "bottom left", "top right"] = "top left") -> tuple[dict, dict | None]:
    """The shape `fig.add_hline(y, line=…)` draws across the whole plot, and the label
    `annotation_text=…, annotation_position=position` puts at its left end (above or below it) or right end."""
    shape = {"type": "line", "xref": "x domain", "x0": 0, "x1": 1, "yref": "y", "y0": y, "y1": y, "line": line}
    if text is None:
        return shape, None
    right = position.endswith("right")
    label = {"showarrow": False, "text": text, "x": 1 if right else 0, "xanchor": "right" if right else "left",
             "xref": "x domain", "y": y, "yanchor": "top" if position == "bottom left" else "bottom", "yref": "y"}
    return shape, label


def names(traces: Iterable[dict]) -> list[str]:
    """The names the legend shows."""
    return [t["name"] for t in traces if t.get("name") and t.get("showlegend") is not False]


def figure(traces: Sequence[dict], title: str, x_title: str, y_title: str, log_y: bool = False,
           height: int = HEIGHT, legend: Literal["right", "above"] = "right", *, shapes: Sequence[dict] = (),
           annotations: Sequence[dict] = (), layout: dict | None = None) -> go.Figure:
    """The figure `style.layout(fig, title, x_title, y_title, log_y, height, legend)` gives a figure with
    these traces, shapes and annotations, built once; `layout` is merged over the result."""
    above = legend == "above"
    spec: dict = {"title": chart_title(title, top=above), "height": height,
                  "margin": dict(MARGIN_ABOVE if above else MARGIN),
                  "legend": dict(LEGEND_ABOVE if above else LEGEND_RIGHT), "hovermode": "x unified",
                  "xaxis": {"title": {"text": x_title}},
                  # log axes: 10ⁿ; linear ones: 12,000 (Plotly's "power" wrote a stock's 8,000 as 0.8×10⁴)
                  "yaxis": {"title": {"text": y_title}, "type": "log" if log_y else "linear",
                            "exponentformat": "power" if log_y else "none", "separatethousands": not log_y}}
    if shapes:
        spec["shapes"] = list(shapes)
    if annotations:
        spec["annotations"] = list(annotations)
    if not above:
        spec = merge(spec, legend_below(names(traces), 0, height, False) or {})
    if log_y:
        lines = [{"y": [s["y0"]]} for s in shapes if s.get("yref") == "y" and s.get("y0") == s.get("y1")]
        spec = merge(spec, {"yaxis": decade_axis(log10_range(list(traces) + lines)) or {}})
    if layout:
        spec = merge(spec, layout)
    return go.Figure({"data": list(traces), "layout": spec})
