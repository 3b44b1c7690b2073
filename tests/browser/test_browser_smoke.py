"""Real browser: every page opens in Chromium, shows no exception box, and asks nothing of another server
(a lecture hall without a network; no student's visit told to a third party)."""

import pytest

from tests.conftest import wait_idle

PAGES = ["", "gradient-lab", "compare", "learn", "data"]

pytestmark = pytest.mark.browser


@pytest.mark.parametrize("path", PAGES, ids=lambda p: p or "playground")
def test_page_opens_without_exception(streamlit_server, page, path):
    elsewhere: list[str] = []
    page.on("request", lambda r: None if r.url.startswith((streamlit_server, "data:", "blob:"))
            else elsewhere.append(r.url))
    page.goto(f"{streamlit_server}/{path}")
    page.locator("[data-testid='stMain'] h1").first.wait_for(timeout=120_000)   # the page's title is drawn
    wait_idle(page, timeout=120_000)
    assert page.locator("[data-testid='stException']").count() == 0, page.locator(
        "[data-testid='stException']").first.inner_text()
    # The sidebar navigation lists every page.
    nav = page.locator("[data-testid='stSidebarNav']").inner_text()
    for title in ("Playground", "Gradient Lab", "Compare", "Learn", "Data"):
        assert title in nav
    main = page.locator("[data-testid='stMain']").inner_text()
    assert main.strip(), f"/{path} rendered an empty main area"
    # the tab's icon included (app.py: a Material page icon was fetched from fonts.gstatic.com)
    assert page.evaluate("() => document.querySelector('link[rel~=icon]').href").startswith("data:image/svg+xml")
    assert not elsewhere, f"/{path} asked another server for {elsewhere}"


def test_a_progress_bar_steps_to_its_value_without_gliding(streamlit_server, page):
    """Streamlit glides a progress bar over 0.5 s; a live run moves the bar every 0.5 s, so the glide never ended
    and a watching browser painted every frame (about a tenth of a core on a machine without a GPU,
    bench/browser_watch.py). The page style (ui/a11y.py) makes it step: nothing in the bar has a transition.
    Learn's progress bar is the same element as a run's."""
    page.goto(f"{streamlit_server}/learn")
    page.locator("[data-testid='stProgress']").first.wait_for(timeout=120_000)
    wait_idle(page, timeout=120_000)
    durations = page.evaluate("""() => [...document.querySelectorAll("[data-testid='stProgress'] *")]
        .map(e => getComputedStyle(e).transitionDuration)""")
    assert durations and set(durations) == {"0s"}, durations
