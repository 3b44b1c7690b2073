"""Real browser: while a run trains, its charts are drawn by the app's own chart element (`ui.chart_element`):
the loss chart's <div> stays on the page and takes each new figure in place, each figure drawn once
(Streamlit's `st.plotly_chart` mounted a new element at every redraw and drew it twice), with Plotly.js from
the app's own server (no script comes from anywhere else)."""

import itertools

import pytest

from tests.conftest import IDLE, wait_status

pytestmark = pytest.mark.browser

LINK = ("/?m.hidden_size=16&d.timesteps=30&d.params.length=6000&d.params.noise=0.05"
        "&t.epochs=16&t.lr=0.01&t.batch_size=16")   # keeps redrawing for seconds, even when busy

# Once the loss chart has points: its <div>, marked, and from then on every draw of it, recorded as the
# figure it drew (the element's `__drawn`: the payload's text) and its number of per-step points.
WATCH = """() => {
  const gd = [...document.querySelectorAll('.js-plotly-plot')]
    .find(g => ((g.layout.title || {}).text || '').replace(/<[^>]+>/g, '') === 'Loss');
  const points = () => ((gd._fullData || []).find(t => t.name === 'train (per step)') || {x: []}).x.length;
  if (!gd || points() === 0) return false;
  if (!gd.__marked) {
    gd.__marked = true; window.__lossDiv = gd; window.__lossDraws = [];
    gd.on('plotly_afterplot', () => window.__lossDraws.push({figure: gd.__drawn, points: points()}));
  }
  return true;
}"""
SEEN = """() => ({same: window.__lossDiv.isConnected && window.__lossDiv.__marked &&
                        [...document.querySelectorAll('.js-plotly-plot')].includes(window.__lossDiv),
                 ours: window.__lossDiv.classList.contains('rnn-chart'), draws: window.__lossDraws})"""


def test_a_training_runs_loss_chart_is_redrawn_in_place_once_per_new_figure(streamlit_server, page):
    requests = []
    page.on("request", lambda r: requests.append(r.url))
    page.goto(streamlit_server + LINK)
    page.wait_for_selector(IDLE, timeout=120_000)
    page.locator("button:visible", has_text="Train").first.click()
    page.wait_for_function(WATCH, timeout=120_000, polling=100)
    wait_status(page, "completed")
    page.wait_for_timeout(2000)                  # the redraws that follow the end
    seen = page.evaluate(SEEN)
    draws = seen["draws"]
    assert seen["ours"] and seen["same"], seen           # our element, the same <div> all along
    assert len(draws) >= 2, [d["points"] for d in draws]
    # each draw drew a figure the one before did not: none drawn twice
    assert all(a["figure"] != b["figure"] for a, b in itertools.pairwise(draws)), [d["points"] for d in draws]
    points = [d["points"] for d in draws]
    assert points == sorted(points), points             # never an older state of the run after a newer one
    bundle = [u for u in requests if u.endswith("/app/static/plotly.min.js")]
    assert len(bundle) == 1, bundle                      # Plotly.js, once, from the app's own server
    elsewhere = [u for u in requests if not u.startswith(streamlit_server)]
    assert not [u for u in elsewhere if "plot" in u.lower() or u.endswith(".js")], elsewhere


def test_without_plotly_js_a_chart_says_so_in_a_sentence(streamlit_server, page):
    """Plotly.js blocked (a proxy that does not pass /app/static/): each chart says it could not be drawn and
    why, in its place; the rest of the page stands."""
    page.route("**/app/static/plotly.min.js", lambda route: route.abort())
    page.goto(streamlit_server + "/gradient-lab")
    page.wait_for_selector(IDLE, timeout=120_000)
    page.wait_for_function("() => document.querySelectorAll('.rnn-chart').length >= 3 && [...document"
                           ".querySelectorAll('.rnn-chart')].every(g => g.textContent.includes('could not be drawn'))",
                           timeout=60_000)
    said = page.locator(".rnn-chart").first.inner_text()
    assert said.startswith("This chart could not be drawn: Plotly.js did not load from ")
    assert said.endswith("/app/static/plotly.min.js"), said
    assert page.get_by_text("Gradient Lab", exact=True).first.is_visible()


def test_a_chart_goes_full_screen_from_its_mode_bar_and_comes_back(streamlit_server, page):
    """What Streamlit's own chart element offered: a chart shown full screen (its mode bar's last button,
    which the keyboard reaches too), as wide and as tall as the screen, and back at its own size after."""
    page.set_viewport_size({"width": 1280, "height": 800})
    page.goto(streamlit_server + "/gradient-lab")
    page.wait_for_selector(IDLE, timeout=120_000)
    page.wait_for_function("() => document.querySelectorAll('.rnn-chart .main-svg').length >= 3", timeout=60_000)
    chart = page.locator(".rnn-chart").first
    size = "() => [document.querySelector('.rnn-chart')._fullLayout.width, " \
           "document.querySelector('.rnn-chart')._fullLayout.height]"
    before = page.evaluate(size)
    chart.hover()
    button = chart.locator('.modebar-btn[data-title^="Full screen"]')
    assert button.get_attribute("role") == "button" and button.get_attribute("tabindex") == "0"
    assert button.get_attribute("aria-label") == "Show this chart full screen"
    button.focus()
    page.keyboard.press("Enter")
    page.wait_for_function("() => document.fullscreenElement && document.fullscreenElement.contains("
                           "document.querySelector('.rnn-chart'))", timeout=10_000)
    page.wait_for_function(f"() => ({size})()[0] > 1100 && ({size})()[1] > 700", timeout=10_000)
    assert button.get_attribute("aria-label") == "Leave full screen"
    page.evaluate("() => document.exitFullscreen()")
    page.wait_for_function(f"() => !document.fullscreenElement && ({size})()[1] === {before[1]}", timeout=10_000)
    assert page.evaluate(size) == before
