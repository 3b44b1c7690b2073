"""A lecturer's remote and the keyboard, in a real browser at 1280×720, presenter view, no mouse:
Tab reaches every control of the page with a visible focus ring; Space trains and pauses, PageDown
steps (Playground) or goes to the next step (Learn), PageUp goes back, B blanks the screen (B or Escape
brings it back); after a run PageUp and PageDown walk its key moments (the scrubber's buttons) and start
nothing past the last one; a key typed into a control is the control's."""

import re

import pytest

from tests.conftest import wait_idle

pytestmark = pytest.mark.browser

W, H = 1280, 720
RUN = "m.hidden_size=16&d.timesteps=30&d.params.length=600&d.params.noise=0.05&t.epochs=40&t.lr=0.01&t.batch_size=16"

# what has focus, and how it shows it
FOCUSED = """() => {
  const a = document.activeElement;
  const cs = getComputedStyle(a);
  return {tag: a.tagName, label: (a.getAttribute('aria-label') || a.innerText || '').trim().slice(0, 40),
          ring: cs.outlineStyle !== 'none' ? parseFloat(cs.outlineWidth) : 0, id: a.dataset.rnnProbe || ''};
}"""
# every control a mouse could use on the page (the page and its sidebar; not those inside a folded
# expander, nor Streamlit's own hidden-until-hovered buttons), one id per widget (a select box's input
# and its "Open" chevron are one control), tagged on each of its focusable parts so that the walk can
# tick it off
CONTROLS = """() => {
  const out = new Set();
  const widgets = new Map();
  const seen = el => el.checkVisibility({opacityProperty: true, visibilityProperty: true});
  document.querySelectorAll(':is([data-testid="stMain"], [data-testid="stSidebar"]) :is(button, input, textarea, ' +
                            '[role="combobox"], [role="slider"], [role="switch"], summary, a[href], [tabindex="0"])')
    .forEach(el => {
      if (el.disabled || el.closest('[aria-hidden="true"]')) return;
      if (el.closest('details:not([open])') && !el.closest('summary')) return;   // folded (its summary counts)
      const widget = el.closest('summary') || el.closest('[data-testid="stElementContainer"]') || el;
      if (!seen(widget)) return;
      const r = widget.getBoundingClientRect();
      if (r.width < 2 || r.height < 2) return;
      if (!widgets.has(widget)) widgets.set(widget, 'w' + widgets.size);
      el.dataset.rnnProbe = widgets.get(widget);
      out.add(widgets.get(widget));
    });
  return [...out];
}"""

# the last step the presenter's loss chart draws (its per-step trace)
LAST_STEP = """() => Math.max(...Array.from(document.querySelector('[data-testid="stMain"] .js-plotly-plot')
                                         ._fullData[0].x))"""


@pytest.fixture
def screen(chromium):
    context = chromium.new_context(viewport={"width": W, "height": H})
    pg = context.new_page()
    pg.set_default_timeout(60_000)
    yield pg
    context.close()


def _open(page, url: str) -> None:
    """Open `url` and wait until the page is drawn and the remote's key listener is installed."""
    page.goto(url)
    page.bring_to_front()                  # the tab a remote's keys go to (several tests share one browser)
    wait_idle(page, timeout=120_000)
    page.wait_for_function("() => window.__rnnKeys === true", timeout=60_000)
    if "presenter=1" in url:                # the keys act once the presenter view's style is on the page
        page.wait_for_function("() => getComputedStyle(document.documentElement)"
                               ".getPropertyValue('--rnn-presenter').trim() === '1'", timeout=60_000)


def _status(page) -> tuple[str, int]:
    text = page.locator("[data-testid='stMain']").inner_text()
    found = re.search(r"(running|paused|completed|queued)\b.*?step (\d+)/", text, re.S)
    return (found.group(1), int(found.group(2))) if found else ("none", 0)


def _pressed(page) -> str:
    """What the last remote key pressed ("PageDown → st-key-pg-btn-step"), as the page records it."""
    return page.evaluate("() => document.documentElement.dataset.rnnRemote || ''")


def _until(page, status: str, timeout: float = 60_000) -> None:
    page.wait_for_function(
        f"() => new RegExp('\\\\b{status}\\\\b').test(document.querySelector('[data-testid=stMain]').innerText)",
        timeout=timeout)
    wait_idle(page, timeout=timeout)


def tab_walk(page) -> list[tuple[str, float]]:
    """Tab through the page until every control was focused: (label, focus ring width) of each; fails
    naming the controls Tab never reached or that showed no ring of at least 2 px."""
    page.evaluate("() => document.activeElement && document.activeElement.blur()")
    controls = set(page.evaluate(CONTROLS))
    assert controls, "no control found on the page"
    reached, rings = set(), []
    for _ in range(4 * len(controls) + 20):
        page.keyboard.press("Tab")
        f = page.evaluate(FOCUSED)
        if f["id"]:
            reached.add(f["id"])
            rings.append((f["label"], f["ring"]))
        if reached >= controls:
            break
    assert reached >= controls, (controls - reached, rings)
    thin = [(label, ring) for label, ring in rings if ring < 2]
    assert not thin, thin
    return rings


@pytest.mark.slow
def test_tab_reaches_every_control_with_a_visible_focus_ring(streamlit_server, screen):
    page = screen
    _open(page, f"{streamlit_server}/?{RUN}&presenter=1&chart=loss")
    page.get_by_role("button", name="Train", exact=True).wait_for()
    page.wait_for_timeout(1000)
    labels = " ".join(label for label, _ in tab_walk(page))
    for control in ("Preset", "Chart", "Exit presenter view", "Train", "Step"):
        assert control in labels, labels


@pytest.mark.slow
@pytest.mark.parametrize("path", ["/", "/gradient-lab", "/compare", "/data", "/learn"])
def test_every_page_and_its_sidebar_is_reachable_by_tab_with_a_focus_ring(streamlit_server, screen, path):
    """Outside presenter view too: Tab reaches every control of the page and of its sidebar (sliders,
    toggles, select boxes, number inputs, expanders, links, a formula that scrolls), each with a ring."""
    page = screen
    _open(page, streamlit_server + path)
    page.wait_for_timeout(1500)
    wait_idle(page)
    rings = tab_walk(page)
    assert len(rings) >= 10, rings


@pytest.mark.slow
def test_a_run_driven_by_the_remote_keys_alone(streamlit_server, screen):
    page = screen
    _open(page, f"{streamlit_server}/?{RUN}&presenter=1&chart=loss")
    assert "No run yet" in page.locator("[data-testid='stMain']").inner_text()
    page.get_by_role("button", name="Train", exact=True).wait_for()    # drawn (a skeleton has no button)
    page.keyboard.press("Space")                         # Train
    pressed = page.evaluate("() => document.documentElement.dataset.rnnRemote")
    assert pressed == "  → st-key-pg-btn-train", pressed
    page.wait_for_function("() => /running[^\\n]*step [1-9]/.test(document.querySelector('[data-testid=stMain]')"
                           ".innerText)", timeout=240_000)
    page.keyboard.press("Space")                         # Pause: the page shows every step taken, those
    _until(page, "paused")                               # in flight at the key included…
    status, step = _status(page)
    assert status == "paused" and step > 0
    page.wait_for_function(f"() => ({LAST_STEP})() === {step}", timeout=30_000)   # …the status and the loss chart alike
    for n in (1, 2):                                     # PageDown: exactly one optimiser step, each time
        page.keyboard.press("PageDown")
        # the paused run's timeline stands at its latest step: its "later moment" leaves PageDown to Step
        assert _pressed(page) == "PageDown → st-key-pg-btn-step"
        page.wait_for_function(f"() => !/step {step + n - 1}\\//"
                               ".test(document.querySelector('[data-testid=stMain]').innerText)", timeout=60_000)
        wait_idle(page)
        assert _status(page) == ("paused", step + n)
        # …and the loss chart (Plotly draws it after the script is idle: on a busy machine a moment later)
        page.wait_for_function(f"() => ({LAST_STEP})() === {step + n}", timeout=30_000)
    page.keyboard.press("Space")                         # resume
    _until(page, "completed", 240_000)
    assert page.url.count("presenter=1") == 1            # still the lecture screen
    step_at_end = _status(page)[1]
    # after the run its timeline owns PageUp and PageDown: key moment to key moment, nothing past the end
    page.keyboard.press("PageUp")
    assert _pressed(page) == "PageUp → st-key-pg-scrub-back"
    page.wait_for_function("() => /[?&]at=/.test(location.search)")
    wait_idle(page)
    later = page.locator(".st-key-pg-scrub-next button:visible")
    for _ in range(20):
        if later.is_disabled():
            break
        page.keyboard.press("PageDown")
        assert _pressed(page) == "PageDown → st-key-pg-scrub-next"
        page.wait_for_timeout(500)
        wait_idle(page)
    assert later.is_disabled()                           # the last key moment: the run's last step
    thumb = page.locator("[data-testid='stMain'] [data-testid='stSliderThumbValue']").first
    assert f"step {step_at_end}" in thumb.inner_text(), thumb.inner_text()
    page.evaluate("() => { document.documentElement.dataset.rnnRemote = ''; }")
    page.keyboard.press("PageDown")                      # owned there: no new step starts
    page.wait_for_timeout(2000)
    wait_idle(page)
    assert _pressed(page) == "" and _status(page) == ("completed", step_at_end)
    # after the run: Reset and the chart's data table are reachable too, and the table opens by key
    page.wait_for_timeout(1000)
    labels = " ".join(label for label, _ in tab_walk(page))
    assert "Reset" in labels and "Data: Loss (as a table)" in labels, labels
    page.locator("[data-testid='stMain'] summary", has_text="Data: Loss").focus()
    page.keyboard.press("Enter")
    page.locator("[data-testid='stMain'] [data-testid='stDataFrame']").first.wait_for(timeout=60_000)


@pytest.mark.slow
def test_keys_typed_into_a_control_stay_in_it(streamlit_server, screen):
    """Space in the chart picker opens the picker; it does not start a run."""
    page = screen
    _open(page, f"{streamlit_server}/?{RUN}&presenter=1&chart=loss")
    page.locator("[data-testid='stMain'] input[role='combobox']").nth(1).focus()
    page.keyboard.press("Space")
    page.wait_for_timeout(1500)
    assert "No run yet" in page.locator("[data-testid='stMain']").inner_text()
    page.keyboard.press("Escape")


@pytest.mark.slow
def test_page_down_and_up_walk_the_learn_steps(streamlit_server, screen):
    page = screen
    _open(page, f"{streamlit_server}/learn?presenter=1")
    page.get_by_role("button", name="Next →").wait_for()
    first = page.locator("[data-testid='stMain'] h2").first.inner_text()
    page.keyboard.press("PageDown")
    assert page.evaluate("() => document.documentElement.dataset.rnnRemote") == "PageDown → st-key-learn-next"
    # the step's heading changes (the address bar may say the new step a moment before the page shows it)
    heading = "(first) => document.querySelector('[data-testid=\"stMain\"] h2').innerText {} first"
    page.wait_for_function("() => location.search.includes('step=bptt')", timeout=60_000)
    page.wait_for_function(heading.format("!=="), arg=first, timeout=60_000)
    wait_idle(page)
    page.keyboard.press("PageUp")
    page.wait_for_function("() => location.search.includes('step=rnn')", timeout=60_000)
    page.wait_for_function(heading.format("==="), arg=first, timeout=60_000)


# the black screen B puts over the page: whether it covers the whole screen, its colour, and whether it
# is what lies on top at the screen's centre
BLANK = """() => {
  const el = document.getElementById('rnn-blank');
  if (!el) return null;
  const r = el.getBoundingClientRect();
  return {covers: r.left <= 0 && r.top <= 0 && r.right >= innerWidth && r.bottom >= innerHeight,
          colour: getComputedStyle(el).backgroundColor,
          on_top: document.elementFromPoint(innerWidth / 2, innerHeight / 2) === el};
}"""


@pytest.mark.slow
def test_b_blanks_the_screen_and_b_or_escape_bring_it_back(streamlit_server, screen):
    """The remote's B: a black screen over everything; while black, the keys change nothing unseen (not
    even Space on the focused Train button); B or Escape brings the page back with the focus (and its
    ring) where it was; axe finds nothing on the black screen; a B typed into the chart picker is the
    picker's."""
    from tests.browser.test_browser_a11y import violations

    page = screen
    _open(page, f"{streamlit_server}/?{RUN}&presenter=1&chart=loss")
    page.get_by_role("button", name="Train", exact=True).wait_for()
    page.wait_for_timeout(1000)
    for _ in range(40):                                  # Tab to the Train button
        page.keyboard.press("Tab")
        if page.evaluate(FOCUSED)["label"].endswith("Train"):      # its icon's name, then its word
            break
    focused = page.evaluate(FOCUSED)
    assert focused["label"].endswith("Train"), focused
    black = {"covers": True, "colour": "rgb(0, 0, 0)", "on_top": True}
    for leave in ("b", "Escape"):
        page.keyboard.press("b")
        assert page.evaluate(BLANK) == black
        assert page.evaluate("() => document.documentElement.dataset.rnnBlank") == "1"
        page.keyboard.press("Space")                     # Train is focused: nothing happens while black
        page.keyboard.press("PageDown")
        page.wait_for_timeout(1500)
        wait_idle(page)
        assert page.evaluate(BLANK) == black
        assert "No run yet" in page.locator("[data-testid='stMain']").inner_text()
        page.keyboard.press(leave)
        assert page.evaluate(BLANK) is None
        back = page.evaluate(FOCUSED)
        assert back["label"] == focused["label"] and back["ring"] >= 2, back
    page.keyboard.press("b")
    assert violations(page) == []
    page.keyboard.press("b")
    # typed into the chart picker, b is the picker's (it filters the charts); Escape closes the picker
    page.locator("[data-testid='stMain'] input[role='combobox']").nth(1).focus()
    page.keyboard.press("b")
    assert page.evaluate(BLANK) is None
    page.keyboard.press("Escape")
    assert page.evaluate(BLANK) is None
