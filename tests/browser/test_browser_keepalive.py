"""Real browser: a run keeps training while its tab reads another page, longer than the idle timeout.

A LiveRun stops itself when nobody asks for a snapshot and its watcher says nobody watches. The
Playground's poller asks only while its page is shown; the watcher (`ui.live.session_watcher()`) asks
Streamlit whether the tab's session is still connected. The server here uses a 20 s idle timeout; the
tab reads Learn for 35 s, then returns to the Playground through the sidebar (same session) and finds
the run still training, or finished (a fast machine finishes the 500 epochs while the tab is away;
a run the idle timeout had ended would say "stopped"). (The sidebar click back is also the one a
timer fragment on Learn used to swallow: Streamlit reran Learn instead of switching pages.)
"""

import time

import pytest

from tests.conftest import run_status, start_server, stop_server, wait_idle

pytestmark = pytest.mark.browser

IDLE_TIMEOUT_S = 20
LINK = "/?m.hidden_size=8&d.timesteps=20&d.params.length=2400&t.epochs=500&t.batch_size=8"


@pytest.fixture
def short_idle_server(tmp_path):
    proc, url = start_server(tmp_path, {"RNN_PLAYGROUND_IDLE_TIMEOUT": str(IDLE_TIMEOUT_S),
                                        "RNN_PLAYGROUND_TORCH_THREADS": "1"})
    yield url
    stop_server(proc)


def test_a_run_keeps_training_while_the_tab_reads_another_page(short_idle_server, page):
    page.goto(short_idle_server + LINK)
    train = page.get_by_role("button", name="Train", exact=True)
    train.wait_for(timeout=120_000)
    wait_idle(page, timeout=120_000)
    train.click()
    deadline = time.monotonic() + 90
    while "running" not in run_status(page) and time.monotonic() < deadline:
        page.wait_for_timeout(500)
    assert "running" in run_status(page), run_status(page)

    page.locator("[data-testid='stSidebarNav'] a", has_text="Learn").click()
    page.get_by_text("Step 1 of").first.wait_for(timeout=60_000)
    page.wait_for_timeout((IDLE_TIMEOUT_S + 15) * 1000)          # well past the idle timeout
    assert page.locator("[data-testid='stException']").count() == 0

    page.locator("[data-testid='stSidebarNav'] a", has_text="Playground").click()
    page.get_by_role("heading", name="RNN Playground").wait_for(timeout=60_000)
    deadline = time.monotonic() + 60
    while not run_status(page) and time.monotonic() < deadline:
        page.wait_for_timeout(500)
    status = run_status(page)
    survived = "running" in status or "completed · epoch 500/500" in status
    assert survived, f"the run did not survive the visit to Learn: {status!r}"
    shown = page.locator("[data-testid='stMain']").inner_text()
    assert "nobody had looked at the run" not in shown and "browser tab was closed" not in shown
