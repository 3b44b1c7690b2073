"""CSV uploads: good files in their common dialects load; each broken file is one clear sentence."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from rnn_core.config import DataConfig
from rnn_core.data.csv_upload import inspect_csv_upload, read_csv_upload
from rnn_core.data.errors import DataError
from rnn_core.data.windows import prepare


def dated(n: int, value=lambda i: f"{100 + 0.5 * i:.2f}", header: str = "Date,Close", sep: str = ",") -> str:
    """A header and n rows of consecutive days from 2020-01-01 with `value(i)`."""
    days = pd.date_range("2020-01-01", periods=n, freq="D")
    return header + "\n" + "".join(f"{d:%Y-%m-%d}{sep}{value(i)}\n" for i, d in enumerate(days))


GOOD = dated(40).encode()

# (case, file bytes, read_csv_upload kwargs, words the sentence must hold)
BAD = [
    ("empty", b"", {}, "The file is empty"),
    ("blank", b"  \n \n", {}, "only blank space"),
    ("header only", b"Date,Close\n", {}, "header but no data rows"),
    ("binary", bytes(range(256)) * 8, {}, "binary, not text"),
    ("excel", b"PK\x03\x04" + b"\x00" * 64, {}, "Excel workbook"),
    ("no numeric column", ("name,city\n" + "ann,rome\n" * 20).encode(), {}, "No column holds numbers"),
    ("NaN gaps", dated(40, lambda i: "" if i in (3, 8, 9) else str(i)).encode(), {},
     "3 empty cells (at rows 4, 9 and 10)"),
    ("many gaps", dated(40, lambda i: "" if i < 12 else str(i)).encode(), {"fill": "refuse"},
     "12 empty cells (at rows 1, 2, 3, 4, 5 and 7 more)"),
    ("infinite", dated(40, lambda i: "inf" if i == 5 else str(i)).encode(), {}, "infinite values at row 6"),
    ("constant", dated(40, lambda i: "5").encode(), {}, "constant"),
    ("constant chosen", dated(40, lambda i: "5").encode(), {"value_columns": ["Close"]},
     "Column 'Close' is constant"),
    ("one row", b"Date,Close\n2020-01-01,5\n", {}, "only one data row"),
    ("few rows", dated(4).encode(), {}, "only 4 data rows"),
    ("duplicated dates", (dated(20) + dated(3).split("\n", 1)[1]).encode(), {}, "repeats 3 date(s)"),
    ("mixed types", dated(40, lambda i: "abc" if i in (4, 7) else str(i)).encode(), {},
     "mixes numbers and text ('abc' at rows 5 and 8)"),
    ("oversized", GOOD, {"max_bytes": 200}, "above the 0.0002 MB limit"),
    ("ragged rows", ("a,b\n" + "1,2\n" * 10 + "1,2,3,4\n" + "1,2\n" * 10).encode(), {},
     "do not split into the same columns"),
    ("no header", "".join(f"{np.sin(i):.3f},{i}\n" for i in range(30)).encode(), {}, "not column names"),
    ("not dates", dated(30).replace("2020-01-05", "soon").encode(), {}, "1 cell(s) that are not dates (at row 5)"),
    ("unknown value column", GOOD, {"value_columns": "Price"}, "no column 'Price'"),
    ("unknown date column", GOOD, {"date_column": "When"}, "no column 'When'"),
    ("bad fill mode", GOOD, {"fill": "guess"}, "Unknown fill 'guess'"),
    ("control characters", ("a,b\n" + "\x01\x02\x03,\x04\n" * 50).encode(), {}, "does not read as text"),
]


@pytest.mark.parametrize(("case", "data", "kwargs", "words"), BAD, ids=[b[0] for b in BAD])
def test_each_bad_file_is_one_clear_sentence(case, data, kwargs, words):
    with pytest.raises(DataError) as err:
        read_csv_upload(data, **kwargs)
    msg = str(err.value)
    assert words in msg, msg
    assert msg.endswith(".") and "\n" not in msg and "Traceback" not in msg
    assert ";" in msg or "—" in msg or "upload" in msg.lower() or "choose" in msg or "pick" in msg, msg


def test_a_good_file_loads_with_its_dates():
    frame = read_csv_upload(GOOD)
    assert list(frame.columns) == ["Close"] and frame.dtypes["Close"] == np.float64
    assert isinstance(frame.index, pd.DatetimeIndex) and frame.index.name == "Date" and len(frame) == 40
    assert frame["Close"].iloc[-1] == pytest.approx(119.5) and frame.attrs["notes"] == []


@pytest.mark.parametrize("sep", [";", "\t", "|"])
def test_odd_delimiters_are_sniffed(sep):
    frame = read_csv_upload(dated(30, header=f"Date{sep}Close", sep=sep).encode())
    assert list(frame.columns) == ["Close"] and isinstance(frame.index, pd.DatetimeIndex)


def test_semicolon_with_decimal_commas_and_european_dates():
    text = "Datum;Kurs;Menge\n" + "".join(f"{1 + i:02d}.01.2020;{100 + i},{i % 10}5;{3 * i}\n" for i in range(30))
    frame = read_csv_upload(text.encode())
    assert list(frame.columns) == ["Kurs", "Menge"] and frame["Kurs"].iloc[1] == pytest.approx(101.15)
    assert frame.index[1] == pd.Timestamp("2020-01-02")


@pytest.mark.parametrize("encoding", ["latin-1", "utf-16", "utf-8-sig", "cp1252"])
def test_other_encodings_are_read(encoding):
    frame = read_csv_upload(dated(30, header="Date,Température").encode(encoding))
    assert list(frame.columns) == ["Température"] and len(frame) == 30


def test_unsorted_dates_are_sorted_and_said_so():
    lines = dated(40).splitlines(keepends=True)
    frame = read_csv_upload((lines[0] + "".join(reversed(lines[1:]))).encode())
    assert frame.index.is_monotonic_increasing and frame["Close"].iloc[0] == pytest.approx(100.0)
    assert any("Sorted the rows by 'Date'" in n for n in frame.attrs["notes"])


def test_gaps_can_be_interpolated_or_dropped():
    data = dated(40, lambda i: "" if i in (3, 8, 9) else str(float(i))).encode()
    filled = read_csv_upload(data, fill="interpolate")
    np.testing.assert_allclose(filled["Close"].to_numpy(), np.arange(40.0))
    assert "Filled 3 empty cell(s)" in filled.attrs["notes"][0]
    dropped = read_csv_upload(data, fill="drop")
    assert len(dropped) == 37 and pd.Timestamp("2020-01-04") not in dropped.index


def test_value_and_date_column_choices():
    text = "when,a,b,label\n" + "".join(f"2021-03-{1 + i:02d},{i},{i * i},x{i}\n" for i in range(25))
    info = inspect_csv_upload(text.encode())
    assert info.columns == ["when", "a", "b", "label"] and info.numeric_columns == ["a", "b"]
    assert info.date_columns == ["when"] and info.n_rows == 25 and info.delimiter == "comma"
    both = read_csv_upload(text.encode())
    assert list(both.columns) == ["a", "b"] and both.index.name == "when"
    only_b = read_csv_upload(text.encode(), value_columns="b", date_column="")
    assert list(only_b.columns) == ["b"] and isinstance(only_b.index, pd.RangeIndex)
    with pytest.raises(DataError, match="Column 'label' holds no numbers"):
        read_csv_upload(text.encode(), value_columns=["label"])


def test_constant_columns_are_left_out_when_picking_automatically():
    text = "t,x,unit\n" + "".join(f"{i},{np.sin(i):.4f},1\n" for i in range(30))
    frame = read_csv_upload(text.encode())
    assert list(frame.columns) == ["t", "x"] and "unit" in frame.attrs["notes"][0]


def test_too_few_rows_for_the_timesteps_is_checked_when_windowing():
    frame = read_csv_upload(dated(60).encode())
    assert len(prepare(DataConfig(dataset="csv", timesteps=20), frame=frame).X_train) == 28
    with pytest.raises(DataError, match="The series has 60 rows; with 50 timesteps only 10 windows remain"):
        prepare(DataConfig(dataset="csv", timesteps=50), frame=frame)


def test_a_near_limit_file_parses():
    rows = 120_000
    text = "step,value\n" + "".join(f"{i},{np.sin(i / 10):.5f}\n" for i in range(rows))
    data = text.encode()
    assert len(data) < 5_000_000
    frame = read_csv_upload(data)
    assert frame.shape == (rows, 2)
