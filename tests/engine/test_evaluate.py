"""Metrics on hand-computed cases, baselines, evaluate() per split, and closed-loop generation.

Hand-made windows (`_windows`) pin the arithmetic down; `windows.prepare` windows check that the real
data path works the same way.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass

import numpy as np
import pandas as pd
import pytest
import torch
from torch import nn

from rnn_core.measure.closed_loop import closed_loop
from rnn_core.measure.evaluate import EvaluationError, evaluate, predict
from rnn_core.measure.metrics import best_lag, metrics
from rnn_core.nn.model_config import ModelConfig
from rnn_core.nn.models import build_model


# ----------------------------------------------------------------------------- hand-made windows
@dataclass
class _Windows:
    """The Windows contract, min-max scaled per column on the training rows, one window per target row."""

    X_train: np.ndarray
    y_train: np.ndarray
    X_val: np.ndarray
    y_val: np.ndarray
    X_test: np.ndarray
    y_test: np.ndarray
    idx_train: np.ndarray
    idx_val: np.ndarray
    idx_test: np.ndarray
    frame: pd.DataFrame
    feature_names: list
    target_name: str
    task: str
    target_in_features: int | None
    baseline_mse: float | None
    lo: float
    hi: float

    def inverse_target(self, y):
        return np.asarray(y) * (self.hi - self.lo) + self.lo


def _windows(frame: pd.DataFrame, T: int, target: str | None = None, train=0.6, val=0.2) -> _Windows:
    target = target or frame.columns[0]
    values = frame.to_numpy(dtype=np.float64)                  # (R, F)
    rows = np.arange(T, len(frame))
    n = len(rows)
    a, b = int(n * train), int(n * (train + val))
    lo, hi = values[: rows[a - 1]].min(axis=0), values[: rows[a - 1]].max(axis=0)
    s = (values - lo) / (hi - lo)
    col = list(frame.columns).index(target)
    X = np.stack([s[r - T:r] for r in rows]).astype(np.float32)
    y = s[rows, col:col + 1].astype(np.float32)
    return _Windows(X[:a], y[:a], X[a:b], y[a:b], X[b:], y[b:], rows[:a], rows[a:b], rows[b:], frame,
                    list(frame.columns), target, "forecast", col, None, float(lo[col]), float(hi[col]))


class _CopyLast(nn.Module):
    """ŷ = the last input of column `col`: the "tomorrow = today" model."""

    def __init__(self, col: int = 0):
        super().__init__()
        self.col = col
        self.w = nn.Parameter(torch.zeros(1))

    def forward(self, x):
        return x[:, -1, self.col:self.col + 1] + 0 * self.w


def _random_walk(n: int, seed: int = 0) -> np.ndarray:
    return 100 + np.cumsum(np.random.default_rng(seed).normal(size=n))


# ----------------------------------------------------------------------------- metrics
def test_metrics_hand_computed():
    m = metrics([1.0, 2.0, 4.0], [1.0, 3.0, 3.0], y_prev=[0.0, 1.0, 2.0])
    # errors 0, 1, −1
    assert m["rmse"] == pytest.approx(math.sqrt(2 / 3))
    assert m["mae"] == pytest.approx(2 / 3)
    # 100 · mean(0/1, 1/2, 1/4)
    assert m["mape"] == pytest.approx(25.0)
    # true changes +1 +1 +2, predicted changes +1 +2 +1: every direction right
    assert m["directional_accuracy"] == pytest.approx(1.0)
    # persistence errors −1 −1 −2
    assert m["naive_rmse"] == pytest.approx(math.sqrt(2))
    # skill score = 1 − RMSE / RMSE_persistence
    assert m["skill_score"] == pytest.approx(1 - math.sqrt(2 / 3) / math.sqrt(2))
    assert m["n"] == 3


def test_perfect_prediction():
    y = _random_walk(60)
    m = metrics(y, y.copy(), y_prev=np.r_[y[0] - 1, y[:-1]])
    assert m["rmse"] == 0 and m["mae"] == 0 and m["mape"] == 0
    assert m["skill_score"] == 1 and m["best_lag"] == 0 and m["directional_accuracy"] == 1


def test_copying_the_last_value_scores_zero_lag_one_and_no_direction():
    y = _random_walk(200)
    truth, prev = y[1:], y[:-1]
    m = metrics(truth, prev, y_prev=prev)
    assert m["skill_score"] == pytest.approx(0.0)
    assert m["best_lag"] == 1
    assert m["directional_accuracy"] is None  # it never predicts a move: no direction to get right


def test_skill_score_sign_reads_the_right_way():
    truth, prev = np.array([1.0, 2.0, 3.0, 4.0]), np.array([0.0, 1.0, 2.0, 3.0])   # persistence errs by 1
    better = metrics(truth, truth + 0.5, y_prev=prev)           # half the baseline's error
    worse = metrics(truth, truth + 2.0, y_prev=prev)            # twice the baseline's error
    assert better["skill_score"] == pytest.approx(0.5) and worse["skill_score"] == pytest.approx(-1.0)
    # equal error is not copying: a forecast that errs by 1 the other way scores 0 and has lag 0
    other = metrics(truth, truth + 1.0, y_prev=prev)
    assert other["skill_score"] == pytest.approx(0.0) and other["directional_accuracy"] == 1.0


def test_direction_skips_unchanged_points_and_counts_wrong_signs():
    m = metrics([1.0, 3.0, 2.0, 5.0], [2.0, 2.5, 1.0, 6.0], y_prev=[1.0, 2.0, 3.0, 4.0])
    # point 0 has no true change (skipped); +1/+0.5 right, −1/−2 right, +1/+2 right
    assert m["directional_accuracy"] == pytest.approx(1.0)
    m = metrics([3.0, 1.0], [1.0, 3.0], y_prev=[2.0, 2.0])
    assert m["directional_accuracy"] == 0.0


def test_mape_skips_zero_truth_and_is_none_when_all_zero_or_crossing_zero():
    assert metrics([0.0, 2.0], [1.0, 3.0])["mape"] == pytest.approx(50.0)
    assert metrics([0.0, 0.0], [1.0, 3.0])["mape"] is None
    assert metrics([-2.0, -4.0], [-1.0, -3.0])["mape"] == pytest.approx(37.5)    # one side of zero: defined
    sine = np.sin(np.arange(1, 200) / 5)                                        # crosses zero: undefined
    assert metrics(sine, sine + 0.05)["mape"] is None


def test_best_lag_finds_the_delay():
    y = _random_walk(300, seed=1)
    assert best_lag(y[10:], y[7:-3]) == 3          # ŷ_t = y_{t−3}
    sine = np.sin(np.arange(200))                  # periodic: only delays are searched
    assert best_lag(sine[1:], sine[:-1]) == 1 and best_lag(sine, sine) == 0
    assert best_lag([1.0, 2.0], [1.0, 2.0]) is None and best_lag(np.ones(50), y[:50]) is None


def test_metrics_undefined_values_are_none_and_json_strict():
    m = metrics([1.0, 2.0, 3.0], [np.nan, 2.0, 3.0], y_prev=[0.0, 1.0, 2.0])
    assert m["rmse"] is None and m["best_lag"] is None and m["skill_score"] is None
    assert m["directional_accuracy"] is None and m["naive_rmse"] == pytest.approx(1.0)
    json.dumps(m, allow_nan=False)
    empty = metrics([], [])
    assert empty["n"] == 0 and empty["rmse"] is None
    with pytest.raises(ValueError):
        metrics([1.0, 2.0], [1.0])


# ----------------------------------------------------------------------------- predict / evaluate
def test_predict_batches_without_grad_and_restores_mode():
    model = build_model(ModelConfig(cell="gru", hidden_size=4), seed=0)
    model.train()
    X = np.random.default_rng(0).normal(size=(37, 6, 1)).astype(np.float32)
    full = predict(model, X)
    assert full.shape == (37, 1) and model.training
    np.testing.assert_allclose(predict(model, X, batch_size=5), full, rtol=1e-6)
    with torch.no_grad():
        model.eval()
        np.testing.assert_allclose(model(torch.from_numpy(X)).numpy(), full, rtol=1e-6)


def test_evaluate_copy_last_model_equals_persistence_in_real_units():
    dates = pd.bdate_range("2021-01-04", periods=120, name="date")
    frame = pd.DataFrame({"Close": _random_walk(120)}, index=dates)
    w = _windows(frame, T=8)
    result = evaluate(_CopyLast(), w)
    assert result["baseline"] == "persistence" and result["task"] == "forecast"
    for split, rows in (("train", w.idx_train), ("val", w.idx_val), ("test", w.idx_test)):
        S = result[split]
        np.testing.assert_allclose(S["y_true"], frame["Close"].to_numpy()[rows])
        np.testing.assert_allclose(S["y_pred"], S["persistence"], rtol=1e-5)
        assert S["index"] == [d.strftime("%Y-%m-%d") for d in dates[rows]]
        model = S["metrics"]["model"]
        assert model["skill_score"] == pytest.approx(0.0, abs=1e-4) and model["best_lag"] == 1
        assert S["metrics"]["persistence"]["skill_score"] == pytest.approx(0.0)
        assert S["metrics"]["persistence"]["directional_accuracy"] is None
    r = int(w.idx_test[3])
    closes = frame["Close"].to_numpy()
    assert result["test"]["moving_average"][3] == pytest.approx(closes[r - 5:r].mean())
    json.dumps(result, allow_nan=False)


def _sequence_windows(n=60, T=5, seed=0) -> _Windows:
    rng = np.random.default_rng(seed)
    X = rng.uniform(size=(n, T, 2)).astype(np.float32)
    y = (X[:, 0, :1] + X[:, -1, :1]).astype(np.float32)          # scaled target in [0, 2]
    a, b = 36, 48
    rows = np.arange(n)
    frame = pd.DataFrame({"value": np.zeros(T), "marker": np.zeros(T)})
    return _Windows(X[:a], y[:a], X[a:b], y[a:b], X[b:], y[b:], rows[:a], rows[a:b], rows[b:], frame,
                    ["value", "marker"], "sum", "sequence", None, 0.167, 10.0, 30.0)


def test_evaluate_sequence_task_uses_the_constant_guess():
    w = _sequence_windows()
    model = build_model(ModelConfig(cell="lstm", hidden_size=4, input_size=2), seed=0)
    result = evaluate(model, w)
    assert result["baseline"] == "constant"
    train_mean = w.inverse_target(w.y_train).mean()
    for split in ("train", "val", "test"):
        S = result[split]
        assert S["persistence"] is None and S["moving_average"] is None
        assert S["constant"] == pytest.approx([train_mean] * len(S["y_true"]))
        y_true = np.asarray(S["y_true"])
        const_rmse = float(np.sqrt(np.mean((y_true - train_mean) ** 2)))
        model_m = S["metrics"]["model"]
        assert S["metrics"]["constant"]["rmse"] == pytest.approx(const_rmse)
        assert model_m["naive_rmse"] == pytest.approx(const_rmse)
        assert model_m["skill_score"] == pytest.approx(1 - model_m["rmse"] / const_rmse)
        assert model_m["best_lag"] is None and model_m["directional_accuracy"] is None
    json.dumps(result, allow_nan=False)


# ----------------------------------------------------------------------------- closed loop
def test_closed_loop_feeds_predictions_back_and_continues_past_the_data():
    dates = pd.bdate_range("2022-01-03", periods=60, name="date")   # ends on a Friday
    frame = pd.DataFrame({"Close": _random_walk(60, seed=2)}, index=dates)
    w = _windows(frame, T=6)
    remaining = len(frame) - int(w.idx_test[0])
    out = closed_loop(_CopyLast(), w, n_steps=remaining + 4)
    last_known = frame["Close"].iloc[int(w.idx_test[0]) - 1]
    # a copy-last model fed its own output repeats the last real value for ever
    assert out["y_pred"] == pytest.approx([last_known] * (remaining + 4), rel=1e-5)
    assert out["n_known"] == remaining and out["stopped"] is None
    assert out["y_true"][:remaining] == pytest.approx(frame["Close"].to_numpy()[-remaining:].tolist())
    assert out["y_true"][remaining:] == [None] * 4
    # trading days continue after the last date: Mon … Thu of the next week
    assert out["index"][remaining - 1] == dates[-1].strftime("%Y-%m-%d")
    assert out["index"][remaining:] == ["2022-03-28", "2022-03-29", "2022-03-30", "2022-03-31"]
    assert out["context"] == pytest.approx(frame["Close"].to_numpy()[w.idx_test[0] - 6:w.idx_test[0]].tolist())
    json.dumps(out, allow_nan=False)


def test_closed_loop_uses_known_exogenous_features_and_stops_where_unknown():
    rng = np.random.default_rng(3)
    frame = pd.DataFrame({"y": rng.normal(size=50), "x": rng.normal(size=50)})
    w = _windows(frame, T=4)
    r0 = int(w.idx_test[0])
    # ŷ = last input of the exogenous column x: step k sees the true x of row r0 + k − 1
    out = closed_loop(_CopyLast(col=1), w, n_steps=100)
    x_scaled = (frame["x"].to_numpy() - frame["x"].iloc[: w.idx_train[-1]].min()) / (
        frame["x"].iloc[: w.idx_train[-1]].max() - frame["x"].iloc[: w.idx_train[-1]].min())
    expected = w.inverse_target(x_scaled[r0 - 1: r0 - 1 + len(out["y_pred"])])
    assert out["y_pred"] == pytest.approx(expected.tolist(), rel=1e-5, abs=1e-6)
    assert out["stopped"] and "unknown" in out["stopped"]
    assert len(out["y_pred"]) < 100 and all(v is not None for v in out["y_true"])
    assert out["index"] == list(range(r0, r0 + len(out["y_pred"])))


def test_closed_loop_refuses_sequence_tasks_and_bad_steps():
    with pytest.raises(EvaluationError, match="forecast"):
        closed_loop(_CopyLast(), _sequence_windows(), 10)
    frame = pd.DataFrame({"v": _random_walk(40)})
    with pytest.raises(EvaluationError, match="between"):
        closed_loop(_CopyLast(), _windows(frame, T=4), 0)


def test_closed_loop_follows_a_sine_after_training():
    t = np.arange(250)
    frame = pd.DataFrame({"value": np.sin(2 * np.pi * t / 20)})
    w = _windows(frame, T=20)
    model = build_model(ModelConfig(cell="gru", hidden_size=8), seed=0)
    opt = torch.optim.Adam(model.parameters(), lr=0.03)
    X, y = torch.from_numpy(w.X_train), torch.from_numpy(w.y_train)
    for _ in range(120):
        opt.zero_grad()
        loss = ((model(X) - y) ** 2).mean()
        loss.backward()
        opt.step()
    out = closed_loop(model, w, n_steps=30)
    err = np.abs(np.asarray(out["y_pred"]) - np.asarray(out["y_true"]))
    assert out["n_known"] == 30
    assert err.max() < 0.2, f"closed loop drifted from the sine: max error {err.max():.3f}"
    # and it is a forecast, not a constant: it swings through most of the wave
    assert np.ptp(out["y_pred"]) > 1.5


# ----------------------------------------------------------------------------- with windows.prepare
def test_evaluate_real_sine_windows_in_real_units():
    from rnn_core.config import DataConfig
    from rnn_core.data.windows import prepare

    w = prepare(DataConfig(dataset="sine", timesteps=10, params={"length": 200}))
    result = evaluate(_CopyLast(w.target_in_features), w)
    series = w.frame[w.target_name].to_numpy()
    S = result["test"]
    np.testing.assert_allclose(S["y_true"], series[w.idx_test], atol=1e-6)
    np.testing.assert_allclose(S["persistence"], series[w.idx_test - 1])
    np.testing.assert_allclose(S["y_pred"], S["persistence"], atol=1e-5)
    assert S["index"] == [int(r) for r in w.idx_test]      # a step index stays step numbers
    assert S["metrics"]["model"]["skill_score"] == pytest.approx(0.0, abs=1e-4)


def test_evaluate_real_adding_problem_constant_baseline_matches_windows():
    from rnn_core.config import DataConfig
    from rnn_core.data.windows import prepare

    w = prepare(DataConfig(dataset="adding", timesteps=8, params={"n_samples": 200}))
    model = build_model(ModelConfig(cell="rnn", hidden_size=4, input_size=2), seed=0)
    result = evaluate(model, w)
    assert result["baseline"] == "constant"
    # the constant guess's training MSE, brought back to scaled units, is the windows' baseline_mse
    const_rmse = result["train"]["metrics"]["constant"]["rmse"]
    scale = float(w.inverse_target(1.0) - w.inverse_target(0.0))
    assert (const_rmse / scale) ** 2 == pytest.approx(w.baseline_mse, rel=1e-6)


def test_closed_loop_on_several_real_features_runs_to_the_end_of_the_data():
    from rnn_core.config import DataConfig
    from rnn_core.data.windows import prepare

    w = prepare(DataConfig(dataset="eu_stocks", timesteps=5, features=["DAX", "SMI"], target="DAX"))
    out = closed_loop(_CopyLast(col=1), w, n_steps=len(w.frame))   # ŷ_DAX := last SMI (scaled)
    r0 = int(w.idx_test[0])
    # every row of the data, plus the one step past its end that the last known features allow
    n_known = len(w.frame) - r0
    assert out["n_known"] == n_known and len(out["y_pred"]) == n_known + 1
    assert "unknown" in out["stopped"] and out["y_true"][-1] is None
    smi = w.scaler.transform(w.frame[["SMI"]].to_numpy(), ["SMI"])[:, 0]
    np.testing.assert_allclose(out["y_pred"], w.inverse_target(smi[r0 - 1:]), rtol=1e-5)
    assert out["index"][-2] == w.frame.index[-1].strftime("%Y-%m-%d")
    assert out["index"][-1] > out["index"][-2]


@pytest.mark.parametrize("dataset", ["sine", "adding"])
def test_scaled_loss_is_the_trainers_mse_at_the_final_weights(dataset):
    """What a run without validation windows is judged on: the MSE of the model's one-step predictions
    in the scaled units of the trainer's losses, equal to F.mse_loss on the scaled training windows."""
    from rnn_core.config import DataConfig
    from rnn_core.data.windows import prepare
    from rnn_core.measure.evaluate import scaled_loss

    params = {"length": 300} if dataset == "sine" else {"n_samples": 200}
    w = prepare(DataConfig(dataset=dataset, timesteps=10, params=params, val_frac=0.0, train_frac=0.8))
    model = build_model(ModelConfig(input_size=w.n_features, hidden_size=6), seed=0).double()
    with torch.no_grad():
        exact = torch.nn.functional.mse_loss(model(torch.as_tensor(w.X_train, dtype=torch.float64)),
                                             torch.as_tensor(w.y_train, dtype=torch.float64)).item()
    result = evaluate(model, w)
    assert scaled_loss(result, w, "train") == pytest.approx(exact, rel=1e-4)
    assert scaled_loss(result, w, "val") is None and scaled_loss({"task": "text"}, w, "train") is None


def test_the_verdict_judges_the_loss_it_is_given():
    from rnn_core.measure.verdict import run_verdict

    epochs = [{"epoch": 3, "train_loss": 0.000489, "val_loss": None}]          # a mean over the steps
    assert "87% worse" in run_verdict(epochs, None, 0.000262, "forecast").text
    exact = run_verdict(epochs, None, 0.000262, "forecast", loss=0.000432)      # at the final weights
    assert exact.text.startswith("65% worse than tomorrow = today (training loss 0.000432") and exact.loss == 0.000432
