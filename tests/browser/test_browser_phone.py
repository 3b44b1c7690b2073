"""A phone in the lecture hall: Chromium at 390×844 with touch (a common phone) opens a preset's link,
taps Train and looks at the first screen: the five run buttons in one row, each a touch target, the
status line and then the whole plot area of the first chart (the presenter's chosen one) on it, the
settings folded away (the sidebar collapsed), and nothing overlapping anything else; in presenter view no
Plotly toolbar over the chart's title, and its long titles and legends wrapped within the phone's width."""

import pytest

from tests.conftest import boxes_overlap, wait_idle

pytestmark = pytest.mark.browser

W, H = 390, 844
BUTTONS = ("train", "pause", "step", "stop", "reset")

# the first screen, read from the DOM: the run buttons, the status, the first chart, the sidebar, and
# every drawn element of the page whose box lies on the first screen (for overlaps)
FIRST_SCREEN = """(buttons) => {
  const box = el => { const r = el.getBoundingClientRect(); return {l: r.left, t: r.top, r: r.right, b: r.bottom}; };
  const visible = el => el && el.getClientRects().length > 0;
  const run = buttons.map(k => [...document.querySelectorAll('.st-key-pg-btn-' + k + ' button')].find(visible))
                     .map(b => b ? box(b) : null);
  const status = [...document.querySelectorAll('[data-testid="stMain"] p')]
      .find(p => /(No run yet|running|paused|completed|diverged|stopped)/.test(p.innerText) && visible(p));
  const chart = document.querySelector('[data-testid="stMain"] .js-plotly-plot');
  const plot = chart && chart.querySelector('.nsewdrag');              // the plot area, between the axes
  const title = chart && chart.querySelector('.gtitle');
  const bar = chart && [...chart.querySelectorAll('.modebar-container')].find(visible);
  const sidebar = document.querySelector('[data-testid="stSidebar"]');
  const leaves = [...document.querySelectorAll('[data-testid="stMain"] [data-testid="stElementContainer"]')]
      .filter(el => visible(el) && !el.querySelector('[data-testid="stElementContainer"]')
                    && !el.closest('details:not([open])'))             // not inside a folded expander
      .map(el => ({text: (el.innerText || el.getAttribute('class')).slice(0, 30), ...box(el)}))
      .filter(b => b.b > b.t + 1 && b.r > b.l + 1 && b.t < innerHeight && b.b > 0);
  return {run, status: status ? {text: status.innerText.slice(0, 60), ...box(status)} : null,
          chart: chart ? box(chart) : null, plot: plot ? box(plot) : null, title: title ? box(title) : null,
          toolbar: bar ? box(bar) : null,
          sidebar: sidebar ? box(sidebar) : null, leaves, width: document.documentElement.scrollWidth};
}"""


@pytest.fixture
def phone(chromium):
    context = chromium.new_context(viewport={"width": W, "height": H}, has_touch=True, is_mobile=True,
                                   device_scale_factor=3)
    pg = context.new_page()
    pg.set_default_timeout(60_000)
    yield pg
    context.close()


def _check_first_screen(page) -> dict:
    s = page.evaluate(FIRST_SCREEN, list(BUTTONS))
    run = s["run"]
    assert all(run), run                                           # every run button is there…
    assert max(b["t"] for b in run) - min(b["t"] for b in run) < 2, run     # …in one row
    assert all(b["l"] >= 0 and b["r"] <= W and b["b"] <= H for b in run), run
    assert all(b["b"] - b["t"] >= 40 and b["r"] - b["l"] >= 40 for b in run), run   # a thumb's target
    assert not any(boxes_overlap(a, b) for i, a in enumerate(run) for b in run[i + 1:]), run
    assert s["status"] is not None and s["status"]["b"] <= H, s["status"]          # the status, on screen
    assert s["chart"] is not None and s["plot"] is not None, s["chart"]   # the first chart: its whole plot
    plot = s["plot"]                                                       # area on screen, after the status
    assert s["status"]["b"] <= plot["t"] and plot["b"] <= H and plot["b"] - plot["t"] >= 120, (s["status"], plot)
    assert plot["r"] - plot["l"] >= W / 2, plot                           # and not squeezed by its legend
    assert s["sidebar"] is None or s["sidebar"]["r"] <= 0, s["sidebar"]           # settings folded away
    assert s["width"] <= W, s["width"]                                            # nothing sideways
    overlaps = [(a["text"], b["text"]) for i, a in enumerate(s["leaves"]) for b in s["leaves"][i + 1:]
                if boxes_overlap(a, b)]
    assert not overlaps, overlaps
    return s


@pytest.mark.slow
def test_a_phone_trains_a_preset_and_sees_it_on_the_first_screen(streamlit_server, phone):
    page = phone
    page.goto(f"{streamlit_server}/?preset=exploding")
    page.locator(".st-key-pg-btn-train button:visible").first.wait_for(timeout=120_000)
    wait_idle(page, timeout=120_000)
    page.wait_for_timeout(1000)
    before = _check_first_screen(page)
    assert "No run yet" in before["status"]["text"]
    page.locator(".st-key-pg-btn-train button:visible").first.tap()
    page.wait_for_function("() => /diverged|completed/.test(document.querySelector('[data-testid=stMain]').innerText)",
                           timeout=240_000)
    wait_idle(page, timeout=120_000)
    page.wait_for_timeout(1500)
    wait_idle(page)
    after = _check_first_screen(page)
    assert "diverged" in after["status"]["text"], after["status"]
    # the run buttons' words are still there for a screen reader (the screen shows their icons)
    assert page.get_by_role("button", name="Train", exact=True).count() >= 1


@pytest.mark.slow
def test_a_phone_in_presenter_view_has_no_toolbar_over_the_chart_title(streamlit_server, phone):
    page = phone
    page.goto(f"{streamlit_server}/?preset=exploding&presenter=1&chart=gradient")
    page.locator(".st-key-pg-btn-train button:visible").first.wait_for(timeout=120_000)
    wait_idle(page, timeout=120_000)
    page.locator(".st-key-pg-btn-train button:visible").first.tap()
    page.wait_for_function("() => /diverged|completed/.test(document.querySelector('[data-testid=stMain]').innerText)",
                           timeout=240_000)
    wait_idle(page, timeout=120_000)
    page.locator("[data-testid='stMain'] .js-plotly-plot .gtitle").first.wait_for()
    page.locator("[data-testid='stMain'] .js-plotly-plot").first.tap()     # a tap shows Plotly's toolbar…
    page.wait_for_timeout(800)
    s = _check_first_screen(page)
    assert s["title"] is not None
    assert s["toolbar"] is None or not boxes_overlap(s["toolbar"], s["title"]), (s["toolbar"], s["title"])  # …not here

# the chosen chart's parts, as the phone shows them (title, plot area, axis titles, legend entries), once its
# legend lies under the plot clear of the x axis's title (`ui/keys.py` moves it there once the chart is drawn,
# and again each time Streamlit draws the chart anew); null before
CHART_PARTS = """() => {
  const box = el => { const r = el.getBoundingClientRect(); return {l: r.left, t: r.top, r: r.right, b: r.bottom}; };
  const chart = document.querySelector('[data-testid="stMain"] .js-plotly-plot');
  if (!(chart && chart._fullLayout && chart._fullLayout.legend.orientation === 'h')) return null;
  const one = sel => { const el = chart.querySelector(sel); return el ? box(el) : null; };
  const parts = {chart: box(chart), title: one('.gtitle'), plot: one('.nsewdrag'), xtitle: one('.xtitle'),
                 ytitle: one('.ytitle'), legend: one('.legend .bg'),
                 entries: [...chart.querySelectorAll('.legend .legendtext')].map(box)};
  return parts.legend && parts.xtitle && parts.legend.t >= parts.xtitle.b - 1 ? parts : null;
}"""


@pytest.mark.slow
@pytest.mark.parametrize("chart", ["overlay", "gradient"])
def test_a_phone_in_presenter_view_shows_the_whole_chart_with_nothing_cut_or_overlapping(streamlit_server, phone,
                                                                                        chart):
    """The Gradient Lab's long titles and legends at 390 px: the title wrapped within the chart, the legend
    under the x axis's title, every legend entry within the screen."""
    page = phone
    page.goto(f"{streamlit_server}/gradient-lab?presenter=1&chart={chart}")
    wait_idle(page, timeout=120_000)
    s = page.wait_for_function(CHART_PARTS, timeout=60_000).json_value()     # the legend clear of the x title
    box, title = s["chart"], s["title"]
    assert box["l"] - 1 <= title["l"] and title["r"] <= min(box["r"], W) + 1 and title["t"] >= box["t"] - 1, s
    assert not boxes_overlap(title, s["plot"]) and not boxes_overlap(title, s["ytitle"]), s
    assert s["xtitle"]["r"] <= W and s["xtitle"]["l"] >= 0, s["xtitle"]
    assert all(e["r"] <= W for e in s["entries"]), s["entries"]                          # no entry cut
