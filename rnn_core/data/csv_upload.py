"""An uploaded CSV, validated: `inspect_csv_upload` lists its columns, `read_csv_upload` reads it.

Decodes the bytes (refusing empty, oversized, binary and Excel files), sniffs the delimiter and a
decimal comma, asks the memory budget for the cells it is about to parse (`budget.py`), reads the
numeric columns and a date column, fills or refuses gaps, and says what it changed in
`frame.attrs["notes"]`. Every problem is a `DataError` sentence naming the rows.
Registry entry ("csv"): `datasets.py`; the upload widget: `ui/controls.py`.
"""

from __future__ import annotations

import csv
import io
import re
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from rnn_core.config import listed, quoted
from rnn_core.data.budget import UPLOAD_BYTES, ask
from rnn_core.data.errors import DataError
from rnn_core.readable import count, megabytes, readable

MAX_UPLOAD_BYTES = UPLOAD_BYTES
CSV_CELL_BYTES, CSV_COLUMN_BYTES = 40, 2_000     # what one parsed cell and one column hold (the budget's `each`)
MIN_CSV_ROWS = 10
DELIMITERS = (",", ";", "\t", "|")
FILL_MODES = ("refuse", "interpolate", "drop")
_DELIM_NAMES = {",": "comma", ";": "semicolon", "\t": "tab", "|": "pipe", None: "none (one column)"}
NO_DATA_ROWS = "The file has a header but no data rows; upload a CSV with one row per time step."
_DATE_FORMATS = ("ISO8601", "%m/%d/%Y", "%d/%m/%Y", "%d.%m.%Y", "%Y/%m/%d", "%d-%m-%Y", "%m-%d-%Y")


@dataclass
class CsvInfo:
    """What an upload holds, for the UI to offer choices: columns, which are numeric or dates."""

    columns: list[str]
    numeric_columns: list[str]
    date_columns: list[str]
    n_rows: int
    delimiter: str          # "comma", "semicolon", "tab", "pipe" or "none (one column)"
    encoding: str


def _decode(data: bytes, max_bytes: int) -> tuple[str, str]:
    """bytes → (text, encoding), refusing empty, oversized and binary files."""
    if not isinstance(data, bytes | bytearray | memoryview):
        raise DataError("The upload is not a file's contents; upload a CSV file.")
    data = bytes(data)
    if len(data) == 0:
        raise DataError("The file is empty; upload a CSV with a header row and at least one numeric column.")
    if len(data) > max_bytes:
        raise DataError(f"The file is {megabytes(len(data))}, above the {megabytes(max_bytes)} limit; "
                        "upload a shorter series (fewer rows or columns).")
    if data[:4] == b"PK\x03\x04" or data[:4] == b"\xd0\xcf\x11\xe0":
        raise DataError("This looks like an Excel workbook, not a CSV; save it as CSV "
                        "(File → Save As → CSV) and upload that.")
    if data[:2] in (b"\xff\xfe", b"\xfe\xff"):
        text, encoding = data.decode("utf-16"), "utf-16"
    else:
        if b"\x00" in data[:65536]:
            raise DataError("The file is binary, not text; upload a CSV (plain text, values separated "
                            "by commas).")
        for encoding in ("utf-8-sig", "cp1252", "latin-1"):
            try:
                text = data.decode(encoding)
                break
            except UnicodeDecodeError:
                continue
    controls = sum(1 for ch in text[:65536] if ord(ch) < 32 and ch not in "\t\r\n")
    if controls > 0.01 * min(len(text), 65536):
        raise DataError("The file does not read as text in any common encoding (UTF-8, UTF-16, Latin-1); "
                        "save it as a UTF-8 CSV and upload again.")
    if not text.strip():
        raise DataError("The file holds only blank space; upload a CSV with a header row and numbers.")
    return text, "utf-8" if encoding == "utf-8-sig" else encoding


def _sniff_delimiter(text: str) -> str | None:
    """The candidate that splits the first lines into the same number (> 0) of cuts most consistently."""
    lines = [ln for ln in text[:65536].splitlines() if ln.strip()][:50]
    best, best_score = None, 0.0
    for delim in DELIMITERS:
        counts = [len(next(csv.reader([ln], delimiter=delim))) - 1 for ln in lines]
        mode = max(set(counts), key=counts.count)
        if mode == 0:
            continue
        score = counts.count(mode) / len(counts) + 0.001 * mode
        if score > best_score:
            best, best_score = delim, score
    return best


def _uses_decimal_comma(text: str, delim: str | None) -> bool:
    """'1,5;2,25' style files (European): numbers with a comma as the decimal mark."""
    if delim == ",":
        return False
    cells = [c.strip() for ln in text[:65536].splitlines()[1:50] for c in (ln.split(delim) if delim else [ln])]
    commas = any(re.fullmatch(r"-?\d+,\d+", c) for c in cells)
    dots = any(re.fullmatch(r"-?\d*\.\d+", c) for c in cells)
    return commas and not dots


def _header(text: str, delim: str | None) -> list[str]:
    """The names in the first non-blank row, however long (read lazily: the rows below are not split)."""
    try:
        row = next((row for row in csv.reader(io.StringIO(text), delimiter=delim or ",")
                    if any(cell.strip() for cell in row)), [])
    except csv.Error:
        raise DataError("The file's header row cannot be read (a quote is never closed, or a name is longer "
                        f"than {count(csv.field_size_limit())} characters); write one short name per column.") from None
    return [cell.strip() for cell in row]


def _parse_table(text: str) -> tuple[pd.DataFrame, dict[str, _Cells], str | None]:
    delim = _sniff_delimiter(text)
    names = _header(text, delim)
    rows = text.count("\n") + 1
    # parsed as strings, then floats: ~40 bytes a cell and ~2 KB a column (measured: tests/…/test_budget.py)
    ask("csv", len(names), CSV_COLUMN_BYTES + CSV_CELL_BYTES * rows, "columns",
        fits=lambda most: f"upload at most {count(most)} columns at {count(rows)} rows, or fewer rows")
    try:
        table = pd.read_csv(io.StringIO(text), sep=delim or ",", dtype=str,
                            skipinitialspace=True, engine="c")
    except pd.errors.EmptyDataError:
        raise DataError("The file has no header row; upload a CSV whose first line names the columns.") from None
    except pd.errors.ParserError as exc:
        detail = re.sub(r"\s+", " ", str(exc)).strip().rstrip(".")
        raise DataError(f"The file's rows do not split into the same columns ({detail}); check the "
                        "delimiter and that every row has as many fields as the header.") from None
    table.columns = [str(c).strip() for c in table.columns]
    if all(re.fullmatch(r"-?\d+([.,]\d+)?", c) for c in table.columns):
        raise DataError(f"The first row holds numbers ({', '.join(table.columns[:3])}), not column names; "
                        "add a header row that names the columns (e.g. date,value) and upload again.")
    twice = next((n for i, n in enumerate(names) if n in names[:i]), None)
    if twice is not None:            # pandas would rename the second one 'Close.1' without a word
        raise DataError(f"The header names the column {quoted(twice)} twice; give every column its own name.")
    if _uses_decimal_comma(text, delim):
        table = table.apply(lambda col: col.str.replace(",", ".", regex=False))
    if table.columns.duplicated().any():
        twice = table.columns[table.columns.duplicated()][0]
        raise DataError(f"The header names the column {quoted(twice)} twice; give every column its own name.")
    return table, {c: _read_cells(table[c]) for c in table.columns}, delim


@dataclass
class _Cells:
    """One column read as numbers: `numbers` (NaN where empty or text) and the `text` cells."""

    numbers: pd.Series
    text: pd.Series
    present: int            # non-empty cells

    @property
    def numeric(self) -> bool:
        """Mostly numbers: at least one, and at most 10 % text cells (the rest is reported as mixed)."""
        return self.present > 0 and self.numbers.notna().any() and len(self.text) <= 0.1 * self.present


def _read_cells(col: pd.Series) -> _Cells:
    """Cells → floats; empty / NA cells → NaN; cells holding something else are the `text`."""
    try:
        numbers = col.astype(np.float64)              # fast path: every cell a number or missing
        return _Cells(numbers, col.iloc[:0], int(col.notna().sum()))
    except (TypeError, ValueError):
        stripped = col.astype("string").str.strip()
        numbers = pd.to_numeric(stripped, errors="coerce").astype(np.float64)
        present = stripped.notna() & (stripped != "")
        return _Cells(numbers, col[present & numbers.isna()], int(present.sum()))


def _parse_dates(col: pd.Series) -> pd.Series | None:
    """The column as dates if ≥ 90 % of its cells parse with one format, else None."""
    text = col.astype("string").str.strip()
    present = text.notna().sum()
    if present == 0 or text.dropna().str.fullmatch(r"-?\d+(\.\d+)?").all():
        return None
    for fmt in _DATE_FORMATS:
        try:
            dates = pd.to_datetime(text, format=fmt, errors="coerce")
        except (ValueError, TypeError):
            continue
        if dates.notna().sum() >= 0.9 * present:
            return dates
    return None


def _rows_text(positions: Any, limit: int = 5) -> str:
    """Data-row numbers counted from 1: 'row 4', 'rows 4, 9 and 10', 'rows 1, 2, 3, 4, 5 and 7 more'."""
    rows = [str(int(p) + 1) for p in positions]
    if len(rows) == 1:
        return f"row {rows[0]}"
    if len(rows) <= limit:
        return f"rows {', '.join(rows[:-1])} and {rows[-1]}"
    return f"rows {', '.join(rows[:limit])} and {len(rows) - limit} more"


def inspect_csv_upload(data: bytes, max_bytes: int = MAX_UPLOAD_BYTES) -> CsvInfo:
    """Read an upload far enough to list its columns: numeric ones and candidate date columns.
    A file with a header but no data rows is refused here already (no column could be offered)."""
    text, encoding = _decode(data, max_bytes)
    table, cells, delim = _parse_table(text)
    if len(table) == 0:
        raise DataError(NO_DATA_ROWS)
    numeric = [c for c in table.columns if cells[c].numeric]
    dates = [c for c in table.columns if c not in numeric and _parse_dates(table[c]) is not None]
    return CsvInfo(columns=list(table.columns), numeric_columns=numeric, date_columns=dates,
                   n_rows=len(table), delimiter=_DELIM_NAMES[delim], encoding=encoding)


def read_csv_upload(data: bytes, value_columns: Any = None, date_column: str | None = None,
                    max_bytes: int = MAX_UPLOAD_BYTES, fill: str = "refuse") -> pd.DataFrame:
    """An uploaded CSV as a clean float frame, validated; anything unusable is a DataError sentence.

    value_columns: the columns to keep (a list or a comma-separated string); None = every numeric
      column (constant ones are left out then, and said so).
    date_column: the column to index by; None = the first column that reads as dates, if any;
      "" = no dates (index = row number). Unsorted dates are sorted (and said so); duplicated dates are
      refused (which row to keep is the user's call).
    fill: empty cells in a value column: "refuse" (default, the sentence says where they are),
      "interpolate" (linear between neighbours, ends held) or "drop" (drop those rows).
    Notes on what was changed are in `frame.attrs["notes"]` (a list of sentences).
    """
    if fill not in FILL_MODES:
        raise DataError(f"Unknown fill {quoted(fill)}: choose one of {', '.join(FILL_MODES)}.")
    text, _ = _decode(data, max_bytes)
    table, cells, _ = _parse_table(text)
    if len(table) == 0:
        raise DataError(NO_DATA_ROWS)
    if len(table) == 1:
        raise DataError("The file has only one data row; a series needs many rows — upload a longer one.")
    notes: list[str] = []
    date_col = _choose_date_column(table, cells, date_column)
    values = _value_frame(table, cells, value_columns, date_col, notes)
    values = _fill_gaps(values, fill, notes)
    if date_col:
        values = _date_index(values, table[date_col], date_col, notes)
    else:
        values.index = pd.RangeIndex(len(values), name="row")
    if len(values) < MIN_CSV_ROWS:
        raise DataError(f"The file has only {len(values)} data rows; upload a series with at least "
                        f"{MIN_CSV_ROWS} rows (and more than the timesteps you want).")
    values.attrs["notes"] = notes
    return values


def _choose_date_column(table: pd.DataFrame, cells: dict[str, _Cells], date_column: str | None) -> str:
    if date_column == "":
        return ""
    if date_column is None:
        return next((c for c in table.columns if not cells[c].numeric and _parse_dates(table[c]) is not None), "")
    if date_column not in table.columns:
        raise DataError(f"There is no column {quoted(date_column)} in the file (columns: "
                        f"{listed(table.columns)}); pick one of those as the date column.")
    return date_column


def _value_frame(table: pd.DataFrame, cells: dict[str, _Cells], value_columns: Any, date_col: str,
                 notes: list[str]) -> pd.DataFrame:
    """The chosen (or every numeric) column as floats, refusing text, infinities and constants."""
    if isinstance(value_columns, str):
        value_columns = [c.strip() for c in value_columns.split(",") if c.strip()]
    chosen = list(value_columns) if value_columns else None
    if chosen is None:
        chosen = [c for c in table.columns if c != date_col and cells[c].numeric]
        if not chosen:
            raise DataError(f"No column holds numbers (columns: {listed(table.columns)}); upload a file "
                            "with at least one numeric column such as prices or measurements.")
    for name in chosen:
        if name not in table.columns:
            raise DataError(f"There is no column {quoted(name)} in the file (columns: {listed(table.columns)}); "
                            "pick value columns from those.")
        if name == date_col:
            raise DataError(f"{quoted(name)} is the date column; pick other columns as values.")
    frame = pd.DataFrame({name: _numeric_column(cells[name], name) for name in chosen})
    constant = [c for c in frame.columns if frame[c].nunique(dropna=True) <= 1]
    if constant and value_columns:
        c = constant[0]
        raise DataError(f"Column {quoted(c)} is constant (every value is "
                        f"{readable(float(frame[c].dropna().iloc[0]))}); a network cannot learn anything from it — "
                        "choose another column.")
    if constant:
        if len(constant) == len(frame.columns):
            c = constant[0]
            raise DataError(f"Every numeric column is constant (e.g. {quoted(c)} is always "
                            f"{readable(float(frame[c].dropna().iloc[0]))}); upload a series that changes over time.")
        notes.append(f"Left out constant column(s) {', '.join(constant)}: they carry no information.")
        frame = frame.drop(columns=constant)
    return frame


# 1,234.5 · 1.234,5 · 1 234,5 · 12,345 — digits grouped by three with a separator
_GROUPED = "-?\\d{1,3}([,. '\u00a0]\\d{3})+([.,]\\d+)?"


def _numeric_column(cells: _Cells, name: str) -> pd.Series:
    text, numbers = cells.text, cells.numbers
    if cells.present == 0 or len(text) == cells.present:
        example = f" (e.g. {quoted(text.iloc[0])})" if len(text) else ""
        if len(text) and text.astype(str).str.strip().str.fullmatch(_GROUPED).mean() > 0.5:
            raise DataError(f"Column {quoted(name)} holds numbers with thousands separators{example}, which are "
                            "not read; save the file with plain numbers (1234.5, not 1,234.5 or 1.234,5).")
        raise DataError(f"Column {quoted(name)} holds no numbers{example}; pick a numeric column.")
    if len(text):
        examples = ", ".join(f"{quoted(v)}" for v in list(dict.fromkeys(text))[:3])
        raise DataError(f"Column {quoted(name)} mixes numbers and text ({examples} at {_rows_text(text.index)}); "
                        "clean those cells or pick another column.")
    infinite = numbers[np.isinf(numbers)]
    if len(infinite):
        raise DataError(f"Column {quoted(name)} holds infinite values at {_rows_text(infinite.index)}; "
                        "replace them with real numbers.")
    return numbers


def _fill_gaps(frame: pd.DataFrame, fill: str, notes: list[str]) -> pd.DataFrame:
    gaps = frame.isna().any(axis=1)
    if not gaps.any():
        return frame
    n = int(frame.isna().sum().sum())
    where = _rows_text(np.flatnonzero(gaps.to_numpy()))
    if fill == "refuse":
        raise DataError(f"The values have {n} empty cell{'s' if n > 1 else ''} (at {where}); fill them in, "
                        "or choose to interpolate or drop those rows.")
    if fill == "drop":
        notes.append(f"Dropped {int(gaps.sum())} row(s) with empty cells ({where}).")
        return frame[~gaps]
    notes.append(f"Filled {n} empty cell(s) ({where}) by linear interpolation.")
    return frame.interpolate(method="linear", limit_direction="both")


def _date_index(values: pd.DataFrame, col: pd.Series, name: str, notes: list[str]) -> pd.DataFrame:
    dates = _parse_dates(col)
    if dates is None:
        raise DataError(f"Column {quoted(name)} does not read as dates (e.g. {quoted(col.dropna().iloc[0])}); write "
                        "dates as YYYY-MM-DD or pick no date column.")
    dates = dates.loc[values.index]
    bad = dates[dates.isna()]
    if len(bad):
        raise DataError(f"Column {quoted(name)} has {len(bad)} cell(s) that are not dates (at "
                        f"{_rows_text(bad.index)}); fix them or pick no date column.")
    repeated = dates[dates.duplicated()]
    if len(repeated):
        raise DataError(f"The date column repeats {len(repeated)} date(s) (e.g. {repeated.iloc[0]:%Y-%m-%d}); "
                        "keep one row per date and upload again.")
    values.index = pd.DatetimeIndex(dates.to_numpy(), name=name)
    if not values.index.is_monotonic_increasing:
        values = values.sort_index()
        notes.append(f"Sorted the rows by {quoted(name)} (the file was not in date order).")
    return values
