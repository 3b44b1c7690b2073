"""Real browser at 1280×720 (a laptop, a projector) outside presenter view: every preset, trained to its
end as a lecturer presses it, shows its status line, its verdict and its first chart in the first screen
without scrolling, nothing in that screen is cut off, no chart's title, legend, x axis's title or plot
covers another, and its last frame is complete when the status says so (the predictions drawn, a text
run's last sample shown). A link to a key moment of the Exploding preset (`&at=diverged`) trains the run
and lands on that moment, marked on the charts — in the normal view and in presenter view, where the
earlier- and later-moment buttons step through the key moments."""

from __future__ import annotations

import re

import pytest

from rnn_core.lessons.presets import PRESETS
from tests.conftest import chart_overlaps, wait_closed_loop, wait_idle

pytestmark = pytest.mark.browser

W, H = 1280, 720
ENDED = r"() => /(completed|diverged) · epoch/.test(document.querySelector('[data-testid=stMain]').innerText)"

# Boxes in viewport pixels of what the first screen must hold, and what is cut off in it.
FIRST_SCREEN = """() => {
  const main = document.querySelector('[data-testid="stMain"]');
  const box = e => { if (!e) return null; const r = e.getBoundingClientRect();
                     return {top: r.top, bottom: r.bottom, left: r.left, right: r.right}; };
  const status = [...main.querySelectorAll('[data-testid="stWidgetLabel"], [data-testid="stProgress"]')]
      .find(e => /(completed|diverged) · epoch/.test(e.innerText));
  const verdict = [...main.querySelectorAll('[class*="st-key-verdict"], [data-testid="stAlertContentError"]')]
      .find(e => /(beats|worse than|at the|at tomorrow|diverged at step|remembers the opener)/.test(e.innerText));
  const plots = [...main.querySelectorAll('.js-plotly-plot')];
  const first = plots[0];
  const cut = [];
  const shown = 'button, [data-testid="stWidgetLabel"], [class*="st-key-verdict"] p, ' +
                '[data-testid="stCaptionContainer"]';
  for (const el of main.querySelectorAll(shown)) {
    const r = el.getBoundingClientRect();
    if (r.width === 0 || r.top >= innerHeight) continue;
    for (const e of [el, ...el.querySelectorAll('p, div, span')]) {
      if (e.scrollWidth > e.clientWidth + 1) { cut.push(el.innerText.slice(0, 40)); break; }
    }
  }
  return {status: box(status), verdict: box(verdict), verdictText: verdict ? verdict.innerText : null,
          chart: box(first), traces: first && first.data ? first.data.length : 0, cut,
          title: first && first.layout && first.layout.title ? first.layout.title.text : null};
}"""

# The last frame: the predictions chart's traces, the newest sample's epoch (text runs)
LAST_FRAME = """() => {
  const main = document.querySelector('[data-testid="stMain"]');
  const pred = [...main.querySelectorAll('.js-plotly-plot')]
      .find(gd => gd.layout && gd.layout.title && /redict|test sequence/i.test(gd.layout.title.text || ''));
  const sample = (main.innerText.match(/Sample after epoch (\\d+)/) || [null, null])[1];
  // every table (the metrics): as wide as its column at most, no header or cell cut
  const tables = [...main.querySelectorAll('[data-testid="stTable"]')];
  const cut = tables.filter(t => t.scrollWidth > t.clientWidth + 1 ||
      [...t.querySelectorAll('th, td')].some(c => c.scrollWidth > c.clientWidth + 1))
      .map(t => t.innerText.slice(0, 60));
  return {predTraces: pred && pred.data ? pred.data.filter(t => t.x && t.x.length !== 0).length : null,
          sample: sample === null ? null : Number(sample), tables: tables.length, cutTables: cut,
          headers: tables.map(t => [...t.querySelectorAll('th')].map(h => h.innerText.trim()))};
}"""


def _marks(page, index: int = 0) -> list[float]:
    """The x of every vertical line across plot `index` (the scrubber's mark)."""
    return page.evaluate("""i => {
      const gd = [...document.querySelectorAll('[data-testid="stMain"] .js-plotly-plot')][i];
      return ((gd.layout || {}).shapes || []).filter(s => s.yref === 'y domain' && s.x0 === s.x1).map(s => s.x0);
    }""", index)


@pytest.fixture
def screen(chromium):
    context = chromium.new_context(viewport={"width": W, "height": H})
    pg = context.new_page()
    pg.set_default_timeout(120_000)
    yield pg
    context.close()


@pytest.mark.slow
@pytest.mark.parametrize("preset", list(PRESETS))
def test_every_preset_ends_with_its_status_verdict_and_first_chart_in_the_first_screen(streamlit_server, screen,
                                                                                     preset):
    page = screen
    page.goto(f"{streamlit_server}/?preset={preset}")
    wait_idle(page, timeout=180_000)
    page.get_by_role("button", name="Train", exact=True).click()
    page.wait_for_function(ENDED, timeout=900_000)
    wait_idle(page, timeout=300_000)
    wait_closed_loop(page, timeout=300_000)
    page.wait_for_timeout(1000)                                   # Plotly's last relayout
    m = page.evaluate(FIRST_SCREEN)
    for part in ("status", "verdict", "chart"):
        box = m[part]
        assert box is not None and box["top"] >= 0 and box["bottom"] <= H, (preset, part, m)
    assert m["chart"]["right"] <= W and m["traces"] > 0 and re.sub("<[^>]+>", "", m["title"]) == "Loss", m
    assert m["cut"] == [], m["cut"]
    assert page.locator("[data-testid='stException']").count() == 0
    assert chart_overlaps(page) == []      # in every chart: title, legend, x axis's title, plot each clear
    # the last frame is complete now that the status says so
    last = page.evaluate(LAST_FRAME)
    if PRESETS[preset].data.get("dataset") in ("brackets", "pydoc"):
        assert last["sample"] == PRESETS[preset].train["epochs"], last
    elif "diverged" not in m["verdictText"]:
        assert last["predTraces"], last
    assert last["cutTables"] == [], last
    if PRESETS[preset].data.get("dataset") in ("sine", "yahoo"):              # a forecast's metrics table
        headers = " ".join(" ".join(h) for h in last["headers"])
        assert "skill score" in headers and "best lag" in headers, last


def test_the_labs_chart_titles_fit_their_charts(streamlit_server, screen):
    """The Lab's two half-width charts at 1280 px: each title ends inside its own chart."""
    page = screen
    page.goto(f"{streamlit_server}/gradient-lab?preset=vanishing")
    wait_idle(page, timeout=180_000)
    page.wait_for_function("() => document.querySelectorAll('[data-testid=\"stMain\"] .js-plotly-plot .gtitle')"
                           ".length >= 2", timeout=120_000)
    page.wait_for_timeout(800)
    overflow = page.evaluate("""() => [...document.querySelectorAll('[data-testid="stMain"] .js-plotly-plot')]
        .map(gd => { const t = gd.querySelector('.gtitle'); if (!t) return null;
                     const over = t.getBoundingClientRect().right - gd.getBoundingClientRect().right;
                     return {title: t.textContent, over}; })
        .filter(x => x && x.over > 0)""")
    assert overflow == [], overflow
    assert chart_overlaps(page) == []          # the legends above the plots under their titles, not over


@pytest.mark.slow
def test_a_link_to_the_explosion_trains_the_run_and_lands_there(streamlit_server, screen):
    page = screen
    page.goto(f"{streamlit_server}/?preset=exploding&at=diverged")
    page.wait_for_function(ENDED, timeout=300_000)
    wait_idle(page, timeout=120_000)
    thumb = page.locator("[data-testid='stMain'] [data-testid='stSliderThumbValue']").first
    thumb.wait_for()
    text = thumb.inner_text()
    assert text.endswith("· diverges"), text
    end = int(text.split()[1])
    page.wait_for_function("() => [...document.querySelectorAll('[data-testid=\"stMain\"] .js-plotly-plot')]"
                           ".some(gd => ((gd.layout || {}).shapes || []).some(s => s.yref === 'y domain'))")
    assert end in _marks(page, 0)                                 # the loss chart, marked at the divergence
    assert "at=diverged" in page.url and "preset=exploding" in page.url
    m = page.evaluate(FIRST_SCREEN)
    assert m["chart"]["bottom"] <= H and m["verdict"]["bottom"] <= H, m
    caption = page.get_by_text("diverges (step", exact=False).first
    caption.wait_for()


@pytest.mark.slow
def test_presenter_view_opens_the_explosion_from_a_link_and_steps_between_moments(streamlit_server, screen):
    page = screen
    page.goto(f"{streamlit_server}/?preset=exploding&at=diverged&presenter=1&chart=norms")
    page.wait_for_function(ENDED, timeout=300_000)
    wait_idle(page, timeout=120_000)
    thumb = page.locator("[data-testid='stMain'] [data-testid='stSliderThumbValue']").first
    thumb.wait_for()
    assert thumb.inner_text().endswith("· diverges")
    end = int(thumb.inner_text().split()[1])
    page.wait_for_function("() => { const gd = document.querySelector('[data-testid=\"stMain\"] .js-plotly-plot');"
                           " return gd && ((gd.layout || {}).shapes || []).some(s => s.yref === 'y domain'); }")
    assert end in _marks(page)                                    # the one chart: ‖g‖ per step, marked
    assert chart_overlaps(page) == []                             # its legend beside the plot, clear of all
    chart = page.locator("[data-testid='stMain'] .js-plotly-plot").first.bounding_box()
    assert chart["y"] >= 0 and chart["y"] + chart["height"] <= H, chart
    for name in ("Earlier moment", "Later moment"):
        button = page.get_by_role("button", name=name)
        box = button.bounding_box()
        assert box["y"] + box["height"] <= H
        size = button.evaluate("b => parseFloat(getComputedStyle(b.querySelector('p')).fontSize)")
        assert size >= 18, (name, size)                          # a lecture screen's smallest text
    assert float(thumb.evaluate("e => getComputedStyle(e).fontSize").removesuffix("px")) >= 18
    assert page.get_by_role("button", name="Later moment").is_disabled()      # the last key moment
    page.get_by_role("button", name="Earlier moment").click()
    page.wait_for_function("() => !/· diverges/.test(document.querySelector("
                           "'[data-testid=\"stMain\"] [data-testid=\"stSliderThumbValue\"]').innerText)")
    wait_idle(page)
    earlier = int(thumb.inner_text().split()[1])
    assert earlier < end and "at=diverged" not in page.url and "at=" in page.url
    page.wait_for_function("x => { const gd = document.querySelector('[data-testid=\"stMain\"] .js-plotly-plot');"
                           " return ((gd.layout || {}).shapes || []).some(s => s.yref === 'y domain' && s.x0 === x); }",
                           arg=earlier)

