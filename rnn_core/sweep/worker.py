"""A sweep worker process: `python -m rnn_core.sweep.worker` reads tasks from stdin and writes their
records to stdout, one length-prefixed JSON message each (`pipes.py`), until stdin closes.

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

import signal
import sys
from typing import BinaryIO

from rnn_core.serve.pipes import message_stdout, read_message, write_message


def serve(inp: BinaryIO, out: BinaryIO) -> None:
    import torch

    from rnn_core.nn.train import warm_up
    from rnn_core.sweep.trials import Trial, run_task

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
    serve(sys.stdin.buffer, message_stdout())


if __name__ == "__main__":
    main()
