"""Uploads on the pages, through AppTest: a CSV or a text is read once per upload (a rerun never parses
it again), and a run zip that is hostile in any one field gives one sentence, never a crash page."""

from __future__ import annotations

import numpy as np
import pandas as pd

import ui.controls as controls
from tests.conftest import PAGE_DIR, open_page

PLAYGROUND = f"{PAGE_DIR}/playground.py"


def _csv(n: int = 400) -> bytes:
    t = np.arange(n)
    return pd.DataFrame({"a": np.sin(t / 9.0).round(4), "b": np.cos(t / 7.0).round(4)}).to_csv(index=False).encode()


def _counting(monkeypatch, name: str, calls: dict) -> None:
    real = getattr(controls, name)

    def counted(*args, **kwargs):
        calls[name] = calls.get(name, 0) + 1
        return real(*args, **kwargs)

    monkeypatch.setattr(controls, name, counted)


def test_an_uploaded_csv_is_read_once_per_upload_and_choice(monkeypatch):
    calls: dict[str, int] = {}
    _counting(monkeypatch, "inspect_csv_upload", calls)
    _counting(monkeypatch, "read_csv_upload", calls)
    at = open_page(PLAYGROUND)
    at.selectbox(key="pg.d.dataset").set_value("csv").run()
    at.file_uploader(key="pg.d.csv_file").set_value(("prices.csv", _csv(), "text/csv")).run()
    assert calls == {"inspect_csv_upload": 1, "read_csv_upload": 1}
    for seed in (1, 2, 3):                                   # reruns that change nothing about the file
        at.number_input(key="pg.t.seed").set_value(seed).run()
    assert not at.exception and calls == {"inspect_csv_upload": 1, "read_csv_upload": 1}
    at.multiselect(key="pg.d.csv_values").set_value(["a", "b"]).run()      # a new choice: read once more
    at.number_input(key="pg.t.seed").set_value(4).run()
    assert calls == {"inspect_csv_upload": 1, "read_csv_upload": 2}
    at.file_uploader(key="pg.d.csv_file").set_value(("other.csv", _csv(500), "text/csv")).run()
    assert calls["inspect_csv_upload"] == 2                                 # a new file: read again


def test_a_pasted_text_is_read_once(monkeypatch):
    calls: dict[str, int] = {}
    _counting(monkeypatch, "read_text_upload", calls)
    at = open_page(PLAYGROUND)
    at.selectbox(key="pg.d.dataset").set_value("text").run()
    at.text_area(key="pg.d.text_paste").set_value("the quick brown fox jumps over the lazy dog. " * 20).run()
    for seed in (1, 2):
        at.number_input(key="pg.t.seed").set_value(seed).run()
    assert not at.exception and calls == {"read_text_upload": 1}
