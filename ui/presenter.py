"""Presenter mode: a sidebar toggle (kept in session state and in the URL as `?presenter=1`) that
hides a page's controls and enlarges text and charts for a lecture screen.

Holds `presenter_mode()` (draws the toggle, injects the large-screen CSS, returns whether it is on),
`chart_height(normal)` and `presenter_query()` (the query params that carry the mode across a
`st.switch_page`). Pages decide themselves what "hide the controls" means for them.
"""

from __future__ import annotations

import streamlit as st

_STATE = "presenter_mode"       # survives page switches (not a widget key)
_WIDGET = "_presenter_toggle"   # the sidebar toggle's own key

_CSS = """
<style>
  [data-testid="stMain"] [data-testid="stMarkdownContainer"] p,
  [data-testid="stMain"] [data-testid="stMarkdownContainer"] li { font-size: 1.3rem; line-height: 1.6; }
  [data-testid="stMain"] [data-testid="stMetricValue"] { font-size: 2.6rem; }
  [data-testid="stMain"] h1 { font-size: 3rem; }
  [data-testid="stMain"] h2 { font-size: 2.2rem; }
  [data-testid="stMainBlockContainer"] { padding-top: 2rem; max-width: 100%; }
  .katex-display > .katex { font-size: 1.45em !important; }
</style>
"""


def is_on() -> bool:
    """Whether presenter mode is on (from session state, else from the URL)."""
    if _STATE not in st.session_state:
        st.session_state[_STATE] = st.query_params.get("presenter") == "1"
    return bool(st.session_state[_STATE])


def _sync() -> None:
    st.session_state[_STATE] = bool(st.session_state[_WIDGET])


def presenter_mode() -> bool:
    """Draw the sidebar toggle, mirror it in the URL, apply the large-screen style; return it."""
    on = is_on()
    st.session_state[_WIDGET] = on
    st.sidebar.toggle("Presenter mode", key=_WIDGET, on_change=_sync,
                      help="Hides the controls and enlarges text and charts for a lecture screen.")
    on = bool(st.session_state[_STATE])
    if on:
        st.query_params["presenter"] = "1"
        st.markdown(_CSS, unsafe_allow_html=True)
    elif "presenter" in st.query_params:
        del st.query_params["presenter"]
    return on


def chart_height(normal: int) -> int:
    """A chart's height: larger in presenter mode."""
    return int(normal * 1.45) if is_on() else normal


def presenter_query() -> dict[str, str]:
    """Query params that keep presenter mode on across `st.switch_page(..., query_params=...)`."""
    return {"presenter": "1"} if is_on() else {}
