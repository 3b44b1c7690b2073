"""Accessible pages, checked in a real browser with axe-core (the engine behind most accessibility
checkers, bundled by axe-playwright-python): no violation on any page, in presenter view, and after a
run, when the charts, their data tables, the metrics table, the run's scrubber and a text run's samples
table are on screen.
Every chart is preceded by its text alternative (read by a screen reader, not shown)."""

import pytest

from tests.conftest import wait_idle

pytestmark = pytest.mark.browser

PAGES = ["/", "/gradient-lab", "/compare", "/learn", "/data"]
FORECAST = ("m.hidden_size=16&d.timesteps=30&d.params.length=600&d.params.noise=0.05&t.epochs=3&t.lr=0.01"
            "&t.batch_size=16")
TEXT = "d.dataset=brackets&d.params.windows=200&d.params.length=3000&d.timesteps=12&m.hidden_size=8&t.epochs=1"


def violations(page) -> list[str]:
    """axe-core's violations on the page as it is now, one line each (rule, impact, where)."""
    from axe_playwright_python.sync_playwright import Axe

    found = Axe().run(page).response["violations"]
    return [f"{v['id']} ({v['impact']}): {v['help']} at {[n['target'] for n in v['nodes'][:3]]}" for v in found]


def _settled(page) -> None:
    wait_idle(page, timeout=120_000)
    page.wait_for_timeout(1500)                    # Plotly's first draw, the last fragment redraw
    wait_idle(page, timeout=120_000)
    assert page.locator("[data-testid='stException']").count() == 0


def _train(page) -> None:
    page.locator(".st-key-pg-btn-train button:visible").first.click()
    page.get_by_text("completed", exact=False).first.wait_for(timeout=240_000)
    page.wait_for_function("() => !document.body.innerText.includes('computed in the background')",
                           timeout=120_000)
    _settled(page)


@pytest.mark.slow
@pytest.mark.parametrize("presenter", [False, True], ids=["normal", "presenter"])
def test_no_page_has_an_axe_violation(streamlit_server, page, presenter):
    found = {}
    for path in PAGES:
        page.goto(streamlit_server + path + ("?presenter=1" if presenter else ""))
        _settled(page)
        found[path] = violations(page)
    assert all(not v for v in found.values()), found


@pytest.mark.slow
def test_a_finished_run_with_its_tables_open_has_no_axe_violation(streamlit_server, page):
    page.goto(f"{streamlit_server}/?{FORECAST}")
    _train(page)
    # the data of the loss chart, one click away: the table opens under the chart
    page.get_by_text("Data: Loss (as a table)").first.click()
    page.locator(".st-key-pg-chart-loss-chartdata [data-testid='stDataFrame']").wait_for(timeout=60_000)
    _settled(page)
    assert page.locator("[data-testid='stMain'] [data-testid='stDataFrame']").count() >= 1
    assert page.locator("[data-testid='stMain'] [data-testid='stTable']").count() >= 1       # the metrics
    assert page.locator("[data-testid='stMain'] [data-testid='stSliderThumbValue']").count() == 1   # scrubber
    # every chart has its text alternative, in numbers, just before it
    charts = page.locator("[data-testid='stMain'] .js-plotly-plot").count()
    spoken = page.locator(".rnn-sr-only").all_inner_texts()
    assert len(spoken) >= charts >= 7, (charts, spoken)
    loss = next(s for s in spoken if s.startswith("Chart: The run"))
    assert "tomorrow = today" in loss and "train (epoch):" in loss and "against optimiser step" in loss, loss
    assert violations(page) == []


@pytest.mark.slow
def test_a_finished_run_in_presenter_view_has_no_axe_violation(streamlit_server, page):
    page.goto(f"{streamlit_server}/?{FORECAST}&presenter=1&chart=predictions")
    _train(page)
    assert page.locator(".js-plotly-plot").count() == 1
    assert violations(page) == []


@pytest.mark.slow
def test_a_text_run_with_its_samples_table_has_no_axe_violation(streamlit_server, page):
    page.goto(f"{streamlit_server}/?{TEXT}")
    _train(page)
    assert page.locator("[data-testid='stMain'] [data-testid='stDataFrame']").count() >= 2   # samples, guesses
    assert violations(page) == []
