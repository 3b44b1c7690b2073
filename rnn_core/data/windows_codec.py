"""A run's `Windows` as bytes and back, without pickle: what the server sends a worker process.

    windows_to_bytes(windows) -> bytes       one .npz: the arrays, the frame as Parquet bytes, the rest JSON
    windows_from_bytes(data) -> Windows      read back with numpy's `allow_pickle=False`
    windows_digest(windows) -> str           SHA-256 of every number a run trains on (its run key's data part)
    known_digest(windows, digest) -> windows a copy of windows (a cache's: the same numbers) given the digest
                                             computed for the original, so it is not computed again

The arrays keep their dtypes bit for bit (a worker trains on exactly the server's numbers); the frame
(real units, its date or step index) travels as Parquet (pyarrow, which Streamlit needs anyway);
the scaler, names, task and a text run's `TextInfo` as JSON. Nothing in the bytes can run code, so a
worker never unpickles data that came from a user's upload.
"""

from __future__ import annotations

import hashlib
import io
import json
import threading
import weakref
from dataclasses import asdict, fields

import numpy as np
import pandas as pd

from rnn_core.data.text_windows import TextInfo, Vocab
from rnn_core.data.window_types import Scaler, Windows

ARRAYS = tuple(f"{a}_{split}" for a in ("X", "y", "idx") for split in ("train", "val", "test"))


def windows_to_bytes(windows: Windows) -> bytes:
    arrays = {name: np.asarray(getattr(windows, name)) for name in ARRAYS}
    arrays["scaler_offset"] = np.asarray(windows.scaler.offset, dtype=np.float64)
    arrays["scaler_scale"] = np.asarray(windows.scaler.scale, dtype=np.float64)
    arrays["frame"] = np.frombuffer(_frame_bytes(windows.frame), dtype=np.uint8)
    arrays["meta"] = np.frombuffer(json.dumps(_meta(windows)).encode("utf-8"), dtype=np.uint8)
    out = io.BytesIO()
    np.savez(out, **arrays)
    return out.getvalue()


def windows_from_bytes(data: bytes) -> Windows:
    with np.load(io.BytesIO(data), allow_pickle=False) as npz:
        arrays = {name: npz[name] for name in npz.files}
    meta = json.loads(arrays.pop("meta").tobytes().decode("utf-8"))
    frame = pd.read_parquet(io.BytesIO(arrays.pop("frame").tobytes()))
    scaler = Scaler(meta["scaler_kind"], meta["scaler_columns"], arrays.pop("scaler_offset"),
                    arrays.pop("scaler_scale"))
    text = meta["text"]
    if text is not None:
        text = TextInfo(**{**text, "vocab": Vocab(text["vocab"]["chars"])})
    return Windows(**{name: arrays[name] for name in ARRAYS}, frame=frame,
                   feature_names=meta["feature_names"], target_name=meta["target_name"], scaler=scaler,
                   task=meta["task"], target_in_features=meta["target_in_features"],
                   baseline_mse=meta["baseline_mse"], text=text)


_DIGESTS: dict[int, tuple[weakref.ref, str]] = {}     # id(windows) → (the windows, its digest)
_DIGESTS_LOCK = threading.Lock()


def windows_digest(windows: Windows) -> str:
    """SHA-256 (hex) of everything a run reads from `windows`: every array (its name, dtype, shape and
    bytes, the scaler's too) and the rest as JSON (task, names, baselines, a text run's vocabulary and
    held-out text). Two windows with the same digest train to the same numbers. The frame (real units,
    for the charts) is left out: training never reads it. Computed once per Windows object."""
    with _DIGESTS_LOCK:
        hit = _DIGESTS.get(id(windows))
        if hit is not None and hit[0]() is windows:
            return hit[1]
    h = hashlib.sha256()
    arrays = {name: np.asarray(getattr(windows, name)) for name in ARRAYS}
    arrays["scaler_offset"] = np.asarray(windows.scaler.offset, dtype=np.float64)
    arrays["scaler_scale"] = np.asarray(windows.scaler.scale, dtype=np.float64)
    for name, a in arrays.items():
        h.update(json.dumps([name, a.dtype.str, list(a.shape)]).encode())
        h.update(np.ascontiguousarray(a).tobytes())
    h.update(json.dumps(_meta(windows), sort_keys=True, default=str).encode())
    digest = h.hexdigest()
    _keep_digest(windows, digest)
    return digest


def _keep_digest(windows: Windows, digest: str) -> None:
    with _DIGESTS_LOCK:
        for key in [k for k, (ref, _) in _DIGESTS.items() if ref() is None]:
            del _DIGESTS[key]
        _DIGESTS[id(windows)] = (weakref.ref(windows), digest)


def known_digest(windows: Windows, digest: str) -> Windows:
    """`windows` with its digest noted: `digest` is `windows_digest` of the windows it copies, the same numbers
    (what `st.cache_data` hands each session is an unpickled copy of what it computed once), so a room pressing
    Train on one setup hashes its windows once, not once per session."""
    _keep_digest(windows, digest)
    return windows


def _meta(windows: Windows) -> dict:
    plain = {f.name for f in fields(Windows) if f.init} - set(ARRAYS) - {"frame", "scaler", "text"}   # not caches
    meta = {name: getattr(windows, name) for name in plain}
    meta["feature_names"] = list(meta["feature_names"])
    meta["scaler_kind"], meta["scaler_columns"] = windows.scaler.kind, list(windows.scaler.columns)
    meta["text"] = asdict(windows.text) if windows.text is not None else None
    return meta


def _frame_bytes(frame: pd.DataFrame) -> bytes:
    out = io.BytesIO()
    frame.to_parquet(out)
    return out.getvalue()
