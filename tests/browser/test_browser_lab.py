"""Real browser: the Gradient Lab opens from a preset link in Chromium and draws its charts; Compare
and Learn open too. Screenshots go to $RNN_PLAYGROUND_SCREENSHOTS when set (else the test's tmp dir)."""

import os
from pathlib import Path

import pytest

from rnn_core.nn.cells import CELLS
from tests.conftest import wait_idle

pytestmark = pytest.mark.browser


def _shots(tmp_path: Path) -> Path:
    folder = Path(os.environ.get("RNN_PLAYGROUND_SCREENSHOTS") or tmp_path)
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def _no_exception(page) -> None:
    boxes = page.locator("[data-testid='stException']")
    assert boxes.count() == 0, boxes.first.inner_text()


def _plotly_traces(page) -> list[dict]:
    """Per drawn Plotly chart: its title and the number and types of its traces, read from the DOM."""
    return page.evaluate("""() => [...document.querySelectorAll('.js-plotly-plot')].map(el => ({
        title: (el._fullLayout && el._fullLayout.title && el._fullLayout.title.text) || '',
        n: (el.data || []).length,
        types: (el.data || []).map(t => t.type || 'scatter')}))""")


def test_lab_preset_link_draws_the_charts(streamlit_server, page, tmp_path):
    page.goto(f"{streamlit_server}/gradient-lab?preset=vanishing")
    wait_idle(page, timeout=120_000)
    page.wait_for_function("document.querySelectorAll('.js-plotly-plot .main-svg').length >= 3",
                           timeout=60_000)
    _no_exception(page)
    charts = _plotly_traces(page)
    assert len(charts) == 3, charts                    # the two at the top, and the open tab's
    assert all(c["n"] > 0 for c in charts), charts
    overlay = next(c for c in charts if "All cells" in c["title"])
    assert overlay["n"] == 3 * len(CELLS)              # every cell: a line and two band edges each
    phase = next(c for c in charts if "Phase diagram" in c["title"])
    assert phase["types"][0] == "heatmap"
    assert "Vanishing" in page.locator("[data-testid='stMain']").inner_text()
    page.screenshot(path=str(_shots(tmp_path) / "gradient_lab.png"), full_page=True)
    # another tab: its chart is computed and drawn in place of the phase diagram
    page.get_by_role("tab", name="Jacobian product").click()
    page.wait_for_function("[...document.querySelectorAll('.js-plotly-plot')].some(el => el._fullLayout && "
                           "(el._fullLayout.title.text || '').includes('product of Jacobians'))", timeout=60_000)
    wait_idle(page, timeout=60_000)
    _no_exception(page)
    titles = [c["title"] for c in _plotly_traces(page)]
    assert len(titles) == 3 and not any("Phase diagram" in t for t in titles), titles


def test_learn_and_compare_open(streamlit_server, page, tmp_path):
    page.goto(f"{streamlit_server}/learn?step=bptt")
    wait_idle(page, timeout=120_000)
    page.wait_for_selector(".katex", timeout=30_000)
    page.get_by_text("they match").first.wait_for(timeout=60_000)
    _no_exception(page)
    page.screenshot(path=str(_shots(tmp_path) / "learn.png"), full_page=True)
    page.goto(f"{streamlit_server}/compare")
    wait_idle(page, timeout=120_000)
    _no_exception(page)
    start = page.get_by_role("button", name="Start race")
    start.wait_for(timeout=60_000)           # the idle marker can still be the previous page's
    assert start.count() == 1
    page.screenshot(path=str(_shots(tmp_path) / "compare.png"), full_page=True)
