"""Plain-data helpers of the evaluation: a split's arrays, values back in real units, the target series,
frame rows as JSON-ready labels, and arrays as lists of floats (NaN/Inf as None)."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

SPLITS = ("train", "val", "test")


def split_arrays(windows, split: str):
    X = getattr(windows, f"X_{split}")
    y = getattr(windows, f"y_{split}")
    rows = np.asarray(getattr(windows, f"idx_{split}"))
    return X, y, rows


def real_units(windows, y_scaled) -> np.ndarray:
    y = as_2d(y_scaled)
    if len(y) == 0:
        return y
    return as_2d(windows.inverse_target(y))


def target_series(windows) -> np.ndarray | None:
    frame = getattr(windows, "frame", None)
    if frame is None or windows.target_name not in frame.columns:
        return None
    return frame[windows.target_name].to_numpy(dtype=np.float64)


def index_of(windows, rows) -> list:
    """JSON-friendly labels of frame rows: 'YYYY-MM-DD' (or ISO timestamps) for dates, else numbers."""
    rows = np.asarray(rows, dtype=np.int64)
    frame = getattr(windows, "frame", None)
    if frame is None or len(rows) == 0 or rows.max() >= len(frame) or rows.min() < 0:
        return [int(r) for r in rows]
    return labels(frame.index[rows])


def labels(index: pd.Index) -> list:
    if isinstance(index, pd.DatetimeIndex):
        if len(index) and (index == index.normalize()).all() and index.tz is None:
            return [str(s) for s in index.strftime("%Y-%m-%d")]
        return [ts.isoformat() for ts in index]
    return [v.item() if hasattr(v, "item") else v for v in index.to_numpy()]


def as_2d(a) -> np.ndarray:
    a = np.asarray(a, dtype=np.float64)
    if a.ndim == 2:
        return a
    if a.ndim < 2:
        return a.reshape(-1, 1)                                   # (N,) → (N, 1)
    return a.reshape(len(a), -1) if a.size else a.reshape(len(a), 1)


def finite_or_none(x) -> float | None:
    x = float(x)
    return x if math.isfinite(x) else None


def as_list(a) -> list:
    """Values as a flat list of floats (one output) or of lists (several); NaN/Inf → None."""
    a = np.asarray(a, dtype=np.float64)
    if a.ndim == 2 and a.shape[1] == 1:
        a = a[:, 0]
    if a.ndim == 1:
        return [float(v) if math.isfinite(v) else None for v in a]
    return [as_list(row) for row in a]
