"""The sweep engine (`rnn_core.sweep.trials`), its CLI and its figures: the same grid gives the same records on
every backend; a finished run is never re-run; a bad grid or a bad file is one sentence."""

from __future__ import annotations

import time

import pytest

from plots.sweep import sweep_figure, trainability_figure
from rnn_core.cli import main as cli
from rnn_core.config import DataConfig, TrainConfig
from rnn_core.nn.cells import label_of
from rnn_core.nn.model_config import ModelConfig
from rnn_core.sweep.backends import ray_available, run_sweep
from rnn_core.sweep.background import SweepRun
from rnn_core.sweep.records import finished_keys, parse_records_csv, read_records, records_csv
from rnn_core.sweep.trials import COLUMNS, SweepError, grid

TINY = dict(model=ModelConfig(hidden_size=4, init="orthogonal"),
            data=DataConfig(dataset="adding", params={"n_samples": 120}),
            train=TrainConfig(epochs=1, batch_size=32))         # what TINY_CLI's flags make
# a tiny grid: 2 cells × 2 gains, one length, one seed
TINY_CLI = ["sweep", "--cell", "rnn,gru", "--timesteps", "5", "--gain", "0.5,1.5", "--seeds", "1", "--hidden", "4",
            "--epochs", "1", "--param", "n_samples=120", "--quiet"]


def _tiny_trials(seeds: int = 1):
    return grid(["rnn", "gru"], [5], [0.5, 1.5], seeds, **TINY)


def _without_time(records):
    """Records sorted by key, without the wall time (the one field a backend may change)."""
    return sorted(({k: v for k, v in r.items() if k != "seconds"} for r in records), key=lambda r: r["key"])


@pytest.fixture(scope="module")
def inline_records():
    return list(run_sweep(_tiny_trials(), backend="inline"))


def test_records_are_plain_measurements_of_each_run(inline_records):
    assert len(inline_records) == 4 and {r["key"] for r in inline_records} == {t.key for t in _tiny_trials()}
    for r in inline_records:
        assert tuple(r) == COLUMNS
        assert r["status"] == "completed" and r["diverged"] is False
        assert r["val_loss"] > 0 and r["test_loss"] > 0 and r["baseline_mse"] > 0
        assert r["loss_ratio"] == pytest.approx(r["val_loss"] / r["baseline_mse"])
        assert r["skill_score"] < 1 and r["decades_init"] is not None and r["decades_end"] is not None
    # orthogonal × gain: σ_max(W_hh) is the gain; a gain below 1 loses decades going back, for the tanh RNN
    rnn = {r["gain"]: r for r in inline_records if r["cell"] == "rnn"}
    assert rnn[0.5]["sigma_gamma"] == pytest.approx(0.5, rel=1e-5)
    assert rnn[0.5]["decades_init"] > rnn[1.5]["decades_init"]


def test_worker_processes_give_the_same_records_as_one_loop(inline_records):
    local = list(run_sweep(_tiny_trials(), backend="local", workers=2))
    assert _without_time(local) == _without_time(inline_records)


@pytest.mark.slow
@pytest.mark.skipif(ray_available() is not None, reason=f"{ray_available()} (the Ray backend is optional)")
def test_ray_gives_the_same_records_as_one_loop(inline_records, monkeypatch):
    import ray

    monkeypatch.delenv("RAY_ADDRESS", raising=False)       # a local instance with 2 CPUs, shut down after
    ray_records = list(run_sweep(_tiny_trials(), backend="ray", workers=2))
    assert not ray.is_initialized()
    assert _without_time(ray_records) == _without_time(inline_records)


@pytest.mark.parametrize("kwargs, words", [
    ({"cells": []}, "no cell"),
    ({"cells": ["rnn", "transformer"]}, "Unknown cell 'transformer'"),
    ({"timesteps": [10, 5000]}, "between 1 and 1,000"),
    ({"gains": []}, "no gain"),
    ({"seeds": 0}, "no seed"),
])
def test_a_bad_grid_is_one_sentence(kwargs, words):
    args = {"cells": ["rnn"], "timesteps": [10], "gains": [1.0], "seeds": 1, **kwargs}
    with pytest.raises(SweepError, match=words) as err:
        grid(**args)
    assert str(err.value).count(". ") == 0 and str(err.value).endswith(".")


@pytest.mark.parametrize("flags, words", [
    (["--cell", "rnn,foo"], "Unknown cell 'foo'"),
    (["--cell", ","], "no cell"),
    (["--timesteps", "10,5000"], "between 1 and 1,000"),
    (["--timesteps", "0:10:0"], "START:STOP:COUNT"),
    (["--gain", "a,b"], "--gain takes numbers"),
])
def test_cli_bad_grid_exits_2_with_one_sentence(flags, words, tmp_path, capsys):
    out = tmp_path / "s.csv"
    assert cli.main([*TINY_CLI, *flags, "--out", str(out)]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and words in err, err
    assert not out.exists()                                  # nothing was run or written


def test_cli_sweep_resumes_without_rerunning_finished_runs(tmp_path, capsys, inline_records):
    out = tmp_path / "sweep.csv"
    # a sweep interrupted after two runs: its file holds them
    first = sorted(inline_records, key=lambda r: r["key"])[:2]
    out.write_bytes(records_csv(first))
    kept = out.read_text()
    assert cli.main([*TINY_CLI, "--backend", "inline", "--out", str(out)]) == 0
    said = capsys.readouterr().out
    assert "4 runs in the grid, 2 already in" in said and "2 to train" in said
    text = out.read_text()
    assert text.startswith(kept)                             # the finished rows are kept as they were
    records = read_records(out)
    assert len(records) == 4 and finished_keys(out) == {r["key"] for r in inline_records}
    assert _without_time(records) == _without_time(inline_records)
    assert read_records(tmp_path / "new.csv") == [] and finished_keys(tmp_path / "new.csv") == set()
    (tmp_path / "header.csv").write_bytes(records_csv([]))      # interrupted before the first run ended
    assert read_records(tmp_path / "header.csv") == []
    # a third time: nothing left to train, the file is unchanged
    assert cli.main([*TINY_CLI, "--backend", "inline", "--out", str(out)]) == 0
    assert "0 to train" in capsys.readouterr().out and out.read_text() == text


def test_a_sweep_file_round_trips_and_a_bad_one_is_one_sentence(inline_records):
    assert _without_time(parse_records_csv(records_csv(inline_records))) == _without_time(inline_records)
    bad = {
        b"x" * 6_000_001: "at most 5 MB",
        b"\xff\xfe\x00garbage": "not UTF-8",
        b"a,b,c\n1,2,3\n": "lacks the column",
        records_csv(inline_records).replace(b",rnn,", b",cnn,", 1): "unknown cell 'cnn'",
        records_csv(inline_records).replace(b",5,", b",five,", 1): "timesteps 'five'",
        records_csv([]): "no runs",
    }
    for data, words in bad.items():
        with pytest.raises(SweepError, match=words):
            parse_records_csv(data)


def test_a_sweep_run_stops_when_asked_and_keeps_what_finished():
    """Something finished before Stop (and is kept, completed), something did not (and never ran)."""
    trials = grid(["rnn"], [20, 40, 80, 160], [1.0], 2, **{**TINY, "train": TrainConfig(epochs=30, batch_size=8)})
    run = SweepRun(trials, backend="inline").start()
    deadline = time.monotonic() + 120
    while run.snapshot()["done"] < 1 and time.monotonic() < deadline:   # the first run has finished
        time.sleep(0.05)
    run.stop()
    run.join(timeout=60)
    snap = run.snapshot()
    assert snap["status"] == "stopped" and 1 <= snap["done"] < snap["total"] == 8
    assert all(r["status"] == "completed" for r in snap["records"])            # what finished, kept whole
    time.sleep(0.3)
    assert run.snapshot()["seconds"] == snap["seconds"]      # a stopped sweep's clock has stopped


def test_a_finished_sweep_says_how_long_it_took_not_how_long_ago_it_started():
    """The page reads "completed in N s" from a finished sweep for as long as it shows it."""
    run = SweepRun(_tiny_trials(), backend="inline").start()
    run.join(timeout=120)
    snap = run.snapshot()
    assert snap["status"] == "completed"
    time.sleep(0.3)
    assert run.snapshot()["seconds"] == snap["seconds"] > 0


def test_a_sweep_run_stops_once_its_watcher_says_nobody_watches():
    tab_open = [True]
    trials = grid(["rnn", "lstm"], [20, 40, 80], [1.0], 1, **{**TINY, "train": TrainConfig(epochs=200, batch_size=8)})
    run = SweepRun(trials, backend="inline", watcher=lambda: tab_open[0], idle_timeout=0.5).start()
    time.sleep(1.5)
    assert run.status == "running"                 # watched: goes on past the idle timeout
    tab_open[0] = False
    run.join(timeout=60)
    assert run.status == "stopped" and run.done < run.total


def test_an_impossible_setting_is_skipped_with_a_sentence():
    trials = grid(["rnn"], [3, 8], [1.0], 1, model=ModelConfig(hidden_size=4),
                  data=DataConfig(dataset="echo", params={"lag": 5, "n_samples": 100, "seed": 0}),
                  train=TrainConfig(epochs=1))
    records = sorted(run_sweep(trials, backend="inline"), key=lambda r: r["timesteps"])
    assert records[0]["status"] == "skipped" and "lag" in records[0]["note"]
    assert records[1]["status"] == "completed"


def _record(cell, gain, T, seed, ratio, sg):
    return {"cell": cell, "gain": gain, "timesteps": T, "seed": seed, "val_loss": ratio * 0.1,
            "baseline_mse": 0.1, "loss_ratio": ratio, "sigma_gamma": sg, "diverged": False, "status": "completed"}


def test_the_trainability_map_draws_the_bound_only_where_it_is_one():
    records = [_record(c, g, T, s, ratio, g) for c in ("rnn", "lstm") for g in (0.5, 1.5) for T in (10, 50)
               for s, ratio in ((0, 0.1), (1, 1.0))]
    fig = trainability_figure(records)
    heat = [t for t in fig.data if t.type == "heatmap"]
    assert [t.name for t in heat] == [label_of("rnn"), label_of("lstm")]
    # one band of equal height per gain, each labelled with its own gain
    assert list(heat[0].y) == [0, 1] and list(heat[0].x) == ["10", "50"]
    assert list(fig.layout.yaxis.tickvals) == [0, 1] and list(fig.layout.yaxis.ticktext) == ["0.5", "1.5"]
    # mean over seeds in log space: log10(0.1) and log10(1) → −0.5
    assert heat[0].z[0][0] == pytest.approx(-0.5)
    lines = [s for s in fig.layout.shapes if s.type == "line"]
    # σ_max·γ = 1 (gain 1.0) for the tanh RNN only, halfway between the bands of 0.5 and 1.5
    assert len(lines) == 1 and lines[0].y0 == pytest.approx(0.5)
    assert "σ_max·γ = 1" in fig.layout.annotations[-1].text
    assert trainability_figure([]).layout.annotations                  # an empty map says why


def test_the_sweep_chart_shows_the_mean_and_spread_over_seeds():
    records = [{"cell": "rnn", "timesteps": T, "seed": s, "val_loss": v, "baseline_mse": 0.16, "diverged": False}
               for T, vals in ((10, (0.1, 0.3)), (20, (0.15, 0.15))) for s, v in enumerate(vals)]
    fig = sweep_figure(records)
    line = fig.data[0]
    assert list(line.y) == pytest.approx([0.2, 0.15])
    assert list(line.error_y.array) == pytest.approx([0.1, 0.0]) and line.error_y.visible
    assert fig.data[-1].name == "naive guess"
    assert sweep_figure([]).layout.annotations


def test_a_sweep_waits_for_a_slot_of_the_servers_admission_and_gives_it_back():
    from rnn_core.serve.admission import Admission

    admission = Admission(slots=2)
    live_run = admission.enqueue()                     # a live run holds one of the two slots
    trials = grid(["rnn"], [5], [0.5, 1.5], 1, **TINY)
    blocker = admission.enqueue()                      # and another one the second
    run = SweepRun(trials, backend="inline", admission=admission).start()
    time.sleep(0.5)
    snap = run.snapshot()
    assert snap["status"] == "queued" and snap["ahead"] == 0 and snap["done"] == 0
    admission.release(blocker, finished=True)
    run.join(timeout=60)
    assert run.status == "completed" and run.done == 2
    assert admission.counts()["active"] == 1            # only the live run's slot is still held
    admission.release(live_run)


def test_the_sweep_chart_keeps_gains_apart():
    records = [{"cell": "rnn", "timesteps": 10, "gain": g, "seed": 0, "val_loss": v, "baseline_mse": 0.16}
               for g, v in ((0.5, 0.2), (1.5, 0.05))]
    fig = sweep_figure(records)
    assert [t.name for t in fig.data] == [f"{label_of('rnn')}, gain 0.5", f"{label_of('rnn')}, gain 1.5",
                                         "naive guess"]
    assert [list(t.y) for t in fig.data[:2]] == [[0.2], [0.05]]


@pytest.mark.slow
def test_ctrl_c_keeps_the_finished_runs_and_the_same_command_goes_on(tmp_path):
    import os
    import signal
    import subprocess
    import sys

    out = tmp_path / "sweep.csv"
    cmd = [sys.executable, "-m", "rnn_core", *TINY_CLI[:-1], "--timesteps", "5,10,20,40", "--epochs", "3",
           "--workers", "1", "--out", str(out)]                # 16 runs on one worker process
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            env={**os.environ, "PYTHONPATH": os.getcwd()})
    deadline = time.monotonic() + 120
    while len(read_records(out)) < 1:
        assert proc.poll() is None and time.monotonic() < deadline, proc.communicate()
        time.sleep(0.2)
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 130
    kept = read_records(out)
    assert 1 <= len(kept) < 16
    assert "Interrupted:" in err and f"{len(kept)} of 16 runs finished and are kept" in err
    # the same command trains only the rest
    assert cli.main([*TINY_CLI, "--timesteps", "5,10,20,40", "--epochs", "3", "--backend", "inline",
                     "--out", str(out)]) == 0
    assert len(read_records(out)) == 16 and len(finished_keys(out)) == 16
