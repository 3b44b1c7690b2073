"""Closed-loop generation: the model fed its own predictions back as inputs, from the end of a split,
for as many steps as the data allows (`closed_loop_plan`), in real units, with the dates continuing
the frame's index. Interruptible by a run's Stop. Plain lists out, as `evaluate` gives."""

from __future__ import annotations

import contextlib
import warnings

import numpy as np
import pandas as pd
import torch
from torch import nn

from rnn_core.data.streams import held_out_start
from rnn_core.measure.arrays import SPLITS, as_list, index_of, labels, real_units, split_arrays, target_series
from rnn_core.measure.evaluate import EvaluationError
from rnn_core.measure.metrics import metrics

MAX_CLOSED_LOOP = 5000  # closed_loop generates at most this many steps


def closed_loop_plan(windows) -> tuple[int, str]:
    """(n_steps, start split) of the closed loop the Playground draws: from the test part (else the
    validation part) over its length plus a fifth of it (at least 10) beyond the data, so the run-off
    past the end shows; at least 20 steps, at most MAX_CLOSED_LOOP."""
    n_test = len(windows.X_test)
    n = min(MAX_CLOSED_LOOP, max(20, n_test + max(10, n_test // 5)))
    return n, "test" if n_test else "val"


@torch.no_grad()
def closed_loop(model: nn.Module, windows, n_steps: int, start: str = "test", stateful_streams: int = 0) -> dict:
    """Generate `n_steps` values by feeding the model its own predictions back as inputs.

    Starts from the first window of the `start` split (its T real inputs end just before that split's
    first target), predicts the next value, slides the window one step (dropping its oldest step and
    appending a new one whose target column is the prediction) and repeats. With extra input features
    (e.g. Open/High/Volume next to Close), the new step takes the true, known features of that row and
    only the target column is generated; generation stops where those features are unknown (the end of
    the data), and `stopped` says so. With the target as the only feature it runs past the end of the
    data, the index continuing by the frame's date frequency (or step size).
    `stateful_streams` = B ≥ 1 (a stateful run that read its training part as B streams; seed 002 generates
    its sine so): no window slides; the state is warmed on the rows from where the last training stream
    starts (with one stream, the first row) up to the start, from a zero state, then carried from each
    generated step to the next.

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
        if stateful_streams:           # warmed on the rows from the last training stream's start to r0 (…, F)
            read = _carried_reader(model, _scaled_rows(windows, n_rows)[held_out_start(windows, stateful_streams):r0])
        else:                          # the start window slides
            read = _window_reader(model, X[:1])
        preds, stopped = _generate(read, feats, X.shape[2], windows.target_in_features, r0, n_steps)
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
    X, _, rows = split_arrays(windows, start)
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


def _generate(read, feats: np.ndarray | None, F: int, col: int, r0: int,
              n_steps: int) -> tuple[list[float], str | None]:
    """ŷ for rows r0, r0 + 1, …: each prediction becomes the target column of the next input step, which
    `read(step)` takes in and answers with the next scaled ŷ (`read(None)`: the first, from the start).
    Returns (scaled predictions, None | the sentence saying why it stopped early)."""
    preds = [read(None)]                                         # scaled ŷ for row r0
    for k in range(n_steps - 1):
        step = _next_step(feats, r0 + k, F, col, preds[-1])
        if step is None:
            return preds, (f"Stopped after {k + 1} steps: the other input features are unknown beyond "
                           "the data, and only the target is generated.")
        preds.append(read(step))                                 # scaled ŷ for row r0 + k + 1
    return preds, None


def _window_reader(model: nn.Module, x0):
    """A window of T steps sliding one step per read: the oldest step out, the new one in."""
    x = torch.as_tensor(np.asarray(x0), dtype=torch.float32, device=next(model.parameters()).device)   # (1, T, F)

    def read(step: torch.Tensor | None) -> float:
        nonlocal x
        if step is not None:
            x = torch.cat([x[:, 1:], step.to(x.device)], dim=1)  # (1, T, F)
        return float(model(x)[0, 0])
    return read


def _carried_reader(model: nn.Module, history: np.ndarray):
    """The state carried instead of a window: `history` (r0, F) warms it, then each read takes one step."""
    x = torch.as_tensor(history, dtype=torch.float32, device=next(model.parameters()).device)[None]   # (1, r0, F)
    state = None

    def read(step: torch.Tensor | None) -> float:
        nonlocal state
        y_hat, state = model.forward_steps(x if step is None else step.to(x.device), state)   # (1, k, O)
        return float(y_hat[0, -1, 0])
    return read


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
    series = target_series(windows)
    n = len(preds)
    y_pred = real_units(windows, np.asarray(preds)[:, None])[:, 0]
    gen_rows = np.arange(r0, r0 + n)
    known = gen_rows[gen_rows < n_rows]                          # generated rows the data has
    ctx_rows = np.arange(max(r0 - T, 0), r0)                     # the start window's rows
    y_true = [None] * n
    if series is not None:
        y_true[: len(known)] = as_list(series[known])
    return {
        "start": start,
        "index": index_of(windows, known) + _future_index(windows, n - len(known)),
        "y_pred": as_list(y_pred),
        "y_true": y_true,
        "n_known": len(known),
        "context_index": index_of(windows, ctx_rows),
        "context": as_list(series[ctx_rows]) if series is not None else [],
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


def _future_index(windows, n: int) -> list:
    """n labels continuing the frame's index past its end: by its date frequency or its step size."""
    if n <= 0:
        return []
    frame = getattr(windows, "frame", None)
    if frame is None or len(frame) == 0:
        return []
    index = frame.index
    if isinstance(index, pd.DatetimeIndex):
        return labels(_future_dates(index, n))
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
