"""Honest evaluation: one-step predictions, baselines, metrics and closed-loop generation.

Holds `predict` (a model on scaled windows), `evaluate` (every split in real units next to the
persistence and moving-average baselines, or the constant guess for sequence tasks) and `scaled_loss`.
The metrics themselves are `metrics.py`; the model fed its own predictions is `closed_loop.py`.
Everything returned is plain lists, floats, ints, strings and None, so it serialises to JSON as it is
(NaN/Inf become None).
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

import math

import numpy as np
import torch
from torch import nn

from rnn_core.data.streams import streams_of
from rnn_core.measure.arrays import (
    SPLITS,
    as_2d,
    as_list,
    finite_or_none,
    index_of,
    real_units,
    split_arrays,
    target_series,
)
from rnn_core.measure.metrics import metrics, skill_score
from rnn_core.measure.text_eval import evaluate_text
from rnn_core.nn.stateful import scored_outputs

MA_WINDOW = 5           # moving-average baseline: mean of the target's last 5 values
STREAM_READING = ("Stateful: the data is read as one stream, not as windows from a zero state: the training part "
                  "from its first step, each held-out part continuing the last training stream (from where "
                  "that stream starts; with one stream, the first step), every prediction made from the state "
                  "carried so far.")


# tasks that score themselves instead of by the regression metrics below: task name → (model, windows) → dict
OWN_EVALUATION = {"text": evaluate_text}


class EvaluationError(ValueError):
    """An evaluation that cannot be done on these windows; the message says why and what to do."""


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


def evaluate(model: nn.Module, windows, stateful_streams: int = 0) -> dict:
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
    `stateful_streams` = B ≥ 1 (a stateful run that read its training part as B streams,
    `stateful.streams_read(cfg)`): the same targets, each predicted from the state carried along its part
    read as one stream continuing the last training stream (`STREAM_READING`, also in the dict as
    "reading"), not from a window and a zero state.
    """
    streams = streams_of(windows, stateful_streams) if stateful_streams else None
    own = OWN_EVALUATION.get(getattr(windows, "task", "forecast"))
    if own is not None:                       # text: bits per character (`text_eval.evaluate_text`)
        return own(model, windows, streams)
    sequence = windows.task == "sequence"
    out = {"task": windows.task, "target": windows.target_name,
           "baseline": "constant" if sequence else "persistence", "ma_window": MA_WINDOW}
    if streams is not None:
        out["reading"] = STREAM_READING
    train_mean = _train_mean(windows)
    for split in SPLITS:
        X, y, rows = split_arrays(windows, split)
        y_true = real_units(windows, y) if sequence else _truth(windows, y, rows)   # (N, O) real units
        y_scaled = predict(model, X) if streams is None else _stream_predictions(model, windows, streams, split)
        y_pred = real_units(windows, y_scaled) if len(X) else np.zeros_like(y_true)
        S = {"index": index_of(windows, rows), "y_true": as_list(y_true), "y_pred": as_list(y_pred),
             "persistence": None, "moving_average": None, "constant": None}
        if sequence:
            const = np.broadcast_to(train_mean, y_true.shape)
            m = _seq_metrics(y_true, y_pred, const)
            S["constant"] = as_list(const)
            S["metrics"] = {"model": m, "constant": _seq_metrics(y_true, const, const)}
        else:
            prev = _persistence(windows, X, rows, y_true.shape)  # y_{t−1}
            ma = _moving_average(windows, rows, y_true.shape)
            S["persistence"], S["moving_average"] = as_list(prev), as_list(ma)
            S["metrics"] = {"model": metrics(y_true, y_pred, prev),
                            "persistence": metrics(y_true, prev, prev),
                            "moving_average": metrics(y_true, ma, prev)}
        out[split] = S
    return out


def _stream_predictions(model: nn.Module, windows, streams, split: str) -> np.ndarray:
    """ŷ (N, O) scaled at the split's window targets, each from the state carried along the split's stream:
    a forecast step s predicts data row first + s + 1; a sequence sample is scored at its last step."""
    part = streams.part(split)
    y_hat = scored_outputs(model, part)                          # (scored steps, O), in order
    if windows.task == "forecast":
        scored_rows = part.first + 1 + np.flatnonzero(part.w)    # the data row each scored step predicts
        y_hat = y_hat[np.searchsorted(scored_rows, np.asarray(getattr(windows, f"idx_{split}")))]
    return y_hat


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
    m["naive_rmse"] = finite_or_none(np.sqrt(np.mean((const - y_true) ** 2))) if len(y_true) else None
    m["skill_score"] = skill_score(m["rmse"], m["naive_rmse"])
    m["best_lag"] = None
    return m


def _truth(windows, y_scaled, rows) -> np.ndarray:
    """Forecast targets in real units: exactly the frame's values (no float32 round trip), else inverted."""
    series = target_series(windows)
    y = as_2d(y_scaled)
    if series is None or y.shape[1] != 1 or len(rows) != len(y) or (len(rows) and rows.max() >= len(series)):
        return real_units(windows, y)
    return series[rows][:, None]


def _train_mean(windows) -> np.ndarray:
    y = real_units(windows, windows.y_train)
    return y.mean(axis=0) if len(y) else np.zeros(y.shape[1])


def _persistence(windows, X, rows, shape) -> np.ndarray:
    """ŷ_t = y_{t−1}: the target's value one row before each target row, in real units."""
    series = target_series(windows)
    if series is not None and len(rows) and rows.min() >= 1:
        return np.broadcast_to(series[rows - 1][:, None], shape).copy()
    col = windows.target_in_features
    if col is None or len(X) == 0:
        return np.full(shape, np.nan)
    # the last input step of the target column, scaled like the target
    return np.broadcast_to(real_units(windows, np.asarray(X)[:, -1, col])[:, :1], shape).copy()


def _moving_average(windows, rows, shape) -> np.ndarray:
    """ŷ_t = mean(y_{t−w} … y_{t−1}) over the target's own history (fewer values at the very start)."""
    series = target_series(windows)
    if series is None or len(rows) == 0 or rows.min() < 1:
        return np.full(shape, np.nan)
    csum = np.concatenate([[0.0], np.cumsum(series)])           # csum[r] = y_0 + … + y_{r−1}
    lo = np.maximum(rows - MA_WINDOW, 0)
    ma = (csum[rows] - csum[lo]) / (rows - lo)
    return np.broadcast_to(ma[:, None], shape).copy()
