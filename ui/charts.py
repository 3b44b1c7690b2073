"""Charts that speak: every chart on every page is drawn through `chart()`, which gives it

    a text alternative   read by a screen reader just before the chart: its title, the page's own sentence
                         about it (the verdict, the gradient's story) and what it shows in numbers
                         (`plots.describe.describe`, read off the figure itself);
    its data             one click away, under the chart: "Data: <title>" opens the numbers and a table
                         of every point (`plots.describe.figure_table`), built only while it is open.

    chart(fig, key, summary="", where=None, config=None, **plotly_kwargs)
    text_alternative(fig, summary="") -> str
    prepare(fig) -> fig       what `chart` does to a figure before drawing it (its lines told apart, its
                              description kept), done ahead: for a figure several sessions draw
                              (`ui.shared_charts`), which nobody changes after

    plot(fig, key, where=None, config=None, fill=False)
                              the figure alone, drawn (what `chart` and the presenter's chart draw with)
    themed_figure(fig) -> Themed          `fig` themed, once per figure object and version
    figure_json(fig) -> bytes             … and as the JSON our chart element takes, once likewise

Every chart is drawn themed (`plots.theme.themed`: Streamlit's light chart theme written into the figure, no
template), by our own chart element (`ui.chart_element`: one <div> per chart redrawn in place, the figure's
JSON made once per figure), or, where Plotly.js cannot be served, by `st.plotly_chart` with Streamlit's own
theming off.

Leaves to others: the figures (`plots/`), their sentences (`rnn_core.measure.verdict`, the pages).
"""

from __future__ import annotations

from typing import Any

import streamlit as st

from plots.describe import describe, figure_table, title_of
from plots.spec import edition, figure_dict, to_json_bytes
from plots.style import CHART_CONFIG, born_told_apart, drawn, tell_apart
from plots.theme import Themed, themed
from ui import chart_element
from ui.a11y import screen_reader
from ui.markdown import md

DATA_LABEL = "Data: {title} (as a table)"      # the expander under every chart
DATA_KEY = "chartdata"                         # its key's suffix (ui/a11y.py styles it)


_SEEN: dict[int, tuple[Any, tuple[int, int], str, bool]] = {}   # id(figure) → (figure, its version, its
SEEN_KEEP = 256                     # description, told apart): a live page redraws the same (memoised) figures
_THEMED: dict[int, list] = {}       # id(figure) → [figure, its version, themed dict, its JSON bytes or None]


def _themed(fig: Any) -> list:
    kept = _THEMED.get(id(fig))
    if kept is not None and kept[0] is fig and kept[1] == _version(fig):
        return kept
    if len(_THEMED) >= SEEN_KEEP:
        _THEMED.clear()
    kept = _THEMED[id(fig)] = [fig, _version(fig), themed(figure_dict(fig)), None]
    return kept


def themed_figure(fig: Any) -> Themed:
    """`fig` themed (`plots.theme.themed` of its dict), once per figure object and version."""
    return Themed(_themed(fig)[2])


def figure_json(fig: Any) -> bytes:
    """`fig` themed, as JSON bytes ({"data", "layout"}; Plotly's encoder: arrays, NaN as null), once per
    figure object and version: a room watching one run shares its figures (`ui.shared_charts`)."""
    kept = _themed(fig)
    if kept[3] is None:
        kept[3] = to_json_bytes(kept[2])
    return kept[3]


def plot(fig: Any, key: str, where: Any = None, config: dict | None = None, fill: bool = False) -> None:
    """The figure alone (already told apart), drawn as wide as its column in the element `key`; `fill`: as
    tall as its container (the presenter's chart; the figure has no height of its own)."""
    config = {**CHART_CONFIG, **(config or {})}
    if chart_element.available():
        chart_element.draw(figure_json(fig), config, key, where, fill)
        return
    where = where if where is not None else st
    where.plotly_chart(themed_figure(fig), key=key, config=config, theme=None, width="stretch",
                       **({"height": "stretch"} if fill else {}))


def _version(fig: Any) -> tuple[int, int]:
    """What tells a figure object's states apart: its traces, and its updates in place (`plots.spec.edition`)."""
    return len(fig.data), edition(fig)


def _seen(fig: Any) -> tuple[Any, tuple[int, int], str, bool] | None:
    """What was kept for this figure object, while it is as it was then."""
    kept = _SEEN.get(id(fig))
    return kept if kept is not None and kept[0] is fig and kept[1] == _version(fig) else None


def _keep(fig: Any, told_apart: bool) -> str:
    text = describe(fig)
    if len(_SEEN) >= SEEN_KEEP:
        _SEEN.clear()
    _SEEN[id(fig)] = (fig, _version(fig), text, told_apart)
    return text


def _described(fig: Any) -> str:
    """`describe(fig)`, once per figure object and version (the pages keep a figure until what it shows
    changes)."""
    kept = _seen(fig)
    return kept[2] if kept is not None else _keep(fig, False)


def _prepared(fig: Any) -> tuple[Any, str]:
    """(`tell_apart(fig)`, `describe` of it), once per figure object and version: a live page keeps a
    figure until what it shows changes (`ui.state.memo`) and redraws it at every poll; both read every
    trace through Plotly's property machinery."""
    kept = _seen(fig)
    if kept is not None and kept[3]:
        return fig, kept[2]
    fig = tell_apart(fig)             # in place; applying it again changes nothing (tests/engine/test_chart_text.py)
    return fig, _keep(fig, True)


def prepare(fig: Any) -> Any:
    """`fig` with its lines told apart (in place) and its description kept, noted as told apart so that
    drawing it changes nothing in it (`style.tell_apart` then returns at once)."""
    fig, _ = _prepared(fig)
    return born_told_apart(fig)


def text_alternative(fig: Any, summary: str = "") -> str:
    """What a screen reader says for the chart: "Chart: <summary> <what it shows, in numbers>"."""
    return " ".join(part for part in ("Chart:", summary.strip(), _described(fig)) if part)


def chart(fig: Any, key: str, summary: str = "", where: Any = None, config: dict | None = None) -> None:
    """`fig` with its text alternative before it and its data one click away under it. `summary`: the
    page's sentence about this chart (the verdict, the gradient's story), if it has one."""
    where = where if where is not None else st
    fig, described = _prepared(fig)
    text = " ".join(part for part in ("Chart:", summary.strip(), described) if part)    # `text_alternative`
    screen_reader(text, where)
    plot(fig, key, where, config)
    if drawn(fig):                          # a placeholder before there is data has no table
        data_table(fig, key, text, where)


def data_table(fig: Any, key: str, text: str, where: Any = None) -> None:
    """A compact expander under the chart: the text alternative, visible, and every point as a table.
    The table is built only while the expander is open (a live chart redraws twice a second)."""
    where = where if where is not None else st
    label = DATA_LABEL.format(title=title_of(fig) or "this chart")
    box = where.expander(md(label), type="compact", key=f"{key}.{DATA_KEY}", on_change="rerun")
    if box.open:
        box.caption(md(text.removeprefix("Chart: ")))
        box.dataframe(figure_table(fig), hide_index=True, width="stretch", height=260)
