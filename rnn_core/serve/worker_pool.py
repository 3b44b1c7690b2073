"""The worker processes of live runs: one `Worker` (a `python -m rnn_core.serve.run_worker` process and
its two pipes) and the `WorkerPool` of warm spares that a run takes a worker from and gives it back to.

    shared_pool() -> WorkerPool               warm spares (RNN_PLAYGROUND_SPARE_WORKERS, default 1)
    start_spare_workers()                     start them (app.py, at load; nothing starts on import)
    workers_enabled()                         False when RNN_PLAYGROUND_WORKERS=0: runs train on threads

A worker exits when its stdin closes, so the server's end ends every worker with it (no orphans). A
worker whose job left it larger than RNN_PLAYGROUND_WORKER_MAX_MB (default 600 MB resident; an idle one
holds ≈ 300–400 MB, one that trained an LSTM of T = 1000, H = 512 kept 1.3 GB) is ended when its job is
done and a fresh spare takes its place, so an idle pool never keeps the memory of its largest job.
Leaves to others: the runs that drive a worker (`workers.py`), the worker's own loop (`run_worker.py`).
"""

from __future__ import annotations

import atexit
import contextlib
import os
import select
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path

from rnn_core.serve.admission import default_slots
from rnn_core.serve.live import QUEUE_POLL
from rnn_core.serve.pipes import read_message, write_message

WORKERS_ENV = "RNN_PLAYGROUND_WORKERS"        # "0": train on threads inside the server process
SPARES_ENV = "RNN_PLAYGROUND_SPARE_WORKERS"   # warm workers kept started (default 1)
MAX_MB_ENV = "RNN_PLAYGROUND_WORKER_MAX_MB"   # a worker resident above this after its job is replaced
DEFAULT_MAX_MB = 600
START_TIMEOUT = 120.0     # seconds a worker may take to import torch on a loaded machine
END_TIMEOUT = 5.0         # seconds a worker may take to exit after its job before it is killed


def worker_max_bytes() -> int:
    """$RNN_PLAYGROUND_WORKER_MAX_MB (a positive number) MB, else DEFAULT_MAX_MB: the resident size above
    which a worker is replaced once its job is done."""
    try:
        mb = float(os.environ.get(MAX_MB_ENV, ""))
    except ValueError:
        mb = DEFAULT_MAX_MB
    return int((mb if mb > 0 else DEFAULT_MAX_MB) * 1_000_000)


def workers_enabled() -> bool:
    """False when RNN_PLAYGROUND_WORKERS is 0 / false / no / off: runs train on in-process threads."""
    return os.environ.get(WORKERS_ENV, "1").strip().lower() not in ("0", "false", "no", "off")


class Worker:
    """One `python -m rnn_core.serve.run_worker` process and its two pipes."""

    def __init__(self):
        package_root = str(Path(__file__).resolve().parent.parent)
        env = {**os.environ,
               "PYTHONPATH": os.pathsep.join(p for p in (package_root, os.environ.get("PYTHONPATH", "")) if p)}
        self.proc = subprocess.Popen([sys.executable, "-m", "rnn_core.serve.run_worker"], stdin=subprocess.PIPE,
                                     stdout=subprocess.PIPE, env=env, bufsize=0)
        self.pid = self.proc.pid
        self._write = threading.Lock()
        self._ready = False

    def wait_ready(self, timeout: float = START_TIMEOUT) -> bool:
        """Wait for its "ready" (torch imported); False when it did not come in time or the process died."""
        if self._ready:
            return True
        readable, _, _ = select.select([self.proc.stdout], [], [], timeout)
        if readable:
            try:
                self._ready = self.read().get("op") == "ready"
            except (EOFError, OSError, ValueError):
                self._ready = False
        return self._ready

    def send(self, message: dict) -> bool:
        """Send a message; False when the process is gone (its end shows on the reading side)."""
        try:
            with self._write:
                write_message(self.proc.stdin, message)
            return True
        except (OSError, ValueError):
            return False

    def read(self) -> dict:
        """The next message; EOFError once the process has closed its end."""
        return read_message(self.proc.stdout)

    def rss(self) -> int | None:
        """Its resident memory in bytes (Linux /proc); None where that cannot be read."""
        try:
            pages = int(Path(f"/proc/{self.pid}/statm").read_text().split()[1])
        except (OSError, ValueError, IndexError):
            return None
        return pages * os.sysconf("SC_PAGE_SIZE")

    def end(self, timeout: float = END_TIMEOUT) -> int | None:
        """Close its stdin (a worker exits on that), wait, kill it if it does not; its exit code."""
        with contextlib.suppress(OSError):
            self.proc.stdin.close()
        try:
            self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        self.proc.stdout.close()
        return self.proc.returncode


class WorkerPool:
    """Started workers waiting for a job, so a run does not wait for torch's import: `spares` are started
    ahead, and a worker whose job is done comes back unless `keep` workers (busy and waiting) are alive
    already; then it is ended. So the processes stay at most about slots + spares (RSS ≈ 300 MB each)."""

    def __init__(self, spares: int = 1, keep: int | None = None):
        self.spares = spares
        self.keep = keep if keep is not None else spares + default_slots()
        self._idle: list[Worker] = []
        self._busy = 0                     # workers handed out and not back yet
        self._lock = threading.Lock()

    def take(self, cancel: Callable[[], bool] | None = None) -> Worker | None:
        """A ready worker (a spare if one is there, else a new one); a new spare is started at once.
        None when `cancel()` said so while the worker was still starting (it goes back to the pool, as a
        finished job's worker does: ended when `keep` are alive anyway)."""
        with self._lock:         # the last one back that is ready (its caches warm), else the oldest
            ready = [w for w in self._idle if w.wait_ready(0)]
            worker = ready[-1] if ready else (self._idle[0] if self._idle else None)
            if worker is not None:
                self._idle.remove(worker)
            self._busy += 1
        if worker is None or worker.proc.poll() is not None:
            worker = Worker()
        self.refill()
        deadline = time.monotonic() + START_TIMEOUT
        while not worker.wait_ready(min(QUEUE_POLL, max(0.0, deadline - time.monotonic()))):
            if worker.proc.poll() is not None or time.monotonic() >= deadline:
                self.drop(worker, timeout=0.1)
                raise RuntimeError("The training process did not start; try again in a moment.")
            if cancel is not None and cancel():
                self.give_back(worker)           # back to wait, unless `keep` are alive anyway: then ended
                return None
        return worker

    def give_back(self, worker: Worker) -> None:
        """A worker whose job is done: it waits for the next one, or ends when `keep` are alive anyway or
        when its job left it larger than `worker_max_bytes()` (a fresh spare is started in its place)."""
        rss = worker.rss()
        grown = rss is not None and rss > worker_max_bytes()
        with self._lock:
            self._busy -= 1
            if worker.proc.poll() is None and not grown and len(self._idle) + self._busy < self.keep:
                self._idle.append(worker)
                return
        worker.end()
        if grown:
            self.refill()

    def drop(self, worker: Worker, timeout: float = END_TIMEOUT) -> int | None:
        """A worker handed out that must not serve again (it died, or failed to start): end it; its exit code."""
        with self._lock:
            self._busy -= 1
        return worker.end(timeout)

    def refill(self) -> None:
        """Start workers until `spares` wait (each imports torch in its own process, in the background)."""
        with self._lock:
            self._idle = [w for w in self._idle if w.proc.poll() is None]
            while len(self._idle) < self.spares:
                self._idle.append(Worker())

    def wait_ready(self, timeout: float = START_TIMEOUT) -> bool:
        """Wait until every spare has imported torch (benchmarks start timing after that)."""
        with self._lock:
            idle = list(self._idle)
        return all(w.wait_ready(timeout) for w in idle)

    def pids(self) -> list[int]:
        """Process ids of the workers waiting for a job."""
        with self._lock:
            return [w.pid for w in self._idle]

    def close(self) -> None:
        with self._lock:
            idle, self._idle = self._idle, []
        for worker in idle:
            worker.end(timeout=1.0)


_POOL: WorkerPool | None = None
_POOL_LOCK = threading.Lock()


def shared_pool() -> WorkerPool:
    """The process's pool (made on first use; its spares end with the process)."""
    global _POOL
    with _POOL_LOCK:
        if _POOL is None:
            try:
                spares = max(0, int(os.environ.get(SPARES_ENV, "1")))
            except ValueError:
                spares = 1
            _POOL = WorkerPool(spares)
            atexit.register(_POOL.close)
        return _POOL


def start_spare_workers() -> None:
    """Start the pool's warm spares now (the app calls this at load, so the first Train does not wait
    for a worker to import torch); nothing when workers are switched off. Cheap to call again."""
    if workers_enabled():
        shared_pool().refill()
