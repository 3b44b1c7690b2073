"""Real browser at 1280×720 (a projector) with presenter mode, on every page: the chosen chart lies in
the first viewport and spans most of its width, its tick labels are ≥ 18 px, nothing overlaps its
title, no button label is cut off, and the run buttons and the status line are visible without
scrolling. Also: the Lab's preset menu applies every pick after a deep link.

With RNN_PLAYGROUND_SCREENSHOTS set, the presenter views are saved as docs/presenter-<page>.png
(docs/lecturers.md, "Presenter view", shows them); otherwise nothing under docs/ is written."""

import os
from pathlib import Path

import pytest

from tests.conftest import wait_idle

pytestmark = pytest.mark.browser

ROOT = Path(__file__).resolve().parents[2]
W, H = 1280, 720
# A quick Playground run (as in test_browser_playground) so the chosen chart has lines on it.
RUN = "m.hidden_size=16&d.timesteps=30&d.params.length=600&d.params.noise=0.05&t.epochs=3&t.lr=0.01&t.batch_size=16"
PAGES = {
    "playground": f"/?{RUN}&presenter=1&chart=gradient",
    "lab": "/gradient-lab?preset=vanishing&presenter=1&chart=gradient",
    "compare": "/compare?presenter=1&chart=loss",
    "data": "/data?presenter=1&chart=series",
}

# Geometry of the one chart on the page, read from the DOM (boxes in viewport pixels).
MEASURE = """() => {
  const plots = [...document.querySelectorAll('[data-testid="stMain"] .js-plotly-plot')];
  if (plots.length === 0) return null;
  const gd = plots[0];
  const box = r => ({left: r.left, top: r.top, right: r.right, bottom: r.bottom, width: r.width, height: r.height});
  const title = gd.querySelector('.gtitle');
  const titleBox = title ? box(title.getBoundingClientRect()) : null;
  const ticks = [...gd.querySelectorAll('.xtick text, .ytick text')]
      .map(t => parseFloat(getComputedStyle(t).fontSize));
  const hit = (a, b) => a && b && a.left < b.right && b.left < a.right && a.top < b.bottom && b.top < a.bottom;
  const overlaps = [];
  // inside the chart: legend, annotations, axis titles, colour bars
  for (const el of gd.querySelectorAll('.legend, .annotation, .g-xtitle, .g-ytitle, .colorbar')) {
    const r = el.getBoundingClientRect();
    if (r.width > 0 && hit(titleBox, box(r))) overlaps.push(el.getAttribute('class'));
  }
  // outside it: every other element on the page
  const own = gd.closest('[data-testid="stElementContainer"]');
  for (const el of document.querySelectorAll('[data-testid="stElementContainer"]')) {
    if (el === own || el.contains(own) || own.contains(el)) continue;
    const r = el.getBoundingClientRect();
    if (r.width > 0 && r.height > 0 && hit(titleBox, box(r))) overlaps.push(el.innerText.slice(0, 40));
  }
  const cut = [];
  for (const b of document.querySelectorAll('[data-testid="stMain"] button')) {
    const r = b.getBoundingClientRect();
    if (r.width === 0) continue;
    for (const el of [b, ...b.querySelectorAll('p, div, span')]) {
      if (el.scrollWidth > el.clientWidth + 1) { cut.push(b.innerText); break; }
    }
  }
  // every visible text outside the chart (icons and formulas aside): the projector's 18 px
  const small = [];
  const walker = document.createTreeWalker(document.querySelector('[data-testid="stMain"]'), NodeFilter.SHOW_TEXT);
  for (let t = walker.nextNode(); t; t = walker.nextNode()) {
    const el = t.parentElement;
    if (!t.textContent.trim() || el.closest('.js-plotly-plot, .katex, [data-testid="stIconMaterial"], ' +
                                            '[data-testid="stExpanderIcon"]')) continue;
    const r = el.getBoundingClientRect();
    const size = parseFloat(getComputedStyle(el).fontSize);
    if (r.width > 0 && r.height > 0 && size < 18) small.push(size + 'px: ' + t.textContent.trim().slice(0, 40));
  }
  for (const el of document.querySelectorAll('[data-testid="stMain"] :is([data-testid="stSelectbox"], ' +
                                             '[data-testid="stMultiSelect"]) input')) {
    const size = parseFloat(getComputedStyle(el).fontSize);
    if (el.getBoundingClientRect().width > 0 && size < 18) small.push(size + 'px: a select box');
  }
  return {n: plots.length, chart: box(gd.getBoundingClientRect()), title: titleBox,
          titleText: title ? title.textContent : '', ticks, overlaps, cut, small,
          sidebar: !!document.querySelector('[data-testid="stSidebar"]') &&
                   document.querySelector('[data-testid="stSidebar"]').getBoundingClientRect().width > 0};
}"""


@pytest.fixture
def screen(chromium):
    context = chromium.new_context(viewport={"width": W, "height": H})
    pg = context.new_page()
    pg.set_default_timeout(60_000)
    yield pg
    context.close()


def _ready(page, ticks: bool = True) -> dict:
    """Wait for the page and its chart (with tick labels: a chart that shows data), return MEASURE."""
    wait_idle(page, timeout=120_000)
    condition = f"({MEASURE})().ticks.length > 0" if ticks else "true"
    page.wait_for_function(f"() => ({MEASURE})() !== null && {condition}", timeout=120_000)
    page.wait_for_timeout(800)                   # Plotly's last relayout
    wait_idle(page)
    boxes = page.locator("[data-testid='stException']")
    assert boxes.count() == 0, boxes.first.inner_text()
    return page.evaluate(MEASURE)


def _check_projectable(m: dict) -> None:
    c = m["chart"]
    assert m["n"] == 1, m                                      # one chart: the one the presenter chose
    assert not m["sidebar"]
    assert c["top"] >= 0 and c["bottom"] <= H and c["left"] >= 0 and c["right"] <= W, c
    assert c["width"] >= 0.85 * W, c                           # most of the screen's width
    assert min(m["ticks"]) >= 18, m["ticks"]
    assert m["overlaps"] == [], m["overlaps"]
    assert m["cut"] == [], m["cut"]
    assert m["small"] == [], m["small"]                        # no text under 18 px on the page


def _visible(page, locator) -> None:
    box = locator.bounding_box()
    assert box is not None and box["y"] >= 0 and box["y"] + box["height"] <= H, box


def _screenshot(page, name: str) -> None:
    if os.environ.get("RNN_PLAYGROUND_SCREENSHOTS"):
        page.screenshot(path=str(ROOT / "docs" / f"presenter-{name}.png"))


@pytest.mark.slow
def test_playground_presenter_view_projects(streamlit_server, screen):
    page = screen
    page.goto(streamlit_server + PAGES["playground"])
    m = _ready(page, ticks=False)
    assert "Gradient through time" in m["titleText"]
    train = page.get_by_role("button", name="Train", exact=True)
    _visible(page, train)
    _visible(page, page.get_by_text("No run yet", exact=False).first)
    train.click()
    page.get_by_text("completed", exact=False).first.wait_for(timeout=180_000)
    wait_idle(page)
    page.wait_for_function("() => [...document.querySelectorAll('.js-plotly-plot .scatterlayer .trace')]"
                           ".length >= 2", timeout=60_000)
    m = _ready(page)
    _check_projectable(m)
    assert "dotted epoch 0" in m["titleText"]                  # the epoch-0 profile beside the latest one
    verdict = (page.get_by_text("constant guess", exact=False).or_(page.get_by_text("tomorrow = today"))
               .filter(visible=True).first)                     # (a setting's help names it too, hidden)
    _visible(page, verdict)
    _visible(page, page.get_by_role("button", name="Train", exact=True))
    assert "presenter=1" in page.url and "chart=gradient" in page.url
    _screenshot(page, "playground")


@pytest.mark.parametrize("name", ["lab", "compare", "data"])
def test_every_page_projects_its_chosen_chart(streamlit_server, screen, name):
    page = screen
    page.goto(streamlit_server + PAGES[name])
    if name == "compare":                      # the race's loss chart, a few epochs in
        start = page.get_by_role("button", name="Start race")
        start.wait_for(timeout=60_000)
        _visible(page, start)
        start.click()
        page.wait_for_function("() => [...document.querySelectorAll('.js-plotly-plot .scatterlayer .trace')]"
                               ".length >= 3", timeout=120_000)
    m = _ready(page)
    _check_projectable(m)
    if name == "compare":
        stop = page.get_by_role("button", name="Stop")
        _visible(page, stop)
        if stop.is_enabled():                  # a fast machine may have finished the race already
            stop.click()
    if name == "lab":
        _visible(page, page.get_by_text("must vanish", exact=False).first)
    _screenshot(page, name)


def test_the_chosen_chart_fills_a_taller_screen(streamlit_server, chromium):
    """On a 1080-line projector the chart grows to what the screen leaves (800 px, not 720p's 440), and
    what sits around it still fits: the whole page without scrolling, the Lab's caption in view."""
    from ui.presenter import AROUND_CHART, CHART_HEIGHT

    tall = 1080
    context = chromium.new_context(viewport={"width": 1920, "height": tall})
    try:
        page = context.new_page()
        page.set_default_timeout(60_000)
        page.goto(streamlit_server + PAGES["lab"])
        m = _ready(page)
        c = m["chart"]
        assert c["height"] >= tall - AROUND_CHART - 2 > CHART_HEIGHT, c
        assert c["top"] >= 0 and c["bottom"] <= tall, c
        assert m["overlaps"] == [] and m["small"] == [], m
        caption = page.get_by_text("decades lost over", exact=False).first     # the caption under the chart
        box = caption.bounding_box()
        assert box is not None and box["y"] + box["height"] <= tall, box
    finally:
        context.close()


def test_learn_presenter_buttons_are_not_cut(streamlit_server, screen):
    page = screen
    page.goto(streamlit_server + "/learn?step=pascanu&presenter=1")
    wait_idle(page, timeout=120_000)
    page.get_by_role("button", name="Exploding: gain 1.5", exact=False).wait_for(timeout=60_000)
    cut = page.evaluate("""() => [...document.querySelectorAll('[data-testid="stMain"] button')]
        .filter(b => [b, ...b.querySelectorAll('p, div, span')].some(e => e.scrollWidth > e.clientWidth + 1))
        .map(b => b.innerText)""")
    assert cut == []
    assert page.locator("[data-testid='stSidebar']").bounding_box() is None
    _screenshot(page, "learn")


def test_lab_preset_menu_applies_every_pick_after_a_deep_link(streamlit_server, chromium):
    context = chromium.new_context(viewport={"width": 1400, "height": 1000})
    page = context.new_page()
    page.set_default_timeout(60_000)
    try:
        page.goto(streamlit_server + "/gradient-lab?preset=vanishing")
        wait_idle(page, timeout=120_000)
        main = page.locator("[data-testid='stMain']")
        main.get_by_text("Vanishing: tanh RNN, gain 0.8").first.wait_for()
        for title, preset in (("Exploding: tanh RNN, gain 1.5", "exploding"),
                              ("Edge of chaos: tanh RNN, gain 1", "edge")):
            page.locator("[data-testid='stSidebar'] [data-testid='stSelectbox']").first.click()
            page.get_by_role("option", name=title).click()
            wait_idle(page)
            page.wait_for_function(f"() => location.search.includes('preset={preset}')", timeout=60_000)
            page.wait_for_timeout(1000)
            wait_idle(page)
            assert f"preset={preset}" in page.url             # not put back to the deep link's preset
            main.get_by_text(title).first.wait_for()
    finally:
        context.close()


@pytest.mark.slow
def test_chart_options_stay_open_and_a_ghost_run_overlays_the_playground(streamlit_server, page):
    """Outside presenter mode: "Chart options", opened during a run, is still open after the run
    finished (a status change used to collapse it); a ghost LSTM on the same setup then draws its loss
    and gradient profile over the run's, and each run gets its verdict line."""
    page.goto(f"{streamlit_server}/?{RUN}")
    wait_idle(page, timeout=120_000)
    page.get_by_role("button", name="Train", exact=True).click()
    page.get_by_text("Chart options").click()
    page.get_by_text("Log loss axis").wait_for()
    page.get_by_text("completed", exact=False).first.wait_for(timeout=180_000)
    wait_idle(page)
    page.wait_for_timeout(1000)
    assert page.get_by_text("Log loss axis").is_visible()
    page.get_by_role("button", name="Ghost run").click()          # the popover beside the run buttons
    page.get_by_role("button", name="Train ghost").click()
    names = ("() => [...document.querySelectorAll('.js-plotly-plot')]"
             ".flatMap(gd => (gd.data || []).map(t => t.name))")
    page.wait_for_function(f"() => ({names})().includes('ghost: LSTM') && "
                           f"({names})().includes('ghost: LSTM (epoch)')", timeout=180_000)
    main = page.locator("[data-testid='stMain']")
    main.get_by_text("ghost LSTM", exact=False).first.wait_for(timeout=60_000)
    assert "tomorrow = today" in main.inner_text()
    assert "epoch 0 (start)" in page.evaluate(names)
