"""A sweep worker process: `python -m rnn_core.sweep_worker` reads tasks from stdin and writes their
records to stdout, one length-prefixed pickle per message, until stdin closes.

    in:  (task_id, [Trial, …])          out: (task_id, [record, …], None) or (task_id, None, "why")

Why a plain subprocess and not `multiprocessing`: multiprocessing's spawn and forkserver start
methods import the parent's `__main__` again in every child, and inside a Streamlit server that is
the page script being run — so each worker would run the app. A child started as its own module
imports only what it needs. `sweep.run_sweep(backend="local")` starts, feeds and ends these workers.
Ctrl-C is left to the parent (which keeps what finished and ends the workers); torch runs on one
thread here. Only trusted input: the parent that started it writes the pickles.
"""

from __future__ import annotations

import os
import pickle
import signal
import struct
import sys
from typing import Any, BinaryIO

HEADER = struct.Struct("!Q")         # message length, 8 bytes, network order


def write_message(stream: BinaryIO, obj: Any) -> None:
    data = pickle.dumps(obj, protocol=pickle.HIGHEST_PROTOCOL)
    stream.write(HEADER.pack(len(data)) + data)
    stream.flush()


def read_message(stream: BinaryIO) -> Any:
    """The next message, or raises EOFError when the other side has closed the pipe."""
    head = _read_exactly(stream, HEADER.size)
    return pickle.loads(_read_exactly(stream, HEADER.unpack(head)[0]))


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

    from rnn_core.sweep import run_task
    from rnn_core.train import warm_up

    torch.set_num_threads(1)
    warm_up()
    while True:
        try:
            task_id, trials = read_message(inp)
        except EOFError:
            return
        try:
            write_message(out, (task_id, run_task(trials), None))
        except Exception as exc:       # a bug: the parent raises it with this sentence
            write_message(out, (task_id, None, f"{type(exc).__name__}: {exc}"))


def main() -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    out = os.fdopen(os.dup(sys.stdout.fileno()), "wb")     # the messages' own pipe …
    os.dup2(sys.stderr.fileno(), sys.stdout.fileno())      # … and any stray print goes to stderr
    serve(sys.stdin.buffer, out)


if __name__ == "__main__":
    main()
