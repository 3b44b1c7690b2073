"""The Playground's timeline in a real browser, outside presenter view: after a run, the keyboard on the
timeline's thumb (Home, End) and a click on a key moment's pill move the mark on the loss chart to that
step, and the address bar keeps it (`at=`), so the link a lecturer copies opens the same moment. The
timeline's accessible name is the status line in plain words."""

import re

import pytest

from tests.conftest import wait_idle, wait_status

pytestmark = pytest.mark.browser

RUN = ("/?d.dataset=sine&m.hidden_size=8&d.timesteps=20&d.params.length=400&t.epochs=4&t.batch_size=32"
       "&t.probe_every=1")

# the x of the vertical line the scrubber draws across the loss chart (its mark), or null
LOSS_MARK = """() => {
  for (const gd of document.querySelectorAll('[data-testid="stMain"] .js-plotly-plot')) {
    const title = ((gd.layout && gd.layout.title && gd.layout.title.text) || '').replace(/<[^>]+>/g, '');
    if (!title.startsWith('Loss')) continue;
    const marks = (gd.layout.shapes || []).filter(s => s.yref === 'y domain' && s.x0 === s.x1);
    return marks.length ? marks[0].x0 : null;
  }
  return undefined;
}"""


def _mark(page):
    return page.evaluate(LOSS_MARK)


def _at(page) -> str | None:
    found = re.search(r"[?&]at=([^&]*)", page.url)
    return found.group(1) if found else None


def test_the_timeline_moves_the_mark_by_keyboard_and_by_a_moment_pill(streamlit_server, page):
    page.goto(streamlit_server + RUN)
    wait_idle(page, timeout=120_000)
    page.locator("button:visible", has_text="Train").first.click()
    wait_status(page, "completed")
    wait_idle(page, timeout=120_000)
    thumb = page.locator(".st-key-pg-scrub-step input[type='range']").first
    assert int(thumb.get_attribute("max")) > 0
    # what a screen reader says of it: the status in words, not the Markdown it is drawn from
    label = thumb.get_attribute("aria-label")
    assert label.startswith("completed · epoch 4/4") and "*" not in label and ":material" not in label, label

    thumb.focus()
    page.keyboard.press("Home")                          # the start of the run
    page.wait_for_function(f"() => ({LOSS_MARK})() === 0", timeout=60_000)
    wait_idle(page, timeout=60_000)
    assert _at(page) == "0"

    thumb.focus()
    page.keyboard.press("End")                           # its last recorded step
    page.wait_for_function(f"() => ({LOSS_MARK})() !== 0", timeout=60_000)
    wait_idle(page, timeout=60_000)
    end_mark = _mark(page)
    assert end_mark is not None and end_mark > 0

    pills = page.locator(".st-key-pg-scrub-moment button:visible")
    assert pills.count() >= 1, "a finished run has key moments to click"
    pills.first.click()
    page.wait_for_function(f"() => ({LOSS_MARK})() !== {end_mark}", timeout=60_000)
    wait_idle(page, timeout=60_000)
    assert _mark(page) is not None and _at(page) not in (None, "")
