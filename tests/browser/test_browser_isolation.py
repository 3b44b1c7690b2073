"""Real browsers, one server: two users upload CSVs that Streamlit hashes alike (60,000 rows that differ
only at one row outside Streamlit's hashing sample) and train; each downloaded run holds its own data.
Also: CSV column names written as Markdown (a link, an image) show as typed on the Data page."""

from __future__ import annotations

import io
import json
import re
import zipfile

import numpy as np
import pandas as pd
import pytest

from tests.conftest import download, run_status, wait_closed_loop, wait_idle

pytestmark = pytest.mark.browser

LINK = ("/?d.dataset=csv&d.timesteps=5&m.hidden_size=2&t.epochs=1&t.batch_size=4096&t.probe_every=100"
        "&t.seed=1")
N = 60_000
SPIKE = 999_999.0


def _csvs() -> tuple[bytes, bytes]:
    a = pd.DataFrame({"v": np.round(np.sin(np.arange(N) / 20.0), 4)})
    sampled = set(a.sample(n=10_000, random_state=0).index)        # the rows Streamlit's hasher reads
    row = next(i for i in range(int(N * 0.9), N) if i not in sampled)   # in the test part
    b = a.copy()
    b.iloc[row, 0] = SPIKE
    return a.to_csv(index=False).encode(), b.to_csv(index=False).encode()


def _train_and_download(page, url: str, csv: bytes, name: str) -> dict:
    page.goto(url + LINK)
    wait_idle(page, timeout=120_000)
    chooser = page.locator("[data-testid='stSidebar'] [data-testid='stFileUploaderDropzoneInput']").first
    chooser.set_input_files(files=[{"name": name, "mimeType": "text/csv", "buffer": csv}])
    wait_idle(page, timeout=120_000)
    page.locator("button", has_text="Train").first.click()
    for _ in range(240):
        page.wait_for_timeout(500)
        if "completed" in run_status(page):
            break
    if "completed" not in run_status(page):
        page.screenshot(path="/tmp/iso18.png", full_page=True)
    assert "completed" in run_status(page), run_status(page)
    wait_closed_loop(page)
    page.get_by_text("Share, download and upload").click()
    info = download(page, page.get_by_role("button", name=re.compile("Run with weights")))
    with zipfile.ZipFile(io.BytesIO(open(info.value.path(), "rb").read())) as zf:
        return json.loads(zf.read("metrics.json"))


def test_colliding_uploads_stay_separate(streamlit_server, chromium):
    csv_a, csv_b = _csvs()
    contexts = [chromium.new_context(viewport={"width": 1400, "height": 1000}, accept_downloads=True)
                for _ in range(2)]
    try:
        pages = [c.new_page() for c in contexts]
        for p in pages:
            p.set_default_timeout(60_000)
        metrics_a = _train_and_download(pages[0], streamlit_server, csv_a, "a.csv")   # user A first
        metrics_b = _train_and_download(pages[1], streamlit_server, csv_b, "b.csv")   # then user B
        max_a = max(metrics_a["test"]["y_true"])
        max_b = max(metrics_b["test"]["y_true"])
        assert max_a < 2 and max_b == SPIKE, (max_a, max_b)       # B trained on B's own series
    finally:
        for c in contexts:
            c.close()


def test_csv_column_names_show_as_typed(streamlit_server, page):
    """In the chart's legend (Plotly reads <a href>) and in the sentences (Markdown reads [..](..))."""
    names = ['<a href="https://evil.example/legend">Close</a>', "![t](https://evil.example/track.png)"]
    rows = "".join(f"{np.sin(i / 5):.3f},{np.cos(i / 7):.3f}\n" for i in range(200))
    numbers = ('"' + '","'.join(n.replace('"', '""') for n in names) + '"\n' + rows).encode()
    words = ('"[Click here](https://evil.example/login)","![t](https://evil.example/track.png)"\n'
             + "a,b\n" * 50).encode()                # no numbers: the sentence quotes the column names
    page.goto(streamlit_server + "/data")
    wait_idle(page, timeout=120_000)
    page.get_by_role("tab", name="Upload a CSV").click()
    chooser = page.locator("[data-testid='stFileUploaderDropzoneInput']").first
    chooser.set_input_files(files=[{"name": "names.csv", "mimeType": "text/csv", "buffer": numbers}])
    wait_idle(page, timeout=120_000)
    page.wait_for_function("() => document.querySelectorAll('.js-plotly-plot').length >= 1", timeout=60_000)
    page.get_by_text("Close</a>").first.wait_for(timeout=30_000)       # the legend shows the tag as text
    chooser.set_input_files(files=[{"name": "words.csv", "mimeType": "text/csv", "buffer": words}])
    wait_idle(page, timeout=120_000)
    page.locator("[data-testid='stAlertContentError']", has_text="Click here").first.wait_for(timeout=30_000)
    links = page.evaluate("""() => [...document.querySelectorAll("a[href*='evil.example']")].map(a =>
        (a.closest('[data-testid]') || {}).getAttribute('data-testid') + ' ' + a.outerHTML.slice(0, 160))""")
    assert links == [], links
    assert page.locator("img[src*='evil.example']").count() == 0
    assert page.locator("[data-testid='stException']").count() == 0
