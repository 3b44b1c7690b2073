"""A sweep worker process: `python -m rnn_core.sweep_worker` reads tasks from stdin and writes their
records to stdout, one length-prefixed JSON message each, until stdin closes.

    in:  [task_id, [trial as a dict, …]]     out: [task_id, [record, …], null] or [task_id, null, "why"]

Why a plain subprocess and not `multiprocessing`: multiprocessing's spawn and forkserver start
methods import the parent's `__main__` again in every child, and inside a Streamlit server that is
the page script being run — so each worker would run the app. A child started as its own module
imports only what it needs. `sweep.run_sweep(backend="local")` starts, feeds and ends these workers.
Ctrl-C is left to the parent (which keeps what finished and ends the workers); torch runs on one
thread here. Messages are plain JSON (configs and records are plain data), so nothing in them can
run code; Python's JSON writes floats exactly, so records equal those of the other backends.
"""

from __future__ import annotations

import json
import os
import signal
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


def serve(inp: BinaryIO, out: BinaryIO) -> None:
    import torch

    from rnn_core.sweep import Trial, run_task
    from rnn_core.train import warm_up

    torch.set_num_threads(1)
    warm_up()
    while True:
        try:
            task_id, trials = read_message(inp)
        except EOFError:
            return
        try:
            write_message(out, (task_id, run_task([Trial.from_dict(t) for t in trials]), None))
        except Exception as exc:       # a bug: the parent raises it with this sentence
            write_message(out, (task_id, None, f"{type(exc).__name__}: {exc}"))


def main() -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    out = os.fdopen(os.dup(sys.stdout.fileno()), "wb")     # the messages' own pipe …
    os.dup2(sys.stderr.fileno(), sys.stdout.fileno())      # … and any stray print goes to stderr
    serve(sys.stdin.buffer, out)


if __name__ == "__main__":
    main()
