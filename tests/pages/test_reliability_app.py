"""Reliability in the app, through AppTest (the pages run in this process, so yfinance can be patched).

- Every broken CSV of the matrix (tests/engine/test_reliability.py) uploaded on the Data page and on the
  Playground shows an `st.error` sentence naming the problem, never an exception; **Train** with it
  refuses with a sentence; a good file afterwards previews (Data) and trains (Playground).
- The limits are stated in the UI (widget bounds, the limits caption) and extreme settings give a run
  or a sentence: timesteps 1 and 1000, hidden 1 and 512, learning rate 10 with gain 5 (a diverged
  run shows its banner and keeps its charts).
- No network: yfinance failing (no route, empty frame, rate limit) gives a sentence on the Data page,
  the cached copy when there is one, and the Playground's stock preset falls back to an offline set.
- A URL with junk or malicious query parameters opens the page with a sentence (or ignores them),
  never an exception, and touches no file (a ticker like ../../x is refused before any download).
"""

from __future__ import annotations

import re
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from streamlit.testing.v1 import AppTest

from rnn_core.nn.cells import CELLS
from tests.conftest import charts, open_page, run_of
from tests.engine.test_reliability import BAD_CSVS, GOOD_CSV, NO_NETWORK, FakeDownload

ROOT = Path(__file__).resolve().parents[2]
PAGE_DIR = "app_pages" if (ROOT / "app_pages").exists() else "pages"
PLAYGROUND, DATA = f"{PAGE_DIR}/playground.py", f"{PAGE_DIR}/data.py"
LAB, LEARN = f"{PAGE_DIR}/gradient_lab.py", f"{PAGE_DIR}/learn.py"
FINISHED = ("completed", "stopped", "diverged")

# Where the upload panel words a problem its own way (it inspects the columns before reading).
APP_WORDS = {"no numeric column": "holds numbers", "odd delimiter": "holds numbers"}


@pytest.fixture(autouse=True)
def isolated(tmp_path, monkeypatch):
    """A private Yahoo cache, and Yahoo unreachable unless a test says otherwise."""
    import yfinance

    import rnn_core.lessons.presets

    monkeypatch.setenv("RNN_PLAYGROUND_CACHE", str(tmp_path / "cache"))
    monkeypatch.setattr(yfinance, "download", FakeDownload(pd.DataFrame()))
    rnn_core.lessons.presets.forget_yahoo_check()        # each test asks an unreachable Yahoo afresh
    yield tmp_path
    rnn_core.lessons.presets.forget_yahoo_check()


def plain(text: str) -> str:
    """A sentence as the reader sees it: user text in it is Markdown-escaped (ui.markdown.md)."""
    return re.sub(r"\\(.)", r"\1", text).replace("\u200b", "")


def errors(at: AppTest) -> list[str]:
    return [plain(e.value) for e in at.error]


def no_exception(at: AppTest, where: str = "") -> None:
    assert not at.exception, (where, [e.value for e in at.exception])


def status(at: AppTest) -> str | None:
    run = run_of(at)
    return None if run is None else run.status


def wait_finished(at: AppTest, limit: float = 90.0) -> str:
    deadline = time.monotonic() + limit
    while time.monotonic() < deadline:
        at.run()
        if status(at) in FINISHED:
            at.run()                                  # the rerun after the end draws the final state
            return status(at)
        time.sleep(0.2)
    raise AssertionError(f"run still {status(at)} after {limit} s")


def set_numbers(at: AppTest, **values) -> None:
    """Playground widgets by the last part of their key, e.g. set_numbers(at, **{"t.epochs": 1})."""
    for name, value in values.items():
        at.number_input(key=f"pg.{name}").set_value(value)
    at.run()
    no_exception(at, values)


def train(at: AppTest) -> None:
    at.button(key="pg.btn.train").click().run()
    no_exception(at, "train")


# ----------------------------------------------------------------------------- bad CSVs
def test_data_page_says_what_is_wrong_with_each_bad_csv_and_stays_usable():
    at = open_page(DATA)
    uploader = "data.d.csv_file"
    assert at.file_uploader(key=uploader).allowed_type == [".csv", ".txt"]     # type limited
    for case, data, words in BAD_CSVS:
        at.file_uploader(key=uploader).set_value((f"{case}.csv", data, "text/csv")).run()
        no_exception(at, case)
        expected = APP_WORDS.get(case, words)
        assert any(expected in e for e in errors(at)), (case, errors(at))
    at.file_uploader(key=uploader).set_value(("good.csv", GOOD_CSV, "text/csv")).run()
    no_exception(at, "good")
    assert not errors(at), errors(at)
    shapes = next(d.value for d in at.dataframe if "shape of X" in d.value.columns)
    assert shapes.loc["train", "samples"] > 0 and shapes.loc["train", "features"] == 1


def test_playground_refuses_each_bad_csv_with_a_sentence_then_trains_a_good_one():
    at = open_page(PLAYGROUND)
    at.selectbox(key="pg.d.dataset").set_value("csv").run()
    set_numbers(at, **{"d.timesteps": 5, "m.hidden_size": 2, "t.epochs": 1})
    uploader = "pg.d.csv_file"
    for case, data, words in BAD_CSVS:
        at.file_uploader(key=uploader).set_value((f"{case}.csv", data, "text/csv")).run()
        no_exception(at, case)
        train(at)                                         # Train with it: a sentence, no run
        expected = APP_WORDS.get(case, words)
        assert any(expected in e for e in errors(at)), (case, errors(at))
        assert status(at) is None, case
    at.file_uploader(key=uploader).set_value(("good.csv", GOOD_CSV, "text/csv")).run()
    no_exception(at, "good")
    assert not [e.value for e in at.sidebar.error], [e.value for e in at.sidebar.error]
    train(at)
    assert wait_finished(at) == "completed"
    no_exception(at, "after the run")
    assert not errors(at), errors(at)


def test_a_start_error_goes_away_once_the_data_is_fixed():
    """Train with a bad upload gives a sentence under the buttons; after a good upload it must not stay
    (it would tell the user that the good file is blank)."""
    at = open_page(PLAYGROUND)
    at.selectbox(key="pg.d.dataset").set_value("csv").run()
    at.file_uploader(key="pg.d.csv_file").set_value(("blank.csv", b" \n\n", "text/csv")).run()
    train(at)
    assert any("only blank space" in e for e in errors(at)), errors(at)
    at.file_uploader(key="pg.d.csv_file").set_value(("good.csv", GOOD_CSV, "text/csv")).run()
    no_exception(at, "good")
    assert not any("only blank space" in e for e in errors(at)), errors(at)


# ----------------------------------------------------------------------------- limits, extreme settings
def test_the_limits_are_stated_in_the_ui():
    from rnn_core.config import LIMITS

    at = open_page(PLAYGROUND)
    bounds = {"d.timesteps": LIMITS["timesteps"], "m.hidden_size": LIMITS["hidden_size"],
              "m.num_layers": LIMITS["num_layers"], "t.epochs": LIMITS["epochs"],
              "t.batch_size": LIMITS["batch_size"], "t.lr": LIMITS["lr"]}
    for name, (lo, hi) in bounds.items():
        widget = at.number_input(key=f"pg.{name}")
        assert (widget.min, widget.max) == (lo, hi), name
        assert widget.help, name
    gain = at.slider(key="pg.m.gain")
    assert (gain.min, gain.max) == LIMITS["gain"] and gain.help
    captions = " ".join(c.value for c in at.sidebar.caption)
    assert "timesteps 1–1000" in captions and "hidden 1–512" in captions and "learning rate up to 10" in captions


EXTREME = [    # (case, number inputs, select boxes, the end this seed and these settings reach)
    ("timesteps 1, hidden 1", {"d.timesteps": 1, "m.hidden_size": 1, "dp.sine.length": 200}, {}, "completed"),
    ("timesteps 1000", {"d.timesteps": 1000, "m.hidden_size": 2, "dp.sine.length": 1040,
                        "t.batch_size": 128}, {}, "completed"),
    ("hidden 512", {"d.timesteps": 10, "m.hidden_size": 512, "dp.sine.length": 200, "t.batch_size": 256}, {},
     "completed"),
    ("learning rate 10, gain 5", {"d.timesteps": 10, "m.hidden_size": 8, "dp.sine.length": 300, "t.lr": 10.0,
                                  "t.batch_size": 8},
     {"m.init": "orthogonal", "t.clip": "off", "t.optimizer": "sgd"}, "diverged"),
]


@pytest.mark.parametrize(("case", "numbers", "choices", "expected"), EXTREME, ids=[c[0] for c in EXTREME])
def test_extreme_settings_train_or_say_why(case, numbers, choices, expected):
    at = open_page(PLAYGROUND)
    for name, value in choices.items():
        at.selectbox(key=f"pg.{name}").set_value(value)
    at.run()
    if "t.lr" in numbers:
        at.slider(key="pg.m.gain").set_value(5.0)
    set_numbers(at, **{"t.epochs": 1 if "t.lr" not in numbers else 3, "t.probe_every": 1, **numbers})
    train(at)
    assert not [e for e in errors(at) if "The run diverged" not in e], errors(at)   # it started
    end = wait_finished(at)
    no_exception(at, case)
    assert end == expected, run_of(at).snapshot().end
    run = run_of(at)
    snap = run.snapshot()
    if end == "diverged":
        assert any("The run diverged at step" in e for e in errors(at)), errors(at)
        assert snap.epochs and all(np.isfinite(s["loss"]) for s in snap.steps)
        assert len(charts(at)) >= 3                   # the charts keep the history
    else:
        assert end == "completed", snap.end
        assert snap.step > 0 and not errors(at)


def test_windows_too_long_for_the_series_are_refused_with_a_sentence():
    at = open_page(PLAYGROUND)
    set_numbers(at, **{"d.timesteps": 1000, "dp.sine.length": 1000, "t.epochs": 1})
    train(at)
    assert any("lower the timesteps to at most 970" in e for e in errors(at)), errors(at)
    assert status(at) is None
    set_numbers(at, **{"d.timesteps": 10, "m.hidden_size": 2})      # still usable: fix it and train
    train(at)
    assert wait_finished(at) == "completed" and not errors(at)


# ----------------------------------------------------------------------------- no network
@pytest.mark.parametrize(("case", "make", "why"), NO_NETWORK, ids=[c for c, _, _ in NO_NETWORK])
def test_data_page_fetch_offline_says_so_and_points_to_offline_sets(case, make, why, monkeypatch):
    import yfinance

    fake = FakeDownload(make())
    monkeypatch.setattr(yfinance, "download", fake)
    at = open_page(DATA)
    at.button(key="data.fetch").click().run()
    no_exception(at, case)
    assert fake.calls, "Fetch did not ask yfinance"
    message = next((e for e in errors(at) if "Yahoo Finance returned no data" in e), None)
    assert message and why in message and "offline set" in message, errors(at)
    at.selectbox(key="data.dataset").set_value("djia").run()          # the offline set works meanwhile
    no_exception(at, "djia")
    assert any(c.value.startswith("8,") and "rows" in c.value for c in at.caption)


@pytest.mark.parametrize(("case", "make", "why"), NO_NETWORK, ids=[c for c, _, _ in NO_NETWORK])
def test_data_page_fetch_offline_offers_the_cached_copy(case, make, why, isolated, monkeypatch):
    import yfinance

    cache = isolated / "cache" / "yahoo"
    cache.mkdir(parents=True)
    days = pd.date_range("2016-01-04", periods=300, freq="B", name="Date")
    pd.DataFrame({"Close": 100 + np.cumsum(np.sin(np.arange(300) / 5)), "Volume": 1e6},
                 index=days).to_csv(cache / "AAPL_2015-01-01_2017-01-01.csv")
    monkeypatch.setattr(yfinance, "download", FakeDownload(make()))
    at = open_page(DATA)
    at.button(key="data.fetch").click().run()
    no_exception(at, case)
    assert not any("Yahoo" in e for e in errors(at)), errors(at)
    assert any("showing cached AAPL data" in i.value for i in at.info), [i.value for i in at.info]


@pytest.mark.parametrize(("case", "make", "why"), NO_NETWORK, ids=[c for c, _, _ in NO_NETWORK])
def test_stock_preset_offline_uses_an_offline_set_and_says_so(case, make, why, monkeypatch):
    import yfinance

    monkeypatch.setattr(yfinance, "download", FakeDownload(make()))
    at = open_page(PLAYGROUND)
    at.selectbox(key="pg.preset_choice").set_value("stock_nflx").run()
    no_exception(at, case)
    assert at.selectbox(key="pg.d.dataset").value == "djia"
    assert any("unreachable" in i.value and "offline" in i.value for i in at.info), [i.value for i in at.info]
    assert not errors(at), errors(at)


def test_playground_yahoo_dataset_offline_is_a_sentence_not_a_hang(monkeypatch):
    import yfinance

    fake = FakeDownload(OSError(101, "Network is unreachable"))
    monkeypatch.setattr(yfinance, "download", fake)
    at = open_page(PLAYGROUND)
    at.selectbox(key="pg.d.dataset").set_value("yahoo").run()
    no_exception(at, "yahoo")
    assert any("Yahoo Finance returned no data" in e and "offline set" in e for e in errors(at)), errors(at)
    train(at)
    assert status(at) is None and any("offline set" in e for e in errors(at))
    at.selectbox(key="pg.d.dataset").set_value("aapl").run()         # an offline set still works
    no_exception(at, "aapl")
    assert not [e.value for e in at.sidebar.error], [e.value for e in at.sidebar.error]


# ----------------------------------------------------------------------------- junk in the URL
JUNK_URLS = [
    ({"d.dataset": "../../etc/passwd"}, "Unknown dataset"),
    ({"d.dataset": "yahoo", "d.params.ticker": "../../x"}, "is not a ticker symbol"),
    ({"d.dataset": "yahoo", "d.params.ticker": "/etc/passwd", "d.params.columns": "../x"}, None),
    ({"m.hidden_size": "1e9"}, "Hidden size 1,000,000,000 is outside 1–512; set to 512"),
    ({"t.lr": "nan"}, "Learning rate nan is outside"),
    ({"m.cell": "<script>alert(1)</script>"}, "Unknown cell"),
    ({"preset": "../../x"}, "Unknown preset"),
    ({"d.timesteps": "abc"}, "does not parse"),
    ({"d.params.length": "-5"}, None),
    ({"d.params.seed": "99999999999999999999"}, None),
    ({"d.features": "../../etc/passwd", "d.target": "../../x"}, None),
    ({"foo": "bar", "presenter": "../../etc", "step": "../../etc/passwd", "__class__": "x"}, None),
]
ALL_JUNK = {k: v for query, _ in JUNK_URLS for k, v in query.items()}


@pytest.mark.parametrize(("query", "words"), JUNK_URLS, ids=[",".join(q) for q, _ in JUNK_URLS])
def test_junk_query_params_are_refused_with_a_sentence_or_ignored(query, words, isolated, monkeypatch):
    import yfinance

    fake = FakeDownload(pd.DataFrame())
    monkeypatch.setattr(yfinance, "download", fake)
    before = {p for p in isolated.rglob("*")}
    at = open_page(PLAYGROUND, query)
    no_exception(at, query)
    shown = errors(at) + [plain(w.value) for w in at.warning]
    if words:
        assert any(words in s for s in shown), shown
    assert at.selectbox(key="pg.m.cell").value in CELLS
    assert all("/" not in str(c) for c in fake.calls), fake.calls          # no path reached yfinance
    assert not {p for p in isolated.rglob("*")} - before - {isolated / "cache", isolated / "cache" / "yahoo"}
    at.selectbox(key="pg.d.dataset").set_value("sine").run()          # the controls still work
    no_exception(at, "sine")
    assert not [e.value for e in at.sidebar.error], [e.value for e in at.sidebar.error]


def test_a_page_opened_with_every_junk_param_at_once_still_trains():
    at = open_page(PLAYGROUND, ALL_JUNK)
    no_exception(at, "all junk")
    assert any("The page opened with the default settings" in w.value for w in at.warning)
    at.selectbox(key="pg.d.dataset").set_value("sine").run()
    set_numbers(at, **{"d.timesteps": 5, "m.hidden_size": 2, "t.epochs": 1, "dp.sine.length": 100})
    train(at)
    assert wait_finished(at) == "completed" and not errors(at), errors(at)


@pytest.mark.parametrize("page", [LAB, LEARN, DATA], ids=["gradient lab", "learn", "data"])
def test_other_pages_ignore_junk_query_params(page):
    junk = {"step": "../../etc/passwd", "presenter": "<b>1</b>", "m.cell": "../../x", "d.dataset": "/etc/passwd",
            "t.lr": "inf", "preset": "../../x", "T": "1e9", "timesteps": "-1"}
    at = open_page(page, junk)
    no_exception(at, page)
