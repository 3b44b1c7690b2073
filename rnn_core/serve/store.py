"""The run store: a run computed once is kept on disk and replayed for everyone who asks for it again.

    run_key(model_cfg, train_cfg, windows, threads) -> str   everything that decides a run's numbers
    code_version() -> str                the engine's source, torch, numpy and the CPU the numbers come from
    StoredRun                            a stored run: configs, every record, their arrival times, the final
                                         weights and the weights at each epoch's end
    RunStore(root, max_bytes)            get(key) -> StoredRun | None; put(run) -> bool; entries(); clear()
    default_store() -> RunStore | None   $RNN_PLAYGROUND_RUN_STORE (default <cache>/runs; "off": none),
                                         bounded by $RNN_PLAYGROUND_RUN_STORE_BYTES (default 1 GiB)

A run is keyed by SHA-256 over its model and training settings (each cast to its field's type, so a
widget's 1.0 and a preset's 1 are one setting), the content of its windows (`windows_digest`: every
number it trains on — whatever the data settings that made them, and a dataset's parameters left at
their defaults or written out), the torch threads it trains with and `code_version()`: the same key
gives the same numbers, bitwise. Only runs that end by themselves ("completed" or "diverged") are kept, and only when
every record fits the caps of a saved run (`run_format`).

An entry is a folder `<root>/<key>/` holding a saved run's files (config.json, records.json —
every record, none thinned —, weights.safetensors), checkpoints.safetensors (each epoch's weights,
named "<epoch>/<parameter>") and entry.json (the key, each file's size and SHA-256, each record's arrival
time in training seconds). Written into a temporary folder and renamed into place in one step, so a
reader never sees half an entry and two processes storing one key leave one of theirs (the other's
rename fails; it is dropped). Read back through the checks every uploaded run passes (`run_format`:
config ranges, weights' names and shapes before any tensor is read, the records' fields, every cap) and
the SHA-256 of every file: an entry that fails is logged in one line, removed and computed again. Nothing
is unpickled: JSON and safetensors only. Bounded in bytes: after each write the least recently used
entries (the mtime of entry.json, touched on every read) are removed until the store fits.
Leaves to others: replaying a stored run (`replay.py`), computing one once for everyone (`shared.py`).
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import json
import logging
import os
import platform
import re
import shutil
import threading
import time
import uuid
from collections import OrderedDict
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from rnn_core.config import DataConfig, TrainConfig, from_dict
from rnn_core.data.windows_codec import windows_digest
from rnn_core.nn.model_config import ModelConfig
from rnn_core.readable import count
from rnn_core.serve.run_format import (
    CONFIG,
    FORMAT,
    MAX_RECORDS,
    MEMBER_CAPS,
    RECORDS,
    VERSION,
    WEIGHTS,
    RunFileError,
    read_members,
)

STORE_ENV = "RNN_PLAYGROUND_RUN_STORE"            # the store's folder; "off" for none
BYTES_ENV = "RNN_PLAYGROUND_RUN_STORE_BYTES"      # its bound: bytes, or with K / M / G
DEFAULT_BYTES = 1 << 30
ENTRY, CHECKPOINTS = "entry.json", "checkpoints.safetensors"
ENTRY_FORMAT, ENTRY_VERSION = "rnn-playground-store", 1
KEPT_STATUSES = ("completed", "diverged")         # runs that ended by themselves: the same every time
MAX_CHECKPOINT_BYTES = MEMBER_CAPS[WEIGHTS]       # each epoch's weights together; beyond: none are kept
STALE_SECONDS = 3600.0                            # a temporary folder this old was left by a crashed writer
CACHED = 8                                        # entries kept parsed in memory (a room asks for a few)
log = logging.getLogger(__name__)


# ------------------------------------------------------------------------------------------------- key
@functools.cache
def code_version() -> str:
    """SHA-256 of every engine source file (rnn_core/**/*.py), with the torch and numpy versions and the
    CPU the numbers are computed on (architecture, model, torch's vector instructions: BLAS and torch's own
    kernels pick their code by CPU, and their sums can round differently on another one)."""
    import numpy as np
    import torch

    root = Path(__file__).resolve().parent.parent
    h = hashlib.sha256()
    for path in sorted(root.rglob("*.py")):
        h.update(str(path.relative_to(root)).encode())
        h.update(path.read_bytes())
    vector = getattr(torch.backends.cpu, "get_cpu_capability", lambda: "")()
    h.update(f"torch {torch.__version__} numpy {np.__version__} {platform.machine()} {_cpu_model()} {vector}".encode())
    return h.hexdigest()


def _cpu_model() -> str:
    """The CPU's model name (Linux: /proc/cpuinfo), else what `platform` says."""
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text(errors="replace").splitlines():
            if line.lower().startswith("model name"):
                return line.split(":", 1)[1].strip()
    return platform.processor()


def run_key(model_cfg: ModelConfig, train_cfg: TrainConfig, windows: Any, threads: int) -> str:
    """The run's key: SHA-256 (hex) over what decides its numbers (see the module docstring)."""
    parts = {"store": ENTRY_VERSION, "model": asdict(from_dict(ModelConfig, asdict(model_cfg))),
             "train": asdict(from_dict(TrainConfig, asdict(train_cfg))), "windows": windows_digest(windows),
             "threads": int(threads), "code": code_version()}
    return hashlib.sha256(json.dumps(parts, sort_keys=True, default=str).encode()).hexdigest()


# ---------------------------------------------------------------------------------------------- a run
@dataclass
class StoredRun:
    """A run as the store keeps it. `records` are every record the trainer yielded, in order (shared by
    every replay: read-only); `times[i]` the training seconds at which record i arrived; `weights` the
    final weights and `checkpoints[epoch]` the weights at that epoch's end (safetensors bytes)."""

    key: str
    model_cfg: ModelConfig
    data_cfg: DataConfig
    train_cfg: TrainConfig
    records: list[dict]
    times: list[float]
    weights: bytes
    checkpoints: dict[int, bytes] = field(default_factory=dict)

    @property
    def end(self) -> dict | None:
        return self.records[-1] if self.records and self.records[-1].get("kind") == "end" else None


def storable(records: list[dict]) -> str | None:
    """Why a run's records cannot be stored (one sentence), or None when they can."""
    end = records[-1] if records else {}
    if end.get("kind") != "end" or end.get("status") not in KEPT_STATUSES:
        return "only a run that completed or diverged by itself is stored"
    if len(records) > MAX_RECORDS:
        return f"it has {count(len(records))} records, more than the {count(MAX_RECORDS)} a stored run keeps"
    return None


def _checkpoints_bytes(checkpoints: dict[int, bytes]) -> bytes | None:
    """Every epoch's weights in one safetensors file ("<epoch>/<name>"), or None when there are none or
    they are too large to keep."""
    from safetensors.torch import load, save

    if not checkpoints or sum(map(len, checkpoints.values())) > MAX_CHECKPOINT_BYTES:
        return None
    tensors = {f"{epoch}/{name}": t for epoch, data in sorted(checkpoints.items()) for name, t in load(data).items()}
    return save(tensors, metadata={"format": ENTRY_FORMAT})


def _split_checkpoints(data: bytes, model_cfg: ModelConfig, epochs: int) -> dict[int, bytes]:
    """checkpoints.safetensors back to {epoch: weights}, every epoch's names and shapes checked against
    the model (RunFileError otherwise)."""
    from safetensors.torch import load, save

    from rnn_core.nn.models import parameter_shapes

    expected = parameter_shapes(model_cfg)
    by_epoch: dict[int, dict] = {}
    for name, tensor in load(data).items():
        epoch, _, param = name.partition("/")
        if not epoch.isdigit() or int(epoch) > epochs or not tensor.is_floating_point():
            raise RunFileError(f"{CHECKPOINTS} holds a tensor that is not an epoch's weight ({name}).")
        by_epoch.setdefault(int(epoch), {})[param] = tensor
    for epoch, state in by_epoch.items():
        if {k: tuple(v.shape) for k, v in state.items()} != expected:
            raise RunFileError(f"The weights of epoch {epoch} in {CHECKPOINTS} do not fit the model.")
    return {epoch: save(state) for epoch, state in by_epoch.items()}


# -------------------------------------------------------------------------------------------- a store
class RunStore:
    """A folder of stored runs, bounded in bytes; safe for several processes (see the module docstring)."""

    def __init__(self, root: str | os.PathLike, max_bytes: int = DEFAULT_BYTES):
        self.root = Path(root)
        self.max_bytes = int(max_bytes)
        self._cache: OrderedDict[str, StoredRun] = OrderedDict()
        self._lock = threading.Lock()

    def path(self, key: str) -> Path:
        if not re.fullmatch(r"[0-9a-f]{64}", key):
            raise ValueError("a run key is 64 hex digits")
        return self.root / key

    # --- reading --------------------------------------------------------------------------------
    def get(self, key: str) -> StoredRun | None:
        """The stored run of `key`, or None (not stored; or its entry was unreadable: then it is logged,
        removed, and None)."""
        folder = self.path(key)
        with self._lock:
            hit = self._cache.get(key)
            if hit is not None:
                self._cache.move_to_end(key)
        if hit is None:
            if not (folder / ENTRY).is_file():
                return None
            try:
                hit = self._read(key, folder)
            except FileNotFoundError:              # removed meanwhile (another process made room)
                return None
            except (RunFileError, OSError, ValueError, KeyError, TypeError) as e:
                log.warning("run store: the entry %s… is unreadable (%s); it is removed and the run is "
                            "computed again", key[:12], str(e).rstrip(".") or type(e).__name__)
                self._remove(folder)
                return None
            with self._lock:
                self._cache[key] = hit
                while len(self._cache) > CACHED:
                    self._cache.popitem(last=False)
        with contextlib.suppress(OSError):
            os.utime(folder / ENTRY)                  # used now: the last to go
        return hit

    def _read(self, key: str, folder: Path) -> StoredRun:
        entry = json.loads(_read_capped(folder / ENTRY, MEMBER_CAPS[CONFIG]).decode("utf-8"))
        if entry.get("format") != ENTRY_FORMAT or entry.get("version") != ENTRY_VERSION or entry.get("key") != key:
            raise RunFileError(f"{ENTRY} is not this key's entry")
        files: dict[str, bytes] = {}
        for name, info in entry["files"].items():
            if name not in (CONFIG, RECORDS, WEIGHTS, CHECKPOINTS):
                raise RunFileError(f"{ENTRY} names an unknown file {name!r}")
            data = _read_capped(folder / name, MEMBER_CAPS.get(name, MAX_CHECKPOINT_BYTES))
            if len(data) != info["bytes"] or hashlib.sha256(data).hexdigest() != info["sha256"]:
                raise RunFileError(f"{name} is truncated or changed ({count(len(data))} of {count(info['bytes'])} "
                                   "bytes)")
            files[name] = data
        members = {n: files[n] for n in (CONFIG, RECORDS, WEIGHTS) if n in files}
        loaded = read_members(members, f"stored run {key[:12]}…")
        times = [float(t) for t in entry["times"]]
        if len(times) != len(loaded.records) or storable(loaded.records):
            raise RunFileError("its records are not those of a finished run")
        checkpoints = (_split_checkpoints(files[CHECKPOINTS], loaded.model_cfg, loaded.train_cfg.epochs)
                       if CHECKPOINTS in files else {})
        return StoredRun(key, loaded.model_cfg, loaded.data_cfg, loaded.train_cfg, loaded.records, times,
                         files[WEIGHTS], checkpoints)

    def entries(self) -> list[tuple[str, int, float]]:
        """(key, bytes, last used) of every entry, least recently used first."""
        out = []
        for folder in self._folders():
            with contextlib.suppress(OSError):
                size = sum(p.stat().st_size for p in folder.iterdir())
                out.append((folder.name, size, (folder / ENTRY).stat().st_mtime))
        return sorted(out, key=lambda e: e[2])

    def size(self) -> int:
        return sum(size for _, size, _ in self.entries())

    # --- writing --------------------------------------------------------------------------------
    def put(self, run: StoredRun) -> bool:
        """Store `run` (a finished run, see `storable`); False when it was not stored (not storable, too
        large for the bound, already there, or the disk refused: logged)."""
        why = storable(run.records)
        if why:
            log.info("run store: %s… not stored: %s", run.key[:12], why)
            return False
        folder = self.path(run.key)
        if (folder / ENTRY).is_file():
            return False
        try:
            files = self._files(run)
            total = sum(map(len, files.values()))
            if total > self.max_bytes:
                log.info("run store: %s… not stored: its %s bytes exceed the store's bound", run.key[:12], total)
                return False
            stored = self._write(run.key, folder, files, run.times)
        except (OSError, RunFileError, ValueError) as e:
            log.warning("run store: %s… could not be stored (%s)", run.key[:12], e)
            return False
        if stored:
            self.make_room()
        return stored

    def _files(self, run: StoredRun) -> dict[str, bytes]:
        config = {"format": FORMAT, "version": VERSION, "model": asdict(run.model_cfg),
                  "data": asdict(run.data_cfg), "train": asdict(run.train_cfg)}
        files = {CONFIG: json.dumps(config).encode(),
                 RECORDS: json.dumps(run.records).encode(),    # floats exactly (repr), NaN and ±inf kept
                 WEIGHTS: run.weights}
        if len(files[RECORDS]) > MEMBER_CAPS[RECORDS]:
            raise ValueError("its records exceed a saved run's cap")
        checkpoints = _checkpoints_bytes(run.checkpoints)
        if checkpoints is not None:
            files[CHECKPOINTS] = checkpoints
        return files

    def _write(self, key: str, folder: Path, files: dict[str, bytes], times: list[float]) -> bool:
        """Write into a temporary folder, then rename it into place (atomic); False when another process
        was first."""
        self.root.mkdir(parents=True, exist_ok=True)
        tmp = self.root / f".tmp-{key[:16]}-{os.getpid()}-{uuid.uuid4().hex[:8]}"
        tmp.mkdir()
        try:
            entry = {"format": ENTRY_FORMAT, "version": ENTRY_VERSION, "key": key, "created": time.time(),
                     "times": [round(t, 4) for t in times],
                     "files": {n: {"bytes": len(d), "sha256": hashlib.sha256(d).hexdigest()} for n, d in files.items()}}
            for name, data in [*files.items(), (ENTRY, json.dumps(entry).encode())]:
                with open(tmp / name, "wb") as f:
                    f.write(data)
                    f.flush()
                    os.fsync(f.fileno())
            os.rename(tmp, folder)                     # one step: the whole entry, or nothing
            return True
        except OSError:
            if (folder / ENTRY).is_file():             # another process stored the same run first
                return False
            raise
        finally:
            if tmp.exists():
                shutil.rmtree(tmp, ignore_errors=True)

    def make_room(self) -> None:
        """Remove the least recently used entries until the store fits its bound; and what crashed
        writers left behind."""
        entries = self.entries()
        total = sum(size for _, size, _ in entries)
        for key, size, _ in entries:
            if total <= self.max_bytes:
                break
            self._remove(self.root / key)
            total -= size
        now = time.time()
        with contextlib.suppress(OSError):
            for p in self.root.iterdir():
                if p.name.startswith((".tmp-", ".trash-")) and now - p.stat().st_mtime > STALE_SECONDS:
                    shutil.rmtree(p, ignore_errors=True)

    def clear(self) -> None:
        for folder in self._folders():
            self._remove(folder)

    def _remove(self, folder: Path) -> None:
        """Rename out of the way first (readers then miss it whole), then delete."""
        with self._lock:
            self._cache.pop(folder.name, None)
        trash = self.root / f".trash-{folder.name[:16]}-{uuid.uuid4().hex[:8]}"
        try:
            os.rename(folder, trash)
        except OSError:
            return
        shutil.rmtree(trash, ignore_errors=True)

    def _folders(self) -> list[Path]:
        try:
            return [p for p in self.root.iterdir() if re.fullmatch(r"[0-9a-f]{64}", p.name) and p.is_dir()]
        except OSError:
            return []


def _read_capped(path: Path, cap: int) -> bytes:
    """A file's bytes, refused (RunFileError) beyond `cap` before reading it."""
    if path.stat().st_size > cap:
        raise RunFileError(f"{path.name} is larger than a stored run's cap")
    return path.read_bytes()


def parse_bytes(text: str) -> int:
    """"1073741824", "512M", "2G", "800K" → bytes (ValueError otherwise)."""
    m = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*([kKmMgG]?)i?[bB]?\s*", text)
    if not m:
        raise ValueError(f"not a size: {text!r}")
    return int(float(m.group(1)) * {"": 1, "k": 1 << 10, "m": 1 << 20, "g": 1 << 30}[m.group(2).lower()])


_DEFAULT: dict[tuple[str, int], RunStore] = {}


def default_store() -> RunStore | None:
    """The process's store: $RNN_PLAYGROUND_RUN_STORE (default $RNN_PLAYGROUND_CACHE/runs, else
    ~/.cache/rnn-playground/runs; "off" or "0": no store), bounded by $RNN_PLAYGROUND_RUN_STORE_BYTES."""
    where = os.environ.get(STORE_ENV, "").strip()
    if where.lower() in ("off", "0", "no", "false", "none"):
        return None
    if not where:
        cache = os.environ.get("RNN_PLAYGROUND_CACHE")
        where = str((Path(cache).expanduser() if cache else Path.home() / ".cache" / "rnn-playground") / "runs")
    try:
        bound = parse_bytes(os.environ.get(BYTES_ENV, "") or str(DEFAULT_BYTES))
    except ValueError:
        log.warning("run store: %s=%r is not a size; using %d bytes", BYTES_ENV, os.environ.get(BYTES_ENV),
                    DEFAULT_BYTES)
        bound = DEFAULT_BYTES
    key = (str(Path(where).expanduser()), bound)
    if key not in _DEFAULT:
        _DEFAULT[key] = RunStore(key[0], bound)
    return _DEFAULT[key]
