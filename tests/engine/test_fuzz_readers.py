"""Property-based fuzzing (Hypothesis) of every reader a visitor feeds: the link parser, the CSV reader,
the text reader, the sweep-CSV reader and the run-zip reader. Whatever the input, each either loads or
refuses with one sentence — never another exception — and what it loads stays within the memory budget.

Deterministic (derandomize: the same examples every run, so CI is repeatable) and bounded (a few dozen
to a few hundred examples per reader, no deadline: the machine is shared)."""

from __future__ import annotations

import io
import json
import zipfile

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from rnn_core.config import DataConfig, TrainConfig, validate_run
from rnn_core.data.budget import LIMITS
from rnn_core.data.csv_upload import inspect_csv_upload, read_csv_upload
from rnn_core.data.errors import DataError
from rnn_core.data.registry import DATASETS
from rnn_core.data.text_sources import read_text_upload
from rnn_core.data.windows import prepare
from rnn_core.nn.cells import CELLS
from rnn_core.nn.model_config import ModelConfig
from rnn_core.nn.models import build_model
from rnn_core.serve.run_format import RunFileError, load_run_zip
from rnn_core.serve.runs import run_zip_bytes
from rnn_core.sweep.records import SweepError, parse_records_csv, records_csv
from ui.links import LAB, PLAYGROUND, read_link

FUZZ = settings(deadline=None, derandomize=True, database=None,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])


def one_sentence(message: str) -> bool:
    """What every refusal must be: one line, a sentence's end, no traceback."""
    text = str(message).strip()
    return bool(text) and "\n" not in text and text.endswith((".", "?")) and "Traceback" not in text


def windows_bytes(w) -> int:
    return sum(getattr(w, f"{a}_{s}").nbytes for a in ("X", "y", "idx") for s in ("train", "val", "test"))


# ----------------------------------------------------------------------------- links
KEYS = ["preset", "m.cell", "m.hidden_size", "m.num_layers", "m.init", "m.gain", "m.forget_bias",
        "m.input_size", "d.dataset", "d.timesteps", "d.train_frac", "d.val_frac", "d.scaler", "d.features",
        "d.params.length", "d.params.windows", "d.params.n_samples", "d.params.span", "d.params.start",
        "d.params.period", "d.params.lag", "d.params.noise", "t.epochs", "t.lr", "t.batch_size",
        "t.bptt_truncate", "t.probe_batch", "t.probe_every", "t.device", "t.clip", "t.clip_value",
        "t.optimizer", "t.momentum", "t.seed", "lab.cell", "lab.timesteps", "lab.gain", "lab.hidden_size"]
WORDS = [*CELLS, *DATASETS, "char_pydoc", "see http://2130706433/x", "nan", "inf", "-inf", "1e400", "cuda",
         "../../etc/passwd", "", " ", "[x](http://evil)", "0x10", "1_000", "true"]
VALUES = st.one_of(st.integers(-10**12, 10**12).map(str), st.floats(allow_nan=True).map(repr),
                   st.sampled_from(WORDS), st.text(max_size=30))
# datasets whose windows the fuzz builds: offline and self-contained (yahoo would go to the network,
# csv and text need an upload)
BUILDABLE = [name for name, d in DATASETS.items() if name not in ("yahoo", "csv", "text")]


@settings(FUZZ, max_examples=120)
@given(st.dictionaries(st.one_of(st.sampled_from(KEYS), st.text(max_size=12)), VALUES, max_size=8))
def test_any_link_reads_or_is_said_in_sentences(query):
    for codec in (PLAYGROUND, LAB):
        link = read_link(codec, query)                    # never raises
        assert link.note is None or one_sentence(link.note), link.note
    link = read_link(PLAYGROUND, query)
    if link.settings is not None:
        try:
            validate_run(*link.settings)
        except ValueError as e:                           # e.g. truncation longer than the window
            assert one_sentence(str(e)), str(e)


@settings(FUZZ, max_examples=30)
@given(dataset=st.sampled_from(BUILDABLE), timesteps=st.integers(1, 1000),
       length=st.integers(1, 10**7), windows=st.integers(1, 10**6), n_samples=st.integers(1, 10**6),
       start=st.integers(0, 10**6))
def test_any_link_s_windows_are_built_within_the_budget_or_refused_with_a_sentence(dataset, timesteps, length,
                                                                                  windows, n_samples, start):
    query = {"d.dataset": dataset, "d.timesteps": str(timesteps), "d.params.length": str(length),
             "d.params.windows": str(windows), "d.params.n_samples": str(n_samples), "d.params.start": str(start)}
    link = read_link(PLAYGROUND, query)
    assert link.settings is not None, link.note          # every value here is clamped into range
    model, data, train = link.settings
    try:
        validate_run(model, data, train)
        w = prepare(data)
    except (DataError, ValueError) as e:
        assert one_sentence(str(e)), str(e)
        return
    assert windows_bytes(w) <= LIMITS["windows"].bytes


# ----------------------------------------------------------------------------- CSV uploads
CELL = st.one_of(st.floats(allow_nan=True, allow_infinity=True).map(repr), st.integers(-10**20, 10**20).map(str),
                 st.sampled_from(["", "NA", "2020-01-01", "01/02/2020", "1,5", "1.234,5", "=SUM(A1)", '"', "a,b"]),
                 st.text(max_size=8))


@st.composite
def csv_files(draw) -> bytes:
    """Tables of random cells with a random delimiter and header (long, repeated or numeric names too)."""
    delim = draw(st.sampled_from([",", ";", "\t", "|", " "]))
    cols = draw(st.integers(1, 12))
    header = draw(st.one_of(
        st.lists(st.text(min_size=0, max_size=6), min_size=cols, max_size=cols),
        st.just([f"c{i}" for i in range(cols)]),
        st.just([f"c{i}" for i in range(9_000)]),             # a header longer than 65,536 characters
        st.lists(st.sampled_from(["a", "a", "1", "2.5"]), min_size=cols, max_size=cols)))
    rows = draw(st.lists(st.lists(CELL, min_size=0, max_size=cols + 1), max_size=40))
    text = "\n".join([delim.join(header), *(delim.join(r) for r in rows)])
    encoding = draw(st.sampled_from(["utf-8", "utf-16", "latin-1"]))
    return text.encode(encoding, errors="replace")


@settings(FUZZ, max_examples=150)
@given(st.one_of(csv_files(), st.binary(max_size=3000)), st.sampled_from(["refuse", "interpolate", "drop"]))
def test_any_csv_loads_or_is_one_sentence(data, fill):
    try:
        info = inspect_csv_upload(data)
        frame = read_csv_upload(data, info.numeric_columns[:3] or None, None, fill=fill)
    except DataError as e:
        assert one_sentence(str(e)), str(e)
        return
    assert frame.memory_usage(deep=True).sum() <= LIMITS["csv"].bytes
    assert all(np.isfinite(frame[c]).all() for c in frame.columns)


# ----------------------------------------------------------------------------- text uploads
@settings(FUZZ, max_examples=80)
@given(st.one_of(st.binary(max_size=3000), st.text(max_size=3000),
                 st.text(alphabet=st.characters(codec="utf-8"), min_size=150, max_size=2000).map(lambda t: t * 3)),
       st.integers(1, 400))
def test_any_text_loads_or_is_one_sentence_and_its_windows_fit(data, timesteps):
    try:
        frame = read_text_upload(data)
        w = prepare(DataConfig(dataset="text", timesteps=timesteps, params={"windows": 20_000}), frame)
    except DataError as e:
        assert one_sentence(str(e)), str(e)
        return
    assert w.X_train.dtype == np.uint8 and windows_bytes(w) <= LIMITS["windows"].bytes


# ----------------------------------------------------------------------------- sweep CSV uploads
GOOD_SWEEP = {"key": "k", "cell": "rnn", "timesteps": 10, "gain": 1.0, "hidden_size": 8, "init": "default",
              "dataset": "adding", "epochs": 1, "seed": 0, "status": "completed", "diverged": False,
              "train_loss": 0.1, "val_loss": 0.2, "test_loss": 0.2, "baseline_mse": 0.16, "loss_ratio": 1.2,
              "skill_score": 0.0, "decades_init": -1.0, "decades_end": -1.0, "sigma_gamma": 1.0, "seconds": 1.0,
              "note": ""}


@st.composite
def sweep_files(draw) -> bytes:
    """A sweep file with random cells replaced, random columns added (hundreds at times) or dropped."""
    lines = records_csv([GOOD_SWEEP] * draw(st.integers(0, 5))).decode().splitlines()
    rows = [line.split(",") for line in lines]
    for _ in range(draw(st.integers(0, 6))):
        r = draw(st.integers(0, len(rows) - 1))
        c = draw(st.integers(0, len(rows[r]) - 1))
        rows[r][c] = draw(CELL)
    extra = draw(st.sampled_from([0, 0, 3, 600]))
    rows = [row + [f"x{j}" if i == 0 else "1" for j in range(extra)] for i, row in enumerate(rows)]
    if draw(st.booleans()):
        drop = draw(st.integers(0, len(rows[0]) - 1))
        rows = [row[:drop] + row[drop + 1:] for row in rows]
    return "\n".join(",".join(row) for row in rows).encode()


@settings(FUZZ, max_examples=120)
@given(st.one_of(sweep_files(), st.binary(max_size=2000)))
def test_any_sweep_file_loads_or_is_one_sentence(data):
    try:
        records = parse_records_csv(data)
    except SweepError as e:
        assert one_sentence(str(e)), str(e)
        return
    assert records and all(r["cell"] in CELLS and set(r) == set(GOOD_SWEEP) for r in records)


# ----------------------------------------------------------------------------- run zips
def _good_members() -> dict[str, bytes]:
    model_cfg = ModelConfig(cell="lstm", hidden_size=3)
    records = [{"kind": "epoch", "epoch": 0, "step": 0, "train_loss": 0.5, "val_loss": 0.4, "seconds": 0.1,
                "probe": {"timesteps": 4, "loss": 0.5, "grad_h": [[1.0, 0.5, 0.2, 0.1]], "grad_c": [[1.0] * 4],
                          "gates": [{"forget": [0.5] * 4}], "gate_path": [[1.0] * 4], "theory": [[]],
                          "sigma_max": [1.1], "spectral_radius": [0.9], "gamma": 1.0, "cut": 0,
                          "param_grad_norms": {"rnn.weight_hh_l0": 0.1}},
                "spectra": [{"sigma_max": 1.1, "spectral_radius": 0.9}], "param_grad_norms": {"head.bias": 0.1}},
               {"kind": "step", "epoch": 1, "step": 1, "loss": 0.4, "grad_norm": 1.0, "clipped": False},
               {"kind": "end", "epoch": 1, "step": 1, "status": "completed", "reason": "Finished.", "seconds": 1.0}]
    metrics = {"task": "forecast", "target": "value", "test": {
        "index": ["2020-01-01", "2020-01-02"], "y_true": [[1.0], [2.0]], "y_pred": [[1.1], [1.9]],
        "persistence": [[0.9], [1.0]], "moving_average": None, "metrics": {"model": {"rmse": 0.1}}}}
    data = run_zip_bytes(build_model(model_cfg, seed=0), model_cfg, DataConfig(timesteps=4),
                         TrainConfig(epochs=1), records, metrics)
    with zipfile.ZipFile(io.BytesIO(data)) as zf:
        return {n: zf.read(n) for n in zf.namelist()}


GOOD = _good_members()
JSON = st.recursive(st.none() | st.booleans() | st.integers(-10**30, 10**30) | st.floats() | st.text(max_size=10),
                    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4),
                    max_leaves=12)


def mutate(data: st.DataObject, node):
    """`node` with one value somewhere inside replaced by random JSON (or a key dropped)."""
    if isinstance(node, dict) and node and data.draw(st.integers(0, 3)):
        key = data.draw(st.sampled_from(sorted(node)))
        if data.draw(st.integers(0, 5)) == 0:
            return {k: v for k, v in node.items() if k != key}
        return {**node, key: mutate(data, node[key])}
    if isinstance(node, list) and node and data.draw(st.integers(0, 3)):
        i = data.draw(st.integers(0, len(node) - 1))
        return [*node[:i], mutate(data, node[i]), *node[i + 1:]]
    return data.draw(JSON)


@settings(FUZZ, max_examples=150)
@given(st.data())
def test_any_run_zip_loads_or_is_one_sentence(data):
    members = dict(GOOD)
    for name in data.draw(st.lists(st.sampled_from(sorted(GOOD)), max_size=3, unique=True)):
        how = data.draw(st.sampled_from(["mutate", "mutate", "mutate", "drop", "bytes"]))
        if how == "drop":
            members.pop(name)
        elif how == "bytes" or not name.endswith(".json"):
            members[name] = data.draw(st.binary(max_size=300))
        else:
            members[name] = json.dumps(mutate(data, json.loads(members[name]))).encode()
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        for name, blob in members.items():
            zf.writestr(name, blob)
    try:
        loaded = load_run_zip(buf.getvalue())
    except RunFileError as e:
        assert one_sentence(str(e)), str(e)
        return
    assert loaded.model_cfg.validate() and loaded.train_cfg.validate()


@settings(FUZZ, max_examples=100)
@given(st.binary(max_size=4000))
def test_any_bytes_as_a_run_zip_are_one_sentence(data):
    try:
        load_run_zip(data)
    except RunFileError as e:
        assert one_sentence(str(e)), str(e)
