"""Presenter mode: the lecture-screen view of every page, kept in session state and in the URL
(`?presenter=1&chart=<key>`), so a lecture's links open straight into it.

With presenter mode on (1280×720 is the projector to plan for) a page shows, above the fold:
    the presenter bar   [page's own picker (preset, step, dataset…)] [Chart: …] [Exit presenter view]
    its run buttons and a one-line status (where it has a run),
    ONE chart, the one the presenter chose, full width, text ≥ 18 px (`plots.style.present`).
The sidebar and Streamlit's header are hidden (their widgets still run, so the settings stay);
**Exit presenter view** brings them back. Only the chosen chart is drawn, which is also the cheapest
redraw of a live run.

Public:
    presenter_mode() -> bool          sidebar toggle (off) / nothing (on), URL sync, the lecture CSS
    is_on() -> bool
    presenter_bar(page, charts, default=None) -> (chart_key, first_column)
                                      in presenter mode only: the bar above; returns the chosen chart
    show_chart(fig, key, config=None, fill=True, summary="", around=0)
                                      the chosen chart, full width, lecture style, as tall as the screen allows
                                      (less the scrubber's row: around=SCRUBBER_HEIGHT)
    status_line(text)                 one line of status, large
    first_screen()                    outside presenter view: the compact top of the Playground
    chart_height(normal) -> int       a chart's height outside the chosen one (larger in presenter mode)
    presenter_query() -> dict         the params that keep the view across `st.switch_page`
    url_params() -> dict              this view's params in the address bar (for the pages' URL syncers)
Leaves to others: what each page offers as charts and what sits in the bar's first column.
"""

from __future__ import annotations

from typing import Any

import streamlit as st

from plots.style import drawn, present, tell_apart
from ui.a11y import PHONE, screen_reader

_STATE = "presenter_mode"       # survives page switches (not a widget key)
_WIDGET = "_presenter_toggle"   # the sidebar toggle's own key
_CHART = "presenter.chart"      # {page: chosen chart key}, survives page switches
PARAMS = ("presenter", "chart")  # the URL params this module owns
CHART_HEIGHT = 440              # px of the chosen chart: bar + buttons + status + chart fit in 720 px
AROUND_CHART = 720 - CHART_HEIGHT   # px the page shows above and below the chart, at any screen size
AROUND_ON_PHONE = 440           # px above and below the chosen chart on a phone (pickers and buttons stacked)
UNDER_ON_PHONE = 130            # px of a phone's chart below the first screen: its x axis's title and legend
_FILL = "presenter-chart"       # key prefix of the container that sizes the chosen chart to the screen
SCRUBBER_HEIGHT = 64            # px of the scrubber's row above the chart once a run can be scrubbed
_FILL_SCRUBBED = "presenter-scrubbed"   # … the same container with the scrubber's row above it

_CSS = """
<style>
  :root { --rnn-presenter: 1; }     /* ui/keys.py: the remote's keys act in presenter view only */
  [data-testid="stSidebar"], [data-testid="stExpandSidebarButton"], [data-testid="stHeader"] { display: none; }
  [data-testid="stMain"] [data-testid="stMarkdownContainer"] p,
  [data-testid="stMain"] [data-testid="stMarkdownContainer"] li { font-size: 1.3rem; line-height: 1.5; }
  [data-testid="stMain"] [data-testid="stMetricValue"] { font-size: 2.6rem; }
  [data-testid="stMain"] h1 { font-size: 2.4rem; }
  [data-testid="stMain"] h2 { font-size: 2rem !important; }
  [data-testid="stMainBlockContainer"] { padding: 0.75rem 1.5rem 2rem; max-width: 100%; }
  [data-testid="stMain"] .stButton button p { font-size: 1.15rem; }
  [data-testid="stMain"] [data-testid="stCaptionContainer"],
  [data-testid="stMain"] [data-testid="stCaptionContainer"] p { font-size: 1.15rem; }
  [data-testid="stMain"] [data-testid="stSelectbox"] :is(input, span, div),
  [data-testid="stMain"] [data-testid="stMultiSelect"] :is(input, span, div) { font-size: 1.15rem !important; }
  .katex-display > .katex { font-size: 1.45em !important; }
  /* the chosen chart fills the screen's height: 440 px on a 720-line projector, 800 px on a 1080-line one */
  [data-testid="stVerticalBlock"][class*="st-key-FILL"] {
    flex: 0 0 auto !important; height: max(MINpx, calc(100vh - AROUNDpx)) !important; }
  /* … less the scrubber's row, once a run can be scrubbed */
  [data-testid="stVerticalBlock"][class*="st-key-SCRUBBED"] {
    flex: 0 0 auto !important; height: max(SMINpx, calc(100vh - SAROUNDpx)) !important; }
  [data-testid="stMain"] [data-testid="stSliderThumbValue"],
  [data-testid="stMain"] [data-testid="stSliderTickBarMin"],
  [data-testid="stMain"] [data-testid="stSliderTickBarMax"] { font-size: 1.15rem; }
  @media (max-width: PHONEpx) {
    /* a phone: the pickers stack above the status line; the chart's plot fills the rest of the first
       screen, its x axis's title and its legend (ui/keys.py moves it under the plot) follow below it */
    [data-testid="stMain"] [data-testid="stMarkdownContainer"] p { font-size: 1.05rem; }
    [data-testid="stVerticalBlock"][class*="st-key-FILL"] {
      height: max(400px, calc(100svh - ON_PHONEpx + UNDERpx)) !important; --rnn-legend-under: 1; }
    [data-testid="stVerticalBlock"][class*="st-key-SCRUBBED"] {
      height: max(400px, calc(100svh - ON_PHONEpx - SCRUBBERpx + UNDERpx)) !important; --rnn-legend-under: 1; }
  }
</style>
""".replace("SCRUBBED", _FILL_SCRUBBED).replace("FILL", _FILL).replace("SMIN", str(CHART_HEIGHT - SCRUBBER_HEIGHT)) \
    .replace("SAROUND", str(AROUND_CHART + SCRUBBER_HEIGHT)).replace("SCRUBBER", str(SCRUBBER_HEIGHT)) \
    .replace("MIN", str(CHART_HEIGHT)).replace("ON_PHONE", str(AROUND_ON_PHONE)).replace("AROUND", str(AROUND_CHART)) \
    .replace("PHONE", str(PHONE)).replace("UNDER", str(UNDER_ON_PHONE))


def is_on() -> bool:
    """Whether presenter mode is on (from session state, else from the URL)."""
    if _STATE not in st.session_state:
        st.session_state[_STATE] = st.query_params.get("presenter") == "1"
    return bool(st.session_state[_STATE])


def _sync() -> None:
    st.session_state[_STATE] = bool(st.session_state[_WIDGET])


def _exit() -> None:
    st.session_state[_STATE] = False


def presenter_mode() -> bool:
    """Draw the sidebar toggle, mirror the mode in the URL, apply the lecture style; return it."""
    on = is_on()
    st.session_state[_WIDGET] = on
    st.sidebar.toggle("Presenter mode", key=_WIDGET, on_change=_sync,
                      help="One chart you choose, full width, large text, no sidebar: for a lecture screen. "
                           "'Exit presenter view' (top right) brings the controls back.")
    on = bool(st.session_state[_STATE])
    if on:
        st.query_params["presenter"] = "1"
        st.markdown(_CSS, unsafe_allow_html=True)
    else:
        for name in PARAMS:
            if name in st.query_params:
                del st.query_params[name]
    return on


def _picked(page: str, widget: str) -> None:
    st.session_state.setdefault(_CHART, {})[page] = st.session_state[widget]


def presenter_bar(page: str, charts: dict[str, str], default: str | None = None) -> tuple[str | None, Any]:
    """In presenter mode: a row with a free first column (returned, for the page's own picker), the chart
    picker and the exit button. Returns (chosen chart key, first column). The choice comes from
    `?chart=` on arrival, then from the picker; it is kept per page and written into the URL."""
    if not charts:                       # a page of text (Learn): its own picker and the exit button
        first, _, leave = st.columns([3, 3, 1.6], vertical_alignment="center")
        leave.button("Exit presenter view", icon=":material/close_fullscreen:", on_click=_exit, width="stretch")
        return None, first
    chosen = st.session_state.setdefault(_CHART, {})
    wanted = st.query_params.get("chart")
    if page not in chosen:
        chosen[page] = wanted if wanted in charts else (default or next(iter(charts)))
    if chosen[page] not in charts:
        chosen[page] = default or next(iter(charts))
    widget = f"_presenter_chart.{page}"
    st.session_state[widget] = chosen[page]
    first, pick, leave = st.columns([3, 3, 1.6], vertical_alignment="center")
    pick.selectbox("Chart", list(charts), key=widget, format_func=lambda k: f"Chart: {charts[k]}",
                   label_visibility="collapsed", on_change=_picked, args=(page, widget),
                   help="The one chart the lecture screen shows.")
    leave.button("Exit presenter view", icon=":material/close_fullscreen:", on_click=_exit, width="stretch")
    if st.query_params.get("chart") != chosen[page]:
        st.query_params["chart"] = chosen[page]
    return chosen[page], first


def show_chart(fig: Any, key: str, config: dict | None = None, fill: bool = True, summary: str = "",
               around: int = 0) -> None:
    """The presenter's chosen chart: full width, text ≥ 18 px, legend beside the plot. `fill`: as tall as
    the screen leaves room for (`CHART_HEIGHT` at 720 lines, more on a taller screen); else
    `CHART_HEIGHT` (a chart amid text, as on Learn). Like every chart, with its text alternative and its
    data one click away (`ui.charts`; `summary`: the page's sentence about it). `around` =
    SCRUBBER_HEIGHT: the scrubber's row sits above it, and the chart is that much shorter."""
    from ui.charts import chart, data_table, plot, text_alternative

    if not fill:
        chart(present(fig, height=CHART_HEIGHT), key, summary, config=config)
        return
    fig = tell_apart(present(fig, height=CHART_HEIGHT))
    fig.layout.height = None                 # the container's height, which the lecture CSS sets
    text = text_alternative(fig, summary)
    screen_reader(text)
    with st.container(key=f"{_FILL_SCRUBBED if around else _FILL}-{key}"):
        plot(fig, key, config=config, fill=True)
    if drawn(fig):
        data_table(fig, key, text)


_FIRST_SCREEN = """
<style>
  [data-testid="stMainBlockContainer"] { padding-top: 1.25rem; }
  [data-testid="stMain"] h1 { font-size: 2rem; padding: 0.25rem 0; }
  [data-testid="stMain"] [class*="st-key-verdict"] p { font-size: 1.2rem; }
  [data-testid="stMain"] [data-testid="stVerticalBlock"] { gap: 0.5rem; }
  [data-testid="stMain"] [data-testid="stButtonGroup"] button { min-height: 1.9rem; padding: 0 0.6rem; }
</style>
"""


def first_screen() -> None:
    """Outside presenter view (the Playground): less room above the page's title, so that on a
    1280×720 screen the run's status, its verdict and its first charts fit the first screen."""
    st.markdown(_FIRST_SCREEN, unsafe_allow_html=True)


def status_line(text: str) -> None:
    """One line of status in presenter mode (the lecture CSS makes it large)."""
    st.markdown(text)


def chart_height(normal: int) -> int:
    """A chart's height: larger in presenter mode."""
    return int(normal * 1.45) if is_on() else normal


def presenter_query() -> dict[str, str]:
    """Query params that keep presenter mode on across `st.switch_page(..., query_params=...)`."""
    return {"presenter": "1"} if is_on() else {}


def url_params() -> dict[str, str]:
    """The presenter params now in the address bar, for a page that rewrites the URL from its settings."""
    current = st.query_params.to_dict()
    return {k: current[k] for k in PARAMS if k in current}
