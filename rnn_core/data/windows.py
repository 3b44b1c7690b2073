"""Series → windows the network reads: X (samples, timesteps, features), y (samples, 1), split and scaled.

Forecast tasks, as the tutorials teach: window i holds rows i … i+T−1 of the input columns and its
target is the target column at row i+T. Windows are split chronologically by the row of their target
(first `train_frac` of the windows train, the next `val_frac` validate, the rest test), and the scaler
(min-max or z-score, per column) is fitted on the rows the training windows touch — rows 0 … n_train−1+T
— and nothing later, so no statistic of the validation or test part leaks into training.

Text tasks (next character) are windowed by `text.text_windows`: X one-hot (N, T, V), y one-hot (N, V).

Sequence tasks (adding problem, delayed echo) generate X and y directly; samples are split by count
and the scaler is fitted on the training samples; `baseline_mse` is the constant-guess MSE on the
training samples, in the scaled units the loss is computed in.

`Windows.naive_losses(split)` is what the constant guess and persistence score in those units;
`naive_loss(windows)` is the naive guess every comparison with a validation loss uses, on the same
(validation) split — `naive_split(windows)` names it.

`prepare(data_cfg, frame)` is the one entry point; `make_windows` does the forecast windowing of any
frame. Loading the data is `datasets.py`'s job; training, evaluation and plotting are others'.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from rnn_core.config import LIMITS, ConfigError, DataConfig, listed, quoted
from rnn_core.data.budget import ask
from rnn_core.data.errors import DataError
from rnn_core.data.registry import Dataset, get_dataset
from rnn_core.data.text_sources import frame_text
from rnn_core.data.text_windows import memory_of, text_windows
from rnn_core.data.window_types import MIN_WINDOWS, Scaler, Windows
from rnn_core.readable import count, readable

__all__ = ["MIN_WINDOWS", "Scaler", "Windows", "make_windows", "naive_loss", "naive_split", "prepare", "split_sizes"]

MAX_ABS_VALUE = 1e150   # larger values overflow float64 in (max − min) and in squared errors (1e308 limit)


def split_sizes(n: int, train_frac: float, val_frac: float, what: str = "windows") -> tuple[int, int, int]:
    """(n_train, n_val, n_test) = (⌊n·train⌋, ⌊n·val⌋, rest); DataError if a needed part is empty."""
    n_train, n_val = int(n * train_frac), int(n * val_frac)
    n_test = n - n_train - n_val
    for part, size in (("training", n_train), ("validation", n_val if val_frac > 0 else 1), ("test", n_test)):
        if size < 1:
            raise DataError(f"With {n} {what}, the {part} part of the split is empty; "
                            f"give it a larger fraction or use more data.")
    return n_train, n_val, n_test


def _scaler_columns(features: list[str], target: str) -> list[str]:
    """Features first, then the target as the last column (the scaler's last column is the target's)."""
    return [*features, target]


def make_windows(frame: pd.DataFrame, timesteps: int, features, target: str, train_frac: float = 0.7,
                 val_frac: float = 0.15, scaler: str = "minmax") -> Windows:
    """Forecast windows of `frame`: X rows i … i+T−1 of `features`, y the `target` at row i+T."""
    features, T = list(features), int(timesteps)
    _check_columns(frame, features, target)
    values = frame[list(dict.fromkeys([*features, target]))].astype(np.float64)
    values.attrs = dict(frame.attrs)                         # notes from the upload / the Yahoo fetch
    _check_values(values)
    n = len(values)
    n_windows = n - T
    if T < 1:
        raise DataError("The timesteps must be at least 1.")
    if n_windows < MIN_WINDOWS:
        most = n - MIN_WINDOWS
        advice = f"lower the timesteps to at most {most}" if most >= 1 else "use a longer series"
        raise DataError(f"The series has {n} rows; with {T} timesteps only {max(n_windows, 0)} windows remain "
                        f"— fewer than the {MIN_WINDOWS} needed to train, validate and test; {advice}.")
    check_window_memory(n_windows, T, len(features))
    n_train, n_val, _ = split_sizes(n_windows, train_frac, val_frac)

    columns = _scaler_columns(features, target)
    fit_rows = n_train + T                                   # rows 0 … n_train−1+T: all the training windows touch
    raw = values[columns].to_numpy()                         # (n, F+1)
    sc = Scaler.fit(scaler, raw[:fit_rows], columns)
    scaled = sc.transform(raw)                               # (n, F+1)

    x = scaled[:, : len(features)]                           # (n, F)
    # X_i = x_{i … i+T−1}
    X = np.lib.stride_tricks.sliding_window_view(x, T, axis=0)[:n_windows]   # (N, F, T)
    X = np.ascontiguousarray(X.transpose(0, 2, 1), dtype=np.float32)        # (N, T, F)
    # y_i = target_{i+T}
    y = scaled[T:, -1:].astype(np.float32)                   # (N, 1)
    idx = np.arange(T, n)                                    # (N,) target row of each window

    a, b = n_train, n_train + n_val
    return Windows(X[:a], y[:a], X[a:b], y[a:b], X[b:], y[b:], idx[:a], idx[a:b], idx[b:],
                   frame=values.copy(), feature_names=features, target_name=target, scaler=sc,
                   task="forecast", target_in_features=features.index(target) if target in features else None,
                   baseline_mse=None)


def check_window_memory(n_windows: int, timesteps: int, n_features: int) -> None:
    """Ask the memory budget for N forecast windows of T × F float32 values (and their targets and rows);
    the refusal says how many rows fit at these settings."""
    ask("windows", n_windows, timesteps * n_features * 4 + 4 + 8, "windows",
        fits=lambda most: f"use at most {count(most + timesteps)} rows at T = {timesteps}, or fewer timesteps or "
                          "columns")


def _check_columns(frame: pd.DataFrame, features: list[str], target: str) -> None:
    if not features:
        raise DataError("No input feature is selected; pick at least one column as input.")
    most = LIMITS["input_size"][1]
    if len(features) > most:
        raise DataError(f"{len(features)} input columns are selected; a network here reads at most {most} "
                        "— pick fewer columns as inputs.")
    for name in [*features, target]:
        if name not in frame.columns:
            raise DataError(f"There is no column {quoted(name)} in the data (columns: "
                            f"{listed(frame.columns)}); pick one of those.")
        if not pd.api.types.is_numeric_dtype(frame[name]) or pd.api.types.is_bool_dtype(frame[name]):
            raise DataError(f"Column {quoted(name)} is not numeric; pick a column of numbers.")


def _check_values(values: pd.DataFrame) -> None:
    for name in values.columns:
        col = values[name].to_numpy()
        if np.isnan(col).any():
            raise DataError(f"Column {quoted(name)} has {int(np.isnan(col).sum())} missing values; fill or drop "
                            "them before training (the CSV upload can interpolate them).")
        if np.isinf(col).any():
            raise DataError(f"Column {quoted(name)} holds infinite values; replace them with real numbers.")
        if len(col) and np.abs(col).max() > MAX_ABS_VALUE:
            raise DataError(f"Column {quoted(name)} holds values as large as {readable(float(np.abs(col).max()))}; "
                            f"beyond ±{readable(MAX_ABS_VALUE)} the scaling and the squared errors overflow — divide "
                            "the column by a power of ten and upload again.")


# ----------------------------------------------------------------------------- sequence tasks
def sequence_windows(ds: Dataset, timesteps: int, params: dict, train_frac: float, val_frac: float,
                     scaler: str) -> Windows:
    """Generated samples split by count; scaler fitted on the training samples (inputs and target)."""
    X_raw, y_raw = ds.generate(timesteps, **params)           # (N, T, F), (N, 1)
    N, _, F = X_raw.shape
    if N < MIN_WINDOWS:
        raise DataError(f"{N} samples are too few to train, validate and test; generate at least {MIN_WINDOWS}.")
    n_train, n_val, _ = split_sizes(N, train_frac, val_frac, what="samples")
    features = list(ds.features)
    columns = _scaler_columns(features, ds.target)
    feature_sc = Scaler.fit(scaler, X_raw[:n_train].reshape(-1, F), features)   # training steps (n_train·T, F)
    target_sc = Scaler.fit(scaler, y_raw[:n_train], [ds.target])                 # training targets (n_train, 1)
    sc = Scaler(scaler, columns, np.concatenate([feature_sc.offset, target_sc.offset]),
                np.concatenate([feature_sc.scale, target_sc.scale]))
    X = sc.transform(X_raw, features).astype(np.float32)     # (N, T, F)
    y = sc.transform(y_raw, [ds.target]).astype(np.float32)  # (N, 1)
    # constant guess ŷ = mean of the training targets: MSE = mean((y − ȳ_train)²) on the training samples
    y_tr = y[:n_train].astype(np.float64)
    baseline = float(np.mean((y_tr - y_tr.mean()) ** 2))
    frame = pd.DataFrame({ds.target: y_raw[:, 0]}, index=pd.RangeIndex(N, name="sample"))
    idx = np.arange(N)
    a, b = n_train, n_train + n_val
    return Windows(X[:a], y[:a], X[a:b], y[a:b], X[b:], y[b:], idx[:a], idx[a:b], idx[b:],
                   frame=frame, feature_names=features, target_name=ds.target, scaler=sc,
                   task="sequence", target_in_features=None, baseline_mse=baseline)


# ----------------------------------------------------------------------------- entry point
def prepare(data_cfg: DataConfig, frame: pd.DataFrame | None = None) -> Windows:
    """Windows for any dataset of the registry. `frame`: data already in hand (an uploaded CSV from
    `read_csv_upload`, a `fetch_yahoo` frame); without it the dataset is loaded from its parameters."""
    try:
        data_cfg.validate()
    except ConfigError as exc:
        raise DataError(str(exc)) from None
    ds = get_dataset(data_cfg.dataset)
    if ds.task == "text":
        return _text_task(ds, data_cfg, frame)
    if ds.task == "sequence":
        return sequence_windows(ds, data_cfg.timesteps, data_cfg.params, data_cfg.train_frac,
                                data_cfg.val_frac, data_cfg.scaler)
    if frame is None:
        frame = ds.load(**data_cfg.params)
    if frame is None or len(frame.columns) == 0:
        raise DataError("The data has no columns; load or upload a series first.")
    if data_cfg.features:
        features = list(data_cfg.features)
    else:   # the dataset's defaults, or every column (yahoo, csv: what was fetched or uploaded)
        features = [f for f in ds.features if f in frame.columns] or [str(c) for c in frame.columns]
    target = data_cfg.target or (ds.target if ds.target in frame.columns else features[0])
    return make_windows(frame, data_cfg.timesteps, features, target, data_cfg.train_frac,
                        data_cfg.val_frac, data_cfg.scaler)


def _text_task(ds: Dataset, data_cfg: DataConfig, frame: pd.DataFrame | None) -> Windows:
    """Next-character windows of a text dataset (`frame`: pasted text from `text_sources.read_text_upload`)."""
    params = ds.resolve(data_cfg.params)
    if frame is None:
        frame = ds.load(**data_cfg.params)
    return text_windows(frame_text(frame), data_cfg.timesteps, params["windows"], data_cfg.train_frac,
                        data_cfg.val_frac, temperature=params["temperature"], seed=params.get("seed", 0),
                        memory=memory_of(ds.name, params), frame=frame)


# ----------------------------------------------------------------------------- the naive guess
def naive_split(windows: Windows) -> str:
    """The split every comparison with the naive guess is made on: "val" when there are validation
    windows (the verdict judges the validation loss), else "train"."""
    return "val" if len(windows.X_val) else "train"


def naive_loss(windows: Windows) -> float | None:
    """The naive guess's loss, in the loss's units, on the split `naive_split` names (validation, else
    training), so that a validation loss is always compared with the guess on the same windows:
    persistence ŷ = last input value of the target for forecasts (MSE, scaled); the constant guess
    ŷ = the training targets' mean for sequences; for text the unigram entropy in bits per character
    (of the held-out text). None when there is no naive guess (the target is not among the inputs) or
    no window."""
    if getattr(windows, "text", None) is not None:
        return windows.text.unigram_bits
    if len(windows.X_train) == 0:
        return None
    naive = windows.naive_losses(naive_split(windows))
    return naive["constant"] if windows.task == "sequence" else naive["persistence"]
