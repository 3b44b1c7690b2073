"""Uploads on the pages, through AppTest: a CSV or a text is read once per upload (a rerun never parses
it again), and a run zip that is hostile in any one field gives one sentence, never a crash page."""

from __future__ import annotations

import io
import json
import re
import zipfile

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import ui.controls as controls
from rnn_core.config import DataConfig, TrainConfig
from rnn_core.nn.model_config import ModelConfig
from rnn_core.nn.models import build_model
from rnn_core.nn.train import device_problem
from rnn_core.serve.runs import run_zip_bytes
from tests.conftest import PAGE_DIR, open_page, run_of
from tests.engine.test_fuzz_readers import FUZZ, GOOD, mutate

PLAYGROUND = f"{PAGE_DIR}/playground.py"


def _csv(n: int = 400) -> bytes:
    t = np.arange(n)
    return pd.DataFrame({"a": np.sin(t / 9.0).round(4), "b": np.cos(t / 7.0).round(4)}).to_csv(index=False).encode()


def _counting(monkeypatch, name: str, calls: dict) -> None:
    real = getattr(controls, name)

    def counted(*args, **kwargs):
        calls[name] = calls.get(name, 0) + 1
        return real(*args, **kwargs)

    monkeypatch.setattr(controls, name, counted)


def test_an_uploaded_csv_is_read_once_per_upload_and_choice(monkeypatch):
    calls: dict[str, int] = {}
    _counting(monkeypatch, "inspect_csv_upload", calls)
    _counting(monkeypatch, "read_csv_upload", calls)
    at = open_page(PLAYGROUND)
    at.selectbox(key="pg.d.dataset").set_value("csv").run()
    at.file_uploader(key="pg.d.csv_file").set_value(("prices.csv", _csv(), "text/csv")).run()
    assert calls == {"inspect_csv_upload": 1, "read_csv_upload": 1}
    for seed in (1, 2, 3):                                   # reruns that change nothing about the file
        at.number_input(key="pg.t.seed").set_value(seed).run()
    assert not at.exception and calls == {"inspect_csv_upload": 1, "read_csv_upload": 1}
    at.multiselect(key="pg.d.csv_values").set_value(["a", "b"]).run()      # a new choice: read once more
    at.number_input(key="pg.t.seed").set_value(4).run()
    assert calls == {"inspect_csv_upload": 1, "read_csv_upload": 2}
    at.file_uploader(key="pg.d.csv_file").set_value(("other.csv", _csv(500), "text/csv")).run()
    assert calls["inspect_csv_upload"] == 2                                 # a new file: read again


def test_a_pasted_text_is_read_once(monkeypatch):
    calls: dict[str, int] = {}
    _counting(monkeypatch, "read_text_upload", calls)
    at = open_page(PLAYGROUND)
    at.selectbox(key="pg.d.dataset").set_value("text").run()
    at.text_area(key="pg.d.text_paste").set_value("the quick brown fox jumps over the lazy dog. " * 20).run()
    for seed in (1, 2):
        at.number_input(key="pg.t.seed").set_value(seed).run()
    assert not at.exception and calls == {"read_text_upload": 1}


# ----------------------------------------------------------------------------- hostile run zips
def _run_zip(model: dict | None = None, data: dict | None = None, train: dict | None = None,
             metrics: dict | None = None, records: list | None = None) -> bytes:
    """A run zip as the app writes it, then one member edited by hand as an attacker would."""
    model_cfg = ModelConfig(hidden_size=4, **{k: v for k, v in (model or {}).items() if k in ("input_size",)})
    members = {}
    with zipfile.ZipFile(io.BytesIO(run_zip_bytes(build_model(model_cfg, seed=0), model_cfg,
                                                  DataConfig(timesteps=10), TrainConfig(epochs=1), [], {}))) as zf:
        members = {n: zf.read(n) for n in zf.namelist()}
    config = json.loads(members["config.json"])
    for section, changes in (("model", model), ("data", data), ("train", train)):
        config[section].update(changes or {})
    members["config.json"] = json.dumps(config).encode()
    if metrics is not None:
        members["metrics.json"] = json.dumps(metrics).encode()
    if records is not None:
        members["records.json"] = json.dumps(records).encode()
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        for name, blob in members.items():
            zf.writestr(name, blob)
    return buf.getvalue()


def _upload_run(data: bytes):
    at = open_page(PLAYGROUND)
    at.file_uploader(key="pg.run_upload").set_value(("run.zip", data, "application/zip")).run()
    assert not at.exception, [e.value for e in at.exception]
    return at


SEQUENCE = {"dataset": "csv"}            # data the server cannot rebuild: the page draws the saved metrics


@pytest.mark.parametrize("zip_kwargs, says", [
    ({"data": SEQUENCE, "metrics": {"task": "forecast", "val": 7}}, "its val part is not an object"),
    ({"data": SEQUENCE, "metrics": {"task": "sequence", "test": {
        "index": [0, 1, 2, 3, 4], "y_true": [1, 2, 3, 4, 5], "y_pred": [1, 2, 3, 4]}}},
     "test.y_pred has 4 values for 5 targets"),
    ({"model": {"input_size": 1}, "data": {"dataset": "pydoc", "params": {"length": 5000}}},
     "its network reads 1 input feature(s)"),
    ({"train": {"probe_batch": 1e9}}, "Probe batch: probe_batch must be between 1 and 1,024"),
    ({"train": {"device": "tpu"}}, "Unknown device 'tpu'"),
    ({"records": [{"kind": "epoch", "epoch": 0, "step": 0, "train_loss": 1.0,
                   "probe": {"timesteps": 10, "grad_h": [[1.0] * 7]}}]}, "probe.grad_h has 7 values for 10"),
])
def test_a_hostile_run_zip_is_one_sentence_never_a_crash_page(zip_kwargs, says):
    at = _upload_run(_run_zip(**zip_kwargs))
    errors = [re.sub(r"\\(.)", r"\1", e.value) for e in at.error]        # the sentences as shown
    assert any(says in e for e in errors), errors
    assert run_of(at) is None                                   # nothing half-loaded


def test_a_run_trained_on_a_gpu_opens_on_the_cpu_with_a_sentence():
    at = _upload_run(_run_zip(train={"device": "cuda"}))
    infos = [re.sub(r"\\(.)", r"\1", i.value) for i in at.info]
    if device_problem("cuda") is None:                          # this machine has a GPU: nothing to say
        assert not any("cuda" in i for i in infos)
        return
    assert any("trained on cuda, which this server does not have" in i for i in infos), infos
    assert run_of(at) is not None and not at.error


# ----------------------------------------------------------------------------- fuzzed run zips on the page
@settings(FUZZ, max_examples=12)
@given(st.data())
def test_a_fuzzed_run_zip_is_drawn_or_one_sentence_never_a_crash_page(data):
    """The reader's checks are the page's: whatever a mutated records.json or metrics.json holds, the
    page either draws the run or shows one sentence (here the data is a CSV the server does not keep, so
    the saved metrics are drawn too)."""
    members = {name: blob for name, blob in GOOD.items()}
    config = json.loads(members["config.json"])
    config["data"]["dataset"] = "csv"
    members["config.json"] = json.dumps(config).encode()
    name = data.draw(st.sampled_from(["records.json", "metrics.json"]))
    members[name] = json.dumps(mutate(data, json.loads(members[name]))).encode()
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        for member, blob in members.items():
            zf.writestr(member, blob)
    at = _upload_run(buf.getvalue())                         # asserts no exception on the page
    assert run_of(at) is not None or at.error
