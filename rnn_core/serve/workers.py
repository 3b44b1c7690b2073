"""Live runs whose training runs in a worker process: `WorkerRun`, a pool of warm workers, and `new_run`.

Why: a Streamlit server runs every session's script reruns in one process. With training on threads in
that process, N computing runs compete with everyone's reruns for the GIL: measured on the 2-core
machine with eight websocket students, none of eight 40-epoch runs finished in three minutes on
threads, all eight within 15 s of their first point in workers; an observer's click was 2× faster in
the first, busy measurement and the same in a quiet one (docs/benchmarks.md, "Threads in the Streamlit
process, or worker processes?"). So a run trains in `python -m rnn_core.serve.run_worker` and the server
keeps only its state machine and history.

    new_run(model_cfg, train_cfg, windows, **LiveRun options) -> LiveRun     WorkerRun, or an in-process
                                              LiveRun when RNN_PLAYGROUND_WORKERS=0 (the fallback)
    WorkerRun                                 a LiveRun whose `_train` drives a worker over its pipes
    run_closed_loop(model_cfg, model, windows, n_steps, start) -> (result, note)   in a worker too
The processes themselves and their pool of warm spares are `worker_pool.py`.

How a WorkerRun splits the work: everything a LiveRun decides stays in the server, unchanged — the queue
(`admission`), pause / step / stop, the idle timeout and its watcher, the bounded history, snapshots.
Only `train()` moves: the worker calls it with a `control` hook that asks the server "go?", and the
server answers from `LiveRun._control()` exactly as an in-process run would — with "free" when the run
is running with its slot, so the worker steps on without asking until Pause or Stop sends "hold" (asking
before every step woke the server's threads hundreds of times a second, each wake taking the GIL from
page scripts). Records come back in order, in batches every 50 ms, through `LiveRun._record`. So the
same config and seed give the same records, bitwise (a test holds them equal). Stop, or a closed tab,
while the worker is inside a long computation sends "interrupt", which the worker's `rnn_core.interrupt`
check sees within a chunk.

The model the page reads (`run.model` under `run.lock`: evaluation, predictions, downloads, text
views) is a copy in the server. It is refreshed on demand: reading `model` when records arrived since
the last copy asks the worker for its weights (safetensors bytes, taken between two steps) and puts a
new copy in place; after the end record the worker sends its final weights once, then "done".

Processes (`worker_pool.py`): the pool keeps `spares` started workers (torch imported, `train.warm_up`
paid: seconds on a quiet machine, 15–25 s on a loaded 2-core one) so Train does not wait for that, and takes a worker
back once its job is done (unless `keep` are alive, by default spares + admission slots: then it ends),
so a classroom's runs reuse a few processes instead of starting one per Train. A queued run holds no
process: it takes one only once admitted. Stop, a closed tab (after the idle timeout) and Reset end
the run, and its worker goes back to the pool. A worker exits when its stdin closes, so the server's
end — Ctrl-C, SIGTERM, a kill, a crash — ends every worker with it (no orphans; tests/engine/test_workers.py
kills a server to check). A worker that dies
mid-run ends the run as "stopped" with a sentence; the history up to there stays.
"""

from __future__ import annotations

import queue
import threading
import time
from dataclasses import asdict
from typing import Any

from rnn_core.data.windows_codec import windows_to_bytes
from rnn_core.serve.admission import run_threads
from rnn_core.serve.live import QUEUE_POLL, LiveRun
from rnn_core.serve.run_worker import decode, encode, load_weights, weights_bytes
from rnn_core.serve.worker_pool import Worker, WorkerPool, shared_pool, workers_enabled
from rnn_core.threads import name_os_thread

WEIGHTS_TIMEOUT = 10.0    # seconds to wait for a worker's weights (one step must finish first)
PIPE_THREAD = "rnn-run-pipe"     # the server thread that reads a worker's messages


def new_run(model_cfg: Any, train_cfg: Any, windows: Any, **options: Any) -> LiveRun:
    """A live run: in a worker process (default), or on a thread here when workers are switched off."""
    kind = WorkerRun if workers_enabled() else LiveRun
    return kind(model_cfg, train_cfg, windows, **options)


class WorkerRun(LiveRun):
    """A LiveRun whose `train()` runs in a worker process (see the module docstring)."""

    def __init__(self, *args: Any, pool: WorkerPool | None = None, **kwargs: Any):
        self._given = kwargs.get("model")              # a model to continue: its weights go to the worker
        super().__init__(*args, **kwargs)
        self.pool = pool if pool is not None else shared_pool()
        self.worker: Worker | None = None
        self._controls: queue.Queue = queue.Queue()    # "go?" from the worker; None: its pipe closed
        self._replies: queue.Queue = queue.Queue()     # weights asked for
        self._fetch = threading.Lock()                 # one weights request at a time
        self._asked = 0                                # id of the last weights request
        self._done = False                             # the worker said "done": it can serve again
        self._order = threading.Lock()                 # a "go" and a "hold" reach the worker in order
        self._copy_version = 0                         # records seen when the model copy was taken
        self._settled = threading.Event()              # final weights in (or the worker gone)

    @property
    def model(self) -> Any:
        """The server's copy of the worker's model, refreshed when records came since the last copy."""
        self._refresh()
        return self._model

    @model.setter
    def model(self, value: Any) -> None:
        self._model = value

    @property
    def worker_pid(self) -> int | None:
        """The worker process's id while the run has one (for tests and monitoring)."""
        worker = self.worker
        return worker.pid if worker is not None else None

    # --- the server side of train() ---------------------------------------------------------
    def _train(self) -> None:
        worker = self.pool.take(cancel=self._stop_asked)
        if worker is None:                               # stopped (or abandoned) while its worker started
            with self._cond:
                self._finish({"kind": "end", "status": "stopped", "epoch": 0, "step": 0, "seconds": 0.0,
                              "reason": (self._stop_reason or "Stopped.").format(step=0, epoch=0)})
            return
        self.worker = worker
        try:
            job = {"op": "train", "model": asdict(self.model_cfg), "train": asdict(self.train_cfg),
                   "threads": run_threads(self.admission.slots), "windows": encode(windows_to_bytes(self.windows))}
            if self._given is not None:
                job["weights"] = encode(weights_bytes(self._given))
            if self.checkpoints:
                job["checkpoints"] = True
            worker.send(job)
            listener = threading.Thread(target=self._listen, args=(worker,), name=PIPE_THREAD, daemon=True)
            listener.start()
            self._answer(worker)
            listener.join()
        except BaseException:                            # the run ends on its error; its worker ends with it
            self.pool.drop(worker)
            raise
        if self._done:
            self.pool.give_back(worker)
            return
        code = self.pool.drop(worker)
        with self._cond:
            if self.history.end is None:
                h = self.history
                self._finish({"kind": "end", "status": "stopped", "epoch": h.epoch, "step": h.step,
                              "seconds": self._clock.seconds(), "reason":
                              f"The training process ended unexpectedly (exit code {code}) at step {h.step} "
                              f"(epoch {h.epoch}); the history up to there is kept."})

    def _answer(self, worker: Worker) -> None:
        """Answer the worker's "go?" before each step from LiveRun's gate; between two questions, pass on
        a Stop (or a closed tab) as an interrupt of the computation in flight."""
        interrupted = False
        while True:
            try:
                asked = self._controls.get(timeout=QUEUE_POLL)
            except queue.Empty:
                if not interrupted and self._stop_asked():
                    interrupted = worker.send({"op": "interrupt"})
                continue
            if asked is None:                        # the worker's pipe closed: the run is over
                return
            go = self._control()
            with self._order:                        # a "hold" sent after this reads the status after it
                free = go and self.status == "running"
                worker.send({"op": "go", "go": go, "free": free})

    def pause(self) -> None:
        with self._order:
            super().pause()
            self._hold()

    def stop(self) -> None:
        with self._order:
            super().stop()
            self._hold()

    def _hold(self) -> None:
        """Tell the worker to ask before its next step (it was free to go on while running); not once it
        said "done" (it may serve another run by now)."""
        worker = self.worker
        if worker is not None and not self._done:
            worker.send({"op": "hold"})

    def _listen(self, worker: Worker) -> None:
        """Read the worker's messages in order until it says "done" or its pipe closes."""
        name_os_thread(PIPE_THREAD)          # else it inherits the run thread's OS name, which counts runs
        try:
            while True:
                message = worker.read()
                op = message.get("op")
                if op == "records":
                    for record in message["records"]:
                        self._record(record)
                elif op == "control":
                    self._controls.put(True)
                elif op == "weights" and message.get("final"):
                    self._take_weights(decode(message["data"]), version=None)
                    self._settled.set()
                elif op == "weights" and "epoch" in message:
                    if self.on_checkpoint is not None:
                        self.on_checkpoint(int(message["epoch"]), decode(message["data"]))
                elif op == "weights":
                    self._replies.put((message.get("id"), message.get("data")))
                elif op == "error":
                    self._failed(message.get("message", "the training process failed"))
                elif op == "done":
                    self._done = True
                    return
        except (EOFError, OSError, ValueError):
            pass
        finally:
            self._settled.set()
            self._controls.put(None)

    # --- the model copy ----------------------------------------------------------------------
    def _refresh(self) -> None:
        with self._cond:
            version, worker, finished = self.history.version, self.worker, self.history.end is not None
        if worker is None or version == self._copy_version:
            return
        if finished:                                  # the final weights follow the end record
            self._settled.wait(WEIGHTS_TIMEOUT)
            return
        with self._fetch:
            self._asked += 1
            if not worker.send({"op": "weights", "id": self._asked}):
                return
            deadline = time.monotonic() + WEIGHTS_TIMEOUT
            while True:                               # an answer that came too late for an earlier ask is skipped
                try:
                    asked, data = self._replies.get(timeout=max(0.0, deadline - time.monotonic()))
                except queue.Empty:
                    return
                if asked == self._asked:
                    break
            if data is not None:
                self._take_weights(decode(data), version)

    def _take_weights(self, data: bytes, version: int | None) -> None:
        """A new copy from the worker's weights; `version` None: the final weights (never asked again).
        A new object, not a load into the old one: whoever still reads the old copy reads it whole."""
        from rnn_core.nn.models import build_model

        self._model = load_weights(build_model(self.model_cfg), data)
        self._copy_version = version if version is not None else -1


def run_closed_loop(model_cfg: Any, model: Any, windows: Any, n_steps: int, start: str,
                    pool: WorkerPool | None = None, stateful_streams: int = 0) -> tuple[dict | None, str | None]:
    """`evaluate.closed_loop` in a worker process: (result, note); a failure is a note, never a traceback."""
    pool = pool or shared_pool()
    worker = pool.take()
    try:
        worker.send({"op": "closed_loop", "model": asdict(model_cfg), "weights": encode(weights_bytes(model)),
                     "windows": encode(windows_to_bytes(windows)), "steps": int(n_steps), "start": start,
                     "stateful_streams": int(stateful_streams)})
        reply = worker.read()
        if worker.read().get("op") != "done":
            raise ValueError("out of step")
    except (EOFError, OSError, ValueError):
        pool.drop(worker)
        return None, "The closed-loop forecast could not be computed: its process ended unexpectedly."
    pool.give_back(worker)
    if reply.get("op") == "error":
        return None, f"The closed-loop forecast could not be computed: {reply.get('message')}"
    return reply["result"], reply.get("note")
