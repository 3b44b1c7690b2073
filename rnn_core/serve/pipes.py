"""The pipe between the app (or the CLI) and its worker processes: length-prefixed JSON messages.

    write_message(stream, obj)      8-byte length (network order), then the JSON text in UTF-8
    read_message(stream) -> obj     the next message; EOFError when the other side closed the pipe
    message_stdout() -> stream      in a worker: the real stdout, kept for messages, while print() and
                                    any stray output of a library go to stderr

Plain JSON, so a message carries data and never code (Python's JSON writes floats exactly). Used by the
sweep workers (`sweep_worker.py`, driven by `sweep.py`) and the run workers (`run_worker.py`, driven by
`workers.py`).
"""

from __future__ import annotations

import json
import os
import struct
import sys
from typing import Any, BinaryIO

HEADER = struct.Struct("!Q")         # message length, 8 bytes, network order


def write_message(stream: BinaryIO, obj: Any) -> None:
    data = json.dumps(obj).encode("utf-8")
    stream.write(HEADER.pack(len(data)) + data)
    stream.flush()


def read_message(stream: BinaryIO) -> Any:
    """The next message, or raises EOFError when the other side has closed the pipe."""
    head = _read_exactly(stream, HEADER.size)
    return json.loads(_read_exactly(stream, HEADER.unpack(head)[0]).decode("utf-8"))


def _read_exactly(stream: BinaryIO, n: int) -> bytes:
    chunks, left = [], n
    while left:
        chunk = stream.read(left)
        if not chunk:
            raise EOFError
        chunks.append(chunk)
        left -= len(chunk)
    return b"".join(chunks)


def message_stdout() -> BinaryIO:
    """The messages' own pipe (a copy of stdout); stdout itself then points at stderr."""
    out = os.fdopen(os.dup(sys.stdout.fileno()), "wb")
    os.dup2(sys.stderr.fileno(), sys.stdout.fileno())
    return out
