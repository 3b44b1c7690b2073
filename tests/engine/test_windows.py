"""Windowing: shapes and alignment as the tutorials teach, chronological splits, no leakage into the scaler."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from rnn_core.config import DataConfig
from rnn_core.data.errors import DataError
from rnn_core.data.windows import MIN_WINDOWS, Scaler, Windows, make_windows, prepare


def ramp(n: int = 200, extra: bool = False) -> pd.DataFrame:
    """value_t = t (so every window says which rows it holds); `other` = 1000 − 2t as a second column."""
    data = {"value": np.arange(n, dtype=float)}
    if extra:
        data["other"] = 1000.0 - 2.0 * np.arange(n)
    return pd.DataFrame(data, index=pd.RangeIndex(n, name="step"))


def test_window_i_holds_rows_i_to_i_plus_T_minus_1_and_targets_row_i_plus_T():
    frame, T = ramp(200), 10
    w = make_windows(frame, T, ["value"], "value", 0.7, 0.15, "minmax")
    assert isinstance(w, Windows) and w.task == "forecast" and w.baseline_mse is None
    X = np.concatenate([w.X_train, w.X_val, w.X_test])
    y = np.concatenate([w.y_train, w.y_val, w.y_test])
    idx = np.concatenate([w.idx_train, w.idx_val, w.idx_test])
    assert X.shape == (190, T, 1) and y.shape == (190, 1) and X.dtype == np.float32
    np.testing.assert_array_equal(idx, np.arange(T, 200))
    real_X = w.scaler.inverse(X[..., 0], ["value"])                 # back to row numbers
    np.testing.assert_allclose(real_X, np.arange(190)[:, None] + np.arange(T)[None, :], atol=1e-3)
    np.testing.assert_allclose(w.inverse_target(y)[:, 0], idx, atol=1e-3)
    assert w.target_in_features == 0 and w.timesteps == T and w.n_features == 1
    pd.testing.assert_frame_equal(w.frame, frame)


def test_split_is_chronological_by_target_and_sized_by_fractions():
    w = make_windows(ramp(230), 30, ["value"], "value", 0.7, 0.15, "minmax")
    assert w.sizes() == {"train": 140, "val": 30, "test": 30}
    assert w.idx_train.max() < w.idx_val.min() and w.idx_val.max() < w.idx_test.min()
    assert w.idx_test.max() == 229


@pytest.mark.parametrize("kind", ["minmax", "standard"])
def test_scaler_statistics_are_those_of_the_training_rows_alone(kind):
    rng = np.random.default_rng(0)
    frame = pd.DataFrame({"a": rng.normal(5, 2, 300).cumsum(), "b": rng.uniform(0, 9, 300)})
    T = 20
    w = make_windows(frame, T, ["a", "b"], "a", 0.6, 0.2, kind)
    n_train = len(w.X_train)
    rows = frame.iloc[: n_train + T]                               # every row a training window touches
    assert w.idx_train.max() == n_train - 1 + T
    if kind == "minmax":
        np.testing.assert_allclose(w.scaler.offset[:2], rows.min().to_numpy())
        np.testing.assert_allclose(w.scaler.scale[:2], (rows.max() - rows.min()).to_numpy())
        assert w.X_train.min() >= -1e-6 and w.X_train.max() <= 1 + 1e-6
    else:
        np.testing.assert_allclose(w.scaler.offset[:2], rows.mean().to_numpy())
        np.testing.assert_allclose(w.scaler.scale[:2], rows.std(ddof=0).to_numpy())
    # the target's statistics are its training rows' too
    assert w.scaler.offset[-1] == pytest.approx(w.scaler.offset[0])


def test_changing_the_test_part_changes_neither_scaler_nor_training_windows():
    frame = ramp(300, extra=True)
    T = 25
    base = make_windows(frame, T, ["value", "other"], "value", 0.6, 0.2, "minmax")
    first_later_row = len(base.X_train) + T                       # the first row no training window touches
    changed = frame.copy()
    changed.iloc[first_later_row:] = 1e6                           # huge values in validation / test rows
    after = make_windows(changed, T, ["value", "other"], "value", 0.6, 0.2, "minmax")
    np.testing.assert_array_equal(after.scaler.offset, base.scaler.offset)
    np.testing.assert_array_equal(after.scaler.scale, base.scaler.scale)
    np.testing.assert_array_equal(after.X_train, base.X_train)
    np.testing.assert_array_equal(after.y_train, base.y_train)
    assert not np.array_equal(after.X_test, base.X_test)
    # … while a change inside the training rows does move the scaler (the check above can fail)
    touched = frame.copy()
    touched.iloc[first_later_row - 1, 0] = 1e6
    assert make_windows(touched, T, ["value", "other"], "value", 0.6, 0.2, "minmax").scaler.scale[0] != \
        base.scaler.scale[0]


def test_target_outside_features_and_inverse_target_roundtrip():
    frame = ramp(150, extra=True)
    w = make_windows(frame, 5, ["other"], "value", 0.7, 0.15, "standard")
    assert w.target_in_features is None and w.feature_names == ["other"] and w.target_name == "value"
    np.testing.assert_allclose(w.inverse_target(w.y_test)[:, 0], frame["value"].to_numpy()[w.idx_test],
                               rtol=1e-5)


def test_too_few_rows_for_the_timesteps_is_a_sentence():
    with pytest.raises(DataError) as err:
        make_windows(ramp(120), 100, ["value"], "value", 0.7, 0.15, "minmax")
    msg = str(err.value)
    assert "The series has 120 rows; with 100 timesteps only 20 windows remain" in msg
    assert f"fewer than the {MIN_WINDOWS}" in msg and "lower the timesteps to at most 90" in msg
    with pytest.raises(DataError, match="only 0 windows remain"):
        make_windows(ramp(50), 60, ["value"], "value", 0.7, 0.15, "minmax")


def test_an_empty_split_is_a_sentence():
    with pytest.raises(DataError, match="validation part of the split is empty"):
        make_windows(ramp(40), 5, ["value"], "value", 0.9, 0.02, "minmax")


def test_missing_values_unknown_columns_and_bad_config_are_sentences():
    frame = ramp(100)
    frame.iloc[40, 0] = np.nan
    with pytest.raises(DataError, match="'value' has 1 missing values"):
        make_windows(frame, 5, ["value"], "value", 0.7, 0.15, "minmax")
    with pytest.raises(DataError, match="There is no column 'price'"):
        make_windows(ramp(100), 5, ["price"], "value", 0.7, 0.15, "minmax")
    with pytest.raises(DataError, match="timesteps must be between"):
        prepare(DataConfig(dataset="sine", timesteps=0))
    with pytest.raises(DataError, match="Unknown dataset"):
        prepare(DataConfig(dataset="nope"))


def test_prepare_every_series_dataset_offline():
    for name, F in (("sine", 1), ("eu_stocks", 4), ("airpassengers", 1), ("aapl", 1)):
        w = prepare(DataConfig(dataset=name, timesteps=12))
        assert w.X_train.shape[1:] == (12, F) and not np.isnan(w.X_train).any()
        assert len(w.X_val) and len(w.X_test)
    eu = prepare(DataConfig(dataset="eu_stocks", timesteps=8))
    assert eu.feature_names == ["DAX", "SMI", "CAC", "FTSE"] and eu.target_name == "DAX"
    assert eu.target_in_features == 0 and isinstance(eu.frame.index, pd.DatetimeIndex)
    extra = prepare(DataConfig(dataset="aapl", timesteps=8, features=["AAPL", "MSFT"], target="MSFT"))
    assert extra.target_in_features == 1 and extra.n_features == 2


def test_prepare_is_deterministic_by_seed():
    cfg = DataConfig(dataset="sines", timesteps=10, params={"noise": 0.2, "seed": 5, "length": 300})
    a, b = prepare(cfg), prepare(cfg)
    np.testing.assert_array_equal(a.X_train, b.X_train)
    np.testing.assert_array_equal(a.y_test, b.y_test)


def test_prepare_with_a_frame_uses_every_column_for_upload_and_yahoo():
    frame = ramp(120, extra=True)
    w = prepare(DataConfig(dataset="csv", timesteps=6), frame=frame)
    assert w.feature_names == ["value", "other"] and w.target_name == "value"
    yf_frame = pd.DataFrame({"Close": np.linspace(1, 2, 100), "Volume": np.linspace(5, 9, 100)})
    y = prepare(DataConfig(dataset="yahoo", timesteps=6), frame=yf_frame)
    assert y.feature_names == ["Close", "Volume"] and y.target_name == "Close"
    with pytest.raises(DataError, match="Upload a CSV file first"):
        prepare(DataConfig(dataset="csv"))


def test_adding_problem_windows_and_baseline_in_scaled_units():
    cfg = DataConfig(dataset="adding", timesteps=20, params={"n_samples": 3000, "seed": 2})
    w = prepare(cfg)
    assert w.task == "sequence" and w.X_train.shape == (2100, 20, 2) and w.y_train.shape == (2100, 1)
    assert w.sizes() == {"train": 2100, "val": 450, "test": 450}
    y_train = w.y_train.astype(np.float64)
    assert w.baseline_mse == pytest.approx(np.mean((y_train - y_train.mean()) ** 2))
    # in raw units the constant guess scores ≈ 1/6; the scaled baseline is that over scale²
    assert w.baseline_mse * w.scaler.scale[-1] ** 2 == pytest.approx(1 / 6, abs=0.01)
    raw_y = w.inverse_target(np.concatenate([w.y_train, w.y_val, w.y_test]))[:, 0]
    np.testing.assert_allclose(raw_y, w.frame["sum"].to_numpy(), atol=1e-5)
    np.testing.assert_array_equal(w.idx_test, np.arange(2550, 3000))
    # the scaler saw only the training samples
    from rnn_core.data.long_memory import adding_problem
    X_raw, y_raw = adding_problem(20, 3000, 2)
    assert w.scaler.offset[-1] == y_raw[:2100].min() and w.scaler.offset[0] == X_raw[:2100, :, 0].min()
    std = prepare(DataConfig(dataset="adding", timesteps=20, scaler="standard",
                             params={"n_samples": 3000, "seed": 2}))
    assert std.baseline_mse == pytest.approx(1.0, abs=1e-6)


def test_echo_windows_need_more_timesteps_than_the_lag():
    w = prepare(DataConfig(dataset="echo", timesteps=15, params={"lag": 4, "n_samples": 500}))
    X = w.scaler.inverse(w.X_train[..., 0], ["x"])
    np.testing.assert_allclose(w.inverse_target(w.y_train)[:, 0], X[:, 15 - 1 - 4], atol=1e-5)
    assert w.target_in_features is None and w.baseline_mse > 0
    with pytest.raises(DataError, match="needs more timesteps than its lag"):
        prepare(DataConfig(dataset="echo", timesteps=10, params={"lag": 10}))


def test_scaler_never_divides_by_zero_and_records_plainly():
    sc = Scaler.fit("minmax", np.array([[1.0, 2.0], [1.0, 4.0]]), ["flat", "x"])
    assert sc.scale.tolist() == [1.0, 2.0]
    np.testing.assert_allclose(sc.inverse(sc.transform([[1.0, 3.0]])), [[1.0, 3.0]])
    assert sc.to_dict() == {"kind": "minmax", "columns": ["flat", "x"], "offset": [1.0, 2.0], "scale": [1.0, 2.0]}
    with pytest.raises(DataError, match="Unknown scaler"):
        Scaler.fit("robust", np.ones((3, 1)), ["x"])


def test_naive_losses_agree_with_the_baselines_the_charts_draw():
    """The CLI's header numbers equal what the app already draws, on the split the verdict judges: the
    constant guess of a sequence task and persistence of a forecast, both on the validation windows
    (`baseline_mse` stays the constant guess on the training samples)."""
    from rnn_core.data.windows import naive_loss, naive_split
    from ui.views import baseline_mse

    adding = prepare(DataConfig(dataset="adding", timesteps=20, params={"n_samples": 300}))
    naive = adding.naive_losses("train")
    assert naive["constant"] == pytest.approx(adding.baseline_mse) and naive["persistence"] is None
    # the verdict and the metrics table's validation rows compare a validation loss with the guess on
    # the same validation samples, not with the training split's (a different number)
    assert naive_split(adding) == "val"
    assert baseline_mse(adding) == pytest.approx(adding.naive_losses("val")["constant"])
    assert baseline_mse(adding) != pytest.approx(adding.baseline_mse)
    no_val = prepare(DataConfig(dataset="adding", timesteps=20, params={"n_samples": 300}, val_frac=0.0))
    assert naive_split(no_val) == "train" and naive_loss(no_val) == pytest.approx(no_val.baseline_mse)

    sine = prepare(DataConfig(dataset="sine", timesteps=20, params={"length": 400}))
    naive = sine.naive_losses("val")
    assert naive["persistence"] == pytest.approx(baseline_mse(sine))
    y = sine.y_val.astype(np.float64)
    assert naive["constant"] == pytest.approx(np.mean((y - sine.y_train.mean()) ** 2))
    assert sine.naive_losses("test")["constant"] > 0


def test_closed_loop_plan_runs_past_the_test_part():
    from rnn_core.measure.closed_loop import MAX_CLOSED_LOOP, closed_loop_plan

    w = prepare(DataConfig(dataset="sine", timesteps=8, params={"length": 300}))
    n, start = closed_loop_plan(w)
    assert start == "test" and n == max(20, len(w.X_test) + max(10, len(w.X_test) // 5)) <= MAX_CLOSED_LOOP
