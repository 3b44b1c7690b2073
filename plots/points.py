"""What a trace's points are: at most `MAX_POINTS` of them, gaps where a value is missing.

    decimate_indices(n, max_points, values) -> indices   first and last kept; with values, each bucket
                                                          keeps its min and max (a spike survives)
    thin(x, y) -> (x, y)          paired arrays decimated that way (numpy: Plotly sends them as typed arrays)
    clean(values) -> array        float64, NaN for None / NaN / ±Inf (a gap in the line)
    positive(values) -> array     for a log axis: zero and negative values become gaps as well
    positive_list / finite_list   the same as plain lists with None (the Lab's figures)
Leaves to others: what is drawn (the builders), how it looks (`plots/style.py`).
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Sequence

import numpy as np

MAX_POINTS = 2000          # points per trace, at most


def decimate_indices(n: int, max_points: int = MAX_POINTS, values: Sequence[float] | None = None) -> np.ndarray:
    """Indices of at most `max_points` of `n` points: first and last kept; with `values`, each bucket
    keeps its min and max (a gradient spike stays visible), else an even stride."""
    if n <= max_points:
        return np.arange(n)
    if values is None:
        return np.unique(np.linspace(0, n - 1, max_points).round().astype(int))
    v = np.asarray(values, dtype=float)
    v = np.where(np.isfinite(v), v, np.nan)
    n_buckets = max(1, (max_points - 2) // 2)
    edges = np.linspace(0, n, n_buckets + 1).astype(int)
    keep = [0, n - 1]
    for lo, hi in itertools.pairwise(edges):
        if hi <= lo:
            continue
        chunk = v[lo:hi]
        if np.all(np.isnan(chunk)):
            keep.append(lo)
            continue
        keep += [lo + int(np.nanargmin(chunk)), lo + int(np.nanargmax(chunk))]
    return np.unique(np.array(keep))


def thin(x: Sequence, y: Sequence[float], max_points: int = MAX_POINTS) -> tuple[np.ndarray, np.ndarray]:
    """Decimate paired x, y keeping min/max per bucket; returns numpy arrays (plotly validates and
    serialises those ~10× faster than lists, as typed arrays)."""
    y_arr = clean(y)
    idx = decimate_indices(len(y_arr), max_points, y_arr)
    return np.asarray(x)[idx], y_arr[idx]


def clean(values: Sequence[float | None]) -> np.ndarray:
    """Values as float64 with NaN for None / NaN / ±Inf (a gap in the line; valid JSON)."""
    arr = np.array([np.nan if v is None else v for v in values], dtype=float) if not isinstance(
        values, np.ndarray) else values.astype(float, copy=True)
    arr[~np.isfinite(arr)] = np.nan
    return arr


def positive(values: Sequence[float | None]) -> np.ndarray:
    """Values for a log axis: zero, negative and non-finite become gaps."""
    arr = clean(values)
    arr[~(arr > 0)] = np.nan
    return arr


def positive_list(values: Sequence[float | None]) -> list[float | None]:
    """For a log axis, as a list: zero, negative, NaN and Inf become gaps (None)."""
    return [float(v) if v is not None and math.isfinite(float(v)) and v > 0 else None for v in values]


def finite_list(values: Sequence[float | None]) -> list[float | None]:
    """As a list: NaN and Inf become gaps (None)."""
    return [float(v) if v is not None and math.isfinite(float(v)) else None for v in values]
