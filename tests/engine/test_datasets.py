"""The dataset registry: every entry loads offline, with the right shape, no NaN, and seeds that hold."""

from __future__ import annotations

import re
import socket

import numpy as np
import pandas as pd
import pytest

from rnn_core.data.errors import DataError
from rnn_core.data.long_memory import adding_problem, delayed_echo
from rnn_core.data.registry import DATASETS, GROUPS, Param, get_dataset

SERIES = [n for n, d in DATASETS.items() if d.task == "forecast" and n not in ("yahoo", "csv")]
SYNTHETIC = [n for n, d in DATASETS.items() if d.group == "Synthetic"]
OFFLINE = [n for n, d in DATASETS.items() if d.group == "Real (offline)"]


@pytest.fixture(autouse=True)
def no_network(monkeypatch):
    """Any Python-level connection attempt fails the test: the offline sets must never need one."""
    def refuse(*args, **kwargs):
        raise AssertionError("a dataset tried to open a network connection")
    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)


def test_registry_entries_are_complete():
    assert {"sine", "sines", "square", "sawtooth", "mackey_glass", "adding", "echo", "djia", "aapl", "goog",
            "msft", "eu_stocks", "sunspots", "airpassengers", "yahoo", "csv"} <= set(DATASETS)
    for name, ds in DATASETS.items():
        assert re.fullmatch(r"[a-z][a-z0-9_]*", name) and ds.name == name
        assert ds.group in GROUPS and ds.task in ("forecast", "sequence", "text")
        assert ds.title and ds.description and "\n" not in ds.description
        for p in ds.params:
            assert p.coerce(p.default) == p.default          # every default passes its own checks
    assert DATASETS["yahoo"].group == "Live (yfinance)" and DATASETS["csv"].group == "Upload"
    assert [p.name for p in DATASETS["yahoo"].params] == ["ticker", "start", "end", "columns"]
    assert [p.name for p in DATASETS["sine"].params] == ["length", "period", "noise", "seed"]
    assert [p.name for p in DATASETS["echo"].params] == ["lag", "n_samples", "seed"]
    assert [p.name for p in DATASETS["adding"].params] == ["n_samples", "seed"]


@pytest.mark.parametrize("name", SERIES)
def test_series_load_shape_no_nan_sorted_index(name):
    ds = DATASETS[name]
    frame = ds.load()
    assert len(frame) >= 100
    assert all(pd.api.types.is_float_dtype(frame[c]) for c in frame.columns)
    assert not frame.isna().any().any() and np.isfinite(frame.to_numpy()).all()
    assert frame.index.is_monotonic_increasing and frame.index.is_unique
    assert set(ds.features) <= set(frame.columns) and ds.target in frame.columns


@pytest.mark.parametrize("name", SYNTHETIC)
def test_synthetic_deterministic_by_seed(name):
    ds = DATASETS[name]
    a = ds.load(length=300, noise=0.1, seed=3)
    b = ds.load(length=300, noise=0.1, seed=3)
    c = ds.load(length=300, noise=0.1, seed=4)
    assert a.shape == (300, 1) and a.index.name == "step"
    pd.testing.assert_frame_equal(a, b)
    assert not np.allclose(a.to_numpy(), c.to_numpy())


def test_sine_default_draws_as_a_wave_and_the_tutorials_sin_t_is_one_setting_away():
    """40 steps per cycle by default (the tutorials' sin t, 6.3 steps per cycle, draws as a solid block and
    makes 'tomorrow = today' a weak baseline); period 2π gives exactly sin t."""
    t = np.arange(200)
    frame = DATASETS["sine"].load(length=200)
    np.testing.assert_allclose(frame["value"].to_numpy(), np.sin(2 * np.pi * t / 40), atol=1e-12)
    tutorial = DATASETS["sine"].load(length=200, period=2 * np.pi)
    np.testing.assert_allclose(tutorial["value"].to_numpy(), np.sin(t), atol=1e-12)


def test_square_and_sawtooth_shapes():
    sq = DATASETS["square"].load(length=80, period=40.0)["value"].to_numpy()
    assert set(np.unique(sq)) == {-1.0, 1.0} and (sq[:20] == 1).all() and (sq[20:40] == -1).all()
    saw = DATASETS["sawtooth"].load(length=80, period=40.0)["value"].to_numpy()
    assert saw[0] == -1.0 and np.all(np.diff(saw[:40]) > 0) and saw[40] == -1.0


def test_sines_components_change_the_series():
    one = DATASETS["sines"].load(length=500, components=1)["value"].to_numpy()
    three = DATASETS["sines"].load(length=500, components=3)["value"].to_numpy()
    assert np.abs(one).max() <= 1.0 + 1e-12 and not np.allclose(one, three)


def test_mackey_glass_is_bounded_and_depends_on_tau():
    mg = DATASETS["mackey_glass"].load(length=1500)["value"].to_numpy()
    assert mg.min() > 0.2 and mg.max() < 1.5 and mg.std() > 0.1
    other = DATASETS["mackey_glass"].load(length=1500, tau=30)["value"].to_numpy()
    assert not np.allclose(mg, other)


def test_real_sets_have_real_dates_and_known_sizes():
    djia = DATASETS["djia"].load()
    assert isinstance(djia.index, pd.DatetimeIndex) and len(djia) == 8610
    assert djia.index[0] == pd.Timestamp("1980-01-01") and djia.index[-1] == pd.Timestamp("2012-12-31")
    assert djia["DJIA"].iloc[-1] == pytest.approx(13104.14)
    tech = DATASETS["aapl"].load()
    assert list(tech.columns) == ["AAPL", "GOOG", "MSFT"] and len(tech) == 504
    assert tech.index[0] == pd.Timestamp("2015-12-01") and tech.index[-1] == pd.Timestamp("2017-12-01")
    for sym in ("aapl", "goog", "msft"):
        assert DATASETS[sym].target == sym.upper() and DATASETS[sym].features == (sym.upper(),)
    eu = DATASETS["eu_stocks"]
    frame = eu.load()
    assert eu.features == ("DAX", "SMI", "CAC", "FTSE") and eu.target == "DAX" and len(frame) == 1860
    assert frame.index[0].year == 1991 and frame.index[-1].year == 1998
    spots = DATASETS["sunspots"].load()
    assert spots.index[0] == pd.Timestamp("1749-01-01") and (spots.index[1:].month != spots.index[:-1].month).all()
    air = DATASETS["airpassengers"].load()
    assert len(air) == 144 and air["passengers"].iloc[0] == 112 and air.index[-1] == pd.Timestamp("1960-12-01")


def test_adding_problem_markers_and_targets():
    X, y = adding_problem(timesteps=20, n_samples=4000, seed=1)
    assert X.shape == (4000, 20, 2) and y.shape == (4000, 1)
    values, markers = X[..., 0], X[..., 1]
    assert ((values >= 0) & (values <= 1)).all()
    assert (markers.sum(axis=1) == 2).all()
    assert (markers[:, :10].sum(axis=1) == 1).all() and (markers[:, 10:].sum(axis=1) == 1).all()
    np.testing.assert_allclose(y[:, 0], (values * markers).sum(axis=1))
    # constant guess 1.0: E[(u1 + u2 − 1)²] = 2/12 ≈ 0.167
    assert np.mean((y - 1.0) ** 2) == pytest.approx(1 / 6, abs=0.01)
    X2, y2 = adding_problem(timesteps=20, n_samples=4000, seed=1)
    np.testing.assert_array_equal(X, X2)
    np.testing.assert_array_equal(y, y2)
    assert not np.array_equal(y, adding_problem(timesteps=20, n_samples=4000, seed=2)[1])


def test_adding_needs_two_timesteps():
    with pytest.raises(DataError, match="at least 2 timesteps"):
        adding_problem(timesteps=1, n_samples=100, seed=0)


def test_echo_target_is_the_input_lag_steps_back():
    X, y = delayed_echo(timesteps=12, n_samples=300, lag=5, seed=0)
    assert X.shape == (300, 12, 1) and y.shape == (300, 1)
    np.testing.assert_array_equal(y[:, 0], X[:, 12 - 1 - 5, 0])
    with pytest.raises(DataError, match=r"lag 12 the window must hold at least 13 timesteps"):
        delayed_echo(timesteps=12, n_samples=300, lag=12, seed=0)


def test_sequence_datasets_generate_and_preview():
    ds = DATASETS["echo"]
    X, y = ds.generate(30, lag=3, n_samples=200, seed=9)
    assert X.shape == (200, 30, 1) and not np.isnan(X).any()
    preview = ds.load(timesteps=30, lag=3, n_samples=200, seed=9)
    np.testing.assert_array_equal(preview["x"].to_numpy(), X[0, :, 0])
    assert preview.attrs["target"] == pytest.approx(y[0, 0])
    assert DATASETS["adding"].load(timesteps=10, n_samples=100).shape == (10, 2)


def test_sequence_size_is_bounded():
    with pytest.raises(DataError, match="one run's windows may use; use at most 9,985 samples at T = 1000"):
        DATASETS["adding"].generate(1000, n_samples=50_000)


def test_params_are_cast_and_range_checked():
    ds = DATASETS["sine"]
    assert ds.resolve({"length": "300", "noise": "0.5", "unknown": 1}) == {
        "length": 300, "period": ds.defaults()["period"], "noise": 0.5, "seed": 0}
    with pytest.raises(DataError, match=r"Length .* must be between 50 and 100,000, got 10"):
        ds.load(length=10)
    with pytest.raises(DataError, match="must be a number"):
        ds.load(noise="lots")
    assert Param("ticker", "Ticker", "AAPL").coerce(1234) == "1234"


def test_unknown_dataset_and_empty_csv_entry():
    with pytest.raises(DataError, match="Unknown dataset 'nope'"):
        get_dataset("nope")
    with pytest.raises(DataError, match="Upload a CSV file first"):
        DATASETS["csv"].load()
