"""Real browser: open a shared Playground link, click Train, watch the loss chart gain points, and take
a full-page screenshot: the README's docs/screenshot.png when RNN_PLAYGROUND_SCREENSHOTS=1, else a file
in the test's temporary folder (so running the tests leaves the tracked tree clean)."""

import os
from pathlib import Path

import pytest

from tests.conftest import run_status, wait_closed_loop, wait_idle

pytestmark = pytest.mark.browser

ROOT = Path(__file__).resolve().parents[2]
SCREENSHOT = ROOT / "docs" / "screenshot.png"
SCREENSHOTS_ENV = "RNN_PLAYGROUND_SCREENSHOTS"      # "1": refresh the README's screenshot
# A small, quick run that still shows every view: a tanh RNN on a noisy sine wave.
# The Playground is the default page, served at the root (a default page has no path of its own).
LINK = ("/?m.hidden_size=16&d.timesteps=30&d.params.length=6000&d.params.noise=0.05"
        "&t.epochs=8&t.lr=0.01&t.batch_size=16")     # 8 epochs of ~250 steps: seconds to watch live

# Points of the loss chart's traces, read from Plotly's own state in the page.
LOSS_POINTS = """() => {
  for (const gd of document.querySelectorAll('.js-plotly-plot')) {
    const title = (gd.layout && gd.layout.title && gd.layout.title.text) || '';
    if (title.replace(/<[^>]+>/g, '') !== 'Loss') continue;
    const data = gd._fullData || [];
    const pts = {};
    for (const t of data) { if (t.name) pts[t.name] = t.x ? t.x.length : 0; }
    return pts;
  }
  return null;
}"""


# Sampled inside the page every 50 ms from the click on: each distinct count of per-step loss points
# the chart showed while the progress bar said "running". Polling from the test every 0.5 s missed
# every live redraw on a fast CI machine, which finished the run within a second.
WATCH_LIVE = """() => {
  window.__live = [];
  const read = """ + LOSS_POINTS + """;
  window.__watch = setInterval(() => {
    const bar = document.querySelector("[data-testid='stProgress']");
    if (!bar || !bar.innerText.includes('running')) return;
    const n = (read() || {})['train (per step)'] || 0;
    if (n > 0 && !window.__live.includes(n)) window.__live.push(n);
  }, 50);
}"""


def test_train_in_chromium_and_save_the_screenshot(streamlit_server, page, tmp_path):
    from playwright.sync_api import expect

    page.goto(streamlit_server + LINK)
    wait_idle(page, timeout=120_000)
    assert page.locator("[data-testid='stException']").count() == 0
    # the link set the controls
    expect(page.get_by_role("spinbutton", name="Hidden size", exact=True)).to_have_value("16", timeout=60_000)
    expect(page.get_by_role("spinbutton", name="Timesteps T", exact=True)).to_have_value("30", timeout=60_000)
    # Plotly draws after the script run has ended (its bundle loads lazily): wait for the chart itself
    page.wait_for_function(f"() => ({LOSS_POINTS})() !== null", timeout=60_000)
    before = page.evaluate(LOSS_POINTS)
    assert before == {}   # the loss chart is there, empty, with a "Press Train" hint

    # every script run from the click on (the click's own, then the live fragment's redraws), recorded
    # in the page: sampling the attribute every 0.5 s can miss all of them on a fast machine
    page.evaluate("""() => { const app = document.querySelector("[data-testid='stApp']");
        window.__runs = 0;
        new MutationObserver(() => { if (app.getAttribute('data-test-script-state') === 'running') window.__runs++; })
            .observe(app, {attributes: true, attributeFilter: ['data-test-script-state']}); }""")
    page.evaluate(WATCH_LIVE)
    page.locator("button", has_text="Train").first.click()
    # no wait_idle here: the live fragment keeps the script busy, so "idle" may only come at the end
    for _ in range(240):                         # ≤ 120 s, polling twice a second
        page.wait_for_timeout(500)
        if "completed" in run_status(page):
            break
    live = page.evaluate("() => { clearInterval(window.__watch); return window.__live; }")
    assert "completed" in run_status(page), run_status(page)
    wait_idle(page)
    page.wait_for_timeout(1500)                  # the final redraw and the predictions
    wait_idle(page)
    final = page.evaluate(LOSS_POINTS) or {}
    for _ in range(120):                         # Plotly may still be drawing the last redraw (≤ 60 s)
        if final.get("train (epoch)") == 9:
            break
        page.wait_for_timeout(500)
        final = page.evaluate(LOSS_POINTS) or {}
    assert final.get("train (epoch)") == 9, final    # epoch 0 (initialisation) + 8 epochs
    assert final["train (per step)"] > 8
    assert len(live) >= 2, live                  # the chart gained points while the run was live
    assert page.locator("[data-testid='stException']").count() == 0
    page.wait_for_function("() => document.querySelectorAll('.js-plotly-plot').length >= 7", timeout=60_000)
    # a finished run is not polled: once its closed-loop forecast is in (one rerun, when it is ready),
    # the page stays idle (no fragment reruns every 0.5 s)
    wait_closed_loop(page)
    states = [page.get_attribute("[data-testid='stApp']", "data-test-script-state") for _ in range(15)
              if page.wait_for_timeout(200) is None]
    assert set(states) == {"notRunning"}, states
    assert page.evaluate("window.__runs") >= 2   # …while a live run was redrawn by the fragment

    # Full page: Streamlit scrolls inside its main block, so grow the viewport to the content first.
    height = page.evaluate("() => document.querySelector(\"[data-testid='stMain']\").scrollHeight")
    page.set_viewport_size({"width": 1400, "height": min(int(height) + 40, 6000)})
    page.wait_for_timeout(1200)
    wait_idle(page)
    shot = SCREENSHOT if os.environ.get(SCREENSHOTS_ENV) == "1" else tmp_path / "screenshot.png"
    shot.parent.mkdir(exist_ok=True)
    page.screenshot(path=str(shot), full_page=True)
    assert shot.stat().st_size > 50_000
