"""`plots.theme.themed`: Streamlit's chart theme written into a figure dict where the figure sets nothing, on
every axis, without a template, with a fixed data revision, and the figure itself left as it was; and
`ui.charts.themed_figure` themes a figure once per object and version. (What the browser draws from it:
tests/browser/test_browser_theme.py.)"""

import copy

from plotly.subplots import make_subplots

from plots import spec
from plots.theme import DATA_REVISION, GRID, SOFT_TEXT, THEME_LAYOUT, themed
from ui.charts import themed_figure


def _two_axes() -> dict:
    fig = make_subplots(rows=1, cols=2)
    fig.add_scatter(x=[0, 1], y=[1, 2], row=1, col=1)
    fig.add_heatmap(z=[[1, 2], [3, 4]], row=1, col=2)
    fig.update_layout(title="Two", paper_bgcolor="#fafafa")
    fig.update_xaxes(title_text="t", row=1, col=2)
    fig.update_yaxes(ticks="inside", row=1, col=1)
    return fig.to_dict()


def test_every_axis_takes_the_theme_and_the_figure_keeps_its_own_values():
    d = _two_axes()
    before = copy.deepcopy(d)
    out = themed(d)
    assert d == before                                           # the figure's dict is not changed
    layout = out["layout"]
    assert "template" not in layout and layout["datarevision"] == DATA_REVISION
    assert layout["paper_bgcolor"] == "#fafafa"                  # the figure's own value wins
    assert layout["plot_bgcolor"] == THEME_LAYOUT["plot_bgcolor"] and layout["font"]["family"].startswith('"Source')
    assert layout["title"]["text"] == "Two" and layout["title"]["font"]["weight"] == "bold"
    for axis in ("xaxis", "xaxis2", "yaxis", "yaxis2"):
        assert layout[axis]["gridcolor"] == GRID and layout[axis]["tickfont"]["color"] == SOFT_TEXT, axis
        assert "minor" not in layout[axis], axis                 # a minor would switch minor ticks on
    assert layout["xaxis2"]["title"]["text"] == "t" and layout["xaxis2"]["title"]["standoff"] == 20
    assert layout["yaxis"]["ticks"] == "inside" and layout["yaxis"]["tickcolor"] == GRID
    assert layout["xaxis"]["domain"] == before["layout"]["xaxis"]["domain"]
    scatter, heatmap = out["data"]
    assert scatter["marker"]["line"]["width"] == 0 and heatmap["colorscale"][0] == [0, "#e4f5ff"]


def test_a_chart_without_ticks_gets_no_tick_colour_and_a_heatmap_does():
    lines = themed(spec.figure([spec.scatter([0, 1], [1, 2])], "A", "x", "y").to_dict())["layout"]
    assert "tickcolor" not in lines["xaxis"] and "tickcolor" not in lines["yaxis"]
    heat = themed({"data": [{"type": "heatmap", "z": [[1]]}], "layout": {}})["layout"]
    assert heat["xaxis"]["tickcolor"] == GRID == heat["yaxis"]["tickcolor"]


def test_a_figure_is_themed_once_per_object_and_version():
    with spec.reusing(None):                                      # a live chart, as the pages build it
        fig = spec.figure([spec.scatter([0, 1], [1, 2])], "A", "x", "y")
    first = themed_figure(fig).to_dict()
    assert themed_figure(fig).to_dict() is first                 # a redraw of the same figure: the same dict
    with spec.reusing(fig):                                       # updated in place: a new edition, themed again
        assert spec.figure([spec.scatter([0, 1], [1, 3])], "A", "x", "y") is fig
    again = themed_figure(fig).to_dict()
    assert again is not first and list(again["data"][0]["y"]) != list(first["data"][0]["y"])
