"""Saved runs: save → load gives the same predictions; zips round-trip; hostile zips are refused."""

from __future__ import annotations

import csv
import io
import json
import pickle
import zipfile

import numpy as np
import pytest
import torch
from safetensors.torch import save as save_safetensors

from rnn_core.config import DataConfig, TrainConfig
from rnn_core.data.budget import LIMITS, Limit
from rnn_core.measure.evaluate import predict
from rnn_core.nn.model_config import ModelConfig
from rnn_core.nn.models import build_model
from rnn_core.serve import run_format as runs
from rnn_core.serve.run_format import RunFileError, load_run, load_run_zip
from rnn_core.serve.runs import run_zip_bytes, save_run

RECORDS = [
    {"kind": "epoch", "epoch": 0, "step": 0, "train_loss": 0.5, "val_loss": 0.6, "probe": None,
     "spectra": [{"sigma_max": 1.1, "spectral_radius": 0.9}], "param_grad_norms": {"head.weight": 0.2},
     "seconds": 0.0},
    {"kind": "step", "epoch": 1, "step": 1, "loss": 0.45, "grad_norm": 2.5, "clipped": True},
    {"kind": "step", "epoch": 1, "step": 2, "loss": 0.40, "grad_norm": 0.5, "clipped": False},
    {"kind": "epoch", "epoch": 1, "step": 2, "train_loss": 0.3, "val_loss": None,
     "probe": {"timesteps": 3, "grad_h": [[1e-3, 1e-2, 1e-1]]},
     "spectra": [{"sigma_max": 1.0, "spectral_radius": 0.8}], "param_grad_norms": {"head.weight": 0.1},
     "seconds": 0.25},
    {"kind": "end", "status": "completed", "epoch": 1, "step": 2, "reason": "Finished 1 epochs (2 steps).",
     "seconds": 0.3},
]
METRICS = {"test": {"rmse": 1.5, "skill_score": float("nan")}}


def _setup(cell: str = "gru", layers: int = 1, F: int = 2):
    model_cfg = ModelConfig(cell=cell, hidden_size=5, num_layers=layers, input_size=F)
    data_cfg = DataConfig(dataset="sine", timesteps=7, params={"length": 300})
    train_cfg = TrainConfig(epochs=1, seed=3)
    model = build_model(model_cfg, seed=11)
    X = np.random.default_rng(0).normal(size=(9, 7, F)).astype(np.float32)
    return model, model_cfg, data_cfg, train_cfg, X


@pytest.mark.parametrize("cell,layers", [("gru", 1), ("jordan", 1), ("lstm", 2)])
def test_save_load_gives_the_same_predictions(tmp_path, cell, layers):
    model, model_cfg, data_cfg, train_cfg, X = _setup(cell, layers)
    save_run(tmp_path / "run", model, model_cfg, data_cfg, train_cfg, RECORDS, METRICS)
    assert sorted(p.name for p in (tmp_path / "run").iterdir()) == sorted(runs.MEMBER_CAPS)
    loaded = load_run(tmp_path / "run")
    np.testing.assert_array_equal(predict(loaded.model, X), predict(model, X))
    assert loaded.configs == (model_cfg, data_cfg, train_cfg)
    assert loaded.records == RECORDS
    assert loaded.metrics == {"test": {"rmse": 1.5, "skill_score": None}}   # NaN saved as null (strict JSON)


def test_history_csv_has_one_row_per_step_and_epoch_record(tmp_path):
    model, model_cfg, data_cfg, train_cfg, _ = _setup()
    save_run(tmp_path, model, model_cfg, data_cfg, train_cfg, RECORDS, METRICS)
    rows = list(csv.DictReader(io.StringIO((tmp_path / "history.csv").read_text())))
    assert [r["kind"] for r in rows] == ["epoch", "step", "step", "epoch"]
    assert list(rows[0]) == list(runs.HISTORY_COLUMNS)
    assert rows[1]["grad_norm"] == "2.5" and rows[1]["clipped"] == "True"
    assert rows[3]["val_loss"] == "" and rows[3]["train_loss"] == "0.3"
    # without records.json the history comes back from the CSV
    (tmp_path / "records.json").unlink()
    records = load_run(tmp_path).records
    assert records[1] == {"kind": "step", "epoch": 1, "step": 1, "loss": 0.45, "grad_norm": 2.5,
                          "clipped": True}
    assert records[3]["train_loss"] == 0.3 and "val_loss" not in records[3]


def test_zip_round_trip(tmp_path):
    model, model_cfg, data_cfg, train_cfg, X = _setup("lstm")
    data = run_zip_bytes(model, model_cfg, data_cfg, train_cfg, RECORDS, METRICS)
    with zipfile.ZipFile(io.BytesIO(data)) as zf:
        assert sorted(zf.namelist()) == sorted(runs.MEMBER_CAPS)
        config = json.loads(zf.read("config.json"))
    assert config["model"]["cell"] == "lstm" and config["train"]["seed"] == 3
    loaded = load_run_zip(data)
    np.testing.assert_array_equal(predict(loaded.model, X), predict(model, X))
    assert loaded.train_cfg == train_cfg and loaded.records == RECORDS


def _zip(members: dict[str, bytes]) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        for name, data in members.items():
            zf.writestr(name, data)
    return buf.getvalue()


def _good_members() -> dict[str, bytes]:
    model, model_cfg, data_cfg, train_cfg, _ = _setup()
    with zipfile.ZipFile(io.BytesIO(run_zip_bytes(model, model_cfg, data_cfg, train_cfg, [], {}))) as zf:
        return {n: zf.read(n) for n in zf.namelist()}


class _Boom:
    """Unpickling this would create a file: proof that nothing is ever unpickled."""

    def __init__(self, path):
        self.path = path

    def __reduce__(self):
        return (open, (self.path, "w"))


@pytest.mark.parametrize("case", ["traversal", "folder", "absolute", "pickle_member", "duplicate"])
def test_hostile_member_names_are_refused(case):
    good = _good_members()
    if case == "traversal":
        members = {**good, "../config.json": b"{}"}
    elif case == "folder":
        members = {f"run/{n}": d for n, d in good.items()}
    elif case == "absolute":
        members = {**good, "/etc/cron.d/x": b"* * * * * root true"}
    elif case == "pickle_member":
        members = {**good, "weights.pt": pickle.dumps({"a": 1})}
    else:
        members = None
    data = _zip(members) if members is not None else _dup(good)   # duplicate: config.json twice
    with pytest.raises(RunFileError) as err:
        load_run_zip(data)
    assert "\n" not in str(err.value) and str(err.value).endswith(".")


def _dup(good: dict[str, bytes]) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        for name, data in good.items():
            zf.writestr(name, data)
        with pytest.warns(UserWarning):
            zf.writestr("config.json", good["config.json"])
    return buf.getvalue()


def test_pickled_weights_are_never_unpickled(tmp_path):
    marker = tmp_path / "pwned"
    members = {**_good_members(), "weights.safetensors": pickle.dumps(_Boom(str(marker)))}
    with pytest.raises(RunFileError, match="safetensors"):
        load_run_zip(_zip(members))
    assert not marker.exists()
    # a torch.save file (a pickle inside a zip) under the safetensors name is refused as well
    buf = io.BytesIO()
    torch.save({"w": torch.zeros(2)}, buf)
    with pytest.raises(RunFileError, match="safetensors"):
        load_run_zip(_zip({**_good_members(), "weights.safetensors": buf.getvalue()}))


def test_oversized_uploads_and_zip_bombs_are_refused(monkeypatch):
    good = _good_members()
    # a member that unpacks far beyond its cap (highly compressible: a zip bomb in miniature)
    bomb = _zip({**good, "config.json": b" " * (runs.MEMBER_CAPS["config.json"] + 10)})
    assert len(bomb) < 100_000
    with pytest.raises(RunFileError, match="larger than"):
        load_run_zip(bomb)
    monkeypatch.setitem(LIMITS, "run_zip", Limit(1000, "reading one run zip"))     # the budget decides
    with pytest.raises(RunFileError, match=r"above the 0\.001 MB reading one run zip may use"):
        load_run_zip(_zip(good))


def test_broken_uploads_get_one_sentence():
    good = _good_members()
    model5 = json.loads(good["config.json"])
    cases = {
        "not a zip": b"PK\x03\x04 definitely not a zip",
        "no weights": _zip({"config.json": good["config.json"]}),
        "bad json": _zip({**good, "config.json": b"{not json"}),
        "bad config value": _zip({**good, "config.json": json.dumps(
            {**model5, "model": {**model5["model"], "hidden_size": -4}}).encode()}),
        "shape mismatch": _zip({**good, "weights.safetensors": save_safetensors(
            {k: v.contiguous() for k, v in build_model(ModelConfig(cell="gru", hidden_size=3,
                                                                  input_size=2)).state_dict().items()})}),
        "records not a list": _zip({**good, "records.json": b'{"a": 1}'}),
    }
    messages = {}
    for name, data in cases.items():
        with pytest.raises(RunFileError) as err:
            load_run_zip(data)
        messages[name] = str(err.value)
    assert "hidden_size" in messages["bad config value"]
    assert "do not fit" in messages["shape mismatch"]
    assert "weights.safetensors" in messages["no weights"]
    assert all("\n" not in m for m in messages.values())


def test_missing_folder_is_a_clear_error(tmp_path):
    with pytest.raises(RunFileError, match="No saved run"):
        load_run(tmp_path / "nope")


def test_a_jordan_run_saved_before_output_feedback_gets_one_sentence(tmp_path):
    """Old Jordan weights (an H×H W_hh and a hidden projection W_hy) no longer fit: say why."""
    model, model_cfg, data_cfg, train_cfg, _ = _setup("jordan", 1)
    save_run(tmp_path / "run", model, model_cfg, data_cfg, train_cfg, RECORDS, METRICS)
    old = {"rnn.weight_ih_l0": torch.zeros(5, 2), "rnn.weight_hh_l0": torch.zeros(5, 5),
           "rnn.bias_ih_l0": torch.zeros(5), "rnn.bias_hh_l0": torch.zeros(5), "rnn.weight_hy_l0": torch.zeros(5, 5),
           "rnn.bias_hy_l0": torch.zeros(5), "head.weight": torch.zeros(1, 5), "head.bias": torch.zeros(1)}
    (tmp_path / "run" / "weights.safetensors").write_bytes(save_safetensors(old))
    with pytest.raises(RunFileError, match=r"^This Jordan run was saved before .* train it again\.$"):
        load_run(tmp_path / "run")


def test_a_saved_run_the_playground_would_refuse_is_refused_on_load():
    """runs.load calls the same validate_run as every front end: truncation longer than the window."""
    model, model_cfg, data_cfg, _, _ = _setup("gru")
    data = run_zip_bytes(model, model_cfg, data_cfg, TrainConfig(epochs=1, bptt_truncate=50), RECORDS, METRICS)
    with pytest.raises(RunFileError, match=r"longer than the window \(T = 7\)"):
        load_run_zip(data)
