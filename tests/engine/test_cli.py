"""`python -m rnn_core`: end to end through a subprocess on tiny configs, and the bad-input matrix
in-process (same `main`, no interpreter start-up per case): exit 2, one line on stderr, no traceback."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from rnn_core.cli.main import main
from rnn_core.data.registry import DATASETS
from rnn_core.readable import readable, signed

ROOT = Path(__file__).resolve().parents[2]
TINY = ["--epochs", "1", "--timesteps", "10", "--hidden", "4", "--param", "length=200"]


def _run(*args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONPATH": str(ROOT)}
    env.pop("RNN_PLAYGROUND_DEBUG", None)
    return subprocess.run([sys.executable, "-m", "rnn_core", *args], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=300)


def _one_line_error(stderr: str) -> None:
    assert "Traceback" not in stderr
    lines = stderr.strip().splitlines()
    assert len(lines) == 1, stderr
    assert lines[0].startswith("python -m rnn_core") and "error:" in lines[0]


# ----------------------------------------------------------------------------- end to end (subprocess)
def test_train_end_to_end_json_and_saved_run(tmp_path):
    out_json, run_dir = tmp_path / "run.json", tmp_path / "run"
    proc = _run("train", "--cell", "gru", *TINY, "--json", str(out_json), "--save", str(run_dir))
    assert proc.returncode == 0, proc.stderr
    assert "epoch 0/1" in proc.stdout and "epoch 1/1" in proc.stdout and "Test RMSE" in proc.stdout
    record = json.loads(out_json.read_text())
    assert {"config", "status", "epochs", "metrics", "train_seconds"} <= set(record)
    assert record["status"] == "completed" and record["train_seconds"] > 0
    assert record["config"]["model"]["cell"] == "gru" and record["config"]["data"]["timesteps"] == 10
    assert {"rmse", "mae", "mape", "directional_accuracy", "naive_rmse", "skill_score"} <= set(record["metrics"])
    skill = record["metrics"]["skill_score"]
    assert record["metrics"]["rmse"] > 0 and skill == pytest.approx(
        1 - record["metrics"]["rmse"] / record["metrics"]["naive_rmse"])
    # the test line prints the same number with its formula
    assert f"skill score = 1 − RMSE / baseline RMSE = {signed(skill)}: " in proc.stdout   # as the app's table
    assert ("beats tomorrow = today" in proc.stdout) == (skill > 0)
    assert record["metrics"]["mape"] is None and "MAPE — (undefined" in proc.stdout    # a sine crosses zero
    assert [e["epoch"] for e in record["epochs"]] == [0, 1]
    last = record["epochs"][-1]
    assert last["train_loss"] > 0 and last["val_loss"] > 0 and last["grad_norm_mean"] > 0
    assert len(last["probe"]["grad_h"]) == 1 and len(last["probe"]["grad_h"][0]) == 10

    # the saved run reproduces the reported test metrics from its own files
    from rnn_core.config import DataConfig
    from rnn_core.data.windows import prepare
    from rnn_core.measure.evaluate import evaluate
    from rnn_core.serve.run_format import load_run

    loaded = load_run(run_dir)
    assert loaded.data_cfg == DataConfig(**record["config"]["data"])
    again = evaluate(loaded.model, prepare(loaded.data_cfg))["test"]["metrics"]["model"]
    assert again["rmse"] == pytest.approx(record["metrics"]["rmse"], rel=1e-5)
    assert [r["kind"] for r in loaded.records][-1] == "end"
    # …and the Playground's metrics table, built from the saved evaluation, shows the JSON's number
    from plots.tables import metrics_display, metrics_frame
    from rnn_core.measure.metrics import SKILL_FORMULA

    frame = metrics_frame(loaded.metrics)
    assert frame.loc[("test", "model"), SKILL_FORMULA] == skill
    assert metrics_display(frame)[0].loc[("test", "model"), SKILL_FORMULA] == f"{skill:+.3f}".replace("-", "−")


def test_bad_input_in_a_real_process_is_one_line_and_status_2():
    proc = _run("train", "--dataset", "no_such_set")
    assert proc.returncode == 2
    _one_line_error(proc.stderr)
    assert "no_such_set" in proc.stderr


# ----------------------------------------------------------------------------- in-process
def _main(argv: list[str]) -> int:
    try:
        return main(argv)
    except SystemExit as e:                          # argparse errors exit through SystemExit
        return int(e.code)


def test_gradients_prints_decades_and_writes_the_profile(tmp_path, capsys):
    out_json = tmp_path / "g.json"
    code = _main(["gradients", "--cell", "rnn", "--timesteps", "20", "--hidden", "8", "--layers", "2",
                  "--init", "orthogonal", "--gain", "0.5", "--json", str(out_json)])
    captured = capsys.readouterr()
    assert code == 0, captured.err
    assert captured.out.count("vanishes by") == 2
    profile = json.loads(out_json.read_text())
    assert len(profile["grad_h"]) == 2 and all(len(g) == 20 for g in profile["grad_h"])
    g = profile["grad_h"][0]
    # decades lost from t = T back to t = 1, as printed
    assert profile["decades"][0] == pytest.approx(np.log10(g[-1] / g[0]))
    assert profile["decades"][0] > 3                 # orthogonal × 0.5: ~0.3 decades per step


def test_gradients_tells_a_blocked_gradient_from_an_underflow(capsys):
    """An identity-initialised ReLU RNN loses about 0.7 decades, then every path back passes a switched-off
    unit: exactly 0 in float64, blocked — not "underflowed: more than 300 decades lost"."""
    code = _main(["gradients", "--cell", "rnn_relu", "--init", "identity", "--gain", "1.0", "--timesteps", "200",
                  "--data", "sine", "--seed", "0"])
    out = capsys.readouterr().out
    assert code == 0
    assert "vanishes by 0.7 decades back to t=12; before that it is exactly 0 — blocked: every path back passes" in out
    assert "underflow" not in out and "300 decades" not in out


def test_datasets_lists_the_registry(capsys):
    assert _main(["datasets"]) == 0
    out = capsys.readouterr().out
    assert all(name in out for name in DATASETS)


def test_diverged_run_exits_zero_and_says_when_and_why(tmp_path, capsys):
    out_json = tmp_path / "div.json"
    code = _main(["train", "--cell", "rnn_relu", "--init", "identity", "--gain", "5", "--lr", "10",
                  "--optimizer", "sgd", "--no-clip", "--epochs", "2", "--timesteps", "10", "--hidden", "8",
                  "--param", "length=200", "--probe-every", "0", "--json", str(out_json)])
    captured = capsys.readouterr()
    assert code == 0, captured.err
    assert "Diverged at epoch" in captured.out and "step" in captured.out
    record = json.loads(out_json.read_text())      # strict JSON: NaN metrics became null
    assert record["status"] == "diverged" and record["reason"]
    assert record["partial_epoch"]["steps"] >= 1           # the steps before it blew up are kept


def test_train_preset_with_explicit_flags_over_it(tmp_path, capsys):
    from rnn_core.lessons.presets import preset_configs

    out_json = tmp_path / "echo.json"
    code = _main(["train", "--preset", "gru_echo", "--hidden", "4", "--epochs", "1", "--param", "n_samples=300",
                  "--probe-every", "0", "--json", str(out_json)])
    captured = capsys.readouterr()
    assert code == 0, captured.err
    cfg = json.loads(out_json.read_text())["config"]
    model, data, train_cfg = preset_configs("gru_echo")
    assert cfg["model"]["cell"] == model.cell == "gru"                        # from the preset
    assert cfg["model"]["hidden_size"] == 4 and cfg["train"]["epochs"] == 1   # the flags win
    assert cfg["train"]["lr"] == train_cfg.lr and cfg["train"]["batch_size"] == train_cfg.batch_size
    assert cfg["data"]["timesteps"] == data.timesteps
    assert cfg["data"]["params"] == {**data.params, "n_samples": 300}         # --param adds to the preset's
    assert captured.out.startswith("preset 'gru_echo': GRU")


def test_probe_batch_reaches_the_run_s_config_and_its_help_comes_from_the_settings_table(tmp_path, capsys):
    from rnn_core.config import FIELDS, TrainConfig

    out_json = tmp_path / "probed.json"
    assert _main(["train", *TINY, "--probe-batch", "3", "--probe-every", "1", "--json", str(out_json)]) == 0
    assert json.loads(out_json.read_text())["config"]["train"]["probe_batch"] == 3
    capsys.readouterr()
    assert _main(["train", "--help"]) == 0
    out = " ".join(capsys.readouterr().out.split())
    f = FIELDS["probe_batch"]
    said = f"{f.help[0].lower()}{f.help[1:-1]} ({TrainConfig().probe_batch}; {readable(f.lo)} to {readable(f.hi)})"
    assert f"--probe-batch N {said}" in out


def test_unknown_preset_lists_the_choices(capsys):
    from rnn_core.lessons.presets import PRESETS

    assert _main(["train", "--preset", "no_such_preset"]) == 2
    err = capsys.readouterr().err
    _one_line_error(err)
    assert "no_such_preset" in err and all(key in err for key in PRESETS)


def test_epoch_lines_state_the_baselines_and_beating_needs_a_margin(tmp_path, capsys):
    """The header gives the constant guess's (and persistence's) loss in the epoch lines' units; the
    verdict says 'beats' only clearly below them."""
    from rnn_core.cli.report import versus
    from rnn_core.config import DataConfig
    from rnn_core.data.windows import prepare
    from rnn_core.readable import readable

    out_json = tmp_path / "sine.json"
    argv = ["train", "--dataset", "sine", "--timesteps", "10", "--hidden", "16", "--epochs", "4", "--lr", "0.02",
            "--param", "length=400", "--probe-every", "0", "--json", str(out_json)]
    assert _main(argv) == 0
    out = capsys.readouterr().out
    naive = prepare(DataConfig(dataset="sine", timesteps=10, params={"length": 400})).naive_losses("val")
    header = out.splitlines()[1]
    assert f"constant guess (training mean) scores {readable(naive['constant'], 4)}" in header
    assert f"persistence (ŷ = last value) {readable(naive['persistence'], 4)}" in header
    assert header.index("scores") < out.index("epoch 0/4")
    record = json.loads(out_json.read_text())
    assert record["naive_losses"]["constant"] == pytest.approx(naive["constant"])
    final = record["epochs"][-1]["val_loss"]
    assert final < 0.5 * naive["constant"]                     # this run learns the sine …
    assert "the constant guess: beats it" in out               # … and says so

    # a loss at 0.998× the baseline is not "beating" it; 1.5× is worse (the app's rule: tests/engine/test_verdict.py)
    assert versus(0.998, 1.0, "the constant guess").endswith("no better")
    assert versus(0.5, 1.0, "the constant guess").endswith("beats it")
    assert versus(1.5, 1.0, "the constant guess").endswith("worse")


def test_a_run_at_the_constant_guess_is_not_said_to_beat_it(capsys):
    argv = ["train", "--preset", "vanishing", "--epochs", "1", "--timesteps", "30", "--hidden", "8",
            "--param", "n_samples=600", "--probe-every", "0"]
    assert _main(argv) == 0
    out = capsys.readouterr().out
    final = next(line for line in out.splitlines() if line.startswith("Final validation loss"))
    assert "beats" not in final and "× the constant guess" in final
    assert "beats" not in next(line for line in out.splitlines() if line.startswith("Test RMSE"))


@pytest.fixture
def prices_csv(tmp_path) -> Path:
    rng = np.random.default_rng(0)
    frame = pd.DataFrame({"Date": pd.bdate_range("2020-01-01", periods=80).strftime("%Y-%m-%d"),
                          "Close": 100 + np.cumsum(rng.normal(size=80)),
                          "Volume": rng.integers(1000, 2000, size=80)})
    path = tmp_path / "prices.csv"
    frame.to_csv(path, index=False)
    return path


def test_csv_with_two_columns_and_dates(tmp_path, prices_csv, capsys):
    out_json = tmp_path / "csv.json"
    code = _main(["train", "--csv", str(prices_csv), "--column", "Close", "--column", "Volume",
                  "--date-column", "Date", "--epochs", "1", "--timesteps", "5", "--hidden", "4",
                  "--probe-every", "0", "--json", str(out_json), "--quiet"])
    assert code == 0, capsys.readouterr().err
    data = json.loads(out_json.read_text())["config"]["data"]
    assert data["dataset"] == "csv" and data["features"] == ["Close", "Volume"] and data["target"] == "Close"


@pytest.mark.parametrize("argv", [
    ["train", "--csv", "{missing}"],
    ["train", "--csv", "{csv}", "--column", "Open"],
    ["train", "--csv", "{csv}", "--date-column", "When"],
    ["train", "--csv", "{garbage}"],
    ["train", "--csv", "{csv}", "--timesteps", "70"],
    ["train", "--dataset", "csv"],
    ["train", "--dataset", "sine", "--timesteps", "1001"],
    ["train", "--timesteps", "195", "--param", "length=200"],
    ["train", "--hidden", "-3"],
    ["train", "--hidden", "0"],
    ["train", "--layers", "5"],
    ["train", "--epochs", "-1"],
    ["train", "--batch-size", "0"],
    ["train", "--lr", "-0.1"],
    ["train", "--split", "1.5"],
    ["train", "--gain", "9"],
    ["train", "--bptt-truncate", "-2"],
    ["train", "--param", "noise"],
    ["train", "--param", "length=5"],
    ["train", "--json", "{tmp}/no/such/folder/x.json"],
    ["train", "--epochs", "ten"],
    ["train", "--optimizer", "lbfgs"],
    ["train", "--clip-norm", "1", "--clip-value", "1"],
    ["train", "--dataset", "sine", "--csv", "{csv}"],
    ["gradients", "--timesteps", "0"],
    ["gradients", "--hidden", "600"],
    ["gradients", "--batch", "0"],
    ["gradients", "--batch", "1025"],                  # FIELDS["probe_batch"]
    ["gradients", "--timesteps", "501"],               # the Lab's range (FIELDS["lab.timesteps"]), not training's
    ["gradients", "--gain", "3.5"],                    # the Lab's 0–3, not the Playground's 0–5
    ["gradients", "--init", "zeros"],
    ["gradients", "--json", "{tmp}/no/such/folder/g.json"],
    [],
])
def test_bad_input_exits_2_with_one_line(argv, tmp_path, prices_csv, capsys):
    garbage = tmp_path / "garbage.csv"
    garbage.write_bytes(b"\x00\x01\x02\xff" * 200)
    subs = {"{missing}": str(tmp_path / "missing.csv"), "{csv}": str(prices_csv),
            "{garbage}": str(garbage), "{tmp}": str(tmp_path)}
    argv = [_sub(a, subs) for a in argv]
    assert _main(argv) == 2
    captured = capsys.readouterr()
    _one_line_error(captured.err)


def _sub(arg: str, subs: dict[str, str]) -> str:
    for key, value in subs.items():
        arg = arg.replace(key, value)
    return arg


def test_csv_notes_are_printed(tmp_path, capsys):
    """What the reader changed in an upload (here: sorted the dates) is said, not done silently."""
    days = pd.date_range("2020-01-01", periods=120)
    path = tmp_path / "reversed.csv"
    pd.DataFrame({"date": days[::-1].strftime("%Y-%m-%d"), "value": np.sin(np.arange(120) / 5)}).to_csv(
        path, index=False)
    code = _main(["train", "--csv", str(path), "--column", "value", "--timesteps", "5", "--hidden", "2",
                  "--epochs", "1", "--quiet"])
    assert code == 0
    assert "Sorted the rows by 'date'" in capsys.readouterr().out


def test_gradients_says_the_bound_only_where_it_is_one(capsys):
    """Elman: the bound for the top layer only; LSTM: no σ_max bound, the forget gates' product instead."""
    assert _main(["gradients", "--cell", "rnn", "--timesteps", "30", "--hidden", "8", "--layers", "2",
                  "--init", "orthogonal", "--gain", "0.5"]) == 0
    layer1, layer2 = [line for line in capsys.readouterr().out.splitlines() if line.startswith("layer")]
    assert "W_hh: σ_max 0.500" in layer1 and "gradient enters it from the layer above" in layer1
    assert "the bound (σ_max·γ)^(T−1) says at least 8.7 decades are lost" in layer2
    assert _main(["gradients", "--cell", "lstm", "--timesteps", "30", "--hidden", "8", "--init", "orthogonal",
                  "--gain", "0.5", "--forget-bias", "3"]) == 0
    (line,) = [line for line in capsys.readouterr().out.splitlines() if line.startswith("layer")]
    assert "W_hg (candidate block of W_hh): σ_max 0.500" in line
    assert "no σ_max bound for a gated cell: along the cell state's additive path alone" in line
    assert "the bound" not in line


@pytest.mark.parametrize("argv, words", [
    (["train", "--timesteps", "10", "--bptt-truncate", "100"], "longer than the window"),
    (["train", "--forget-bias", "40"], "forget_bias must be between"),
    (["train", "--forget-bias", "nan"], "forget_bias must be between"),
    (["train", "--cell", "jordan", "--layers", "2"], "exactly 1 layer"),
    (["gradients", "--forget-bias", "40"], "forget_bias must be between"),
    (["train", "--probe-batch", "0"], "probe_batch must be between 1 and 1,024, got 0"),        # FIELDS["probe_batch"]
    (["train", "--probe-batch", "1025"], "probe_batch must be between 1 and 1,024, got 1,025"),
])
def test_cli_refuses_what_the_ui_refuses(argv, words, capsys):
    """The CLI calls the same `validate_run` as the Playground: exit 2, one sentence, nothing trained."""
    assert _main(argv) == 2
    captured = capsys.readouterr()
    _one_line_error(captured.err)
    assert words in captured.err and "Epoch" not in captured.out


def test_cli_help_states_the_limits_of_the_settings_table(capsys):
    from rnn_core.config import FIELDS

    assert _main(["train", "--help"]) == 0
    out = " ".join(capsys.readouterr().out.split())
    f = FIELDS["forget_bias"]
    assert f"{readable(f.lo)} to {readable(f.hi)}" in out and f"1 to {readable(FIELDS['timesteps'].hi)}" in out


def test_timesteps_and_bptt_in_a_real_process_exit_2():
    proc = _run("train", "--timesteps", "10", "--bptt-truncate", "100")
    assert proc.returncode == 2
    _one_line_error(proc.stderr)


def test_the_probe_runs_only_when_the_run_is_written(tmp_path, capsys, monkeypatch):
    """No printed line reads the gradient probe, so a run that is not written does not pay for it; the
    losses and metrics it prints are the same either way."""
    import rnn_core.nn.batches  # where the trainer's window batches call the probe

    calls = []
    real_probe = rnn_core.nn.batches.probe
    monkeypatch.setattr(rnn_core.nn.batches, "probe", lambda *a, **k: calls.append(1) or real_probe(*a, **k))
    argv = ["train", "--dataset", "sine", "--param", "length=300", "--timesteps", "20", "--hidden", "8",
            "--epochs", "2"]
    assert _main(argv) == 0
    printed = capsys.readouterr().out
    assert calls == []

    out_json = tmp_path / "run.json"
    assert _main([*argv, "--json", str(out_json)]) == 0
    written = capsys.readouterr().out
    assert len(calls) == 2                                  # epoch 0 and epoch 2 (probe_every 2, the last)
    assert [bool(e["probe"]) for e in json.loads(out_json.read_text())["epochs"]] == [True, False, True]
    assert _without_times(written.replace(f"Wrote the run record to {out_json}\n", "")) == _without_times(printed)

    assert _main([*argv, "--probe-every", "1"]) == 0        # asked for: computed although not written
    capsys.readouterr()
    assert len(calls) == 2 + 3


def _without_times(out: str) -> str:
    return re.sub(r"\d[\d,]*(?:\.\d)? s\b", "…", out)          # "0.4 s", "12 s" (rnn_core.readable.seconds)


def test_the_cli_trains_on_one_thread_like_the_app_so_a_preset_gives_the_apps_numbers(tmp_path, keep_torch_threads):
    """`clipping_rescue` sits near the edge of divergence: on two torch threads its validation loss ends
    3.5× higher than on one. The app trains each run on one thread (and so do the tests); the CLI now does
    too, whatever the process had, unless --threads says otherwise."""
    import json

    import torch

    from rnn_core.cli.main import main
    from tests.conftest import train_preset

    torch.set_num_threads(2)                                   # what torch starts with on this machine
    assert main(["train", "--preset", "clipping_rescue", "--quiet", "--json", str(tmp_path / "r.json")]) == 0
    assert torch.get_num_threads() == 1
    cli = json.loads((tmp_path / "r.json").read_text())["epochs"][-1]["val_loss"]
    assert cli == train_preset("clipping_rescue").epochs[-1]["val_loss"]               # bitwise the app's


def test_threads_must_be_a_whole_number_within_the_cpus(capsys):
    from rnn_core.cli.main import main
    from rnn_core.serve.admission import cpus

    for bad in ("0", "many", str(cpus() + 1)):
        with pytest.raises(SystemExit) as exit_:
            main(["train", "--threads", bad])
        assert exit_.value.code == 2
        assert "--threads" in capsys.readouterr().err


def test_a_diverged_runs_metrics_are_written_as_the_app_writes_them(capsys):
    """The Exploding preset's test skill score is about −1.8 × 10¹⁹: not twenty digits and ".000"."""
    import re

    from rnn_core.cli.main import main

    assert main(["train", "--preset", "exploding", "--quiet"]) == 0
    out = capsys.readouterr().out
    assert re.search(r"skill score = 1 − RMSE / baseline RMSE = −\d(\.\d+)? × 10[¹²³⁴⁵⁶⁷⁸⁹⁰]+", out), out
    assert not re.search(r"\d{10}", out), out


def test_momentum_has_its_range_in_the_cli_and_in_a_link(capsys):
    """SGD momentum ≥ 1 never forgets a step: the CLI refused nothing (1.5 trained) and a link's −3 was
    dropped without a word; both now read the one range in config.FIELDS."""
    from rnn_core.cli.main import main
    from ui.links import PLAYGROUND, read_link

    assert main(["train", "--optimizer", "sgd", "--momentum", "1.5", "--epochs", "1"]) == 2
    assert "Momentum: momentum must be between 0 and 0.999, got 1.5" in capsys.readouterr().err
    link = read_link(PLAYGROUND, {"t.momentum": "-3", "t.optimizer": "sgd"})
    assert link.settings[2].momentum == 0.0 and "Momentum −3 is outside 0–0.999; set to 0." in link.note


def test_a_dataset_parameter_is_checked_and_kept_as_its_type(tmp_path, capsys):
    """--param foo=1 trained silently and --param n_samples=500 was written as "500"; now an unknown name
    or a bad value is one sentence, and the run record holds the number."""
    import json

    from rnn_core.cli.main import main

    assert main(["train", "--dataset", "sine", "--param", "foo=1", "--epochs", "1"]) == 2
    err = capsys.readouterr().err
    assert "The dataset 'sine' has no parameter 'foo'; it takes: length, period, noise, seed." in err
    assert main(["train", "--dataset", "sine", "--param", "length=abc", "--epochs", "1"]) == 2
    assert "must be a number, got 'abc'" in capsys.readouterr().err
    path = tmp_path / "r.json"
    assert main(["train", "--preset", "gru_echo", "--param", "n_samples=500", "--epochs", "1", "--quiet",
                 "--json", str(path)]) == 0
    assert json.loads(path.read_text())["config"]["data"]["params"]["n_samples"] == 500


def test_the_gradients_command_takes_the_labs_ranges(capsys):
    """It measures what the Gradient Lab measures, so it refuses what the Lab's sliders cannot reach, in the
    Lab's words, and its --help states the Lab's ranges (config.FIELDS["lab.*"])."""
    from rnn_core.config import FIELDS

    assert _main(["gradients", "--timesteps", "501"]) == 2
    assert "timesteps must be between 2 and 500 in the Gradient Lab (and the gradients command)" in \
        capsys.readouterr().err
    assert _main(["gradients", "--help"]) == 0
    out = " ".join(capsys.readouterr().out.split())
    lab_t, lab_h = FIELDS["lab.timesteps"], FIELDS["lab.hidden_size"]
    assert f"T (50; {lab_t.lo} to {lab_t.hi})" in out and f"hidden units per layer (32; 1 to {lab_h.hi})" in out
