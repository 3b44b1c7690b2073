"""Honest evaluation: one-step predictions, baselines, metrics and closed-loop generation.

Holds `metrics` (RMSE, MAE, MAPE, directional accuracy, baseline RMSE, skill score, best lag),
`predict` (a model on scaled windows), `evaluate` (every split in real units next to the
persistence and moving-average baselines, or the constant guess for sequence tasks) and
`closed_loop` (the model fed its own predictions). Everything returned is plain lists, floats,
ints, strings and None, so it serialises to JSON as it is (NaN/Inf become None).
Leaves to others: building windows and scaling (`windows.py`), the model (`models.py`),
figures and the metrics table (`plots/`).

The honesty point: every forecast is scored against a naive one by the skill score
    skill_score = 1 − RMSE_model / RMSE_baseline
(the baseline is persistence ŷ_t = y_{t−1} for a series, the training mean for sequence tasks):
positive beats the baseline, 0 is exactly as good, negative is worse, 1 is a perfect forecast. A skill
near 0 says "no better than the baseline", not "a copy of the last value": a copy shows itself by its
predictions correlating best with the truth shifted by one step (best_lag ≈ 1).
"""

from __future__ import annotations

import contextlib
import math
import warnings

import numpy as np
import pandas as pd
import torch
from torch import nn

from rnn_core.measure.text_eval import evaluate_text

SPLITS = ("train", "val", "test")
MA_WINDOW = 5           # moving-average baseline: mean of the target's last 5 values
MAX_LAG = 20            # best_lag searches lags 0 … 20 steps (fewer for short series)
MAX_CLOSED_LOOP = 5000  # closed_loop generates at most this many steps
SKILL_FORMULA = "skill score = 1 − RMSE / baseline RMSE"   # every front end shows the formula with it
# tasks that score themselves instead of by the regression metrics below: task name → (model, windows) → dict
OWN_EVALUATION = {"text": evaluate_text}
MAPE_UNDEFINED = ("MAPE is — for a series that reaches or crosses zero: dividing by values near zero "
                  "makes the percentage explode.")


class EvaluationError(ValueError):
    """An evaluation that cannot be done on these windows; the message says why and what to do."""


# ----------------------------------------------------------------------------- metrics
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
    t, p = _as_2d(y_true), _as_2d(y_pred)
    if t.shape != p.shape:
        raise ValueError(f"y_true {t.shape} and y_pred {p.shape} must have the same shape.")
    out = {"rmse": None, "mae": None, "mape": None, "directional_accuracy": None,
           "naive_rmse": None, "skill_score": None, "best_lag": None, "n": len(t)}
    if len(t) == 0:
        return out
    err = p - t                                              # (N, O)
    out["rmse"] = _num(np.sqrt(np.mean(err**2)))
    out["mae"] = _num(np.mean(np.abs(err)))
    out["mape"] = _mape(t, p)
    out["best_lag"] = best_lag(t[:, 0], p[:, 0])
    if y_prev is not None:
        prev = _as_2d(y_prev)
        if prev.shape != t.shape:
            raise ValueError(f"y_prev {prev.shape} must have the shape of y_true {t.shape}.")
        out["directional_accuracy"] = _directional_accuracy(t, p, prev)
        out["naive_rmse"] = _num(np.sqrt(np.mean((prev - t) ** 2)))
        out["skill_score"] = skill_score(out["rmse"], out["naive_rmse"])
    return out


def _mape(t: np.ndarray, p: np.ndarray) -> float | None:
    scale = np.max(np.abs(t))
    keep = np.abs(t) > 1e-8 * scale                          # skip y = 0 (MAPE is undefined there)
    if not scale > 0 or not keep.any() or (t.min() < 0 < t.max()):
        return None                                          # a series crossing zero: see MAPE_UNDEFINED
    # MAPE = 100 · mean |ŷ − y| / |y|
    return _num(100.0 * np.mean(np.abs(p[keep] - t[keep]) / np.abs(t[keep])))


def _directional_accuracy(t: np.ndarray, p: np.ndarray, prev: np.ndarray) -> float | None:
    if not (np.isfinite(p).all() and np.isfinite(prev).all()):
        return None
    true_change, pred_change = t - prev, p - prev            # y_t − y_{t−1}, ŷ_t − y_{t−1}
    moved = true_change != 0
    if not moved.any() or not (pred_change[moved] != 0).any():
        return None                                          # no true move, or a forecast that never moves
    return _num(np.mean(np.sign(pred_change[moved]) == np.sign(true_change[moved])))


def skill_score(rmse: float | None, naive_rmse: float | None) -> float | None:
    """1 − RMSE / RMSE_baseline (None when either is undefined or the baseline is exact)."""
    if rmse is None or naive_rmse is None or not naive_rmse > 0:
        return None
    # skill_score = 1 − RMSE_model / RMSE_baseline
    return _num(1.0 - rmse / naive_rmse)


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


# ----------------------------------------------------------------------------- predictions
@torch.no_grad()
def predict(model: nn.Module, X, batch_size: int = 1024) -> np.ndarray:
    """ŷ = model(X) for X (N, T, F) in scaled units → (N, O) float64, batched, on the model's device.

    Runs in eval mode without gradients and puts the model back in the mode it was in.
    """
    X = np.asarray(X, dtype=np.float32)
    param = next(model.parameters())
    was_training = model.training
    model.eval()
    try:
        out = [model(torch.from_numpy(X[i:i + batch_size]).to(param.device)).float().cpu().numpy()
               for i in range(0, len(X), batch_size)]
    finally:
        model.train(was_training)
    if not out:
        n_out = getattr(getattr(model, "cfg", None), "output_size", 1)
        return np.zeros((0, n_out))
    return np.concatenate(out).astype(np.float64)


def evaluate(model: nn.Module, windows) -> dict:
    """One-step predictions on train / val / test in real units, next to baselines, with metrics.

    Returns {"task", "target", "baseline", "ma_window", "train": S, "val": S, "test": S} where each S is
      {"index": [date ISO string or step int of each target], "y_true": [...], "y_pred": [...],
       "persistence": [...] | None, "moving_average": [...] | None, "constant": [...] | None,
       "metrics": {"model": m, "persistence": m, "moving_average": m}   (forecast)
                  {"model": m, "constant": m}                           (sequence)}
    with m a `metrics` dict. Forecast tasks: persistence ŷ_t = y_{t−1} and the mean of the last
    MA_WINDOW values of the target (its own history, from `windows.frame`); skill_score is against
    persistence. Sequence tasks (adding, echo: independent samples): the baseline is the constant guess
    "the training mean"; naive_rmse and skill_score are against it, and directional accuracy and best_lag
    are None (samples have no order in time). A task with its own evaluation (`OWN_EVALUATION`: text)
    returns that instead.
    """
    own = OWN_EVALUATION.get(getattr(windows, "task", "forecast"))
    if own is not None:                       # text: bits per character (`text_eval.evaluate_text`)
        return own(model, windows)
    sequence = windows.task == "sequence"
    out = {"task": windows.task, "target": windows.target_name,
           "baseline": "constant" if sequence else "persistence", "ma_window": MA_WINDOW}
    train_mean = _train_mean(windows)
    for split in SPLITS:
        X, y, rows = _split(windows, split)
        y_true = _real(windows, y) if sequence else _truth(windows, y, rows)   # (N, O) real units
        y_pred = _real(windows, predict(model, X)) if len(X) else np.zeros_like(y_true)
        S = {"index": _index_of(windows, rows), "y_true": _list(y_true), "y_pred": _list(y_pred),
             "persistence": None, "moving_average": None, "constant": None}
        if sequence:
            const = np.broadcast_to(train_mean, y_true.shape)
            m = _seq_metrics(y_true, y_pred, const)
            S["constant"] = _list(const)
            S["metrics"] = {"model": m, "constant": _seq_metrics(y_true, const, const)}
        else:
            prev = _persistence(windows, X, rows, y_true.shape)  # y_{t−1}
            ma = _moving_average(windows, rows, y_true.shape)
            S["persistence"], S["moving_average"] = _list(prev), _list(ma)
            S["metrics"] = {"model": metrics(y_true, y_pred, prev),
                            "persistence": metrics(y_true, prev, prev),
                            "moving_average": metrics(y_true, ma, prev)}
        out[split] = S
    return out


def scaled_loss(evaluation: dict, windows, split: str) -> float | None:
    """The model's MSE on `split`, in the scaled units the trainer's losses are in, from `evaluate`'s
    RMSE in real units: (RMSE / the target's scale)². None for text, or a split without its metrics.
    A run without validation windows is judged on this at its final weights (the epoch record's
    train_loss is a mean over the epoch's steps, while the weights were still moving)."""
    if not evaluation or evaluation.get("task") not in ("forecast", "sequence"):
        return None
    model = (((evaluation.get(split) or {}).get("metrics") or {}).get("model")) or {}
    rmse = model.get("rmse")
    if rmse is None or not math.isfinite(rmse):
        return None
    return float((rmse / windows.scaler.scale[-1]) ** 2)


def _seq_metrics(y_true, y_pred, const) -> dict:
    """metrics() against the constant guess: naive_rmse / skill_score use it; no order in time."""
    m = metrics(y_true, y_pred)
    m["naive_rmse"] = _num(np.sqrt(np.mean((const - y_true) ** 2))) if len(y_true) else None
    m["skill_score"] = skill_score(m["rmse"], m["naive_rmse"])
    m["best_lag"] = None
    return m


def _split(windows, split: str):
    X = getattr(windows, f"X_{split}")
    y = getattr(windows, f"y_{split}")
    rows = np.asarray(getattr(windows, f"idx_{split}"))
    return X, y, rows


def _real(windows, y_scaled) -> np.ndarray:
    y = _as_2d(y_scaled)
    if len(y) == 0:
        return y
    return _as_2d(windows.inverse_target(y))


def _truth(windows, y_scaled, rows) -> np.ndarray:
    """Forecast targets in real units: exactly the frame's values (no float32 round trip), else inverted."""
    series = _target_series(windows)
    y = _as_2d(y_scaled)
    if series is None or y.shape[1] != 1 or len(rows) != len(y) or (len(rows) and rows.max() >= len(series)):
        return _real(windows, y)
    return series[rows][:, None]


def _train_mean(windows) -> np.ndarray:
    y = _real(windows, windows.y_train)
    return y.mean(axis=0) if len(y) else np.zeros(y.shape[1])


def _target_series(windows) -> np.ndarray | None:
    frame = getattr(windows, "frame", None)
    if frame is None or windows.target_name not in frame.columns:
        return None
    return frame[windows.target_name].to_numpy(dtype=np.float64)


def _persistence(windows, X, rows, shape) -> np.ndarray:
    """ŷ_t = y_{t−1}: the target's value one row before each target row, in real units."""
    series = _target_series(windows)
    if series is not None and len(rows) and rows.min() >= 1:
        return np.broadcast_to(series[rows - 1][:, None], shape).copy()
    col = windows.target_in_features
    if col is None or len(X) == 0:
        return np.full(shape, np.nan)
    # the last input step of the target column, scaled like the target
    return np.broadcast_to(_real(windows, np.asarray(X)[:, -1, col])[:, :1], shape).copy()


def _moving_average(windows, rows, shape) -> np.ndarray:
    """ŷ_t = mean(y_{t−w} … y_{t−1}) over the target's own history (fewer values at the very start)."""
    series = _target_series(windows)
    if series is None or len(rows) == 0 or rows.min() < 1:
        return np.full(shape, np.nan)
    csum = np.concatenate([[0.0], np.cumsum(series)])           # csum[r] = y_0 + … + y_{r−1}
    lo = np.maximum(rows - MA_WINDOW, 0)
    ma = (csum[rows] - csum[lo]) / (rows - lo)
    return np.broadcast_to(ma[:, None], shape).copy()


# ----------------------------------------------------------------------------- closed loop
def closed_loop_plan(windows) -> tuple[int, str]:
    """(n_steps, start split) of the closed loop the Playground draws: from the test part (else the
    validation part) over its length plus a fifth of it (at least 10) beyond the data, so the run-off
    past the end shows; at least 20 steps, at most MAX_CLOSED_LOOP."""
    n_test = len(windows.X_test)
    n = min(MAX_CLOSED_LOOP, max(20, n_test + max(10, n_test // 5)))
    return n, "test" if n_test else "val"


@torch.no_grad()
def closed_loop(model: nn.Module, windows, n_steps: int, start: str = "test") -> dict:
    """Generate `n_steps` values by feeding the model its own predictions back as inputs.

    Starts from the first window of the `start` split (its T real inputs end just before that split's
    first target), predicts the next value, slides the window one step (dropping its oldest step and
    appending a new one whose target column is the prediction) and repeats. With extra input features
    (e.g. Open/High/Volume next to Close), the new step takes the true, known features of that row and
    only the target column is generated; generation stops where those features are unknown (the end of
    the data), and `stopped` says so. With the target as the only feature it runs past the end of the
    data, the index continuing by the frame's date frequency (or step size).

    Returns {"start": split, "index": [...], "y_pred": [...], "y_true": [value or None beyond the data],
             "n_known": steps with a true value, "context_index": [...], "context": [the start window's
             target values], "metrics": metrics of the known part, "stopped": None | sentence},
    values in real units.
    """
    X, rows, n_steps = _closed_loop_start(windows, n_steps, start)
    r0 = int(rows[0])                                            # the row of the first generated value
    n_rows = len(windows.frame) if windows.frame is not None else int(rows.max()) + 1
    feats = _scaled_rows(windows, n_rows) if X.shape[2] > 1 else None   # (n_rows, F) scaled, NaN where unknown
    with _eval_mode(model):
        preds, stopped = _generate(model, X[:1], feats, windows.target_in_features, r0, n_steps)
    return _closed_loop_result(windows, start, preds, stopped, r0, n_rows, T=X.shape[1])


def _closed_loop_start(windows, n_steps, start: str) -> tuple[np.ndarray, np.ndarray, int]:
    """(the `start` split's windows X (N, T, F), their target rows, n_steps as an int); EvaluationError
    (one sentence) when the closed loop cannot run on them."""
    if windows.task != "forecast":
        raise EvaluationError("Closed-loop generation needs a forecast dataset (a series); "
                              "sequence tasks like the adding problem have independent samples.")
    if windows.target_in_features is None:
        raise EvaluationError("Closed-loop generation needs the target among the input features; "
                              "add the target column to the features.")
    if start not in SPLITS:
        raise EvaluationError(f"Unknown split '{start}': choose one of {', '.join(SPLITS)}.")
    n_steps = int(n_steps)
    if not 1 <= n_steps <= MAX_CLOSED_LOOP:
        raise EvaluationError(f"The number of closed-loop steps must be between 1 and {MAX_CLOSED_LOOP}.")
    X, _, rows = _split(windows, start)
    if len(X) == 0:
        raise EvaluationError(f"The {start} part has no windows; choose another part or more data.")
    return X, rows, n_steps


@contextlib.contextmanager
def _eval_mode(model: nn.Module):
    """The model in eval mode inside the block, back in the mode it was in afterwards."""
    was_training = model.training
    model.eval()
    try:
        yield
    finally:
        model.train(was_training)


def _generate(model: nn.Module, x0, feats: np.ndarray | None, col: int, r0: int,
              n_steps: int) -> tuple[list[float], str | None]:
    """ŷ for rows r0, r0 + 1, …: each prediction becomes the target column of the next input step.
    Returns (scaled predictions, None | the sentence saying why it stopped early)."""
    device = next(model.parameters()).device
    x = torch.as_tensor(np.asarray(x0), dtype=torch.float32, device=device)   # (1, T, F)
    preds = []
    for k in range(n_steps - 1):
        preds.append(float(model(x)[0, 0]))                      # scaled ŷ for row r0 + k
        step = _next_step(feats, r0 + k, x.shape[2], col, preds[-1])
        if step is None:
            return preds, (f"Stopped after {k + 1} steps: the other input features are unknown beyond "
                           "the data, and only the target is generated.")
        x = torch.cat([x[:, 1:], step.to(device)], dim=1)         # (1, T, F): oldest step out, new one in
    preds.append(float(model(x)[0, 0]))
    return preds, None


def _next_step(feats: np.ndarray | None, r: int, F: int, col: int, y_hat: float) -> torch.Tensor | None:
    """The input step of row r, (1, 1, F): its known features (zeros when the target is the only one)
    with ŷ in the target column; None where the features of row r are unknown."""
    known = np.zeros(F) if feats is None else _row_or_none(feats, r)
    if known is None:
        return None
    step = torch.as_tensor(known, dtype=torch.float32)
    step[col] = y_hat
    return step.view(1, 1, F)


def _closed_loop_result(windows, start: str, preds: list[float], stopped: str | None, r0: int, n_rows: int,
                        T: int) -> dict:
    """The generated values in real units next to the truth where the data has it (see `closed_loop`)."""
    series = _target_series(windows)
    n = len(preds)
    y_pred = _real(windows, np.asarray(preds)[:, None])[:, 0]
    gen_rows = np.arange(r0, r0 + n)
    known = gen_rows[gen_rows < n_rows]                          # generated rows the data has
    ctx_rows = np.arange(max(r0 - T, 0), r0)                     # the start window's rows
    y_true = [None] * n
    if series is not None:
        y_true[: len(known)] = _list(series[known])
    return {
        "start": start,
        "index": _index_of(windows, known) + _future_index(windows, n - len(known)),
        "y_pred": _list(y_pred),
        "y_true": y_true,
        "n_known": len(known),
        "context_index": _index_of(windows, ctx_rows),
        "context": _list(series[ctx_rows]) if series is not None else [],
        "metrics": metrics(series[known], y_pred[: len(known)]) if series is not None else metrics([], []),
        "stopped": stopped,
    }


def _row_or_none(feats: np.ndarray, r: int) -> np.ndarray | None:
    """Row r of the known scaled features, or None where it is past the data or unknown."""
    if r >= len(feats) or np.isnan(feats[r]).any():
        return None
    return feats[r].copy()


def _scaled_rows(windows, n_rows: int) -> np.ndarray:
    """The scaled input features of every frame row, NaN where unknown, as the windows scale them.

    With the windows' fitted `scaler` every row of the frame; otherwise the rows some window contains
    (window j's inputs are the T rows just before its target row idx_j, its last step row idx_j − 1).
    """
    scaler, frame, names = getattr(windows, "scaler", None), windows.frame, list(windows.feature_names)
    if scaler is not None and frame is not None and all(c in frame.columns for c in names):
        return scaler.transform(frame[names].to_numpy(dtype=np.float64), names)   # (n_rows, F)
    X_all = [np.asarray(getattr(windows, f"X_{s}")) for s in SPLITS]
    rows_all = [np.asarray(getattr(windows, f"idx_{s}")) for s in SPLITS]
    out = np.full((n_rows, max(X.shape[-1] for X in X_all if X.ndim == 3)), np.nan)
    for X, rows in zip(X_all, rows_all):
        if X.ndim == 3 and len(X):
            T = X.shape[1]
            out[rows - 1] = X[:, -1]                             # last input step of each window
            first = rows[0] - T + np.arange(T)                   # all steps of the split's first window
            ok = first >= 0
            out[first[ok]] = X[0][ok]
    return out


# ----------------------------------------------------------------------------- index and JSON helpers
def _index_of(windows, rows) -> list:
    """JSON-friendly labels of frame rows: 'YYYY-MM-DD' (or ISO timestamps) for dates, else numbers."""
    rows = np.asarray(rows, dtype=np.int64)
    frame = getattr(windows, "frame", None)
    if frame is None or len(rows) == 0 or rows.max() >= len(frame) or rows.min() < 0:
        return [int(r) for r in rows]
    return _labels(frame.index[rows])


def _labels(index: pd.Index) -> list:
    if isinstance(index, pd.DatetimeIndex):
        if len(index) and (index == index.normalize()).all() and index.tz is None:
            return [str(s) for s in index.strftime("%Y-%m-%d")]
        return [ts.isoformat() for ts in index]
    return [v.item() if hasattr(v, "item") else v for v in index.to_numpy()]


def _future_index(windows, n: int) -> list:
    """n labels continuing the frame's index past its end: by its date frequency or its step size."""
    if n <= 0:
        return []
    frame = getattr(windows, "frame", None)
    if frame is None or len(frame) == 0:
        return []
    index = frame.index
    if isinstance(index, pd.DatetimeIndex):
        return _labels(_future_dates(index, n))
    values = np.asarray(index, dtype=np.float64)
    step = values[-1] - values[-2] if len(values) >= 2 else 1.0
    future = values[-1] + step * np.arange(1, n + 1)
    if np.issubdtype(index.dtype, np.integer):
        return [int(v) for v in future]
    return [float(v) for v in future]


def _future_dates(index: pd.DatetimeIndex, n: int) -> pd.DatetimeIndex:
    freq = index.freq
    if freq is None and len(index) >= 3:
        with warnings.catch_warnings():          # pandas 3 warns that the return type will change
            warnings.simplefilter("ignore")
            freq = pd.infer_freq(index[-60:])     # a string or an offset: date_range takes both
    if freq is None and len(index) >= 2:
        steps = np.diff(index[-60:].asi8)
        one_day = pd.Timedelta(days=1).value
        if np.median(steps) <= one_day and (index[-60:].day_of_week < 5).all():
            freq = "B"                                           # trading days (holidays make infer_freq fail)
        else:
            step = pd.Timedelta(int(np.median(steps)))
            return pd.DatetimeIndex([index[-1] + step * k for k in range(1, n + 1)])
    if freq is None:
        freq = "D"
    return pd.date_range(start=index[-1], periods=n + 1, freq=freq)[1:]


def _as_2d(a) -> np.ndarray:
    a = np.asarray(a, dtype=np.float64)
    if a.ndim == 2:
        return a
    if a.ndim < 2:
        return a.reshape(-1, 1)                                   # (N,) → (N, 1)
    return a.reshape(len(a), -1) if a.size else a.reshape(len(a), 1)


def _num(x) -> float | None:
    x = float(x)
    return x if math.isfinite(x) else None


def _list(a) -> list:
    """Values as a flat list of floats (one output) or of lists (several); NaN/Inf → None."""
    a = np.asarray(a, dtype=np.float64)
    if a.ndim == 2 and a.shape[1] == 1:
        a = a[:, 0]
    if a.ndim == 1:
        return [float(v) if math.isfinite(v) else None for v in a]
    return [_list(row) for row in a]
