"""Saving runs: a folder (or a zip of the same files, the app's download) that restores a trained model
and its history; the format and reading it back are `run_format.py`.

Holds `save_run` (a folder), `run_zip_bytes` (the download), `bounded_records` (what a saved run keeps,
within the caps a load accepts), `history_csv` and `json_safe`.
Leaves to others: training (`nn/train.py`), evaluation (`measure/evaluate.py`).
"""

from __future__ import annotations

import csv
import io
import json
import math
import zipfile
from dataclasses import asdict
from pathlib import Path
from typing import Any

import numpy as np
import torch
from safetensors.torch import save as save_safetensors
from torch import nn

from rnn_core.config import DataConfig, TrainConfig
from rnn_core.nn.model_config import ModelConfig
from rnn_core.serve.run_format import (
    CONFIG,
    FORMAT,
    HISTORY,
    HISTORY_COLUMNS,
    MAX_SAVED_PROBE_FLOATS,
    MAX_SAVED_STEPS,
    METRICS,
    RECORDS,
    VERSION,
    WEIGHTS,
)


def save_run(folder, model: nn.Module, model_cfg: ModelConfig, data_cfg: DataConfig,
             train_cfg: TrainConfig, records: list[dict], metrics: dict | None) -> Path:
    """Write the run's files into `folder` (created if needed; existing run files are replaced)."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    for name, data in _members(model, model_cfg, data_cfg, train_cfg, records, metrics).items():
        (folder / name).write_bytes(data)
    return folder


def run_zip_bytes(model: nn.Module, model_cfg: ModelConfig, data_cfg: DataConfig, train_cfg: TrainConfig,
                  records: list[dict], metrics: dict | None) -> bytes:
    """The run's files in one zip (flat, no folders), for a download button."""
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        for name, data in _members(model, model_cfg, data_cfg, train_cfg, records, metrics).items():
            zf.writestr(name, data)
    return buf.getvalue()


def _members(model, model_cfg, data_cfg, train_cfg, records, metrics) -> dict[str, bytes]:
    records = bounded_records(list(records or []))
    config = {"format": FORMAT, "version": VERSION, "model": asdict(model_cfg),
              "data": asdict(data_cfg), "train": asdict(train_cfg)}
    # detached CPU copies: safetensors refuses shared or non-contiguous storage
    state = {k: v.detach().to("cpu").contiguous().clone() for k, v in model.state_dict().items()}
    return {
        CONFIG: _json_bytes(config),
        HISTORY: history_csv(records).encode(),
        RECORDS: _json_bytes(records),
        METRICS: _json_bytes(metrics or {}),
        WEIGHTS: save_safetensors(state, metadata={"format": FORMAT}),
    }


def bounded_records(records: list[dict]) -> list[dict]:
    """The records a saved run keeps, within the caps a load accepts: at most MAX_SAVED_STEPS step
    records (evenly thinned, first and last kept) and MAX_SAVED_PROBE_FLOATS floats of probe profiles
    (every other probe but the first and the latest set to None until they fit). Records are not mutated."""
    from rnn_core.serve.history import downsample, probe_floats

    steps = [r for r in records if r.get("kind") == "step"]
    kept = {id(r) for r in downsample(steps, MAX_SAVED_STEPS)}
    out = [r for r in records if r.get("kind") != "step" or id(r) in kept]
    probed = [i for i, r in enumerate(out) if isinstance(r.get("probe"), dict)]
    while len(probed) > 2 and sum(probe_floats(out[i]["probe"]) for i in probed) > MAX_SAVED_PROBE_FLOATS:
        dropped = set(probed[1:-1:2])
        for i in dropped:
            out[i] = {**out[i], "probe": None}
        probed = [i for i in probed if i not in dropped]
    return out


def history_csv(records: list[dict]) -> str:
    """Step and epoch records flattened to CSV, one row per record (empty cells where a field is absent)."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(HISTORY_COLUMNS)
    for rec in records:
        if rec.get("kind") not in ("step", "epoch"):
            continue
        writer.writerow(["" if (v := json_safe(rec.get(col))) is None else v for col in HISTORY_COLUMNS])
    return out.getvalue()


def json_safe(obj: Any) -> Any:
    """A copy that strict JSON accepts: NaN/Inf → None, numpy scalars/arrays and tuples → plain values."""
    if isinstance(obj, dict):
        return {str(k): json_safe(v) for k, v in obj.items()}
    if isinstance(obj, list | tuple):
        return [json_safe(v) for v in obj]
    if isinstance(obj, np.ndarray | torch.Tensor):
        return json_safe(obj.tolist())
    if isinstance(obj, np.generic):
        obj = obj.item()
    if isinstance(obj, float) and not math.isfinite(obj):
        return None
    return obj


def _json_bytes(obj: Any) -> bytes:
    return json.dumps(json_safe(obj), allow_nan=False).encode()
