"""The Data page through AppTest: browse datasets, Yahoo offline, CSV upload (good and bad), windowing."""


import pytest
from streamlit.testing.v1 import AppTest

from tests.conftest import chart, charts, open_page
from tests.pages.test_playground_page import values

PAGE = "app_pages/data.py"


@pytest.fixture
def at(tmp_path, monkeypatch):
    monkeypatch.setenv("RNN_PLAYGROUND_CACHE", str(tmp_path / "cache"))   # an empty Yahoo cache
    return open_page(PAGE)


def _chart_ids(app: AppTest) -> list[str]:
    return list(charts(app))


def test_browse_shows_chart_summary_and_window_shapes(at):
    assert any(i.endswith("data.series.chart") for i in _chart_ids(at))
    summary = next(d.value for d in at.dataframe if "mean" in d.value.columns)
    assert list(summary.index) == ["value"] and summary.loc["value", "count"] == 1000
    shapes = next(d.value for d in at.dataframe if "shape of X" in d.value.columns)
    # sine, 1000 points, T = 50: 950 windows split 70 / 15 / 15
    assert shapes["samples"].sum() == 950
    assert shapes.loc["train", "shape of X"] == "(665, 50, 1)"
    assert shapes.loc["train", "shape of y"] == "(665, 1)"
    spec = chart(at, "data.browse.win.window")
    target = next(t for t in spec["data"] if t["name"].startswith("target"))
    assert list(values(target["x"])) == [50]       # drawn one step after the window's last input


@pytest.mark.parametrize("name", ["adding", "echo", "djia", "eu_stocks"])
def test_every_kind_of_dataset_renders(at, name):
    at.selectbox(key="data.dataset").set_value(name).run()
    assert not at.exception, [e.value for e in at.exception]
    assert not at.error, [e.value for e in at.error]
    shapes = next(d.value for d in at.dataframe if "shape of X" in d.value.columns)
    assert shapes["samples"].min() > 0
    if name == "adding":
        assert shapes.loc["train", "features"] == 2


def test_a_window_longer_than_the_series_is_a_sentence(at):
    at.number_input(key="data.browse.win.T").set_value(1000).run()
    assert not at.exception
    assert at.error and at.error[0].value.endswith(".")


def test_yahoo_offline_says_what_to_do(at):
    at.button(key="data.fetch").click().run()
    assert not at.exception
    message = " ".join(e.value for e in at.error)
    assert "Yahoo Finance returned no data" in message and "offline" in message


@pytest.mark.parametrize("content", [
    b"",                                          # empty
    b"a,b\nx,y\nz,w\n",                           # no numeric column
    b"\x00\x01\x02binary\x00",                    # binary
    b"date,price\n2020-01-01,1\n",                # one row
])
def test_a_bad_csv_shows_an_error_sentence_not_an_exception(at, content):
    at.file_uploader(key="data.d.csv_file").set_value(("bad.csv", content, "text/csv")).run()
    assert not at.exception, [e.value for e in at.exception]
    errors = [e.value for e in at.error]
    assert errors, "no error shown"
    assert all(e.endswith(".") and "Traceback" not in e for e in errors)


def test_a_good_csv_is_charted_and_windowed(at):
    rows = "\n".join(f"2021-{1 + i // 28:02d}-{1 + i % 28:02d},{100 + (i % 9)},{i}" for i in range(200))
    at.file_uploader(key="data.d.csv_file").set_value(("prices.csv", f"date,close,volume\n{rows}".encode(),
                                                        "text/csv")).run()
    assert not at.exception and not at.error, [e.value for e in at.error]
    assert any(i.endswith("data.csv.chart") for i in _chart_ids(at))
    at.multiselect(key="data.d.csv_values").set_value(["close", "volume"]).run()
    shapes = [d.value for d in at.dataframe if "shape of X" in d.value.columns]
    assert any(s.loc["train", "features"] == 2 for s in shapes)


def test_an_upload_trains_in_the_playground(at):
    """The Data page's upload is not a dead end: its button opens the Playground with that file and
    its column choices as the data (the Playground's own uploader stays empty)."""
    rows = "\n".join(f"2021-{1 + i // 28:02d}-{1 + i % 28:02d},{100 + (i % 9)},{i}" for i in range(200))
    at.file_uploader(key="data.d.csv_file").set_value(("prices.csv", f"date,close,volume\n{rows}".encode(),
                                                        "text/csv")).run()
    at.multiselect(key="data.d.csv_values").set_value(["volume"]).run()
    at.button(key="data.csv.train").click().run()
    assert not at.exception, [e.value for e in at.exception]
    assert at.session_state["pg.d.dataset"] == "csv"
    assert at.session_state["pg.d.csv_values"] == ["volume"]
    assert any("prices.csv" in c.value and "Data page" in c.value for c in at.sidebar.caption)
    assert not [e.value for e in at.sidebar.error], [e.value for e in at.sidebar.error]
    assert at.button(key="pg.btn.train")                     # on the Playground now


def test_choosing_upload_in_the_playground_is_an_instruction_not_an_error():
    """Also what a shared link with d.dataset=csv opens to: nobody has uploaded anything yet."""
    app = open_page("app_pages/playground.py", {"d.dataset": "csv"})
    assert app.session_state["pg.d.dataset"] == "csv"
    assert not [e.value for e in app.sidebar.error], [e.value for e in app.sidebar.error]
    assert any("Upload a CSV file" in i.value for i in app.sidebar.info)
