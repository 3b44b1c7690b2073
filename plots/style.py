"""The one look of every chart: colours, fonts, title and legend placement, the empty figure and the
lecture-screen copy. Every builder in `plots/` takes its style from here; nothing here draws data.

    COLORS, LAYER_COLORS, GATE_COLORS    named colours (a cell's own colour: `cell_color`, from
                                         `rnn_core.nn.cells.CELLS`, never written here)
    MAGMA, DIVERGING                     the colour scales (sequential, and blue–white–red around 0)
    rgba(hex, alpha)                     a colour made transparent
    SPLIT_FILL, SPLIT_LABEL              the train / validation / test shading and names
    chart_title(text) -> dict            the title, left-aligned at the very top, `TITLE_SIZE` px
    legend_over(height) -> dict          the "above" legend: under the title, the plot pushed down to hold it
    layout(fig, title, x_title, y_title, log_y=False, height=HEIGHT, legend="right") -> fig
                                         legend "right": above the plot at the right, moved under the
                                         plot when long (full-width charts); "above": on its own rows
                                         between the title and the plot (half-width columns)
    legend_above(fig, title)             the "above" placement for a figure built with "right"
    legend_below_if_long(fig, entries_before)   after overlay traces: a long legend goes under the plot
    legend_below(names, entries_before, height, moved) -> dict | None   that rule's layout settings
    legend_names(fig) -> list[str]       the names the legend shows
    empty(title, message, height=HEIGHT) -> fig  the placeholder before there is data
    drawn(fig) -> bool                   whether a figure shows data (not an `empty` one)
    plain_text(text) -> str              user text (a column name, a ticker) made safe for a label
    present(fig, height) -> fig          a copy for a lecture screen: text ≥ `PRESENTER_FONT` px
    tell_apart(fig) -> fig               no two lines of the legend told apart by colour alone (every
                                         chart the app draws passes through it: `ui/charts.py`)
    told_apart_changes(traces)           what it changes, for Plotly traces or trace dicts (`spec.figure`
                                         builds a live chart told apart: `born_told_apart`)
    CHART_CONFIG                         the Plotly config the pages pass to `st.plotly_chart`
No builder sets a template: in the app every chart takes Streamlit's chart theme (the light theme of
`.streamlit/config.toml`), the same on every page, written into it as it is drawn (`plots/theme.py`).
Leaves to others: the traces (`series`, `gradients`, `predictions`, `lab`, `sweep`, `text`), log
axes (`axes.py`), the number of points (`points.py`).
"""

from __future__ import annotations

import html
import math
import weakref
from typing import Any, Literal

import plotly.colors as pc
import plotly.graph_objects as go

from plots.axes import decade_ticks
from rnn_core.nn.cells import CELLS

BLUE, PINK, GREEN, ORANGE, VIOLET, TEAL = "#3b5bdb", "#d6336c", "#2b8a3e", "#f08c00", "#7048e8", "#1098ad"
INK, GREY, SLATE, RED = "#1f2330", "#868e96", "#495057", "#e03131"
COLORS = {
    "train": BLUE, "val": ORANGE, "test": GREEN, "pred": PINK, "closed": VIOLET, "ghost": "#ae3ec9",
    "actual": INK, "baseline": GREY, "reference": GREY, "border": INK, "clip": RED,
    "left_out": "#ced4da", "warning": "#c92a2a", "moment": "#0b7285", "moment_on_dark": "#3bc9db",
}   # border: the σ_max·γ = 1 line on a heatmap; reference: a line that is not measured (bound, gate path);
    # moment: where the scrubber stands (`marks.py`; on the dark heatmap, its light twin)
LAYER_COLORS = [BLUE, PINK, GREEN, ORANGE]
GATE_COLORS = {"input": BLUE, "forget": PINK, "cell": GREEN, "output": ORANGE, "reset": VIOLET, "update": TEAL}
# Magma, written out as rgb(): Streamlit's chart theme treats the hex colours "#000001" … "#000040" as
# placeholders for its own palette, so Plotly's "Magma" (which starts at "#000004") would lose its black.
MAGMA = [[i / (len(pc.sequential.Magma) - 1), "rgb({}, {}, {})".format(*pc.hex_to_rgb(c))]
         for i, c in enumerate(pc.sequential.Magma)]
DIVERGING = "RdBu_r"        # blue below 0, white at 0, red above

TITLE_SIZE = 15            # px of a chart's title
MESSAGE_SIZE = 14          # px of an empty chart's message
HEIGHT = 330               # px of a chart (and of its placeholder) unless the caller says otherwise
PRESENTER_FONT = 18        # px: the smallest text a lecture screen shows
CHART_CONFIG = {"displaylogo": False, "modeBarButtonsToRemove": ["lasso2d", "select2d"]}

# Where a legend goes, so that it covers neither the chart's title, nor its plot, nor its x axis's title:
# "right": on one row above the plot at the right, under the title's line (the title is pinned at the top),
#   for a legend that fits one row of a half-width chart (`_long`); a longer one goes under the plot.
# "below": at the bottom of the figure, anchored to the figure (not to the plot, whose height a clamp or a
#   wrapped legend changes); Plotly grows the bottom margin to hold it under the x axis's title, whatever
#   number of rows it wraps into.
# "above": on its own rows under the title (`legend_over`), anchored to the figure; Plotly grows the top
#   margin to hold it over the plot (half-width columns, whose legends wrap).
LEGEND_RIGHT = {"orientation": "h", "yref": "paper", "yanchor": "bottom", "y": 1.0, "xanchor": "right", "x": 1.0}
LEGEND_BELOW = {"yref": "container", "yanchor": "bottom", "y": 0.0, "xanchor": "left", "x": 0.0}
MARGIN = {"l": 60, "r": 20, "t": 60, "b": 45}
MARGIN_ABOVE = {**MARGIN, "t": 96}
TITLE_ROOM = 30            # px from a figure's top edge to below its title's line
ROW_PX = 300               # px of one legend row above the plot of a half-width chart (1280 px screen)
ENTRY_PX, CHAR_PX = 42, 5.4     # px of a legend entry: its symbol and gaps, and each character of its name
LEGEND_ROW = 22            # px per row of a legend under the plot


# Told apart without colour: a line's dash, and a marker on a line of few points (`tell_apart`).
DASHES = ("solid", "dash", "dot", "dashdot", "longdash", "longdashdot")
MARKERS = ("circle", "square", "diamond", "triangle-up", "x", "star", "triangle-down", "cross", "hexagon")
FEW_POINTS = 120           # a line with at most this many points can carry markers without smearing


def _field(trace: Any, *path: str) -> Any:
    """A trace's property at `path` ("line", "dash"), from a Plotly trace or a trace dict (None: not set)."""
    for name in path:
        if trace is None:
            return None
        trace = trace.get(name) if isinstance(trace, dict) else getattr(trace, name)
    return trace


def _line_style(trace: Any) -> tuple[str, str | None]:
    """(dash, marker symbol or None): what tells a line apart from another of the same colour."""
    mode = _field(trace, "mode") or "lines"
    symbol = (_field(trace, "marker", "symbol") or "circle") if "markers" in mode else None
    return (_field(trace, "line", "dash") or "solid", symbol)


def _is_line(trace: Any) -> bool:
    return ((_field(trace, "type") or "scatter") in ("scatter", "scattergl")
            and "lines" in (_field(trace, "mode") or "lines")
            and _field(trace, "fill") in (None, "none") and _field(trace, "line", "width") != 0)


def told_apart_changes(traces: Any) -> list[tuple[int, dict]]:
    """What `tell_apart` changes: (index of a trace, the update it gets), for Plotly traces or trace dicts.
    A line whose dash and marker an earlier line already has gets markers of a symbol not yet used (a
    line of few points) or a dash not yet used (a dense line), and so do the pieces it is drawn in
    (same legend group)."""
    used: set[tuple[str, str | None]] = set()
    changes: list[tuple[int, dict]] = []
    groups: dict[str, dict] = {}
    for i, trace in enumerate(traces):
        if not _is_line(trace) or _field(trace, "showlegend") is False:
            continue
        style = _line_style(trace)
        if style in used:
            x = _field(trace, "x")
            if (len(x) if x is not None else 0) <= FEW_POINTS:
                symbol = next((m for m in MARKERS if (style[0], m) not in used), MARKERS[0])
                update = {"mode": "lines+markers", "marker": {"symbol": symbol, "size": 7}}
                style = (style[0], symbol)
            else:
                dash = next((d for d in DASHES if (d, style[1]) not in used), DASHES[-1])
                update = {"line": {"dash": dash}}
                style = (dash, style[1])
            changes.append((i, update))
            if _field(trace, "legendgroup"):
                groups[_field(trace, "legendgroup")] = update
        used.add(style)
    for i, trace in enumerate(traces):        # the other pieces of a changed line (not in the legend)
        if _field(trace, "showlegend") is False and _is_line(trace) and _field(trace, "legendgroup") in groups:
            changes.append((i, groups[_field(trace, "legendgroup")]))
    return changes


_BORN_APART: dict[int, tuple[weakref.ref, int]] = {}   # figures built told apart (`spec.figure(…, told_apart=True)`)


def born_told_apart(fig: go.Figure) -> go.Figure:
    """Note that `fig` was built with its lines told apart (`tell_apart` then has nothing to do while it
    keeps these traces: a live chart built at every poll is not read back through Plotly once more).
    Noted for as long as the figure lives."""
    kept = _BORN_APART.get(id(fig))
    if kept is None or kept[0]() is not fig:
        weakref.finalize(fig, _BORN_APART.pop, id(fig), None)
    _BORN_APART[id(fig)] = (weakref.ref(fig), len(fig.data))
    return fig


def tell_apart(fig: go.Figure) -> go.Figure:
    """No two lines of the legend told apart by colour alone (`told_apart_changes`), in place. Colour-blind
    safe whatever the colours; the first line of each style keeps its look."""
    born = _BORN_APART.get(id(fig))
    if born is not None and born[0]() is fig and born[1] == len(fig.data):
        return fig
    traces = fig.data
    for i, update in told_apart_changes(traces):
        traces[i].update(update)
    return fig


def cell_color(cell: str) -> str:
    """A cell's line colour (its registry entry, `rnn_core.nn.cells.CELLS`), the ink colour for anything else."""
    return CELLS[cell].color if cell in CELLS else INK


def rgba(hex_color: str, alpha: float) -> str:
    """"#3b5bdb", 0.06 → "rgba(59,91,219,0.06)"."""
    r, g, b = (int(hex_color[i:i + 2], 16) for i in (1, 3, 5))
    return f"rgba({r},{g},{b},{alpha})"


SPLIT_FILL = {split: rgba(COLORS[split], alpha) for split, alpha in (("train", 0.06), ("val", 0.10), ("test", 0.10))}
SPLIT_LABEL = {"train": "train", "val": "validation", "test": "test"}


def chart_title(text: str) -> dict:
    """A chart's title, left-aligned, pinned to the very top: a legend above the plot stays under it."""
    return {"text": text, "x": 0.0, "xanchor": "left", "y": 0.985, "yanchor": "top", "font": {"size": TITLE_SIZE}}


def legend_over(height: int) -> dict:
    """The "above" legend of a figure `height` px tall: its rows from just under the title down."""
    return {"orientation": "h", "yref": "container", "yanchor": "top", "y": 1 - TITLE_ROOM / height,
            "xanchor": "left", "x": 0.0}


def layout(fig: go.Figure, title: str, x_title: str, y_title: str, log_y: bool = False,
           height: int = HEIGHT, legend: Literal["right", "above"] = "right") -> go.Figure:
    """Title, axis titles, height, legend placement ("right" or "above"), a unified hover; a log y axis
    labelled at powers of ten (`axes.decade_ticks`)."""
    above = legend == "above"
    fig.update_layout(title=chart_title(title), height=height, margin=MARGIN_ABOVE if above else MARGIN,
                      legend=legend_over(height) if above else LEGEND_RIGHT, hovermode="x unified")
    fig.update_xaxes(title_text=x_title)
    # log axes: 10ⁿ; linear ones: 12,000 (Plotly's "power" wrote a stock's 8,000 as 0.8×10⁴)
    fig.update_yaxes(title_text=y_title, type="log" if log_y else "linear",
                     exponentformat="power" if log_y else "none", separatethousands=not log_y)
    if not above:
        legend_below_if_long(fig, 0)
    if log_y:
        decade_ticks(fig)
    return fig


def legend_above(fig: go.Figure, title: str) -> go.Figure:
    """The "above" placement (title at the top, legend under it) for a figure laid out "right"."""
    fig.update_layout(legend=legend_over(fig.layout.height or HEIGHT), margin=MARGIN_ABOVE, title=chart_title(title))
    return fig


def legend_names(fig: go.Figure) -> list[str]:
    """The names the legend shows."""
    return [t.name for t in fig.data if t.name and t.showlegend is not False]


def _long(names: list[str]) -> bool:
    """A legend too long for one row above the plot of a half-width chart: wrapped, its second row would
    cover the title."""
    return len(names) > 4 or sum(ENTRY_PX + CHAR_PX * len(name) for name in names) > ROW_PX


def legend_below_if_long(fig: go.Figure, entries_before: int) -> None:
    """A legend that is (or, after overlay traces, got) long goes under the plot, never over the title;
    the chart grows by one row per two entries (`entries_before`: the entries before the overlay)."""
    update = legend_below(legend_names(fig), entries_before, fig.layout.height or HEIGHT,
                          fig.layout.legend.yref == LEGEND_BELOW["yref"])
    if update:
        fig.update_layout(**update)


def legend_below(names: list[str], entries_before: int, height: int, moved: bool) -> dict | None:
    """`legend_below_if_long`'s layout settings for a legend of `names` on a chart of `height` px whose
    legend was already `moved` under the plot with `entries_before` entries (None: it stays)."""
    if not _long(names):
        return None
    base = height - (LEGEND_ROW * math.ceil(entries_before / 2) if moved else 0)
    rows = math.ceil(len(names) / 2)
    return {"height": base + LEGEND_ROW * rows, "margin": {"b": MARGIN["b"] + LEGEND_ROW * rows},
            "legend": LEGEND_BELOW}


def empty(title: str, message: str, height: int = HEIGHT) -> go.Figure:
    """A chart before there is data: its title and one grey sentence where the plot will be."""
    # one dict, one go.Figure: Plotly validates it once (a live page draws several of these)
    return go.Figure({"data": [], "layout": {
        "annotations": [{"text": message, "showarrow": False, "x": 0.5, "y": 0.5, "xref": "paper", "yref": "paper",
                         "font": {"size": MESSAGE_SIZE, "color": COLORS["baseline"]}}],
        "xaxis": {"visible": False}, "yaxis": {"visible": False}, "title": chart_title(title), "height": height,
        "margin": {"l": 20, "r": 20, "t": 60, "b": 20}}})


def drawn(fig: go.Figure) -> bool:
    """Whether a figure shows data (the `empty` placeholders hide their axes)."""
    return fig.layout.xaxis.visible is not False and len(fig.data) > 0


def plain_text(text: Any) -> str:
    """User text (a CSV column name, a ticker) for a Plotly label or title: Plotly reads <a href>, <img>-
    like tags in labels, so `<`, `>` and `&` are written as entities and show as typed; nothing links."""
    return html.escape(str(text), quote=False)


def present(fig: go.Figure, height: int = 430) -> go.Figure:
    """A copy of `fig` for a lecture screen: every text ≥ `PRESENTER_FONT` px, a larger title, the
    legend at the right of the plot (never over the title), and `height`."""
    fig = go.Figure(fig)
    size = PRESENTER_FONT
    fig.update_layout(font={"size": size}, title_font_size=size + 6, height=height, legend_font_size=size,
                      legend={"orientation": "v", "x": 1.01, "xanchor": "left", "yref": "paper", "y": 1.0,
                              "yanchor": "top"},
                      margin={"l": 95, "r": 20, "t": 60, "b": 75}, hoverlabel_font_size=size)
    fig.update_xaxes(tickfont_size=size, title_font_size=size + 2)
    fig.update_yaxes(tickfont_size=size, title_font_size=size + 2)
    for a in fig.layout.annotations:
        a.font.size = max(a.font.size or 0, size)
    if fig.layout.yaxis.type == "log" and fig.layout.yaxis.dtick is None:
        decade_ticks(fig)        # Plotly labels 2…9 between decades at ¾ size: decades only
    fig.update_traces(colorbar_tickfont_size=size, colorbar_title_font_size=size, selector={"type": "heatmap"})
    return fig
