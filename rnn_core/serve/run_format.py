"""A saved run's format and reading one back, checked: the members of a run folder or zip and their caps,
`LoadedRun`, `RunFileError`, `load_run` (a folder), `load_run_zip` (an upload) and `read_members`
(the bytes of a run's files: the run store's entries).

A run folder holds
    config.json          {"format", "version", "model": ModelConfig, "data": DataConfig, "train": TrainConfig}
    history.csv          one row per step / epoch record: kind, epoch, step, loss, grad_norm, clipped,
                         train_loss, val_loss, seconds
    records.json         every record as the trainer yielded it (probe profiles, spectra…)
    metrics.json         the evaluation (whatever dict the caller passes, e.g. `evaluate.evaluate`)
    weights.safetensors  the model's state dict (torch.nn layout names)
Weights are read only through safetensors: nothing here ever unpickles (no pickle, no torch.load).
Uploaded zips are checked before anything is read: size caps, only the member names above, no folders
or paths, counts of JSON values and rows while they are unpacked; then every field of the config
(`config.validate_run`, as the CLI and the widgets check it), of every record and of the evaluation
(`run_checks.py`) before anything is drawn. Each problem is one sentence.
Leaves to others: writing runs (`runs.py`), building the model (`nn/models.build_model`).
"""

from __future__ import annotations

import csv
import io
import json
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from safetensors.torch import load as load_safetensors
from torch import nn

from rnn_core.config import ConfigError, DataConfig, TrainConfig, from_dict, validate_run
from rnn_core.data.budget import ask
from rnn_core.nn.cells import cell_of
from rnn_core.nn.model_config import ModelConfig
from rnn_core.readable import count
from rnn_core.serve.run_checks import metrics_problem, record_problem

FORMAT, VERSION = "rnn-playground-run", 1
CONFIG, HISTORY, RECORDS, METRICS, WEIGHTS = (
    "config.json", "history.csv", "records.json", "metrics.json", "weights.safetensors")
# The only member names a run may hold, each with its size cap in bytes (uncompressed).
MEMBER_CAPS = {
    CONFIG: 1 << 20,            # 1 MiB
    HISTORY: 8 << 20,           # MAX_RECORDS rows of ~150 bytes are ~3 MB
    RECORDS: 64 << 20,
    METRICS: 32 << 20,          # predictions of every split, in real units
    WEIGHTS: 64 << 20,          # 4 LSTM layers of 512 units are ~34 MB in float32
}
REQUIRED = (CONFIG, WEIGHTS)
# Bytes do not bound memory: 64 MiB of "{}," are 21 M Python dicts (≈ 1.6 GB). So the JSON members
# and history.csv are also capped by count, checked while they are unpacked, before anything is parsed:
MAX_RECORDS = 20_000            # records / history rows (a saved run keeps ≤ MAX_SAVED_STEPS steps + epochs)
MAX_JSON_VALUES = 2_000_000     # values in one JSON member, counted as its "," "[" "{" (an upper bound)
MAX_SAVED_STEPS = 16_384        # step records a saved run keeps (evenly thinned, like a live run's history)
MAX_SAVED_PROBE_FLOATS = 1_000_000   # probe-profile floats a saved run keeps (every other probe dropped)
# With these caps a loaded run's records and metrics are at most ≈ 2 × 2 M values (≈ 150 MB as Python
# objects, far less in practice) and the unpacked bytes within the memory budget's "run_zip", whatever
# the zip (the zip itself is at most the server's upload limit, `data.budget.UPLOAD_BYTES`).
HISTORY_COLUMNS = ("kind", "epoch", "step", "loss", "grad_norm", "clipped", "train_loss", "val_loss",
                   "seconds")


class RunFileError(ValueError):
    """A saved run that cannot be read; the message is one sentence saying what is wrong and what to do."""


@dataclass
class LoadedRun:
    model: nn.Module
    model_cfg: ModelConfig
    data_cfg: DataConfig
    train_cfg: TrainConfig
    records: list[dict]
    metrics: dict

    @property
    def configs(self) -> tuple[ModelConfig, DataConfig, TrainConfig]:
        return self.model_cfg, self.data_cfg, self.train_cfg


def load_run(folder) -> LoadedRun:
    """Restore a run saved by `save_run`: the model with its weights, the configs, records and metrics."""
    folder = Path(folder)
    if not folder.is_dir():
        raise RunFileError(f"No saved run at '{folder}': give the folder that holds config.json and "
                           "weights.safetensors.")
    members = {}
    for name, cap in MEMBER_CAPS.items():
        path = folder / name
        if not path.is_file():
            continue
        if path.stat().st_size > cap:
            raise RunFileError(f"'{path}' is larger than {cap >> 20} MiB; this is not a run saved by "
                               "RNN Playground.")
        with path.open("rb") as f:
            members[name] = _read_counted(f, name, cap)
    return _from_members(members, where=f"'{folder}'")


def load_run_zip(data: bytes) -> LoadedRun:
    """Restore a run from the bytes of an uploaded zip, after checking its size and member names."""
    if not isinstance(data, bytes | bytearray | memoryview):
        raise RunFileError("The upload is not a file's bytes; upload the .zip downloaded from a run.")
    data = bytes(data)
    try:
        zf = zipfile.ZipFile(io.BytesIO(data))
    except (zipfile.BadZipFile, ValueError, OSError):
        raise RunFileError("The file is not a zip archive; upload the .zip downloaded from a run.") from None
    with zf:
        members = _read_zip_members(zf)
    return _from_members(members, where="The zip")


def _read_zip_members(zf: zipfile.ZipFile) -> dict[str, bytes]:
    infos = zf.infolist()
    names = [i.filename for i in infos]
    unexpected = sorted({n for n in names if n not in MEMBER_CAPS})
    if unexpected:
        shown = ", ".join(repr(n) for n in unexpected[:3])
        raise RunFileError(f"The zip holds unexpected files ({shown}); a run zip has only "
                           f"{', '.join(MEMBER_CAPS)} at its top level.")
    if len(set(names)) != len(names):
        raise RunFileError("The zip holds the same file twice; upload the .zip downloaded from a run.")
    ask("run_zip", sum(i.file_size for i in infos), 1, "bytes unpacked", error=RunFileError,
        fits=lambda most: "a run saved by RNN Playground unpacks to far less")
    members = {}
    for info in infos:
        cap = MEMBER_CAPS[info.filename]
        if info.file_size > cap:
            raise RunFileError(f"'{info.filename}' in the zip is larger than {cap >> 20} MiB; this is not "
                               "a run saved by RNN Playground.")
        try:
            with zf.open(info) as f:
                data = _read_counted(f, info.filename, cap)      # never trust the header's size alone
        except RunFileError:
            raise
        except (zipfile.BadZipFile, RuntimeError, NotImplementedError, OSError, EOFError, ValueError):
            raise RunFileError(f"'{info.filename}' in the zip cannot be read (damaged or encrypted); "
                               "download the run again.") from None
        members[info.filename] = data
    return members


_CHUNK = 1 << 20


def _read_counted(f, name: str, cap: int) -> bytes:
    """Read one member in chunks, refusing it as soon as it passes its byte cap or its count cap."""
    chunks, size, items = [], 0, 0
    while chunk := f.read(_CHUNK):
        size += len(chunk)
        if size > cap:
            raise RunFileError(f"'{name}' in the zip is larger than {cap >> 20} MiB; this is not "
                               "a run saved by RNN Playground.")
        items += _count_items(name, chunk)
        _check_count(name, items)
        chunks.append(chunk)
    return b"".join(chunks)


def _count_items(name: str, data: bytes) -> int:
    """history.csv: its lines; a JSON member: an upper bound of its values ("," "[" "{")."""
    if name == HISTORY:
        return data.count(b"\n")
    if name in (RECORDS, METRICS):
        return data.count(b",") + data.count(b"[") + data.count(b"{")
    return 0


def _check_count(name: str, items: int) -> None:
    if name == HISTORY and items > MAX_RECORDS + 1:
        raise RunFileError(f"{HISTORY} has more than {count(MAX_RECORDS)} rows; a saved run keeps fewer — "
                           "this is not a run saved by RNN Playground.")
    if name in (RECORDS, METRICS) and items > MAX_JSON_VALUES:
        raise RunFileError(f"{name} holds more than {count(MAX_JSON_VALUES)} values; a saved run keeps fewer — "
                           "this is not a run saved by RNN Playground.")


def read_members(members: dict[str, bytes], where: str) -> LoadedRun:
    """A run from its files' bytes ({member name: bytes}; `where` names it in sentences), through every
    check an uploaded run passes: what a stored run (`store.py`) is read back with."""
    return _from_members(members, where)


def _from_members(members: dict[str, bytes], where: str) -> LoadedRun:
    missing = [n for n in REQUIRED if n not in members]
    if missing:
        raise RunFileError(f"{where} has no {' and no '.join(missing)}; a saved run needs both "
                           f"{CONFIG} and {WEIGHTS}.")
    model_cfg, data_cfg, train_cfg = _parse_config(members[CONFIG])
    model = _restore_model(model_cfg, members[WEIGHTS])
    if RECORDS in members:
        records = _parse_json(members[RECORDS], RECORDS, list)
    elif HISTORY in members:
        records = _parse_history(members[HISTORY])
    else:
        records = []
    _check_records(records, RECORDS if RECORDS in members else HISTORY)
    metrics = _parse_json(members[METRICS], METRICS, dict) if METRICS in members else {}
    _check_metrics(metrics)
    return LoadedRun(model, model_cfg, data_cfg, train_cfg, records, metrics)


def _check_records(records: list[dict], name: str) -> None:
    """Refuse records the app could not draw (a missing field, a wrong type or length) with one sentence
    naming the first such field, instead of a page that fails on every redraw."""
    for i, rec in enumerate(records, start=1):
        problem = record_problem(rec)
        if problem:
            raise RunFileError(f"{name} holds a record the app cannot draw (record {count(i)}: {problem}); "
                               "download the run again.")


def _check_metrics(metrics: dict) -> None:
    problem = metrics_problem(metrics)
    if problem:
        raise RunFileError(f"{METRICS} holds an evaluation the app cannot draw ({problem}); download the run "
                           "again.")


def _parse_json(data: bytes, name: str, kind: type):
    _check_count(name, _count_items(name, data))
    try:
        obj = json.loads(data.decode("utf-8"))
    except (UnicodeDecodeError, ValueError, RecursionError):
        raise RunFileError(f"{name} is not valid JSON; download the run again.") from None
    except MemoryError:
        raise RunFileError(f"{name} is too large to read; this is not a run saved by RNN Playground.") from None
    if not isinstance(obj, kind):
        raise RunFileError(f"{name} does not hold a JSON {'object' if kind is dict else 'list'}; "
                           "download the run again.")
    if kind is list and len(obj) > MAX_RECORDS:
        raise RunFileError(f"{name} holds {count(len(obj))} records, more than the {count(MAX_RECORDS)} a saved run "
                           "keeps; this is not a run saved by RNN Playground.")
    if kind is list and not all(isinstance(r, dict) for r in obj):
        raise RunFileError(f"{name} holds entries that are not records; download the run again.")
    return obj


def _parse_config(data: bytes) -> tuple[ModelConfig, DataConfig, TrainConfig]:
    config = _parse_json(data, CONFIG, dict)
    if config.get("format") not in (None, FORMAT) or not all(
            isinstance(config.get(k), dict) for k in ("model", "data", "train")):
        raise RunFileError(f"{CONFIG} is not an RNN Playground run configuration (it needs model, data "
                           "and train sections).")
    try:
        configs = (from_dict(ModelConfig, config["model"]), from_dict(DataConfig, config["data"]),
                   from_dict(TrainConfig, config["train"]))
        model_cfg, data_cfg, train_cfg = validate_run(*configs)
    except ConfigError as e:
        raise RunFileError(f"{CONFIG} holds a setting out of range: {e}") from None
    except (TypeError, ValueError, OverflowError):
        raise RunFileError(f"{CONFIG} holds a value of the wrong type; download the run again.") from None
    return model_cfg, data_cfg, train_cfg


def _safetensors_shapes(weights: bytes) -> dict[str, tuple[int, ...]]:
    """The tensor names and shapes in a safetensors file's header, read without loading any tensor.

    Layout: 8 bytes little-endian header length n, then n bytes of JSON {name: {dtype, shape, …}}."""
    bad = RunFileError(f"{WEIGHTS} is not a valid safetensors file; download the run again.")
    if len(weights) < 8:
        raise bad
    n = int.from_bytes(weights[:8], "little")
    if n > min(len(weights) - 8, MEMBER_CAPS[CONFIG]):
        raise bad
    try:
        header = json.loads(weights[8:8 + n].decode("utf-8"))
        return {name: tuple(int(d) for d in info["shape"]) for name, info in header.items()
                if name != "__metadata__"}
    except (UnicodeDecodeError, ValueError, RecursionError, TypeError, KeyError, AttributeError):
        raise bad from None


def _restore_model(model_cfg: ModelConfig, weights: bytes) -> nn.Module:
    from rnn_core.nn.models import build_model, parameter_shapes  # models.py imports nothing from here

    # names and shapes first, from the header and the config alone: nothing is allocated for a
    # file whose weights do not fit its (bounded) config
    expected, found = parameter_shapes(model_cfg), _safetensors_shapes(weights)
    if cell_of(model_cfg.cell).output_feedback and "rnn.weight_hh_l0" in found:
        raise RunFileError("This Jordan run was saved before the Jordan network fed back its own output "
                           "(it fed back a hidden projection, an Elman network in disguise); its weights do "
                           "not fit today's Jordan network: train it again.")
    if found != expected:
        raise RunFileError(f"The weights in {WEIGHTS} do not fit the model in {CONFIG} (names or shapes "
                           "differ); keep the files of one run together.")
    try:
        state = load_safetensors(weights)                        # parses tensors only, never executes
    except Exception:
        raise RunFileError(f"{WEIGHTS} is not a valid safetensors file; download the run again.") from None
    if {k: tuple(v.shape) for k, v in state.items()} != expected:
        raise RunFileError(f"The weights in {WEIGHTS} do not fit the model in {CONFIG} (names or shapes "
                           "differ); keep the files of one run together.")
    if any(not state[k].is_floating_point() for k in state):
        raise RunFileError(f"{WEIGHTS} holds non-float tensors; download the run again.")
    model = build_model(model_cfg, seed=0)                 # own RNG stream; weights replaced below
    dtypes = {k: v.dtype for k, v in model.state_dict().items()}
    model.load_state_dict({k: v.to(dtypes[k]) for k, v in state.items()})
    model.eval()
    return model


def _parse_history(data: bytes) -> list[dict]:
    """history.csv back to step/epoch records (when records.json is absent)."""
    _check_count(HISTORY, _count_items(HISTORY, data))
    try:
        rows = list(csv.DictReader(io.StringIO(data.decode("utf-8"))))
    except (UnicodeDecodeError, csv.Error):
        raise RunFileError(f"{HISTORY} is not a readable CSV file; download the run again.") from None
    if len(rows) > MAX_RECORDS:
        raise RunFileError(f"{HISTORY} has more than {count(MAX_RECORDS)} rows; a saved run keeps fewer — "
                           "this is not a run saved by RNN Playground.")
    records = []
    for row in rows:
        rec: dict[str, Any] = {"kind": row.get("kind")}
        for col in HISTORY_COLUMNS[1:]:
            text = (row.get(col) or "").strip()
            if text == "":
                continue
            if col == "clipped":
                rec[col] = text.lower() == "true"
            elif col in ("epoch", "step"):
                rec[col] = _to_int(text)
            else:
                rec[col] = _to_float(text)
        records.append(rec)
    return records


def _to_int(text: str) -> int | None:
    try:
        return int(float(text))
    except (ValueError, OverflowError):
        return None


def _to_float(text: str) -> float | None:
    try:
        return float(text)
    except ValueError:
        return None
