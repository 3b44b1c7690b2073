"""A sweep on a background thread, for the app: progress, stop, an idle watcher, and worker slots taken
from the server's admission control as live runs take theirs."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Sequence
from typing import Any

from rnn_core.sweep.backends import run_sweep
from rnn_core.sweep.records import SweepError
from rnn_core.sweep.trials import Trial, sentence


class SweepRun:
    """`run_sweep` on a daemon thread, for the app: `records` grows as runs finish; `done` / `total`;
    `status` "idle", "queued", "running", "completed", "stopped" or "failed" (`error`: one sentence).

    It counts against the server's admission control (`rnn_core.serve.admission`) like live runs do: it asks
    for one slot per worker, waits ("queued", with "ahead" / "wait" in the snapshot) until the first
    is granted, then trains on as many workers as it holds slots at that moment and gives the others
    back — so a busy server gives a sweep one worker and never more cores than it has slots.
    Never calls Streamlit. `watcher()` (optional, as for LiveRun) stops it once it has said False
    for `idle_timeout` s; `stop()` abandons the runs in flight (worker processes are ended)."""

    def __init__(self, trials: Sequence[Trial], backend: str = "local", workers: int = 2,
                 watcher: Callable[[], bool] | None = None, idle_timeout: float | None = None,
                 admission: Any = None):
        if not trials:
            raise SweepError("The sweep has no runs: pick at least one cell and one value per axis.")
        from rnn_core.serve.admission import shared_admission
        from rnn_core.serve.idle import IdleWatch, default_idle_timeout

        self.trials, self.backend = list(trials), backend
        self.workers = 1 if backend == "inline" else max(1, workers)   # inline: one loop, one slot
        self.total = len(self.trials)
        self.status, self.error = "idle", ""
        self.admission = admission if admission is not None else shared_admission()
        self._tickets: list = []
        self._admitted = threading.Event()
        self._records: list[dict] = []
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        # without a watcher nothing stops it for being idle (the CLI, tests)
        timeout = default_idle_timeout() if idle_timeout is None else idle_timeout
        self.idle = IdleWatch(timeout if watcher is not None else None, watcher)
        self.started = time.monotonic()
        self.ended: float | None = None        # when it completed, stopped or failed: the clock stops

    @property
    def done(self) -> int:
        with self._lock:
            return len(self._records)

    def snapshot(self) -> dict:
        """A consistent copy: {"status", "error", "done", "total", "seconds", "eta", "records", "ahead",
        "wait"} ("ahead" / "wait": runs ahead in the queue and seconds to a slot while queued, else None)."""
        first = self._tickets[0] if self._tickets else None
        queued = self.status == "queued" and first is not None
        ahead = self.admission.ahead(first) if queued else None
        wait = self.admission.wait_estimate(first) if queued else None
        with self._lock:
            records = [dict(r) for r in self._records]
        seconds = (self.ended or time.monotonic()) - self.started
        return {"status": self.status, "error": self.error, "done": len(records), "total": self.total,
                "seconds": seconds, "eta": eta(len(records), self.total, seconds), "records": records,
                "ahead": ahead, "wait": wait}

    def start(self) -> SweepRun:
        self.started = time.monotonic()
        self._tickets = [self.admission.enqueue(wake=self._admitted.set) for _ in range(self.workers)]
        self.status = "running" if self._tickets[0].admitted else "queued"
        self._thread = threading.Thread(target=self._run, name="sweep", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        self._admitted.set()               # wake a queued sweep so it stops at once

    def join(self, timeout: float | None = None) -> None:
        if self._thread is not None:
            self._thread.join(timeout)

    def _should_stop(self) -> bool:
        if not self._stop.is_set() and self.idle.too_long():
            self._stop.set()
        return self._stop.is_set()

    def _run(self) -> None:
        try:
            while not self._tickets[0].admitted:          # queued: wait for a slot, or stop
                if self._should_stop():
                    self.status = "stopped"
                    return
                self._admitted.wait(0.25)
                self._admitted.clear()
            held = [t for t in self._tickets if t.admitted]
            for t in self._tickets:
                if not t.admitted:
                    self.admission.release(t)             # a place in the queue we will not use
            self.status, self.started = "running", time.monotonic()
            for rec in run_sweep(self.trials, self.backend, len(held), stop=self._should_stop):
                with self._lock:
                    self._records.append(rec)
            self.status = "stopped" if self._stop.is_set() else "completed"
        except Exception as exc:       # one sentence on the page, never a traceback
            self.error, self.status = sentence(exc), "failed"
        finally:
            self.ended = time.monotonic()
            for t in self._tickets:
                self.admission.release(t, finished=True)


def eta(done: int, total: int, seconds: float) -> float | None:
    """Seconds left at the pace so far; None before the first run finishes."""
    return None if done == 0 else seconds / done * (total - done)
