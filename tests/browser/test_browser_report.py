"""A run's HTML page in a real browser: downloaded from the Playground after a tiny run, then opened from
the file in a fresh Chromium context where every network request is blocked (and none is attempted).
Its charts render, the scrubber moves them from the keyboard and from a key moment's button, and axe-core
finds no violation."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from playwright.sync_api import expect

from tests.browser.test_browser_a11y import violations
from tests.conftest import wait_closed_loop, wait_idle

pytestmark = pytest.mark.browser

TINY = "/?m.hidden_size=4&d.timesteps=10&d.params.length=300&t.epochs=2&t.probe_every=1"


def _download(streamlit_server: str, page, folder: Path) -> Path:
    page.goto(streamlit_server + TINY)
    wait_idle(page, timeout=120_000)
    page.locator(".st-key-pg-btn-train button:visible").first.click()
    page.get_by_text("completed", exact=False).first.wait_for(timeout=240_000)
    wait_closed_loop(page)
    page.get_by_text("Share, download and upload").click()
    with page.expect_download(timeout=120_000) as download:
        page.get_by_role("button", name=re.compile("Download as a page")).click()
    path = folder / "run.html"
    download.value.save_as(path)
    return path


def _block(route) -> None:
    """Any request but the page's own file: aborted (and seen by the context's "request" listener)."""
    route.abort()


def _marked_at(page, chart: str, x) -> None:
    """Wait until the scrubber's dotted line (the chart's last shape) stands at x (Plotly draws asynchronously)."""
    page.wait_for_function("([id, x]) => { const s = (document.getElementById(id).layout || {}).shapes || [];"
                           " return s.length > 0 && s[s.length - 1].x0 === x; }", arg=[f"chart-{chart}", x],
                           timeout=30_000)


def _at_step(page, step: int) -> None:
    expect(page.locator("body")).to_have_attribute("data-step", str(step))


def test_the_downloaded_page_works_offline(streamlit_server, chromium, page, tmp_path):
    path = _download(streamlit_server, page, tmp_path)
    context = chromium.new_context(viewport={"width": 1300, "height": 1000}, service_workers="block")
    attempted: list[str] = []
    context.route("**/*", lambda route: route.continue_() if route.request.url == path.as_uri() else _block(route))
    context.on("request", lambda request: None if request.url == path.as_uri() else attempted.append(request.url))
    offline = context.new_page()
    errors: list[str] = []
    offline.on("pageerror", lambda e: errors.append(str(e)))
    try:
        offline.goto(path.as_uri())
        offline.wait_for_function("() => document.body.dataset.step !== undefined", timeout=60_000)
        charts = offline.locator(".js-plotly-plot")
        assert charts.count() >= 6
        assert offline.locator("#chart-loss .main-svg path.js-line").count() >= 2       # lines drawn
        steps = offline.evaluate("JSON.parse(document.getElementById('run-data').textContent).stops"
                                 ".map(s => s.step)")
        last = steps[-1]
        _at_step(offline, last)
        _marked_at(offline, "loss", last)
        expect(offline.locator("#chart-gradient .gtitle")).to_contain_text("epoch 2")

        offline.locator("#scrub").focus()                        # the keyboard moves it
        offline.keyboard.press("Home")
        _at_step(offline, 0)
        _marked_at(offline, "loss", 0)
        _marked_at(offline, "grad_norm", 0)
        expect(offline.locator("#chart-gradient .gtitle")).to_contain_text("epoch 0")
        assert offline.locator("#readout").inner_text().startswith("Step 0")
        expect(offline.locator("#reopen-at")).to_have_attribute("href", re.compile(r"\?m\..*&at=start$"))
        offline.keyboard.press("ArrowRight")
        _at_step(offline, steps[1])

        moment = offline.locator("button.moment[data-kind='end']")   # a key moment's button
        moment.click()
        _at_step(offline, last)
        expect(moment).to_have_attribute("aria-pressed", "true")
        expect(offline.locator("#reopen-at")).to_have_attribute("href", re.compile(r"&at=end$"))
        assert offline.get_by_label(re.compile("Step of the run")).count() == 1           # labelled
        assert violations(offline) == []
        assert errors == [] and attempted == []
    finally:
        context.close()
