"""A run worker process: `python -m rnn_core.serve.run_worker` trains live runs (and computes closed-loop
forecasts) for the server, one job at a time, so the heavy numbers run outside the Streamlit process and its GIL.

The worker imports torch and pays its one-off costs (`train.warm_up`) first, says "ready", then does
the jobs that come on stdin one after the other, each answered by "done"; `rnn_core.serve.workers` keeps
warm workers in a pool and hands a worker back to it after a job, so a run does not wait for that
start-up. The same seeded code gives the same numbers in a fresh or a reused worker (every job builds
its model from its seed, and `train()` seeds its own shuffling), as it does for runs sharing one server.
Messages are length-prefixed JSON (`pipes.write_message` / `read_message`); bytes travel
base64-encoded: the windows as `windows_codec` bytes (an .npz read with allow_pickle=False, the frame as
Parquet, the rest JSON) and weights as safetensors (a state dict); nothing a worker reads is a pickle,
so nothing in a message can run code.

    → {"op": "ready", "pid"}                                  once torch is imported
    ← {"op": "train", "model", "train", "threads", "windows", "weights"?}
    → {"op": "control"}   ← {"op": "go", "go": bool, "free": bool}   before a step (train's hook)
    ← {"op": "hold"}                                          Pause / Stop: ask again before the next step
    → {"op": "records", "records"}                            what train() yields, in order, in batches
    ← {"op": "weights", "id"}   → {"op": "weights", "id", "data"}   the weights now (between two steps)
    ← {"op": "interrupt"}                                     Stop / closed tab inside a long computation
    → {"op": "weights", "epoch", "data"}                      after each epoch record, when the job
                                                              asked for "checkpoints" (the run store)
    → {"op": "weights", "data", "final": true}                after the end record
    ← {"op": "closed_loop", "model", "weights", "windows", "steps", "start"}
    → {"op": "closed_loop", "result" (plain data: date labels are strings), "note"}
    → {"op": "error", "message"}                              a job failed (a bug): one sentence
    → {"op": "done"}                                          after every job: ready for the next

Asking before every step would wake the server's threads a few hundred times a second, and every wake
takes the GIL from whoever is rerunning a page script. So the server answers "go" with "free" while the
run is running with its slot: the worker then steps without asking until a "hold" (Pause, Stop) comes,
and sends its records every FLUSH_EVERY s (and before every question, so a single Step shows at once).

The same `train()` runs here as in an in-process `LiveRun`, on the same model built from the same seed,
so a worker's records equal the in-process run's (Python's JSON writes floats exactly). The worker runs
at a lower priority (niceness +5, RNN_PLAYGROUND_WORKER_NICE), so that on busy cores the server's script
reruns go first — an advantage over threads, which share the server's priority. It ignores Ctrl-C (the
server's terminal sends it to the whole process group) and exits when its stdin closes: when the server
ends, however it ends, its workers end with it.
Leaves to others: the run's state machine, queue and idle timeout (`live.py`, `workers.py`).
"""

from __future__ import annotations

import base64
import contextlib
import os
import queue
import signal
import sys
import threading
import time
from typing import Any, BinaryIO

from rnn_core.data.windows_codec import windows_from_bytes
from rnn_core.serve.pipes import message_stdout, read_message, write_message

FLUSH_EVERY = 0.05     # seconds between two batches of records (the page redraws every 0.5 s at most)


def encode(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def decode(text: str) -> bytes:
    return base64.b64decode(text.encode("ascii"))


def weights_bytes(model: Any) -> bytes:
    """The model's state dict as safetensors bytes (detached CPU copies: safetensors refuses shared storage)."""
    from safetensors.torch import save

    return save({k: v.detach().to("cpu").contiguous().clone() for k, v in model.state_dict().items()})


def load_weights(model: Any, data: bytes) -> Any:
    from safetensors.torch import load

    model.load_state_dict(load(data))
    return model


class Channel:
    """Both pipes of the worker: writes from any thread, one reader thread that sorts what comes in."""

    def __init__(self, inp: BinaryIO, out: BinaryIO):
        self.inp, self.out = inp, out
        self._write = threading.Lock()
        self.jobs: queue.Queue = queue.Queue()        # jobs for the main thread, in order
        self.replies: queue.Queue = queue.Queue()     # answers to "control": (go, free)
        self.free = threading.Event()                 # set: take steps without asking, until "hold"
        self.pending: list[dict] = []                 # records not sent yet
        self.sent_at = 0.0
        self.interrupted = threading.Event()
        self.model: Any = None                        # the job's model: "weights" requests read it
        self.lock = threading.RLock()                 # train() holds it while it changes the model

    def send(self, message: dict) -> None:
        with self._write:
            write_message(self.out, message)

    def listen(self) -> None:
        """The reader thread: jobs, answers, interrupts and weight requests until stdin closes (then exit)."""
        while True:
            try:
                message = read_message(self.inp)
            except (EOFError, OSError, ValueError):
                os._exit(0)                           # the server is gone: so is this worker
            op = message.get("op")
            if op in JOBS:
                self.jobs.put(message)
            elif op == "go":
                self.replies.put((bool(message["go"]), bool(message.get("free"))))
            elif op == "hold":
                self.free.clear()
            elif op == "interrupt":
                self.interrupted.set()
            elif op == "weights":
                self.send({"op": "weights", "id": message.get("id"), "data": self._weights()})

    def _weights(self) -> str | None:
        with self.lock:
            model = self.model
            return encode(weights_bytes(model)) if model is not None else None

    def control(self) -> bool:
        """train()'s hook before every step: go on while the server let the run go free (running, with a
        slot); else send what is pending and ask: the server says go (True) or stop (False)."""
        if self.free.is_set():
            return True
        self.flush()
        self.send({"op": "control"})
        go, free = self.replies.get()
        if free:
            self.free.set()
        return go

    def record(self, record: dict) -> None:
        """Send records in batches, at most FLUSH_EVERY s apart (and always before asking "go?")."""
        self.pending.append(record)
        if record["kind"] == "end" or time.monotonic() - self.sent_at >= FLUSH_EVERY:
            self.flush()

    def flush(self) -> None:
        if self.pending:
            self.send({"op": "records", "records": self.pending})
            self.pending = []
        self.sent_at = time.monotonic()


def train_job(channel: Channel, job: dict) -> None:
    import torch

    from rnn_core.config import TrainConfig, from_dict
    from rnn_core.interrupt import interruptible
    from rnn_core.nn.model_config import ModelConfig
    from rnn_core.nn.models import build_model
    from rnn_core.nn.train import train

    torch.set_num_threads(int(job["threads"]))
    model_cfg, train_cfg = from_dict(ModelConfig, job["model"]), from_dict(TrainConfig, job["train"])
    windows = windows_from_bytes(decode(job["windows"]))
    model = build_model(model_cfg, seed=train_cfg.seed)
    if job.get("weights"):
        load_weights(model, decode(job["weights"]))
    channel.model = model
    channel.free.clear()
    with interruptible(channel.interrupted.is_set):
        for record in train(model, windows, train_cfg, control=channel.control, lock=channel.lock):
            channel.record(record)
            if job.get("checkpoints") and record["kind"] == "epoch":    # the weights at this epoch's end
                channel.flush()
                channel.send({"op": "weights", "epoch": record["epoch"], "data": encode(weights_bytes(model))})
    channel.flush()
    with channel.lock:
        channel.send({"op": "weights", "data": encode(weights_bytes(model)), "final": True})


def closed_loop_job(channel: Channel, job: dict) -> None:
    from rnn_core.config import from_dict
    from rnn_core.measure.closed_loop import closed_loop
    from rnn_core.measure.evaluate import EvaluationError
    from rnn_core.nn.model_config import ModelConfig
    from rnn_core.nn.models import build_model

    model = load_weights(build_model(from_dict(ModelConfig, job["model"])), decode(job["weights"]))
    windows = windows_from_bytes(decode(job["windows"]))
    try:
        result = closed_loop(model, windows, int(job["steps"]), start=job["start"],
                             stateful_streams=int(job.get("stateful_streams", 0)))
        note = result.get("stopped")
    except EvaluationError as e:
        result, note = None, str(e)
    channel.send({"op": "closed_loop", "result": result, "note": note})    # plain data: labels, floats


JOBS = {"train": train_job, "closed_loop": closed_loop_job}


def serve(inp: BinaryIO, out: BinaryIO) -> None:
    import torch  # noqa: F401  (the import is the start-up this process exists to pay in advance)

    from rnn_core.nn.train import warm_up

    warm_up()
    channel = Channel(inp, out)
    threading.Thread(target=channel.listen, name="run-worker-pipe", daemon=True).start()
    channel.send({"op": "ready", "pid": os.getpid()})
    while True:
        job = channel.jobs.get()
        channel.interrupted.clear()              # an interrupt meant for the last job came before this one
        try:
            JOBS[job["op"]](channel, job)
        except Exception as exc:       # the server turns it into a sentence; the history stays
            channel.send({"op": "error", "message": str(exc).strip().splitlines()[0] if str(exc).strip()
                          else type(exc).__name__})
        channel.model = None
        channel.send({"op": "done"})


NICE_ENV = "RNN_PLAYGROUND_WORKER_NICE"    # niceness added to a worker (default 5; 0 keeps the server's)


def lower_priority() -> None:
    """Let the server's own work (everyone's clicks and redraws) go first when the cores are busy:
    training takes what the CPU has left, which is most of it."""
    with contextlib.suppress(ValueError, OSError, AttributeError):
        os.nice(max(0, int(os.environ.get(NICE_ENV, "5"))))


def main() -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    lower_priority()
    serve(sys.stdin.buffer, message_stdout())            # returns never: the reader thread exits when stdin closes

if __name__ == "__main__":
    main()
