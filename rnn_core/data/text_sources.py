"""Where the characters of a text dataset come from (all offline), each as a frame with one row per line
(column "text"); `frame_text(frame)` joins it back.

    pydoc_frame(length, start)          the Python documentation that ships with Python (`pydoc_data.topics`)
    brackets_frame(length, span, seed)  a synthetic grammar whose memory span is known exactly: segments
                                        "(" + span filler letters + ")" (or [ ] or { }) + " "; predicting the
                                        closer needs the opener seen `span` characters before
    read_text_upload(data) -> frame     pasted or uploaded text, validated (empty, binary, undecodable, huge
                                        or too short → DataError with one sentence), the memory budget
                                        asked before the lines are split

Leaves to others: the vocabulary and the next-character windows (`text.py`), the registry (`datasets.py`).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from rnn_core.data.budget import ask
from rnn_core.data.errors import DataError
from rnn_core.readable import count, megabytes

MAX_TEXT_BYTES = 1_000_000      # pasted / uploaded text
TEXT_CHAR_BYTES = 64            # what one character of a read text may hold (lines, ids): the budget's `each`
MIN_TEXT_CHARS = 200            # fewer characters cannot fill train, validation and test windows
OPENERS, CLOSERS = "([{", ")]}"
FILLER = "ab"


# ----------------------------------------------------------------------------- sources
def text_frame(text: str) -> pd.DataFrame:
    """One row per line (column "text"), index "line"."""
    lines = text.split("\n")
    return pd.DataFrame({"text": lines}, index=pd.RangeIndex(len(lines), name="line"))


def frame_text(frame: pd.DataFrame) -> str:
    if "text" not in frame.columns:
        raise DataError("This data has no text; choose a text dataset or paste some text.")
    return "\n".join(str(s) for s in frame["text"])


def pydoc_frame(length: int, start: int) -> pd.DataFrame:
    """`length` characters of Python's own help topics (sorted by topic), from character `start`."""
    from pydoc_data.topics import topics

    text = "\n\n".join(topics[k].strip() for k in sorted(topics))
    part = text[start:start + length]
    if len(part) < MIN_TEXT_CHARS:
        raise DataError(f"The Python docs hold {count(len(text))} characters; start at most "
                        f"{count(len(text) - MIN_TEXT_CHARS)} to keep {MIN_TEXT_CHARS} of them.")
    return text_frame(part)


def brackets_text(length: int, span: int, seed: int) -> str:
    """Segments "<opener><span filler letters><closer> ", the closer matching the opener, until `length`."""
    rng = np.random.default_rng(seed)
    n_seg = max(1, -(-length // (span + 3)))
    kinds = rng.integers(0, len(OPENERS), n_seg)
    fill = rng.integers(0, len(FILLER), (n_seg, span))
    segs = [OPENERS[k] + "".join(FILLER[i] for i in row) + CLOSERS[k] + " " for k, row in zip(kinds, fill)]
    return "".join(segs)[:length]


def brackets_frame(length: int, span: int, seed: int) -> pd.DataFrame:
    return text_frame(brackets_text(length, span, seed))


def read_text_upload(data: bytes | str, max_bytes: int = MAX_TEXT_BYTES) -> pd.DataFrame:
    """Pasted or uploaded text → frame; every unusable input raises DataError with one sentence."""
    if isinstance(data, str):
        raw = data.encode("utf-8", errors="surrogatepass")
    elif isinstance(data, bytes | bytearray | memoryview):
        raw = bytes(data)
    else:
        raise DataError("The upload is not text; paste some text or upload a .txt file.")
    if not raw.strip():
        raise DataError(f"The text is empty; paste or upload at least {MIN_TEXT_CHARS} characters of text.")
    if len(raw) > max_bytes:
        raise DataError(f"The text is {megabytes(len(raw))}, above the {megabytes(max_bytes)} limit; "
                        "paste or upload a shorter text.")
    if b"\x00" in raw[:65536] and raw[:2] not in (b"\xff\xfe", b"\xfe\xff"):
        raise DataError("The file is binary, not text; upload a plain-text file (.txt, UTF-8).")
    try:
        text = raw.decode("utf-16") if raw[:2] in (b"\xff\xfe", b"\xfe\xff") else raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise DataError("The file is not UTF-8 or UTF-16 text; save it as UTF-8 plain text and upload "
                        "again.") from None
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    controls = sum(1 for ch in text[:65536] if ord(ch) < 32 and ch not in "\t\n")
    if controls > 0.01 * min(len(text), 65536):
        raise DataError("The file holds control characters, not readable text; upload a plain-text file.")
    if len(text.strip()) < MIN_TEXT_CHARS:
        raise DataError(f"The text has {len(text.strip())} characters; paste at least {MIN_TEXT_CHARS} "
                        "so that there is something to train, validate and test on.")
    # one row per line: a short line's string object costs ~20 bytes a character (measured: ~45 MB for
    # 1 MB of "ab" lines), ids and vocabulary a few more
    ask("text", len(text), TEXT_CHAR_BYTES, "characters", fits=lambda most: f"use at most {count(most)} characters")
    return text_frame(text)
