"""A sweep's records on disk: the columns of the one-record-per-run table (`RECORD_FIELDS`, described in
`trials.py`), a CSV writer that appends as runs finish, readers for a file and for an upload (every
value typed and checked; one sentence for a bad file), Parquet, and the mean ± spread over seeds."""

from __future__ import annotations

import csv
import io
import math
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from rnn_core.config import LIMITS, quoted
from rnn_core.data.budget import UPLOAD_BYTES, ask
from rnn_core.nn.cells import CELLS
from rnn_core.readable import count, megabytes

MAX_UPLOAD_BYTES = UPLOAD_BYTES                  # a sweep CSV uploaded to the app
MAX_RECORDS = 100_000                            # rows of one sweep file
RECORD_BYTES = 1_600                             # one parsed record (22 typed values in a dict): the budget's `each`

# (name, type) of every column, in file order.
RECORD_FIELDS: tuple[tuple[str, type], ...] = (
    ("key", str), ("cell", str), ("timesteps", int), ("gain", float), ("hidden_size", int), ("init", str),
    ("dataset", str), ("epochs", int), ("seed", int), ("status", str), ("diverged", bool),
    ("train_loss", float), ("val_loss", float), ("test_loss", float), ("baseline_mse", float),
    ("loss_ratio", float), ("skill_score", float), ("decades_init", float), ("decades_end", float),
    ("sigma_gamma", float), ("seconds", float), ("note", str))
COLUMNS = tuple(name for name, _ in RECORD_FIELDS)
# Columns a file must have to be drawn again (the rest may be missing).
REQUIRED = ("cell", "timesteps", "gain", "seed", "status", "val_loss", "baseline_mse")


class SweepError(ValueError):
    """A bad grid or a bad sweep file; the message is one sentence."""


class RecordWriter:
    """Appends records to a CSV file as they come (header first when the file is new), flushed per
    record, so an interrupted sweep keeps every finished run."""

    def __init__(self, path: str | Path):
        self.path = Path(path).expanduser()
        new = not self.path.exists() or self.path.stat().st_size == 0
        if not new:
            with self.path.open(newline="", encoding="utf-8") as f:
                header = next(csv.reader(f), [])
            if tuple(header) != COLUMNS:
                raise SweepError(f"'{self.path}' is not a sweep file of this version (its columns differ): "
                                 "choose another --out.")
        self._file = self.path.open("a", newline="", encoding="utf-8")
        self._csv = csv.DictWriter(self._file, COLUMNS, extrasaction="ignore")
        if new:
            self._csv.writeheader()
            self._file.flush()

    def write(self, record: dict) -> None:
        self._csv.writerow({k: _cell(record.get(k)) for k in COLUMNS})
        self._file.flush()

    def close(self) -> None:
        self._file.close()

    def __enter__(self) -> RecordWriter:
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def _cell(v: Any) -> Any:
    if v is None:
        return ""
    if isinstance(v, float):
        return repr(v)                 # round-trips exactly
    return v


def read_records(path: str | Path) -> list[dict]:
    """The records of a sweep CSV written by `RecordWriter` ([] when the file does not exist)."""
    p = Path(path).expanduser()
    data = p.read_bytes() if p.exists() else b""
    if not data.strip() or len(data.splitlines()) < 2:      # new, or only the header so far
        return []
    return parse_records_csv(data, limit=None)


def finished_keys(path: str | Path) -> set[str]:
    """Keys of the runs a sweep file already holds: `run_sweep(skip=...)` does not run them again."""
    return {r["key"] for r in read_records(path) if r.get("key")}


def parse_records_csv(data: bytes, limit: int | None = MAX_UPLOAD_BYTES) -> list[dict]:
    """Records from a sweep CSV's bytes, typed by RECORD_FIELDS; raises SweepError (one sentence) for a file
    too large, not UTF-8 text, without the needed columns, or with a value that does not parse.

    Rows are read one at a time and only the columns a sweep writes are kept, so a file of a few MB with
    thousands of extra header columns never becomes thousands of dicts of thousands of strings; an upload
    (`limit` given) first asks the memory budget for the records its lines can make."""
    if limit is not None and len(data) > limit:
        raise SweepError(f"The file is {megabytes(len(data))}; a sweep file may be at most {megabytes(limit)}.")
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise SweepError("The file is not UTF-8 text: upload the CSV a sweep wrote.") from None
    if limit is not None:
        lines = text.count("\n") + 1
        ask("sweep_csv", min(lines, MAX_RECORDS + 1), RECORD_BYTES, "runs", error=SweepError,
            fits=lambda most: f"upload a file of at most {count(most)} runs")
    rows = csv.reader(io.StringIO(text))
    try:
        header = next(rows, [])
        types = dict(RECORD_FIELDS)
        kept = {name: j for j, name in enumerate(header) if name in types}     # the last of a repeated name
        missing = [c for c in REQUIRED if c not in kept]
        if missing:
            raise SweepError(f"The file lacks the column(s) {', '.join(missing)}: upload the CSV a sweep wrote.")
        out = []
        for i, row in enumerate(rows, start=2):
            if not row:
                continue                                   # a blank line
            if len(out) == MAX_RECORDS:
                raise SweepError(f"The file has more than {count(MAX_RECORDS)} runs; at most {count(MAX_RECORDS)} "
                                 "can be drawn.")
            out.append(_record(i, {name: row[j] if j < len(row) else None for name, j in kept.items()}, types))
    except csv.Error as exc:
        raise SweepError(f"The file is not a readable CSV ({exc}).") from None
    if not out:
        raise SweepError("The file has a header but no runs.")
    return out


def _record(line: int, row: dict[str, str | None], types: dict[str, type]) -> dict:
    """One row's values typed and checked (SweepError names the line)."""
    rec = dict.fromkeys(COLUMNS)
    for name, value in row.items():
        try:
            rec[name] = _parse(value, types[name])
        except ValueError:
            raise SweepError(f"Line {line}: {name} {quoted(value)} is not a valid {types[name].__name__}.") from None
    if rec["cell"] not in CELLS:
        raise SweepError(f"Line {line}: unknown cell {quoted(rec['cell'])}; a sweep file names one of "
                         f"{', '.join(CELLS)}.")
    lo, hi = LIMITS["timesteps"]
    if rec["timesteps"] is None or not lo <= rec["timesteps"] <= hi:
        raise SweepError(f"Line {line}: timesteps must be between {lo} and {hi}.")
    if rec["gain"] is None or rec["seed"] is None:
        raise SweepError(f"Line {line}: gain and seed must be given.")
    return rec


def _parse(value: str | None, kind: type) -> Any:
    if value is None:
        return None
    value = value.strip()
    if kind is str:
        return value
    if value == "":
        return None
    if kind is bool:
        if value.lower() in ("true", "1"):
            return True
        if value.lower() in ("false", "0"):
            return False
        raise ValueError(value)
    if kind is int:
        return int(float(value)) if float(value).is_integer() else int(value)
    x = float(value)
    return x if math.isfinite(x) else None


def records_csv(records: Sequence[dict]) -> bytes:
    """The records as a sweep CSV (the download)."""
    buf = io.StringIO()
    w = csv.DictWriter(buf, COLUMNS, extrasaction="ignore")
    w.writeheader()
    for r in records:
        w.writerow({k: _cell(r.get(k)) for k in COLUMNS})
    return buf.getvalue().encode("utf-8")


def parquet_available() -> str | None:
    """None when pyarrow can be imported, else the sentence saying why Parquet cannot be written."""
    try:
        import pyarrow  # noqa: F401
    except ImportError:
        return "Parquet needs pyarrow, which is not installed; write CSV (--out) instead."
    return None


def write_parquet(records: Sequence[dict], path: str | Path) -> None:
    """The records as a Parquet file (pyarrow), typed by RECORD_FIELDS."""
    import pandas as pd

    frame = pd.DataFrame([{k: r.get(k) for k in COLUMNS} for r in records], columns=list(COLUMNS))
    frame.to_parquet(Path(path).expanduser(), index=False)


def summarise(records: Sequence[dict], value: str = "val_loss",
              by: tuple[str, ...] = ("cell", "timesteps")) -> list[dict]:
    """Mean, min and max of `value` over seeds for each group (finite values only; a group whose
    runs all diverged or were skipped has mean None). Each row: the group's fields, "mean", "lo",
    "hi", "n" (runs with a value), "runs" (all runs), "baseline_mse" (mean), "diverged" (count)."""
    groups: dict[tuple, list[dict]] = {}
    for r in records:
        groups.setdefault(tuple(r.get(k) for k in by), []).append(r)
    out = []
    for values, rs in groups.items():
        xs = [r[value] for r in rs if r.get(value) is not None and math.isfinite(r[value])]
        bs = [r["baseline_mse"] for r in rs if r.get("baseline_mse")]
        out.append({**dict(zip(by, values)), "mean": sum(xs) / len(xs) if xs else None,
                    "lo": min(xs) if xs else None, "hi": max(xs) if xs else None, "n": len(xs),
                    "runs": len(rs), "baseline_mse": sum(bs) / len(bs) if bs else None,
                    "diverged": sum(bool(r.get("diverged")) for r in rs)})
    return out
