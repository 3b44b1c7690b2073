"""Reliability and safety through the library and the CLI: bad input, extreme settings, no network.

- The bad-CSV matrix (`BAD_CSVS`, shared with tests/pages/test_reliability_app.py): every broken file gives
  one `DataError` sentence naming the problem from `read_csv_upload` + `windows.prepare`, and the CLI
  (`python -m rnn_core train --csv F --column value …`) exits 2 with that sentence as its only stderr
  line, no traceback. Odd but valid files (semicolons, decimal commas, UTF-16, Latin-1, unsorted
  dates) load, with a note where something was changed.
- Extreme settings at the limits of `config.LIMITS` (timesteps 1 and 1000, hidden 1 and 512,
  learning rate 10, gain 5) train or are refused with a sentence; one step past a limit is refused.
  A diverged run keeps every record before the divergence.
- No network: `yfinance.download` raising (no route), returning an empty frame or rate-limiting gives
  a sentence that points to the offline sets, or the cached copy with a note.
- Memory flat and abandoned runs: a `LiveRun`'s kept step records and its snapshots stay bounded
  however long it trains; a run nobody polls stops itself (also with the timeout from the env var
  RNN_PLAYGROUND_IDLE_TIMEOUT, which the app's runs use), and its OS thread is named for counting.
- Safety: upload limits agree (.streamlit/config.toml and MAX_UPLOAD_BYTES); formula-like cells stay
  data; saved runs load only safetensors (a pickle is refused, never executed); URL values are never
  paths (a traversal in a ticker or dataset name is refused, no file outside the cache is touched).
"""

from __future__ import annotations

import ast
import contextlib
import io
import math
import os
import pickle
import re
import subprocess
import sys
import time
import tomllib
import types
import zipfile
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch

from rnn_core.cli import main as cli
from rnn_core.config import LIMITS, ConfigError, DataConfig, TrainConfig
from rnn_core.data.budget import MB, UPLOAD_BYTES
from rnn_core.data.csv_upload import MAX_UPLOAD_BYTES, inspect_csv_upload, read_csv_upload
from rnn_core.data.errors import DataError
from rnn_core.data.windows import prepare
from rnn_core.data.yahoo import fetch_yahoo
from rnn_core.nn.model_config import ModelConfig
from rnn_core.nn.models import build_model
from rnn_core.nn.train import train
from rnn_core.serve.idle import IDLE_TIMEOUT_ENV, default_idle_timeout
from rnn_core.serve.live import THREAD_NAME, LiveRun
from rnn_core.sweep.records import MAX_UPLOAD_BYTES as SWEEP_UPLOAD_BYTES

ROOT = Path(__file__).resolve().parents[2]
PYTHON = str(ROOT / ".venv" / "bin" / "python") if (ROOT / ".venv" / "bin" / "python").exists() else sys.executable
WAIT = 20.0   # generous upper bound for waits on a shared machine; each ends as soon as it can


# ----------------------------------------------------------------------------- the bad-CSV matrix
def dated(n: int, value=lambda i: f"{100 + 5 * math.sin(i / 3) + 0.01 * i:.3f}", header: str = "date,value",
          sep: str = ",") -> str:
    """A header and n rows of consecutive days from 2020-01-01 holding `value(i)`."""
    days = pd.date_range("2020-01-01", periods=n, freq="D")
    return header + "\n" + "".join(f"{d:%Y-%m-%d}{sep}{value(i)}\n" for i, d in enumerate(days))


GOOD_CSV = dated(200).encode()


def _huge() -> bytes:
    """Just over the upload limit (every row valid: only the size is wrong)."""
    row_bytes = len("123456,12.345678\n")
    rows = MAX_UPLOAD_BYTES // row_bytes + 1000
    return ("step,value\n" + "".join(f"{i:06d},{i % 97 + 0.345678:09.6f}\n" for i in range(rows))).encode()


def _duplicated_dates() -> bytes:
    lines = dated(60).splitlines()
    return ("\n".join(lines + lines[5:9]) + "\n").encode()


# (case, file bytes, words the sentence must hold). Every file has (or claims) a column "value", the
# one the CLI asks for, so each is refused for its own problem, not for a missing column.
BAD_CSVS: list[tuple[str, bytes, str]] = [
    ("empty", b"", "The file is empty"),
    ("header only", b"date,value\n", "header but no data rows"),
    ("binary", bytes(range(256)) * 40, "binary, not text"),
    ("excel workbook", b"PK\x03\x04" + bytes(300), "Excel workbook"),
    ("no numeric column", dated(60, lambda i: ("low", "high", "mid")[i % 3]).encode(),
     "Column 'value' holds no numbers"),
    ("NaN gaps", dated(60, lambda i: "" if i in (7, 8, 30) else f"{1.5 * i}").encode(),
     "3 empty cells (at rows 8, 9 and 31)"),
    ("one row", b"date,value\n2020-01-01,1.5\n", "only one data row"),
    ("few rows", dated(6).encode(), "only 6 data rows"),
    ("constant", dated(60, lambda i: "3.25").encode(), "Column 'value' is constant"),
    ("too short for the timesteps", dated(20).encode(), "with 5 timesteps only 15 windows remain"),
    ("huge", _huge(), "above the 5 MB limit"),
    ("odd delimiter", dated(60, sep=":", header="date:value").encode(), "no column 'value'"),
    ("ragged rows", dated(60).replace("2020-01-09,", "2020-01-09,1,2,").encode(),
     "do not split into the same columns"),
    ("odd encoding (UTF-32)", dated(60).encode("utf-32"), "does not read as text in any common encoding"),
    ("duplicated dates", _duplicated_dates(), "repeats 4 date(s)"),
    ("infinite values", dated(60, lambda i: {11: "inf", 12: "-inf"}.get(i, str(i))).encode(),
     "infinite values at rows 12 and 13"),
    ("mixed types", dated(60, lambda i: {4: "n/a?", 9: "=cmd()"}.get(i, str(i))).encode(),
     "mixes numbers and text"),
    ("no header row", "".join(f"{i},{2 * i}\n" for i in range(60)).encode(), "not column names"),
    ("not dates", dated(60).replace("2020-01-05", "soon").encode(), "not dates (at row 5)"),
    ("blank", b" \n\n   \n", "only blank space"),
]
BAD_IDS = [case for case, _, _ in BAD_CSVS]
TIMESTEPS = 5


def load_and_window(data: bytes, timesteps: int = TIMESTEPS):
    """What the app and the CLI do with an upload: read it (column 'value'), then cut the windows."""
    frame = read_csv_upload(data, value_columns=["value"])
    return frame, prepare(DataConfig(dataset="csv", timesteps=timesteps), frame)


def one_sentence(message: str) -> bool:
    """One line that reads as a sentence: ends with a full stop, no traceback or exception debris."""
    return ("\n" not in message and len(message) > 20 and message.rstrip().endswith(".")
            and "Traceback" not in message and "Error:" not in message[:40] and 'File "' not in message)


@pytest.mark.parametrize(("case", "data", "words"), BAD_CSVS, ids=BAD_IDS)
def test_library_refuses_each_bad_csv_with_a_sentence(case, data, words):
    with pytest.raises(DataError) as err:
        load_and_window(data)
    message = str(err.value)
    assert words in message, message
    assert one_sentence(message), message


def test_inspecting_a_header_only_file_says_there_are_no_rows():
    """The upload panel inspects before it reads: it must not call an empty file 'no numeric column'."""
    with pytest.raises(DataError, match="header but no data rows"):
        inspect_csv_upload(b"date,value\n")


def test_the_matrix_is_complete_and_the_good_file_trains():
    """At least 15 distinct broken files, and the same path with a good file works end to end."""
    assert len({data for _, data, _ in BAD_CSVS}) >= 15
    assert len(_huge()) > MAX_UPLOAD_BYTES
    frame, windows = load_and_window(GOOD_CSV)
    assert list(frame.columns) == ["value"] and isinstance(frame.index, pd.DatetimeIndex)
    assert windows.X_train.shape[1:] == (TIMESTEPS, 1) and np.isfinite(windows.X_train).all()


ODD_BUT_VALID = [
    ("semicolon", dated(60, sep=";", header="date;value").encode(), None),
    ("decimal comma", dated(60, lambda i: f"{i},5", sep=";", header="date;value").encode(), None),
    ("UTF-16 with BOM", dated(60).encode("utf-16"), None),
    ("Latin-1 header", dated(60, header="date,value,°C").replace("\n2020", ",x\n2020").encode("latin-1"),
     None),
    ("unsorted dates", ("date,value\n" + "\n".join(reversed(dated(60).splitlines()[1:])) + "\n").encode(),
     "Sorted the rows by 'date'"),
]


@pytest.mark.parametrize(("case", "data", "note"), ODD_BUT_VALID, ids=[c for c, _, _ in ODD_BUT_VALID])
def test_odd_but_valid_files_load(case, data, note):
    frame, windows = load_and_window(data)
    assert frame["value"].notna().all() and len(frame) == 60
    assert frame.index.is_monotonic_increasing
    notes = frame.attrs.get("notes", [])
    assert (note is None and not notes) or any(note in n for n in notes), notes
    assert len(windows.X_train) > 0


def _cli_train(path: Path) -> list[str]:
    return ["train", "--csv", str(path), "--column", "value", "--epochs", "1", "--timesteps", str(TIMESTEPS),
            "--hidden", "2"]


@pytest.mark.parametrize(("case", "data", "words"), BAD_CSVS, ids=BAD_IDS)
def test_cli_exits_2_with_one_line_for_each_bad_csv(case, data, words, tmp_path, capsys):
    path = tmp_path / "bad.csv"
    path.write_bytes(data)
    status = cli.main(_cli_train(path))
    out, err = capsys.readouterr()
    assert status == 2
    lines = err.splitlines()
    assert len(lines) == 1, err
    assert lines[0].startswith("python -m rnn_core: error: ") and words in lines[0], err
    assert "Traceback" not in out + err


def test_cli_as_a_process_exits_2_without_traceback(tmp_path):
    """A subset through a real interpreter (exit status and stderr as a shell sees them), in parallel."""
    subset = [c for c in BAD_CSVS if c[0] in ("empty", "binary", "NaN gaps", "too short for the timesteps",
                                             "odd encoding (UTF-32)", "huge")]
    procs = []
    for i, (case, data, words) in enumerate(subset):
        path = tmp_path / f"bad{i}.csv"
        path.write_bytes(data)
        procs.append((case, words, subprocess.Popen(
            [PYTHON, "-m", "rnn_core", *_cli_train(path)], cwd=ROOT, stdout=subprocess.PIPE,
            stderr=subprocess.PIPE, text=True, env={**os.environ, "PYTHONDONTWRITEBYTECODE": "1"})))
    for case, words, proc in procs:
        out, err = proc.communicate(timeout=120)
        assert proc.returncode == 2, (case, proc.returncode, err)
        assert len(err.splitlines()) == 1 and words in err, (case, err)
        assert "Traceback" not in out + err, case


def test_cli_missing_file_and_a_folder_are_sentences(tmp_path, capsys):
    for target in (tmp_path / "nowhere.csv", tmp_path):
        assert cli.main(_cli_train(target)) == 2
        err = capsys.readouterr().err
        assert len(err.splitlines()) == 1 and "Cannot read the CSV file" in err, err


# ----------------------------------------------------------------------------- extreme settings
@pytest.fixture(scope="module", autouse=True)
def one_torch_thread():
    """Tiny nets run fastest on one thread and a shared machine stays fair; restored after."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


def sine_windows(timesteps: int, length: int):
    return prepare(DataConfig(dataset="sine", timesteps=timesteps, params={"length": length}))


def run_records(model_cfg: ModelConfig, windows, **settings) -> list[dict]:
    cfg = TrainConfig(**{"epochs": 1, "batch_size": 64, "probe_every": 0, **settings}).validate()
    model_cfg.input_size, model_cfg.output_size = windows.n_features, windows.y_train.shape[1]
    model = build_model(model_cfg.validate(), seed=cfg.seed)
    return list(train(model, windows, cfg))


@pytest.mark.parametrize(("timesteps", "hidden", "length"), [(1, 4, 100), (1000, 2, 1040), (10, 1, 100),
                                                             (10, 512, 100)],
                         ids=["timesteps 1", "timesteps 1000", "hidden 1", "hidden 512"])
def test_extreme_sizes_at_the_limits_train(timesteps, hidden, length):
    assert LIMITS["timesteps"][0] <= timesteps <= LIMITS["timesteps"][1]
    assert LIMITS["hidden_size"][0] <= hidden <= LIMITS["hidden_size"][1]
    windows = sine_windows(timesteps, length)
    assert windows.X_train.shape[1] == timesteps
    records = run_records(ModelConfig(cell="rnn", hidden_size=hidden), windows)
    end = records[-1]
    assert end["kind"] == "end" and end["status"] == "completed", end
    steps = [r for r in records if r["kind"] == "step"]
    assert steps and all(math.isfinite(r["loss"]) for r in steps)


def test_long_windows_on_a_short_series_are_refused_with_advice():
    with pytest.raises(DataError, match=r"only 0 windows remain.*lower the timesteps to at most 970"):
        sine_windows(1000, 1000)


@pytest.mark.parametrize(("build", "words"), [
    (lambda: DataConfig(timesteps=LIMITS["timesteps"][1] + 1), "timesteps must be between 1 and 1,000"),
    (lambda: DataConfig(timesteps=0), "timesteps must be between 1 and 1,000"),
    (lambda: ModelConfig(hidden_size=LIMITS["hidden_size"][1] + 1), "hidden_size must be between 1 and 512"),
    (lambda: ModelConfig(hidden_size=0), "hidden_size must be between"),
    (lambda: TrainConfig(lr=10.5), "lr must be between"),
    (lambda: TrainConfig(lr=float("nan")), "lr must be between"),
    (lambda: ModelConfig(gain=5.5), "gain must be between 0 and 5"),
    (lambda: ModelConfig(gain=float("nan")), "gain must be between"),
])
def test_one_step_past_a_limit_is_refused_with_a_sentence(build, words):
    with pytest.raises(ConfigError) as err:
        build().validate()
    assert words in str(err.value) and one_sentence(str(err.value)), err.value


@pytest.mark.parametrize(("flags", "words"), [
    (["--timesteps", "1001"], "timesteps must be between 1 and 1,000"),
    (["--hidden", "513"], "hidden_size must be between 1 and 512"),
    (["--lr", "11"], "lr must be between"),
    (["--gain", "5.01"], "gain must be between"),
    (["--lr", "nan"], "lr must be between"),
])
def test_cli_refuses_settings_past_the_limits(flags, words, capsys):
    assert cli.main(["train", "--dataset", "sine", "--epochs", "1", *flags]) == 2
    err = capsys.readouterr().err
    assert len(err.splitlines()) == 1 and words in err, err


def test_learning_rate_10_and_gain_5_diverge_and_keep_the_history_before():
    windows = sine_windows(10, 300)
    records = run_records(ModelConfig(cell="rnn_relu", hidden_size=8, init="identity", gain=5.0), windows,
                          lr=10.0, optimizer="sgd", clip="off", epochs=5, batch_size=8, probe_every=1)
    end = records[-1]
    assert end["kind"] == "end" and end["status"] == "diverged", end
    assert one_sentence(end["reason"]), end
    before = records[:-1]
    assert before[0]["kind"] == "epoch" and before[0]["epoch"] == 0           # initialisation kept
    assert before[0]["probe"] is not None and math.isfinite(before[0]["train_loss"])
    steps = [r for r in before if r["kind"] == "step"]
    assert all(math.isfinite(r["loss"]) for r in steps)                      # nothing non-finite kept
    assert [r["step"] for r in steps] == list(range(1, len(steps) + 1))     # no gap before the end
    assert end["step"] >= len(steps)


def test_a_diverged_live_run_keeps_its_snapshot():
    windows = sine_windows(10, 300)
    cfg = TrainConfig(lr=10.0, optimizer="sgd", clip="off", epochs=50, batch_size=8, probe_every=0)
    model_cfg = ModelConfig(cell="rnn_relu", hidden_size=8, init="identity", gain=5.0)
    run = LiveRun(model_cfg, cfg, windows, idle_timeout=None)
    run.start()
    assert run.join(WAIT)
    snap = run.snapshot()
    assert snap.status == "diverged" and snap.end["status"] == "diverged"
    assert snap.epochs and snap.epochs[0]["epoch"] == 0
    assert all(math.isfinite(r["loss"]) for r in snap.steps)
    with run.lock:                                         # the model keeps the last finite weights
        assert all(torch.isfinite(p).all() for p in run.model.parameters())


# ----------------------------------------------------------------------------- no network
class FakeDownload:
    """Stands in for yfinance.download: raises or returns what it is given; records its calls."""

    def __init__(self, result):
        self.result, self.calls = result, []

    def __call__(self, tickers, **kwargs):
        self.calls.append(tickers)
        if isinstance(self.result, BaseException):
            raise self.result
        return self.result.copy()


def _rate_limit_error() -> BaseException:
    from yfinance.exceptions import YFRateLimitError

    return YFRateLimitError()


NO_NETWORK = [
    ("no route", lambda: OSError(113, "No route to host"), "no network or Yahoo unreachable"),
    ("empty frame", lambda: pd.DataFrame(), "no network, or an unknown ticker"),
    ("rate limit", _rate_limit_error, "rate-limiting"),
]


@pytest.fixture
def cache(tmp_path, monkeypatch):
    monkeypatch.setenv("RNN_PLAYGROUND_CACHE", str(tmp_path / "cache"))
    return tmp_path / "cache" / "yahoo"


@pytest.mark.parametrize(("case", "make", "why"), NO_NETWORK, ids=[c for c, _, _ in NO_NETWORK])
def test_yahoo_failures_are_sentences_that_point_offline(case, make, why, cache, monkeypatch):
    import yfinance

    fake = FakeDownload(make())
    monkeypatch.setattr(yfinance, "download", fake)
    with pytest.raises(DataError) as err:
        fetch_yahoo("NFLX", "2020-01-01", "2021-01-01")
    message = str(err.value)
    assert fake.calls == ["NFLX"]
    assert why in message and "offline set" in message and "DJIA" in message, message
    assert one_sentence(message), message
    assert not cache.exists() or not any(cache.iterdir())      # nothing half-written


@pytest.mark.parametrize(("case", "make", "why"), NO_NETWORK, ids=[c for c, _, _ in NO_NETWORK])
def test_yahoo_failures_fall_back_to_the_cached_copy(case, make, why, cache, monkeypatch):
    import yfinance

    cache.mkdir(parents=True)
    days = pd.date_range("2020-01-01", periods=50, freq="B", name="Date")
    pd.DataFrame({"Close": np.linspace(10, 20, 50), "Volume": 1e6}, index=days).to_csv(
        cache / "NFLX_2019-01-01_2020-06-01.csv")
    monkeypatch.setattr(yfinance, "download", FakeDownload(make()))
    frame, note = fetch_yahoo("NFLX", "2020-01-01", "2021-01-01")
    assert len(frame) == 50 and list(frame.columns) == ["Close"]
    assert "cached NFLX data" in note and why.split(",")[0].lower() in note.lower(), note


def test_the_yahoo_dataset_in_a_run_config_fails_with_the_sentence(cache, monkeypatch):
    import yfinance

    monkeypatch.setattr(yfinance, "download", FakeDownload(OSError("Network is unreachable")))
    with pytest.raises(DataError, match="offline set"):
        prepare(DataConfig(dataset="yahoo", timesteps=10, params={"ticker": "NFLX"}))


# ----------------------------------------------------------------------------- memory flat, idle stop
def _tiny_windows(n: int = 64, T: int = 4):
    s = np.sin(0.3 * np.arange(n + T, dtype=np.float32))
    X = np.stack([s[i:i + T] for i in range(n)])[:, :, None]                 # (N, T, 1)
    y = s[T:T + n][:, None]                                                  # (N, 1)
    return types.SimpleNamespace(X_train=X, y_train=y, X_val=X[:8], y_val=y[:8])


def _snapshot_floats(snap) -> int:
    return sum(len(r) for r in snap.steps) + sum(
        len(e) + sum(len(v) for v in (e.get("probe") or {}).values() if isinstance(v, list)) for e in snap.epochs)


def test_a_long_live_run_keeps_bounded_history_and_snapshots():
    """Thousands of steps with a small record cap: the kept steps and every snapshot stay bounded."""
    cfg = TrainConfig(epochs=500, batch_size=1, probe_every=0, lr=1e-3)
    run = LiveRun(ModelConfig(hidden_size=2), cfg, _tiny_windows(), idle_timeout=None)
    run.max_step_records = 64
    sizes = []
    run.start()
    try:
        deadline = time.monotonic() + WAIT
        while run.snapshot(max_points=50).step < 1500 and time.monotonic() < deadline:
            snap = run.snapshot(max_points=50)
            sizes.append((snap.step, len(snap.steps), len(run.kept_steps()[0])))
            time.sleep(0.01)
    finally:
        run.stop()
        run.join(WAIT)
    snap = run.snapshot(max_points=50)
    assert snap.step >= 1000, f"only {snap.step} steps in {WAIT} s"
    assert max(kept for _, _, kept in sizes) <= 65                  # cap + the one that triggers halving
    assert max(shown for _, shown, _ in sizes) <= 50
    assert len(run.kept_steps()[0]) <= 65 and len(snap.steps) <= 50
    assert snap.steps[-1]["step"] == snap.step                      # the latest step is always there
    steps = [r["step"] for r in snap.steps]
    assert steps == sorted(steps) and steps[0] == 1


def test_probe_profiles_are_thinned_to_a_budget(monkeypatch):
    import rnn_core.serve.history as history

    monkeypatch.setattr(history, "PROBE_FLOAT_BUDGET", 1)             # keep_at_most falls to its floor, 16
    cfg = TrainConfig(epochs=60, batch_size=64, probe_every=1, probe_batch=4)
    run = LiveRun(ModelConfig(hidden_size=2), cfg, _tiny_windows(), idle_timeout=None)
    run.start()
    assert run.join(WAIT * 3)
    snap = run.snapshot()
    assert snap.status == "completed" and len(snap.epochs) == 61
    kept = [e["epoch"] for e in snap.epochs if e["probe"] is not None]
    assert len(kept) <= 17 and kept[0] == 0 and kept[-1] == 60


def test_default_idle_timeout_reads_the_env_var(monkeypatch):
    monkeypatch.delenv(IDLE_TIMEOUT_ENV, raising=False)
    assert default_idle_timeout() == 30.0
    for bad in ("", "soon", "-3", "0", "nan", "inf"):
        monkeypatch.setenv(IDLE_TIMEOUT_ENV, bad)
        assert default_idle_timeout() == 30.0, bad
    monkeypatch.setenv(IDLE_TIMEOUT_ENV, "2.5")
    assert default_idle_timeout() == 2.5
    run = LiveRun(ModelConfig(hidden_size=2), TrainConfig(), _tiny_windows())
    assert run.idle_timeout == 2.5
    assert LiveRun(ModelConfig(hidden_size=2), TrainConfig(), _tiny_windows(), idle_timeout=None).idle_timeout is None


def _os_thread_names() -> list[str]:
    names = []
    for comm in Path(f"/proc/{os.getpid()}/task").glob("*/comm"):
        with contextlib.suppress(OSError):          # the thread ended meanwhile
            names.append(comm.read_text().strip())
    return names


def test_an_abandoned_run_stops_itself_and_its_thread_ends(monkeypatch):
    """Like a closed tab: nobody calls snapshot(); with the env timeout the thread ends within seconds."""
    monkeypatch.setenv(IDLE_TIMEOUT_ENV, "0.5")
    run = LiveRun(ModelConfig(hidden_size=2), TrainConfig(epochs=500, batch_size=4, probe_every=0),
                  _tiny_windows())
    run.start()
    if sys.platform.startswith("linux"):
        deadline = time.monotonic() + WAIT
        while THREAD_NAME not in _os_thread_names() and run.status == "running" and time.monotonic() < deadline:
            time.sleep(0.01)
        assert THREAD_NAME in _os_thread_names() or run.status != "running"
    assert run.join(WAIT)
    assert run.status == "stopped"
    assert "nobody had looked at the run for 0.5 s" in run.snapshot().end["reason"]
    assert not run.alive


# ----------------------------------------------------------------------------- safety
def test_upload_limits_agree():
    """One number: Streamlit's maxUploadSize (MiB) is the readers' UPLOAD_BYTES, so every file the server
    lets through is read or refused by a reader with its sentence (the CSV's, the sweep file's, the run's)."""
    config = tomllib.loads((ROOT / ".streamlit" / "config.toml").read_text())
    max_mb = config["server"]["maxUploadSize"]
    assert max_mb == UPLOAD_BYTES // MB and max_mb * 2**20 >= UPLOAD_BYTES
    assert MAX_UPLOAD_BYTES == UPLOAD_BYTES == SWEEP_UPLOAD_BYTES
    with pytest.raises(DataError, match="above the"):
        read_csv_upload(GOOD_CSV, max_bytes=len(GOOD_CSV) - 1)
    with pytest.raises(DataError, match="above the"):
        inspect_csv_upload(GOOD_CSV, max_bytes=len(GOOD_CSV) - 1)


def test_the_server_does_not_collect_garbage_after_every_script_run():
    """Streamlit's default gc.collect(2) after each script run (every fragment redraw) holds the GIL
    for ~0.1 s in this app's process; with a room of students it was the server's largest cost
    (docs/benchmarks.md, "Load test"). The option must exist under that name and be off in the server's config."""
    from streamlit import config as st_config

    assert "runner.postScriptGC" in st_config._config_options_template
    config = tomllib.loads((ROOT / ".streamlit" / "config.toml").read_text())
    assert config["runner"]["postScriptGC"] is False


def test_formula_like_and_code_like_cells_stay_data(tmp_path, monkeypatch):
    """Nothing in a cell is evaluated: spreadsheet formulas and Python stay strings (or are refused)."""
    marker = tmp_path / "pwned"
    payloads = ["=cmd|' /C calc'!A0", f"__import__('os').mkdir('{marker}')", "@SUM(1+1)", "+1+1", "-2+3",
                f"=HYPERLINK(\"file://{marker}\")"]
    text = "date,value,note\n" + "".join(
        f"2020-01-{i + 1:02d},{i * 1.5},{payloads[i % len(payloads)]}\n" for i in range(30))
    monkeypatch.setattr("builtins.eval", lambda *a, **k: pytest.fail("eval called"))
    monkeypatch.setattr("builtins.exec", lambda *a, **k: pytest.fail("exec called"))
    info = inspect_csv_upload(text.encode())
    assert info.columns == ["date", "value", "note"] and info.numeric_columns == ["value"]
    frame = read_csv_upload(text.encode())
    assert list(frame.columns) == ["value"] and frame["value"].iloc[-1] == 29 * 1.5
    with pytest.raises(DataError, match="Column 'note' holds no numbers"):
        read_csv_upload(text.encode(), value_columns=["note"])
    assert not marker.exists()


def _saved_run_zip() -> bytes:
    from rnn_core.serve.runs import run_zip_bytes

    model_cfg = ModelConfig(hidden_size=2).validate()
    return run_zip_bytes(build_model(model_cfg, seed=0), model_cfg, DataConfig(), TrainConfig(), [], {})


class _Payload:
    """A pickle that would create a folder when unpickled."""

    def __init__(self, path: Path):
        self.path = path

    def __reduce__(self):
        return os.mkdir, (str(self.path),)


def _zip(members: dict[str, bytes]) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        for name, data in members.items():
            zf.writestr(name, data)
    return buf.getvalue()


def test_saved_runs_load_only_safetensors_and_never_unpickle(tmp_path):
    from rnn_core.serve.run_format import RunFileError, load_run, load_run_zip

    good = _saved_run_zip()
    loaded = load_run_zip(good)                                        # the real thing loads
    assert loaded.model_cfg.hidden_size == 2
    with zipfile.ZipFile(io.BytesIO(good)) as zf:
        members = {n: zf.read(n) for n in zf.namelist()}
    marker = tmp_path / "pwned"
    evil = pickle.dumps(_Payload(marker))
    buf = io.BytesIO()
    torch.save({"x": torch.zeros(1), "p": _Payload(marker)}, buf)
    cases = {
        "pickle member": {**members, "data.pkl": evil},
        "torch checkpoint": {**members, "model.pt": buf.getvalue()},
        "pickle as weights": {**members, "weights.safetensors": evil},
        "torch zip as weights": {**members, "weights.safetensors": buf.getvalue()},
        "path traversal": {**members, "../../evil.json": b"{}"},
        "nested path": {"run/config.json": members["config.json"], "run/weights.safetensors": b""},
    }
    for case, content in cases.items():
        with pytest.raises(RunFileError) as err:
            load_run_zip(_zip(content))
        assert one_sentence(str(err.value)), (case, err.value)
    folder = tmp_path / "run"
    folder.mkdir()
    for name, data in members.items():
        (folder / name).write_bytes(data)
    (folder / "weights.safetensors").write_bytes(evil)
    with pytest.raises(RunFileError, match="not a valid safetensors"):
        load_run(folder)
    assert not marker.exists()
    with pytest.raises(RunFileError, match="not a zip"):
        load_run_zip(evil)
    assert not marker.exists()


def test_the_engine_never_unpickles():
    """No call that can unpickle or run code anywhere in rnn_core/ (a docstring may name them); saved
    runs read their weights with safetensors."""
    trees = {p: ast.parse(p.read_text()) for p in (ROOT / "rnn_core").rglob("*.py")}
    calls = {ast.unparse(node.func) for tree in trees.values() for node in ast.walk(tree)
             if isinstance(node, ast.Call)}
    imports = {alias.name for tree in trees.values() for node in ast.walk(tree)
               if isinstance(node, ast.Import | ast.ImportFrom) for alias in node.names}
    imports |= {node.module for tree in trees.values() for node in ast.walk(tree) if isinstance(node, ast.ImportFrom)}
    assert "load_safetensors" in calls
    # np.load reads an .npz without pickles only when told so: every call must say allow_pickle=False
    np_loads = [node for tree in trees.values() for node in ast.walk(tree)
                if isinstance(node, ast.Call) and ast.unparse(node.func) in ("np.load", "numpy.load")]
    assert np_loads, "windows_codec reads .npz bytes with np.load"
    for node in np_loads:
        assert any(k.arg == "allow_pickle" and isinstance(k.value, ast.Constant) and k.value.value is False
                   for k in node.keywords), ast.unparse(node)
    calls -= {"np.load"}
    forbidden = {"pickle.load", "pickle.loads", "torch.load", "np.load", "numpy.load", "eval", "exec",
                 "torch.jit.load", "pickle.Unpickler"}
    assert not calls & forbidden, calls & forbidden
    assert not imports & {"pickle", "dill", "joblib", "cloudpickle"}, imports


# Every module that reads st.query_params (checked below, so a new reader gets looked at).
URL_READERS = {"ui/links.py", "ui/state.py", "ui/lab.py", "ui/presenter.py", "ui/learn.py", "app_pages/learn.py",
               "ui/data_views.py"}   # data_views: hands an upload to the Playground with switch_page(query_params=…)


def test_every_reader_of_the_url_is_known_and_uses_no_path():
    readers = set()
    for folder in ("ui", "pages", "app_pages", "plots", "rnn_core"):
        for path in sorted((ROOT / folder).glob("*.py")) if (ROOT / folder).is_dir() else []:
            text = path.read_text()
            if "query_params" in text:
                rel = f"{folder}/{path.name}"
                readers.add(rel)
                assert not re.search(r"open\(|Path\(|read_bytes|read_text|os\.path", text), (
                    f"{rel} reads the URL and touches files; check that no URL value becomes a path")
    assert readers and readers <= URL_READERS, readers - URL_READERS


@pytest.mark.parametrize("ticker", ["../../x", "..", "/etc/passwd", "AAPL/../../x", "x\\..\\y", "*", "A B",
                                    "AAPL\x00", "~root", "$(touch x)"])
def test_a_ticker_is_never_a_path(ticker, cache, monkeypatch, tmp_path):
    import yfinance

    fake = FakeDownload(pd.DataFrame())
    monkeypatch.setattr(yfinance, "download", fake)
    before = set(tmp_path.rglob("*"))
    with pytest.raises(DataError, match="is not a ticker symbol"):
        fetch_yahoo(ticker, "2020-01-01", "2021-01-01")
    assert fake.calls == []                               # refused before anything is asked or written
    assert set(tmp_path.rglob("*")) == before


def test_url_params_that_look_like_paths_are_refused_or_ignored():
    from rnn_core.config import from_query
    from rnn_core.data.registry import get_dataset

    query = {"d.dataset": "../../etc/passwd", "d.params.ticker": "../../x", "d.params.length": "1e9",
             "m.cell": "<script>alert(1)</script>", "t.lr": "1e99", "x.__class__": "os", "d.__dict__": "{}"}
    data = from_query(DataConfig, query)
    with pytest.raises(DataError, match=re.escape("Unknown dataset '../../etc/passwd'")):
        get_dataset(data.dataset)
    with pytest.raises(DataError, match="Unknown dataset"):
        prepare(data)
    with pytest.raises(ConfigError, match="Unknown cell"):
        from_query(ModelConfig, query).validate()
    with pytest.raises(ConfigError, match="lr must be between"):
        from_query(TrainConfig, query).validate()
    yahoo = get_dataset("yahoo")
    with pytest.raises(DataError, match="not a ticker symbol"):
        yahoo.load(**yahoo.resolve(data.params))
    with pytest.raises(DataError, match="Length"):
        get_dataset("sine").resolve(data.params)
