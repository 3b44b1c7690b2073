"""A run's windows travel to a worker process as bytes without pickle (rnn_core/data/windows_codec.py) and
come back equal: every array bit for bit with its dtype, the frame with its index (dates past 2262
included), the scaler, and a text run's vocabulary and texts."""

import numpy as np
import pandas as pd
import pytest

from rnn_core.config import DataConfig
from rnn_core.data import csv_upload
from rnn_core.data.windows import make_windows, prepare
from rnn_core.data.windows_codec import ARRAYS, windows_from_bytes, windows_to_bytes


def _assert_same(a, b):
    for name in ARRAYS:
        x, y = getattr(a, name), getattr(b, name)
        assert x.dtype == y.dtype and x.shape == y.shape and np.array_equal(x, y), name
    pd.testing.assert_frame_equal(a.frame, b.frame)
    assert (a.feature_names, a.target_name, a.task, a.target_in_features, a.baseline_mse) == (
        b.feature_names, b.target_name, b.task, b.target_in_features, b.baseline_mse)
    assert a.scaler.kind == b.scaler.kind and a.scaler.columns == b.scaler.columns
    assert np.array_equal(a.scaler.offset, b.scaler.offset) and np.array_equal(a.scaler.scale, b.scaler.scale)
    assert a.text == b.text


@pytest.mark.parametrize("data", [
    DataConfig(dataset="sine", timesteps=12),
    DataConfig(dataset="djia", timesteps=20, scaler="standard"),
    DataConfig(dataset="echo", timesteps=15, params={"lag": 5, "n_samples": 300}),
    DataConfig(dataset="brackets", timesteps=10, params={"span": 4, "length": 3000, "windows": 300}),
], ids=["sine", "djia", "echo", "brackets"])
def test_windows_round_trip_without_pickle(data):
    w = prepare(data)
    back = windows_from_bytes(windows_to_bytes(w))
    _assert_same(w, back)
    assert back.inverse_target([0.25]).tolist() == w.inverse_target([0.25]).tolist()


def test_an_upload_with_dates_after_2262_round_trips():
    text = "Date,v,u\n" + "".join(f"{2250 + i}-01-01,{(i * 37) % 11},{i}\n" for i in range(60))
    frame = csv_upload.read_csv_upload(text.encode())
    w = make_windows(frame, 5, ["v", "u"], "v")
    back = windows_from_bytes(windows_to_bytes(w))
    _assert_same(w, back)
    assert back.frame.index[-1].year == 2309


def test_the_bytes_hold_no_pickle():
    data = windows_to_bytes(prepare(DataConfig(dataset="sine", timesteps=8)))
    with np.load(__import__("io").BytesIO(data), allow_pickle=False) as npz:
        assert all(npz[name].dtype != object for name in npz.files)


def test_the_naive_guess_kept_on_the_windows_changes_neither_its_bytes_nor_its_numbers():
    """`Windows.naive_losses` keeps its answer per split (a room's pages ask at every redraw): the bytes and the
    digest a run store keys runs by stay those of the windows alone, and the numbers are those computed afresh."""
    from rnn_core.data.windows_codec import windows_digest

    w = prepare(DataConfig(dataset="sine", timesteps=10, params={"length": 400}))
    fresh = prepare(DataConfig(dataset="sine", timesteps=10, params={"length": 400}))
    before, digest = windows_to_bytes(w), windows_digest(fresh)
    naive = w.naive_losses("val")
    naive["constant"] = -1.0                                     # a caller's copy, not what is kept
    assert w.naive_losses("val") == fresh.naive_losses("val") != naive
    assert w.naive_losses("train") == fresh.naive_losses("train") != w.naive_losses("val")
    assert windows_to_bytes(w) == before and windows_digest(w) == digest
    _assert_same(windows_from_bytes(before), w)
