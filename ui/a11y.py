"""What every page needs to be usable without a mouse, a steady hand or perfect eyes: text contrast of at
least 4.5:1 (WCAG AA) where Streamlit's theme draws lighter, a focus ring that shows where the keyboard
is, text for screen readers only, and the phone layout (a narrow screen: the run buttons in one row).

    page_style()          once per script run (app.py): the CSS below, sent where it takes no room
    screen_reader(text)   a sentence only a screen reader reads (a chart's text alternative)

Colours are checked by axe-core in a real browser (tests: every page, presenter view, after a run).
Leaves to others: the presenter view's own CSS (`ui/presenter.py`), the remote's keys (`ui/keys.py`).
"""

from __future__ import annotations

import html

import streamlit as st

from ui.keys import HIDE_CSS

FADED = "#5c606b"          # captions, disabled labels: 5.9:1 on white, 5.4:1 on the sidebar's #f4f6fa
FOCUS = "#1c4fd8"          # the focus ring: 6.9:1 on white, against the pink primary and the greys alike
SR_ONLY = "rnn-sr-only"    # the class of a text only screen readers read
PHONE = 640                # px: Streamlit stacks columns below this width; the phone layout starts here
MAIN = '[data-testid="stMainBlockContainer"] > [data-testid="stVerticalBlock"]'   # the page's own elements

_CSS = f"""
<style>
  /* captions and the labels of disabled controls: Streamlit's faded greys are 4.2:1 and 2.4:1 */
  [data-testid="stCaptionContainer"], [class*="-chartdata"] summary {{ opacity: 1; }}   /* faded to 60 %: 2.6:1 */
  [data-testid="stCaptionContainer"], [data-testid="stCaptionContainer"] p,
  [data-testid="stWidgetLabel"][disabled] p, [class*="-chartdata"] summary p {{ color: {FADED}; }}
  /* where the keyboard is: every control, links and the expanders' headers */
  :is(button, a, input, textarea, select, summary, [role="button"], [role="slider"], [role="option"],
      [tabindex]):focus-visible {{ outline: 3px solid {FOCUS} !important; outline-offset: 2px !important; }}
  [data-baseweb="select"]:focus-within > div {{ outline: 3px solid {FOCUS}; outline-offset: 2px; }}
  /* section headings are h2 under the page's h1 (a screen reader's outline), at a section's size */
  [data-testid="stMain"] h2 {{ font-size: 1.6rem; }}
  /* the verdict line under a run: large, and a paragraph (not a heading out of the outline's order) */
  [class*="st-key-verdict-"] p {{ font-size: 1.3rem; line-height: 1.45; }}
  /* a progress bar steps to each new value: Streamlit glides its bar over 0.5 s, and a live run moves it
     every 0.5 s, so the glide never ended and the browser painted every frame (bench/browser_watch.py) */
  [data-testid="stProgress"] * {{ transition: none !important; }}
  {HIDE_CSS}
  .{SR_ONLY} {{ position: absolute !important; width: 1px; height: 1px; padding: 0; margin: -1px;
               overflow: hidden; clip: rect(0, 0, 0, 0); white-space: nowrap; border: 0; }}
  [data-testid="stElementContainer"]:has(> [data-testid="stMarkdown"] .{SR_ONLY}) {{
    position: absolute !important; width: 1px; height: 1px; overflow: hidden; }}
  @media (max-width: {PHONE}px) {{
    /* a phone: the title, the preset, the run buttons in ONE row, then the status and the first chart;
       the page's other parts (the tagline, the ghost run, downloads) follow; the settings stay folded
       in the sidebar */
    {MAIN} > * {{ order: 2; }}
    {MAIN} > :is(:has(h1), :has(> [data-testid="stAlert"]), :has([class*="preset_choice"]),
                 :has(.st-key-pg-runbar), :has(.st-key-pg-live)) {{ order: 0; }}
    [data-testid="stMain"] h1 {{ font-size: 1.6rem; padding: 0 0 0.25rem; }}
    [data-testid="stMain"] h2 {{ font-size: 1.25rem; }}
    [class*="st-key-verdict-"] p {{ font-size: 1.05rem; }}
    {MAIN}, [class*="-live"] {{ gap: 0.6rem; }}
    [data-testid="stMainBlockContainer"] {{ padding-top: 3.5rem; }}
    /* Plotly's toolbar: on a touch screen it stays over the chart's title; pinch zooms anyway */
    .js-plotly-plot .modebar-container {{ display: none; }}
    {MAIN} > :has([class*="preset_choice"]) [data-testid="stCaptionContainer"] p {{
      display: -webkit-box; -webkit-line-clamp: 3; -webkit-box-orient: vertical; overflow: hidden; }}
    [class*="-runbar"] [data-testid="stHorizontalBlock"] {{ flex-wrap: nowrap !important; gap: 0.35rem; }}
    [class*="-runbar"] [data-testid="stColumn"] {{ min-width: 0 !important; width: auto !important;
                                                  flex: 1 1 0 !important; }}
    [class*="-runbar"] [data-testid="stColumn"]:not(:has(button)) {{ display: none; }}
    [class*="-runbar"] button {{ padding: 0.4rem 0; min-height: 2.75rem; }}
    /* the buttons show their icons; the words stay for screen readers (and in the tooltips) */
    [class*="-runbar"] button [data-testid="stMarkdownContainer"] {{
      position: absolute; width: 1px; height: 1px; overflow: hidden; clip: rect(0, 0, 0, 0); }}
    [class*="-runbar"] button [data-testid="stIconMaterial"] {{ font-size: 1.5rem; margin: 0; }}
  }}
</style>
"""


def page_style() -> None:
    """The CSS every page shares (style only: Streamlit sends it where it takes no room on the page)."""
    st.html(_CSS)


def screen_reader(text: str, where: object = None) -> None:
    """`text` for screen readers only (no room on screen), escaped: never read as HTML or Markdown."""
    (where or st).markdown(f'<p class="{SR_ONLY}">{html.escape(text)}</p>', unsafe_allow_html=True)
