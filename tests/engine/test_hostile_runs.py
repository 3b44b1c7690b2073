"""Hostile run zips for a shared server: sizes in config.json are bounded and checked against the
weights' header before any model is built; records and history rows are capped by count, so a tiny
zip cannot inflate to gigabytes. The memory bound is measured in a subprocess (RSS before and after)."""

from __future__ import annotations

import io
import json
import subprocess
import sys
import textwrap
import zipfile

import pytest
from safetensors.torch import save as save_safetensors

from rnn_core.config import LIMITS, ConfigError, DataConfig, TrainConfig
from rnn_core.nn.model_config import ModelConfig
from rnn_core.nn.models import build_model
from rnn_core.serve import run_format as runs
from rnn_core.serve.run_format import RunFileError, load_run_zip
from rnn_core.serve.runs import run_zip_bytes


def _zip(members: dict[str, bytes]) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=9) as zf:
        for name, data in members.items():
            zf.writestr(name, data)
    return buf.getvalue()


def _good() -> dict[str, bytes]:
    cfg = ModelConfig(cell="gru", hidden_size=4)
    data = run_zip_bytes(build_model(cfg, seed=0), cfg, DataConfig(), TrainConfig(epochs=1), [], {})
    with zipfile.ZipFile(io.BytesIO(data)) as zf:
        return {n: zf.read(n) for n in zf.namelist()}


def _with_model(good: dict[str, bytes], **model) -> dict[str, bytes]:
    config = json.loads(good["config.json"])
    config["model"].update(model)
    return {**good, "config.json": json.dumps(config).encode()}


@pytest.mark.parametrize("field,value", [("output_size", 2_000_000), ("input_size", 10**12),
                                         ("output_size", LIMITS["output_size"][1] + 1), ("input_size", "1e400")])
def test_huge_sizes_in_config_are_refused_before_any_model_is_built(monkeypatch, field, value):
    import rnn_core.nn.models as models

    def never(*_a, **_k):
        raise AssertionError("a model was built for a config the weights do not fit")

    monkeypatch.setattr(models, "build_model", never)
    data = _zip(_with_model(_good(), **{field: value}))
    assert len(data) < 5000
    with pytest.raises(RunFileError) as err:
        load_run_zip(data)
    assert "\n" not in str(err.value)


def test_model_config_bounds_every_size():
    from rnn_core.config import LIMITS

    for field in ("input_size", "output_size"):
        most = LIMITS[field][1]
        with pytest.raises(ConfigError, match=field):
            ModelConfig(**{field: most + 1}).validate()
        with pytest.raises(ConfigError, match=field):
            ModelConfig(**{field: 0}).validate()
        ModelConfig(**{field: most}).validate()


def test_weights_that_do_not_fit_are_refused_from_the_header_alone(monkeypatch):
    import rnn_core.serve.run_format as runs_mod

    def never(*_a, **_k):
        raise AssertionError("tensors were loaded before the header was checked")

    other = build_model(ModelConfig(cell="gru", hidden_size=64), seed=0)
    members = {**_good(), "weights.safetensors": save_safetensors(
        {k: v.contiguous() for k, v in other.state_dict().items()})}
    monkeypatch.setattr(runs_mod, "load_safetensors", never)
    with pytest.raises(RunFileError, match="do not fit"):
        load_run_zip(_zip(members))


@pytest.mark.parametrize("member,payload", [
    ("records.json", b"[" + b"{}," * 3_000_000 + b"{}]"),                 # 9 MB of empty records
    ("records.json", b"[[" + b"0," * 3_000_000 + b"0]]"),                # one record, 3 M values
    ("metrics.json", b'{"a": [' + b"0," * 3_000_000 + b"0]}"),
    ("history.csv", b"kind,epoch,step\n" + b"step,1,1\n" * 30_000),
])
def test_records_and_rows_are_capped_by_count(member, payload):
    data = _zip({**_good(), member: payload})
    assert len(data) < 200_000
    with pytest.raises(RunFileError, match="saved run keeps") as err:
        load_run_zip(data)
    assert "\n" not in str(err.value)


def test_too_many_records_in_a_small_file_are_refused():
    payload = json.dumps([{"kind": "step"}] * (runs.MAX_RECORDS + 1)).encode()
    with pytest.raises(RunFileError, match="records"):
        load_run_zip(_zip({**_good(), "records.json": payload}))


def test_saving_keeps_a_long_run_within_what_a_load_accepts():
    steps = [{"kind": "step", "epoch": 1, "step": i, "loss": 0.1, "grad_norm": 1.0, "clipped": False}
             for i in range(1, 40_001)]
    probe = {"timesteps": 1000, "grad_h": [[1e-3] * 1000] * 4, "ratio": [[1.0] * 1000] * 4}
    epochs = [{"kind": "epoch", "epoch": e, "step": e, "train_loss": 0.1, "probe": probe} for e in range(200)]
    cfg = ModelConfig(cell="gru", hidden_size=4)
    data = run_zip_bytes(build_model(cfg, seed=0), cfg, DataConfig(), TrainConfig(epochs=1), steps + epochs, {})
    loaded = load_run_zip(data)
    kept_steps = [r for r in loaded.records if r["kind"] == "step"]
    assert len(kept_steps) == runs.MAX_SAVED_STEPS and kept_steps[0]["step"] == 1
    assert kept_steps[-1]["step"] == 40_000
    probes = [r for r in loaded.records if r["kind"] == "epoch" and r["probe"]]
    assert loaded.records[-1]["probe"] and 2 < len(probes) < 200


HOSTILE = textwrap.dedent("""
    import io, json, sys, zipfile, gc
    from rnn_core.serve.run_format import RunFileError, load_run_zip

    def rss_mb(field="VmRSS:"):
        for line in open("/proc/self/status"):
            if line.startswith(field):
                return int(line.split()[1]) / 1024

    def zipped(name, repeat, times):
        # the good run plus name = [repeat * times], written in chunks (no big buffer here)
        good = {n: bytes.fromhex(h) for n, h in json.loads(sys.stdin.read()).items()}
        buf = io.BytesIO()
        with zipfile.ZipFile(buf, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=9) as zf:
            for n, d in good.items():
                if n != name:
                    zf.writestr(n, d)
            with zf.open(name, "w", force_zip64=True) as f:
                f.write(b"[")
                for _ in range(times // 65536):
                    f.write(repeat * 65536)
                f.write(b"{}]")
        return buf.getvalue()

    hostile = zipped("records.json", b"{},", 21 << 20)   # 64 MiB of "{}," once unpacked
    gc.collect()
    before = rss_mb()
    try:
        load_run_zip(hostile)
        print("LOADED")
    except RunFileError as e:
        print("REFUSED", e)
    print("DELTA", rss_mb() - before)
    print("PEAK", rss_mb("VmHWM:") - before)    # the high-water mark, never lower than RSS before
""")


@pytest.mark.slow
def test_memory_of_a_hostile_records_zip_stays_bounded():
    """Bound stated in runs.py: unpacked bytes ≤ the member's cap, refused at the count cap. Here the
    zip's records.json would be 21 M dicts (≈ 1.6 GB); loading it must add less than 80 MB of RSS."""
    good = {n: d.hex() for n, d in _good().items()}
    out = subprocess.run([sys.executable, "-c", HOSTILE], input=json.dumps(good), capture_output=True,
                         text=True, timeout=300, env={"OMP_NUM_THREADS": "1", "PATH": ""}, cwd=".")
    assert out.returncode == 0, out.stderr
    lines = dict(line.split(" ", 1) for line in out.stdout.strip().splitlines())
    assert "REFUSED" in lines and "saved run keeps" in lines["REFUSED"]
    assert float(lines["DELTA"]) < 80 and float(lines["PEAK"]) < 80, out.stdout


@pytest.mark.parametrize("records, says", [
    ([{"kind": "step", "epoch": 1}], "step has no step"),
    ([{"kind": "epoch", "epoch": "one", "step": 0, "train_loss": 0.1}], "epoch.epoch is not a whole number"),
    ([{"kind": "end", "epoch": 0, "step": 0, "status": "exploded"}], "end.status is not one of completed"),
    ([{"kind": "telemetry"}], "a record's kind is not one of step, epoch, end"),
])
def test_records_the_app_cannot_draw_are_refused_with_a_sentence(records, says):
    """A bad records.json used to make the page poll forever with KeyErrors."""
    data = _zip({**_good(), "records.json": json.dumps(records).encode()})
    with pytest.raises(RunFileError, match=f"record 1: {says}"):
        load_run_zip(data)
