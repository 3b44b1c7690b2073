"""The yfinance path with `yf.download` replaced: never the network.

tests/data/yf_download_DEMO.csv holds a frame in exactly the layout `yf.download(ticker, …,
auto_adjust=True, multi_level_index=False)` returns in yfinance 1.7 (DatetimeIndex named Date; columns
Close, High, Low, Open, Volume in that sorted order). Yahoo is unreachable from where these tests were
written, so its numbers are made up in that layout (a seeded random walk), not a real download.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yfinance
from yfinance.exceptions import YFRateLimitError

from rnn_core.config import DataConfig
from rnn_core.data.errors import DataError
from rnn_core.data.registry import DATASETS
from rnn_core.data.windows import prepare
from rnn_core.data.yahoo import default_cache_dir, fetch_yahoo

RECORDED = Path(__file__).resolve().parents[1] / "data" / "yf_download_DEMO.csv"


def recorded_frame() -> pd.DataFrame:
    frame = pd.read_csv(RECORDED, index_col="Date", parse_dates=["Date"])
    frame.index = pd.DatetimeIndex(frame.index, name="Date")
    return frame


class FakeDownload:
    """Stands in for yfinance.download: returns (or raises) what it is given, and records its calls."""

    def __init__(self, result):
        self.result, self.calls = result, []

    def __call__(self, tickers, **kwargs):
        self.calls.append((tickers, kwargs))
        if isinstance(self.result, BaseException):
            raise self.result
        return self.result.copy()


@pytest.fixture
def cache(tmp_path, monkeypatch):
    monkeypatch.setenv("RNN_PLAYGROUND_CACHE", str(tmp_path))
    return tmp_path / "yahoo"


def use(monkeypatch, result) -> FakeDownload:
    fake = FakeDownload(result)
    monkeypatch.setattr(yfinance, "download", fake)
    return fake


def test_recorded_frame_gives_the_asked_columns_and_is_cached(monkeypatch, cache):
    fake = use(monkeypatch, recorded_frame())
    frame, note = fetch_yahoo("demo", "2024-01-01", "2024-05-01", columns=("Close", "Volume"))
    assert list(frame.columns) == ["Close", "Volume"] and len(frame) == 80
    assert isinstance(frame.index, pd.DatetimeIndex) and frame.index[0] == pd.Timestamp("2024-01-02")
    np.testing.assert_allclose(frame["Close"].to_numpy(), recorded_frame()["Close"].to_numpy())
    assert "DEMO" in note and "Yahoo Finance" in note
    ticker, kwargs = fake.calls[0]
    assert ticker == "DEMO" and kwargs["start"] == "2024-01-01" and kwargs["end"] == "2024-05-01"
    assert kwargs["auto_adjust"] is True and kwargs["multi_level_index"] is False
    assert kwargs["progress"] is False and "session" not in kwargs
    assert (cache / "DEMO_2024-01-01_2024-05-01.csv").is_file()
    assert default_cache_dir() == cache


def test_empty_frame_without_cache_is_a_clear_sentence(monkeypatch, cache):
    use(monkeypatch, pd.DataFrame())
    with pytest.raises(DataError) as err:
        fetch_yahoo("NFLX", "2020-01-01", "2021-01-01")
    msg = str(err.value)
    assert msg.startswith("Yahoo Finance returned no data for 'NFLX'")
    assert "no cached copy" in msg and "pick an offline set such as DJIA or AAPL" in msg


def test_cache_hit_when_the_download_fails(monkeypatch, cache):
    use(monkeypatch, recorded_frame())
    fresh, _ = fetch_yahoo("DEMO", "2024-01-01", "2024-05-01", columns="Close,Open")
    use(monkeypatch, ConnectionError("no route to host"))
    cached, note = fetch_yahoo("DEMO", "2024-01-01", "2024-05-01", columns="Close,Open")
    pd.testing.assert_frame_equal(cached, fresh, check_freq=False)
    assert "cached DEMO data from" in note and "2024-01-02 to 2024-04-22" in note
    # another date range of the same ticker falls back to the newest cached copy, saying so
    use(monkeypatch, pd.DataFrame())
    other, note = fetch_yahoo("DEMO", "2023-01-01", "2024-02-01")
    assert len(other) == 80 and "cached" in note


def test_a_column_yahoo_did_not_send_is_named(monkeypatch, cache):
    use(monkeypatch, recorded_frame().drop(columns=["Volume"]))
    with pytest.raises(DataError, match="sent no Volume column for 'DEMO'; pick from Open, High, Low, Close"):
        fetch_yahoo("DEMO", "2024-01-01", "2024-05-01", columns="Close,Volume")


def test_rate_limit_is_named(monkeypatch, cache):
    use(monkeypatch, YFRateLimitError())
    with pytest.raises(DataError, match=r"rate-limiting .* pick an offline set"):
        fetch_yahoo("MSFT", "2020-01-01", "2021-01-01")


@pytest.mark.parametrize("bad", ["../../etc/passwd", "AAPL; rm -rf", "", "a/b", "...", "x" * 30])
def test_ticker_is_sanitised_before_anything_happens(monkeypatch, cache, bad):
    fake = use(monkeypatch, recorded_frame())
    with pytest.raises(DataError, match="is not a ticker symbol"):
        fetch_yahoo(bad, "2020-01-01", "2021-01-01")
    assert fake.calls == [] and not cache.exists()


def test_dates_and_columns_are_checked(monkeypatch, cache):
    use(monkeypatch, recorded_frame())
    with pytest.raises(DataError, match="is not a date"):
        fetch_yahoo("DEMO", "yesterday-ish", "2021-01-01")
    with pytest.raises(DataError, match="is not before the end date"):
        fetch_yahoo("DEMO", "2021-01-01", "2020-01-01")
    with pytest.raises(DataError, match="Unknown Yahoo column"):
        fetch_yahoo("DEMO", "2020-01-01", "2021-01-01", columns=("Close", "Dividends"))


def test_registry_entry_and_prepare_use_the_fetched_columns(monkeypatch, cache):
    use(monkeypatch, recorded_frame())
    frame = DATASETS["yahoo"].load(ticker="DEMO", start="2024-01-01", end="2024-05-01", columns="Close,High")
    assert list(frame.columns) == ["Close", "High"] and "Yahoo Finance" in frame.attrs["note"]
    cfg = DataConfig(dataset="yahoo", timesteps=10,
                     params={"ticker": "DEMO", "start": "2024-01-01", "end": "2024-05-01",
                             "columns": "Close,Volume"})
    w = prepare(cfg)
    assert w.feature_names == ["Close", "Volume"] and w.target_name == "Close" and w.target_in_features == 0
    assert len(w.X_train) + len(w.X_val) + len(w.X_test) == 70


def test_yfinances_own_error_lines_are_not_printed_beside_our_sentence(monkeypatch, cache, caplog):
    """Offline, yfinance logs "Failed download … DNSError" around the app's and the CLI's one sentence;
    its logger is quiet while it downloads, and as it was afterwards."""
    import logging

    def noisy(*args, **kwargs):
        logging.getLogger("yfinance").error("1 Failed download: DNSError")
        return pd.DataFrame()

    monkeypatch.setattr(yfinance, "download", noisy)
    with caplog.at_level(logging.DEBUG), pytest.raises(DataError, match="no network"):
        fetch_yahoo("NFLX", "2020-01-01", "2020-02-01", cache_dir=cache)
    assert not [r for r in caplog.records if r.name.startswith("yfinance")], caplog.records
    assert logging.getLogger("yfinance").disabled is False
