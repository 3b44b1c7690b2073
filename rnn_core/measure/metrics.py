"""Error metrics of a forecast against the truth, and the skill score that puts every forecast next to a
naive one:
    skill_score = 1 − RMSE_model / RMSE_baseline
(the baseline is persistence ŷ_t = y_{t−1} for a series, the training mean for sequence tasks):
positive beats the baseline, 0 is exactly as good, negative is worse, 1 is a perfect forecast. A skill
near 0 says "no better than the baseline", not "a copy of the last value": a copy shows itself by its
predictions correlating best with the truth shifted by one step (best_lag ≈ 1).
"""

from __future__ import annotations

import numpy as np

from rnn_core.measure.arrays import as_2d, finite_or_none

MAX_LAG = 20            # best_lag searches lags 0 … 20 steps (fewer for short series)


SKILL_FORMULA = "skill score = 1 − RMSE / baseline RMSE"   # every front end shows the formula with it


MAPE_UNDEFINED = ("MAPE is — for a series that reaches or crosses zero: dividing by values near zero "
                  "makes the percentage explode.")


def metrics(y_true, y_pred, y_prev=None) -> dict:
    """Error metrics of `y_pred` against `y_true` (arrays of shape (N,) or (N, O), same units).

    rmse                  √(mean (ŷ − y)²)
    mae                   mean |ŷ − y|
    mape                  100 · mean |ŷ − y| / |y|, in percent, over the points where y is not zero:
                          values with |y| ≤ 1e-8 · max|y| are skipped; None when every y is zero or
                          when y takes both signs (`MAPE_UNDEFINED` says why)
    directional_accuracy  share (0–1) of points where the predicted change ŷ_t − y_{t−1} has the sign
                          of the true change y_t − y_{t−1}; points with no true change are skipped;
                          None for a forecast that never predicts a change (persistence);
                          needs `y_prev` (the last known value y_{t−1} of each point)
    naive_rmse            RMSE of persistence, ŷ_t = y_{t−1} = `y_prev` (the baseline)
    skill_score           1 − rmse / naive_rmse: above 0 beats "tomorrow = today", 0 is as good,
                          below 0 is worse, 1 is perfect
    best_lag              the delay k (steps, 0…20) maximising corr(ŷ_t, y_{t−k}); 0 is ideal, 1 means
                          the prediction trails the truth by one step (a copy of the last value)
    n                     number of points
    Undefined values (no y_prev, empty input, constant series, NaN predictions) are None.
    With several outputs (O > 1) the errors pool all of them and best_lag uses the first.
    """
    t, p = as_2d(y_true), as_2d(y_pred)
    if t.shape != p.shape:
        raise ValueError(f"y_true {t.shape} and y_pred {p.shape} must have the same shape.")
    out = {"rmse": None, "mae": None, "mape": None, "directional_accuracy": None,
           "naive_rmse": None, "skill_score": None, "best_lag": None, "n": len(t)}
    if len(t) == 0:
        return out
    err = p - t                                              # (N, O)
    out["rmse"] = finite_or_none(np.sqrt(np.mean(err**2)))
    out["mae"] = finite_or_none(np.mean(np.abs(err)))
    out["mape"] = _mape(t, p)
    out["best_lag"] = best_lag(t[:, 0], p[:, 0])
    if y_prev is not None:
        prev = as_2d(y_prev)
        if prev.shape != t.shape:
            raise ValueError(f"y_prev {prev.shape} must have the shape of y_true {t.shape}.")
        out["directional_accuracy"] = _directional_accuracy(t, p, prev)
        out["naive_rmse"] = finite_or_none(np.sqrt(np.mean((prev - t) ** 2)))
        out["skill_score"] = skill_score(out["rmse"], out["naive_rmse"])
    return out


def _mape(t: np.ndarray, p: np.ndarray) -> float | None:
    scale = np.max(np.abs(t))
    keep = np.abs(t) > 1e-8 * scale                          # skip y = 0 (MAPE is undefined there)
    if not scale > 0 or not keep.any() or (t.min() < 0 < t.max()):
        return None                                          # a series crossing zero: see MAPE_UNDEFINED
    # MAPE = 100 · mean |ŷ − y| / |y|
    return finite_or_none(100.0 * np.mean(np.abs(p[keep] - t[keep]) / np.abs(t[keep])))


def _directional_accuracy(t: np.ndarray, p: np.ndarray, prev: np.ndarray) -> float | None:
    if not (np.isfinite(p).all() and np.isfinite(prev).all()):
        return None
    true_change, pred_change = t - prev, p - prev            # y_t − y_{t−1}, ŷ_t − y_{t−1}
    moved = true_change != 0
    if not moved.any() or not (pred_change[moved] != 0).any():
        return None                                          # no true move, or a forecast that never moves
    return finite_or_none(np.mean(np.sign(pred_change[moved]) == np.sign(true_change[moved])))


def skill_score(rmse: float | None, naive_rmse: float | None) -> float | None:
    """1 − RMSE / RMSE_baseline (None when either is undefined or the baseline is exact)."""
    if rmse is None or naive_rmse is None or not naive_rmse > 0:
        return None
    # skill_score = 1 − RMSE_model / RMSE_baseline
    return finite_or_none(1.0 - rmse / naive_rmse)


def best_lag(y_true, y_pred, max_lag: int = MAX_LAG) -> int | None:
    """The delay k in 0…max_lag where corr(ŷ_t, y_{t−k}) is largest (ties: the smallest k).

    Only delays: an honest forecast cannot lead the truth, and on a periodic series a "lead" is just the
    period minus a delay. Each lag keeps at least half of the series (and 3 points); None when no lag
    has a defined correlation (too short, constant or non-finite series).
    """
    t = np.asarray(y_true, dtype=np.float64).ravel()
    p = np.asarray(y_pred, dtype=np.float64).ravel()
    n = len(t)
    if n < 3 or not (np.isfinite(t).all() and np.isfinite(p).all()):
        return None
    K = min(max_lag, n // 2)
    best, best_corr = None, -np.inf
    for k in range(K + 1):
        # ŷ_t against y_{t−k}
        a, b = p[k:], t[: n - k]
        if len(a) < 3 or a.std() == 0 or b.std() == 0:
            continue
        c = float(np.corrcoef(a, b)[0, 1])
        if c > best_corr + 1e-12:
            best, best_corr = k, c
    return best
