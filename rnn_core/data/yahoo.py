"""Live prices from Yahoo Finance (yfinance), with an on-disk CSV cache for offline demos.

`fetch_yahoo(ticker, start, end, columns)` returns (frame, a one-sentence note on where the data
came from): a fresh download (written to the cache) or, when Yahoo gives nothing, the ticker's cached
copy. `yahoo(...)` is the registry's loader (the note in `frame.attrs["note"]`).
`default_cache_dir()`: $RNN_PLAYGROUND_CACHE/yahoo or ~/.cache/rnn-playground/yahoo; `write_cache`.
A ticker is checked before it becomes part of a file name. Registry entry: `registry.py`.
"""

from __future__ import annotations

import contextlib
import logging
import os
import re
import warnings
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from rnn_core.config import quoted
from rnn_core.data.errors import DataError

YAHOO_COLUMNS = ("Open", "High", "Low", "Close", "Volume")
_TICKER = re.compile(r"^[A-Za-z0-9.\-^=]{1,20}$")
OFFLINE_HINT = "pick an offline set such as DJIA or AAPL, or upload a CSV"


def default_cache_dir() -> Path:
    """$RNN_PLAYGROUND_CACHE/yahoo if set, else ~/.cache/rnn-playground/yahoo."""
    root = os.environ.get("RNN_PLAYGROUND_CACHE")
    base = Path(root).expanduser() if root else Path.home() / ".cache" / "rnn-playground"
    return base / "yahoo"


def _clean_ticker(ticker: Any) -> str:
    """Letters, digits and . - ^ = only (a ticker becomes part of a file name: never a path)."""
    text = str(ticker).strip().upper()
    if not _TICKER.match(text) or not re.search(r"[A-Z0-9]", text):
        raise DataError(f"{quoted(ticker)} is not a ticker symbol; use letters, digits and . - ^ = only "
                        "(e.g. AAPL, ^GSPC, EURUSD=X).")
    return text


def _clean_date(value: Any, label: str) -> str:
    try:
        return pd.Timestamp(str(value)).strftime("%Y-%m-%d")
    except (ValueError, TypeError):
        raise DataError(f"The {label} date {quoted(value)} is not a date; write it as YYYY-MM-DD.") from None


def _clean_columns(columns: Any) -> list[str]:
    items = columns.split(",") if isinstance(columns, str) else list(columns)
    names = [str(c).strip().capitalize() for c in items if str(c).strip()]
    unknown = [c for c in names if c not in YAHOO_COLUMNS]
    if not names or unknown:
        raise DataError(f"Unknown Yahoo column(s) {', '.join(unknown) or '(none)'}; "
                        f"choose from {', '.join(YAHOO_COLUMNS)}.")
    return list(dict.fromkeys(names))


def _cache_files(cache_dir: Path, ticker: str, start: str, end: str) -> list[Path]:
    """The exact cache file for (ticker, start, end) first, then the ticker's other files, newest first."""
    exact = cache_dir / f"{ticker}_{start}_{end}.csv"
    others = sorted((p for p in cache_dir.glob(f"{glob_escape(ticker)}_*.csv") if p != exact),
                    key=lambda p: p.stat().st_mtime, reverse=True) if cache_dir.is_dir() else []
    return ([exact] if exact.is_file() else []) + others


def glob_escape(text: str) -> str:
    """Escape glob metacharacters (a ticker never holds them, but a file pattern must not trust it)."""
    return re.sub(r"([*?\[\]])", r"[\1]", text)


def write_cache(frame: pd.DataFrame, path: Path) -> None:
    """Write `frame` to the cache file `path` through a temporary file: a full disk leaves neither."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(f".{os.getpid()}.tmp")
    try:
        frame.to_csv(tmp, index_label="Date")
        os.replace(tmp, path)     # atomic: a concurrent reader never sees half a file
    except BaseException:
        tmp.unlink(missing_ok=True)   # a full disk leaves no half-written .tmp behind
        raise


def _read_cache(path: Path) -> pd.DataFrame:
    """A cached download; ValueError when the file is damaged (dates that do not parse, non-numbers)."""
    frame = pd.read_csv(path, index_col=0, parse_dates=[0], date_format="ISO8601")
    frame.index = pd.DatetimeIndex(frame.index, name="Date")
    if frame.index.isna().any() or not frame.index.is_monotonic_increasing:
        raise ValueError(f"{path.name} has dates that do not parse or are out of order.")
    if not all(pd.api.types.is_numeric_dtype(frame[c]) for c in frame.columns):
        raise ValueError(f"{path.name} holds cells that are not numbers.")
    return frame


def fetch_yahoo(ticker: str, start: str, end: str, columns: Any = ("Close",),
                cache_dir: str | Path | None = None) -> tuple[pd.DataFrame, str]:
    """Daily prices of one ticker from Yahoo Finance (auto-adjusted), cached as CSV on disk.

    Returns (frame with `columns`, DatetimeIndex named Date; a one-sentence note on where the data
    came from). When Yahoo gives nothing (no network, unknown ticker, rate limit), a cached copy of the
    ticker is returned with a note saying so; without one, DataError pointing to the offline sets.
    """
    ticker = _clean_ticker(ticker)
    start, end = _clean_date(start, "start"), _clean_date(end, "end")
    if start >= end:
        raise DataError(f"The start date {start} is not before the end date {end}; swap or widen them.")
    cols = _clean_columns(columns)
    cache = Path(cache_dir) if cache_dir is not None else default_cache_dir()

    frame, why = _download(ticker, start, end)
    if frame is not None:
        with contextlib.suppress(OSError):   # a read-only disk only costs the offline copy
            write_cache(frame, cache / f"{ticker}_{start}_{end}.csv")
        missing = [c for c in cols if c not in frame.columns]
        if missing:
            raise DataError(f"Yahoo Finance sent no {', '.join(missing)} column for {quoted(ticker)}; "
                            f"pick from {', '.join(frame.columns)}.")
        return frame[cols], (f"{ticker} daily prices {start} to {end} from Yahoo Finance, "
                             f"downloaded {datetime.now(UTC):%Y-%m-%d %H:%M} UTC.")
    for path in _cache_files(cache, ticker, start, end):
        try:
            cached = _read_cache(path)
        except (OSError, ValueError, pd.errors.ParserError):
            continue
        if len(cached) and all(c in cached.columns for c in cols):
            saved = datetime.fromtimestamp(path.stat().st_mtime, UTC)
            return cached[cols], (f"{why[:1].upper() + why[1:]}; showing cached {ticker} data from {saved:%Y-%m-%d} "
                                  f"({cached.index[0]:%Y-%m-%d} to {cached.index[-1]:%Y-%m-%d}).")
    raise DataError(f"Yahoo Finance returned no data for {quoted(ticker)} ({why}) and there is no cached copy; "
                    f"{OFFLINE_HINT}.")


def _download(ticker: str, start: str, end: str) -> tuple[pd.DataFrame | None, str]:
    """(OHLCV frame, "") on success, else (None, the reason in a few words)."""
    try:
        import yfinance as yf
        from yfinance.exceptions import YFRateLimitError
    except ImportError:
        return None, "the yfinance package is not installed"
    quiet = logging.getLogger("yfinance")   # its DNS and "Failed download" lines: the caller says it once
    was_disabled, quiet.disabled = quiet.disabled, True
    try:
        with warnings.catch_warnings():    # yfinance's own pandas deprecation warnings
            warnings.simplefilter("ignore")
            raw = yf.download(ticker, start=start, end=end, auto_adjust=True, multi_level_index=False,
                              progress=False)
    except YFRateLimitError:
        return None, "Yahoo is rate-limiting requests; wait a minute and try again"
    except Exception as exc:   # no route, DNS failure, timeouts, JSON errors: all mean "no data now"
        return None, f"no network or Yahoo unreachable: {type(exc).__name__}"
    finally:
        quiet.disabled = was_disabled
    if raw is None or raw.empty:
        return None, "no network, or an unknown ticker"
    if isinstance(raw.columns, pd.MultiIndex):          # an older yfinance ignoring multi_level_index
        raw.columns = raw.columns.get_level_values(0)
    present = [c for c in YAHOO_COLUMNS if c in raw.columns]
    frame = raw[present].apply(pd.to_numeric, errors="coerce").dropna(how="any")
    if frame.empty or "Close" not in present:
        return None, "Yahoo sent no usable prices"
    frame.index = pd.DatetimeIndex(frame.index, name="Date").tz_localize(None)
    return frame.astype(np.float64), ""


def yahoo(ticker: str, start: str, end: str, columns: str) -> pd.DataFrame:
    frame, note = fetch_yahoo(ticker, start, end, columns)
    frame.attrs["note"] = note
    return frame
