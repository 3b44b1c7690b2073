"""The Playground's "Download as a page (HTML)": offered once a run has ended (not before), and the file it
builds on click — outside the script run, on a thread of Streamlit's own, as a real server does — is the
shown run's page: every recorded step, its settings and link. (That file opened in Chromium with every
network request blocked: tests/browser/test_browser_report.py.)"""

from __future__ import annotations

import json
import re
from collections.abc import Callable

import pytest

from plots.report import MAX_BYTES
from tests.conftest import open_page, run_of, wait_for_run

PAGE = "app_pages/playground.py"
LABEL = "Download as a page (HTML)"
TINY = {"m.hidden_size": "4", "d.timesteps": "10", "d.params.length": "300", "t.epochs": "2"}


def _button(at):
    return next((b for b in at.get("download_button") if b.proto.label == LABEL), None)


@pytest.fixture
def deferred(monkeypatch) -> dict[str, Callable]:
    """Every deferred download the page registers, by file name: its callable, which a click runs (the test
    runs it the way a server does, outside the script run)."""
    from streamlit.runtime.media_file_manager import MediaFileManager

    found: dict[str, Callable] = {}
    register = MediaFileManager.add_deferred

    def add_deferred(self, data_callable, mimetype, coordinates, file_name=None, **kwargs):
        found[file_name] = data_callable
        return register(self, data_callable, mimetype, coordinates, file_name, **kwargs)

    monkeypatch.setattr(MediaFileManager, "add_deferred", add_deferred)
    return found


def test_the_page_download_is_offered_once_the_run_has_ended_and_holds_the_run(deferred):
    at = open_page(PAGE, TINY)
    assert _button(at) is None                                     # no run yet
    at.button(key="pg.btn.train").click().run()
    assert wait_for_run(at, limit=120) == "completed"
    button = _button(at)
    assert button is not None and button.proto.HasField("deferred_file_id")   # built only when clicked
    html = deferred["rnn-playground-run.html"]().decode("utf-8")
    assert 0 < len(html.encode("utf-8")) < MAX_BYTES
    data = json.loads(re.search(r"id='run-data'>(.*?)</script>", html, re.S).group(1))
    steps = [s["step"] for s in run_of(at).snapshot(max_points=10**9).steps]
    assert [s["step"] for s in data["stops"]] == [0, *steps]
    link = re.search(r"<a id='reopen' href='([^']*)'", html).group(1)
    assert all(f"{k}={v}" in link for k, v in TINY.items())
    assert "<td>Hidden size</td><td>4</td>" in html and "<strong>Verdict:</strong>" in html
