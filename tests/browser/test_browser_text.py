"""Real browser: a character model trains on the brackets grammar and its samples appear while it trains,
epoch after epoch; the connectivity view colours the held-out characters once it has a model."""

import re

import pytest

from tests.conftest import run_status, wait_idle

pytestmark = pytest.mark.browser

LINK = ("/?m.cell=lstm&m.hidden_size=16&d.dataset=brackets&d.timesteps=8&d.params.span=4"
        "&d.params.length=9000&d.params.windows=3000&t.epochs=24&t.batch_size=8&t.lr=0.01")  # ~260 steps an epoch
HEADING = re.compile(r"Sample after epoch (\d+)")


def test_samples_appear_live_as_the_model_trains(streamlit_server, page):
    page.goto(streamlit_server + LINK)
    wait_idle(page, timeout=120_000)
    assert page.locator("[data-testid='stException']").count() == 0
    page.get_by_role("button", name="Race tanh RNN vs LSTM side by side").wait_for(timeout=60_000)

    page.locator("button", has_text="Train").first.click()
    seen: dict[int, str] = {}                     # epoch → the sample shown while the run was live
    for _ in range(360):                          # ≤ 180 s, polling twice a second
        page.wait_for_timeout(500)
        status = run_status(page)
        heading = page.get_by_text(HEADING)
        if heading.count() and "running" in status:
            epoch = int(HEADING.search(heading.first.inner_text()).group(1))
            code = page.locator("[data-testid='stCode']")
            if code.count():
                seen[epoch] = code.first.inner_text()
        if "completed" in status:
            break
    assert "completed" in run_status(page), run_status(page)
    assert len(seen) >= 2, seen                   # samples of several epochs, each shown before the end
    assert len(set(seen.values())) >= 2           # …and they changed as the model learned
    assert all(set(s.strip()) <= set("()[]{}ab \n") for s in seen.values())
    wait_idle(page)
    page.locator("span[title='predicted next']").first.wait_for(timeout=60_000)
    assert page.locator("[data-testid='stException']").count() == 0
