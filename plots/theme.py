"""Streamlit's chart theme written into the figure: the look `st.plotly_chart(theme="streamlit")` gives a chart
in the browser (the light theme of `.streamlit/config.toml`, Streamlit 1.67), as the figure's own layout and
trace values instead of a Plotly template.

Why not the template: Streamlit's chart element draws every new chart twice (once as it arrives, once more
after applying the theme again), and Plotly.js redraws a figure that carries a template in full at that
second draw, while a figure without one, whose `datarevision` is unchanged, costs it a quarter as much.
A page watching a live run mounts about a dozen charts a second (Streamlit gives a chart whose data changed
a new element), so the second draw was a large share of every watching browser's CPU (docs/benchmarks.md).
The values below are Streamlit's, read off a chart it themed in Chromium (`gd.layout.template`); the browser
test `tests/browser/test_browser_theme.py` holds a chart drawn from them equal to one Streamlit themes.

    THEME_LAYOUT              the layout values (fonts, colours, margins' padding, hover label, legend)
    THEME_AXIS                the x and y axes' values (every axis of the figure takes them; `TICKS` an axis
                              with tick marks, `MINOR` one with minor ticks of its own)
    THEME_TRACES              per trace type, its values
    DATA_REVISION             the fixed `layout.datarevision`: Plotly.js then compares no data array at
                              the second draw (a chart with new data is a new element anyway)
    themed(spec) -> dict      a figure dict (`fig.to_dict()`) with the theme's values wherever it sets none,
                              its title bold (as Streamlit's theme makes it), no template, `DATA_REVISION`
    Themed(spec)              that dict as `st.plotly_chart` takes it without copying or validating it again

Leaves to others: the figures' own look (`plots/style.py`), drawing them (`ui/charts.py`).
"""

from __future__ import annotations

import re
from typing import Any

from plotly.basedatatypes import BaseFigure

from plots.spec import merge

FONT = '"Source Sans", sans-serif'
TEXT, SOFT_TEXT, LEGEND_TEXT, GRID, WHITE = "#1f2330", "#808495", "#262730", "#e6eaf1", "#ffffff"
SEQUENTIAL = [[0, "#e4f5ff"], [0.1111111111111111, "#c7ebff"], [0.2222222222222222, "#a6dcff"],
              [0.3333333333333333, "#83c9ff"], [0.4444444444444444, "#60b4ff"], [0.5555555555555556, "#3d9df3"],
              [0.6666666666666666, "#1c83e1"], [0.7777777777777778, "#0068c9"], [0.8888888888888888, "#0054a3"],
              [1, "#004280"]]
DIVERGING = [[0, "#7d353b"], [0.1111111111111111, "#bd4043"], [0.2222222222222222, "#ff4b4b"],
             [0.3333333333333333, "#ff8c8c"], [0.4444444444444444, "#ffc7c7"], [0.5555555555555556, "#a6dcff"],
             [0.6666666666666666, "#60b4ff"], [0.7777777777777778, "#1c83e1"], [0.8888888888888888, "#0054a3"],
             [1, "#004280"]]

THEME_LAYOUT: dict[str, Any] = {
    "font": {"color": SOFT_TEXT, "family": FONT, "size": 12, "weight": 400},
    "title": {"font": {"family": FONT, "size": 16, "color": TEXT, "weight": "bold"}, "pad": {"l": 4},
              "xanchor": "left", "x": 0},
    "legend": {"title": {"font": {"size": 12, "color": SOFT_TEXT}, "side": "top"}, "valign": "top",
               "bordercolor": "transparent", "borderwidth": 0, "font": {"size": 12, "color": LEGEND_TEXT}},
    "paper_bgcolor": WHITE,
    "plot_bgcolor": WHITE,
    "margin": {"pad": 8, "r": 0, "l": 0},
    "hoverlabel": {"bgcolor": WHITE, "bordercolor": "rgba(31, 35, 48, 0.2)",
                   "font": {"color": SOFT_TEXT, "family": FONT, "size": 12}},
    "colorway": ["#0068c9", "#83c9ff", "#ff2b2b", "#ffabab", "#29b09d", "#7defa1", "#ff8700", "#ffd16a",
                 "#6d3fc0", "#d5dae5"],
    "colorscale": {"sequential": SEQUENTIAL, "sequentialminus": SEQUENTIAL, "diverging": DIVERGING},
}
_AXIS = {"zerolinecolor": GRID, "gridcolor": GRID, "tickfont": {"color": SOFT_TEXT, "size": 12}, "automargin": True}
# What a template gives only to what an axis draws: written into every axis, a tick colour would switch tick
# marks on, and a `minor` minor ticks. The tick colour goes to an axis with tick marks (its own `ticks`, or
# Plotly's outside ticks beside a heatmap), the minor grid's colour to an axis with minor ticks of its own.
TICKS = {"tickcolor": GRID}
MINOR = {"gridcolor": GRID}
OUTER_TICKS = {"heatmap", "contour", "histogram2d"}
THEME_AXIS: dict[str, dict[str, Any]] = {
    "x": {**_AXIS, "showgrid": False, "zeroline": False, "title": {"font": {"color": SOFT_TEXT, "size": 14},
                                                                   "standoff": 20}},
    "y": {**_AXIS, "ticklabelposition": "outside", "title": {"font": {"color": SOFT_TEXT, "size": 14},
                                                              "standoff": 24}},
}
THEME_TRACES: dict[str, dict[str, Any]] = {
    "scatter": {"marker": {"line": {"width": 0}}},
    "heatmap": {"colorscale": SEQUENTIAL},
}
DATA_REVISION = 1
_AXIS_KEY = re.compile(r"^([xy])axis\d*$")


def themed(spec: dict) -> dict:
    """`spec` (a figure as a dict) with Streamlit's theme wherever it sets nothing itself, without a template.
    A new dict: `spec`'s own nested dicts and arrays are not changed (the data arrays are shared)."""
    layout = {k: v for k, v in spec.get("layout", {}).items() if k != "template"}
    axes = [k for k in layout if _AXIS_KEY.match(k)] or ["xaxis", "yaxis"]
    outer = any(t.get("type") in OUTER_TICKS for t in spec.get("data", []))
    for name in {*axes, "xaxis", "yaxis"}:
        axis = layout.get(name) or {}
        if axis.get("ticks") or (outer and "ticks" not in axis):
            axis = merge(TICKS, axis)
        if isinstance(axis.get("minor"), dict):
            axis = {**axis, "minor": merge(MINOR, axis["minor"])}
        layout[name] = merge(THEME_AXIS[name[0]], axis)
    layout = merge(THEME_LAYOUT, layout)
    layout["datarevision"] = DATA_REVISION
    traces = [merge(THEME_TRACES.get(t.get("type", "scatter"), {}), t) for t in spec.get("data", [])]
    return {**{k: v for k, v in spec.items() if k not in ("data", "layout")}, "data": traces, "layout": layout}


class Themed(BaseFigure):
    """A figure already in the form Plotly.js draws, themed: `st.plotly_chart` takes a Plotly figure's
    `to_dict()` as it is (`plotly.tools.return_figure_from_figure_or_data`), so it neither copies nor validates
    it again. Nothing of Plotly's figure machinery is built (`BaseFigure.__init__` is not called)."""

    def __init__(self, spec: dict) -> None:
        self._spec = spec

    def to_dict(self) -> dict:
        return self._spec
