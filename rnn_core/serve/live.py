"""A live training run: `train.py` on a background thread, with play / pause / step / stop and a history.

Holds `LiveRun` (the run and its thread-safe, bounded history) and `Snapshot` (a copy of that history
for one redraw). The thread never touches Streamlit; the page polls `snapshot()` from a fragment.
Leaves to others: the training loop and its records (`train.py`), drawing (`plots/`, `ui/`).

Life of a run: status "idle" → start() → "queued" ⇄ "running" ⇄ "paused" (pause()/resume(); step() takes
one optimiser step while paused) → "completed" | "stopped" | "diverged". stop() ends it after the step in
flight, or at once while it waits in the queue. A run whose snapshot() nobody has called for
`idle_timeout` seconds, and whose `watcher` (if any) has not said "watched" in that time either, stops
itself, so abandoned runs do not burn the server's CPU. The app passes a watcher that asks Streamlit
whether the browser tab's connection is still open, so a run trains on while its tab reads another page
or sits in the background, and stops about `idle_timeout` s after the tab was closed (a short network
drop that Streamlit reconnects does not end it). The default timeout is DEFAULT_IDLE_TIMEOUT (30 s); the
env var RNN_PLAYGROUND_IDLE_TIMEOUT (seconds) overrides it for every run built without an explicit
`idle_timeout` (tests use a short one). The thread is named "rnn-live-run", also at the OS level on Linux
(/proc/<pid>/task/<tid>/comm, `top -H`), so live runs can be counted from outside the process.

How pausing works: `train()` calls `LiveRun._control()` before every optimiser step; while paused
that call waits on a condition variable (without holding the model lock), so `with run.lock:` lets
the UI evaluate `run.model` whenever the thread is between steps, paused or finished.

History, bounded: every step record is kept until there are `max_step_records` of them; then every
other one is dropped and from then on only every 2nd (4th, 8th…) step is kept, so memory stays flat
whatever the run length; the latest step record is always kept. Epoch records are all kept; when their
probe profiles would exceed PROBE_FLOAT_BUDGET floats, every other probe (never epoch 0's nor the
latest) is replaced by None. Stored records are never mutated, so snapshots share them: read-only.

Admission ("queued"): a run computes only while it holds one of the process's slots
(`rnn_core.serve.admission`, N = RNN_PLAYGROUND_MAX_RUNS, default the number of CPUs). start() and resume()
join the fair queue; while no slot is free the status is "queued" and `Snapshot.ahead` / `.wait` say how
many runs are ahead and about how long it will take. A paused run gives its slot (or its place in the
queue) back, so a paused tab never blocks the room; resume() queues it again at the back.

Threads: a Streamlit server runs every session's runs in one process. Each run's thread sets its own
torch intra-op threads to `admission.threads_per_run()` (CPUs ÷ slots, at least 1; the env var
RNN_PLAYGROUND_TORCH_THREADS overrides), so N runs computing at once fill the cores without
oversubscribing them (bench/admission.py measured it: README, "A classroom on one server").
"""

from __future__ import annotations

import os
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import torch

from rnn_core.config import ConfigError, ModelConfig, TrainConfig
from rnn_core.interrupt import interruptible
from rnn_core.nn.models import build_model
from rnn_core.nn.train import Stopwatch, steps_per_epoch, train
from rnn_core.serve.admission import TORCH_THREADS_ENV, Admission, Ticket, shared_admission, threads_per_run

MAX_STEP_RECORDS = 8192          # step records kept before decimating by 2
PROBE_FLOAT_BUDGET = 500_000     # floats of probe profiles kept per run (≈ 16 MB as Python lists)
DEFAULT_IDLE_TIMEOUT = 30.0      # seconds with no snapshot() and no "watched" before a run stops itself
IDLE_TIMEOUT_ENV = "RNN_PLAYGROUND_IDLE_TIMEOUT"
WATCH_EVERY = 1.0                # seconds between two questions to a run's watcher
THREAD_NAME = "rnn-live-run"     # ≤ 15 bytes: the OS keeps at most that much of a thread's name
_FROM_ENV: Any = object()        # idle_timeout not given: DEFAULT_IDLE_TIMEOUT or the env var
_FINISHED = ("completed", "stopped", "diverged")
_WANTS_SLOT = ("running", "queued")
QUEUE_POLL = 0.25                # seconds between two looks at the queue while queued (a wake comes sooner)


@dataclass
class Snapshot:
    """A copy of a run's history for one redraw (the lists are new; the records in them are shared)."""

    status: str                  # idle | queued | running | paused | completed | stopped | diverged
    steps: list[dict]            # step records, evenly downsampled, always ending with the latest
    epochs: list[dict]           # every epoch record (epoch 0 = at initialisation)
    end: dict | None             # the end record once the run has finished
    epoch: int                   # epoch of the latest record
    step: int                    # optimiser steps taken
    total_epochs: int
    steps_per_epoch: int
    elapsed: float               # seconds spent training, paused time not counted
    version: int                 # records received so far: redraw only when it changes
    ahead: int | None = None     # while queued: runs ahead of this one in the queue (0: next in line)
    wait: float | None = None    # while queued: seconds until a slot is likely free (None: no estimate)


def default_idle_timeout() -> float:
    """$RNN_PLAYGROUND_IDLE_TIMEOUT seconds when it is a positive number, else DEFAULT_IDLE_TIMEOUT."""
    try:
        seconds = float(os.environ.get(IDLE_TIMEOUT_ENV, ""))
    except ValueError:
        return DEFAULT_IDLE_TIMEOUT
    return seconds if 0 < seconds < float("inf") else DEFAULT_IDLE_TIMEOUT


def name_os_thread(name: str) -> None:
    """Best effort: give the calling thread `name` at the OS level too (Linux prctl PR_SET_NAME)."""
    if not sys.platform.startswith("linux"):
        return
    try:
        import ctypes

        ctypes.CDLL(None).prctl(15, name.encode()[:15], 0, 0, 0)     # 15 = PR_SET_NAME
    except (OSError, AttributeError):
        pass


def run_threads(slots: int | None = None) -> int:
    """Torch intra-op threads for one run: `threads_per_run(slots)`, at most 4 unless the env var
    RNN_PLAYGROUND_TORCH_THREADS says otherwise."""
    return threads_per_run(slots) if os.environ.get(TORCH_THREADS_ENV) else min(4, threads_per_run(slots))


def limit_torch_threads(slots: int | None = None) -> int:
    """Set the calling thread's torch intra-op threads to `run_threads(slots)`; returns the number in
    force. Called by each run's thread."""
    wanted = run_threads(slots)
    if torch.get_num_threads() != wanted:
        torch.set_num_threads(wanted)
    return torch.get_num_threads()


class LiveRun:
    """One training run on a daemon thread. Every public method is thread-safe and returns at once."""

    def __init__(self, model_cfg: ModelConfig, train_cfg: TrainConfig, windows: Any,
                 idle_timeout: float | None = _FROM_ENV, *, model: Any = None,
                 watcher: Callable[[], bool] | None = None, admission: Admission | None = None):
        """`windows` needs X_train, y_train, X_val, y_val; `model` (optional) continues an existing
        network instead of building a fresh one from `model_cfg` with `train_cfg.seed`.
        `idle_timeout` None or ≤ 0 never stops for lack of snapshots (CLI, notebooks); not given:
        `default_idle_timeout()` (30 s unless RNN_PLAYGROUND_IDLE_TIMEOUT says otherwise).
        `watcher()` (optional; called from the training thread at most every WATCH_EVERY s; must be
        cheap and thread-safe) says whether someone still watches; True counts like a snapshot.
        `admission`: the slots and queue this run waits in (default: the process's shared one)."""
        if idle_timeout is _FROM_ENV:
            idle_timeout = default_idle_timeout()
        self.model_cfg = model_cfg.validate()
        self.train_cfg = train_cfg.validate()
        n_train = len(windows.X_train)
        if n_train == 0:
            raise ConfigError("There are no training windows: use a longer series, fewer timesteps "
                              "or a larger training fraction.")
        shape = (windows.X_train.shape[-1], windows.y_train.shape[-1])
        if shape != (model_cfg.input_size, model_cfg.output_size):
            raise ConfigError(f"The model takes {model_cfg.input_size} input feature(s) and predicts "
                              f"{model_cfg.output_size} value(s), but the data has {shape[0]} and {shape[1]}: "
                              "set input_size and output_size from the data.")
        self.windows = windows
        self.model = model if model is not None else build_model(model_cfg, seed=train_cfg.seed)
        self.lock = threading.RLock()            # guards self.model
        self.idle_timeout = idle_timeout
        self.watcher = watcher
        self.admission = admission if admission is not None else shared_admission()
        self.max_step_records = MAX_STEP_RECORDS
        self.total_epochs = train_cfg.epochs
        self.steps_per_epoch = steps_per_epoch(n_train, train_cfg.batch_size)

        self._cond = threading.Condition()       # guards everything below
        self._status = "idle"
        self._steps: list[dict] = []             # kept step records: steps 1, 1+stride, 1+2·stride…
        self._stride = 1
        self._last_step: dict | None = None
        self._epochs: list[dict] = []
        self._probed: list[int] = []             # indices into _epochs whose probe is kept
        self._end: dict | None = None
        self._version = 0
        self._epoch = 0
        self._step = 0
        self._stop_reason: str | None = None     # why stop was asked, formatted with step and epoch
        self._step_tokens = 0                    # single steps granted while paused
        self._parked = threading.Event()         # set while the thread waits in _control
        self._last_poll = time.monotonic()       # last time someone was seen watching
        self._last_asked = 0.0                   # last time the watcher was asked
        self._clock = Stopwatch(running=False)   # seconds spent training, pauses excluded
        self._thread: threading.Thread | None = None
        self._ticket: Ticket | None = None         # this run's place in the queue or its slot

    # --- controls -------------------------------------------------------------------------------

    def start(self, paused: bool = False) -> None:
        """Start the thread (once); paused=True starts it paused, e.g. to single-step from the start."""
        with self._cond:
            if self._status != "idle":
                return
            self._status = "paused" if paused else "running"
            if not paused:
                self._has_slot()                     # "running" with a free slot, else "queued"
            self._last_poll = time.monotonic()
            self._clock.start()
            self._thread = threading.Thread(target=self._run, name=THREAD_NAME, daemon=True)
            self._thread.start()

    def pause(self) -> None:
        """Pause before the next optimiser step (the step in flight finishes); a queued run leaves the queue."""
        with self._cond:
            if self._status in _WANTS_SLOT:
                if self._status == "queued":
                    self._give_back()                # its place goes to the next in line at once
                self._status = "paused"
                self._cond.notify_all()

    def resume(self) -> None:
        with self._cond:
            if self._status == "paused":
                self._status = "running"
                self._has_slot()                     # back in the queue unless a slot is free
                self._cond.notify_all()

    def step(self) -> bool:
        """Take exactly one optimiser step while paused (from idle: start paused, then step).

        Returns False, doing nothing, when the run is running or finished."""
        with self._cond:
            if self._status == "idle":
                self.start(paused=True)
            if self._status != "paused":
                return False
            self._step_tokens += 1
            self._cond.notify_all()
            return True

    def stop(self) -> None:
        """Ask the run to stop after the step in flight; status becomes "stopped" when it has."""
        with self._cond:
            if self._status == "idle":
                self._finish({"kind": "end", "status": "stopped", "epoch": 0, "step": 0,
                              "reason": "Stopped before it started.", "seconds": 0.0})
            elif self._status not in _FINISHED and self._stop_reason is None:
                self._stop_reason = "Stopped by the user at step {step} (epoch {epoch})."
                self._cond.notify_all()

    def join(self, timeout: float | None = None) -> bool:
        """Wait for the thread to end; True when it has (or never started)."""
        thread = self._thread
        if thread is not None:
            thread.join(timeout)
            return not thread.is_alive()
        return True

    # --- reading --------------------------------------------------------------------------------

    def wait_parked(self, timeout: float | None = None) -> bool:
        """Wait until the thread waits before its next step (paused, or after a single step); True when it does."""
        return self._parked.wait(timeout)

    @property
    def parked(self) -> bool:
        """Whether the thread is waiting before its next step now."""
        return self._parked.is_set()

    @property
    def alive(self) -> bool:
        """Whether the training thread is running now (False before start and after it ended)."""
        thread = self._thread
        return thread is not None and thread.is_alive()

    def kept_steps(self) -> tuple[list[dict], int]:
        """The step records held in memory (steps 1, 1+stride, 1+2·stride…, before a snapshot thins
        them further) and that stride. Reading them does not count as watching the run."""
        with self._cond:
            return list(self._steps), self._stride

    @property
    def status(self) -> str:
        with self._cond:
            return self._status

    @property
    def elapsed(self) -> float:
        """Seconds spent training so far, paused time not counted."""
        with self._cond:
            return self._clock.seconds()

    def snapshot(self, max_points: int = 1500) -> Snapshot:
        """A copy of the history with at most `max_points` step records; also tells the run someone
        is watching (see idle_timeout). While queued, `ahead` and `wait` say where it stands."""
        with self._cond:
            self._last_poll = time.monotonic()
            steps = list(self._steps)
            if self._last_step is not None and (not steps or steps[-1] is not self._last_step):
                steps.append(self._last_step)
            ahead = wait = None
            if self._status == "queued" and self._ticket is not None:
                ahead, wait = self.admission.ahead(self._ticket), self.admission.wait_estimate(self._ticket)
            return Snapshot(status=self._status, steps=downsample(steps, max_points),
                            epochs=list(self._epochs), end=self._end, epoch=self._epoch,
                            step=self._step, total_epochs=self.total_epochs,
                            steps_per_epoch=self.steps_per_epoch, elapsed=self._clock.seconds(),
                            version=self._version, ahead=ahead, wait=wait)

    # --- the thread -----------------------------------------------------------------------------

    def _run(self) -> None:
        name_os_thread(THREAD_NAME)
        try:
            if not self._gate(consume_step=False):    # stopped (or abandoned) while queued
                with self._cond:
                    reason = self._stop_reason or "Stopped while waiting for a free slot."
                    self._finish({"kind": "end", "status": "stopped", "epoch": 0, "step": 0,
                                  "reason": reason.format(step=0, epoch=0), "seconds": 0.0})
                return
            self._train()
        except Exception as exc:  # any failure ends the run with a sentence, never a traceback
            self._failed(str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__)
        finally:
            self._wrap_up()

    def _train(self) -> None:
        """The training itself, once the run holds a slot: here, on this thread (workers.WorkerRun: in a
        worker process)."""
        limit_torch_threads(self.admission.slots)
        # Stop / a closed tab also ends the computation in flight (a step, an evaluation, a probe)
        with interruptible(self._stop_asked):
            for record in train(self.model, self.windows, self.train_cfg, control=self._control, lock=self.lock):
                self._record(record)

    def _failed(self, message: str) -> None:
        """End the run on an error, with a sentence."""
        with self._cond:
            if self._end is None:
                self._finish({"kind": "end", "status": "stopped", "epoch": self._epoch, "step": self._step,
                              "reason": f"Training stopped on an error: {message}",
                              "seconds": self._clock.seconds()})

    def _wrap_up(self) -> None:
        """The thread's last act: an end record if none came, and the slot back to the queue."""
        with self._cond:
            if self._end is None:        # the generator was closed without an end record
                self._finish({"kind": "end", "status": "stopped", "epoch": self._epoch,
                              "step": self._step, "reason": "Training ended unexpectedly.",
                              "seconds": self._clock.seconds()})
            ticket, self._ticket = self._ticket, None
        if ticket is not None:
            self.admission.release(ticket, finished=True)

    def _stop_asked(self) -> bool:
        """Non-blocking, for checkpoints inside long computations: stop was asked, or nobody watches."""
        with self._cond:
            if self._stop_reason is None and self._idle_too_long():
                self._stop_reason = (
                    "Stopped at step {step} (epoch {epoch}) because nobody had looked at the run "
                    f"for {self.idle_timeout:g} s (the browser tab was closed).")
            return self._stop_reason is not None

    def _control(self) -> bool:
        """Called by train() before every step: True takes the step, False stops; blocks while paused
        or queued."""
        return self._gate(consume_step=True)

    def _gate(self, consume_step: bool) -> bool:
        """Wait until the run may compute: running (or a single step granted) and holding a slot.
        False when it must stop instead. A paused run waits without a slot or a place in the queue."""
        with self._cond:
            while True:
                if self._stop_reason is None and self._idle_too_long():
                    self._stop_reason = (
                        "Stopped at step {step} (epoch {epoch}) because nobody had looked at the run "
                        f"for {self.idle_timeout:g} s (the browser tab was closed).")
                if self._stop_reason is not None:
                    return False
                wants = self._status in _WANTS_SLOT or self._step_tokens > 0
                if wants and self._has_slot():
                    break
                if not wants:
                    self._give_back()
                self._clock.stop()
                self._parked.set()
                self._cond.wait(timeout=QUEUE_POLL if wants else self._wait_seconds())
            if self._status == "paused" and consume_step:
                self._step_tokens -= 1
            self._parked.clear()
            self._clock.start()
            return True

    def _has_slot(self) -> bool:
        """True when this run holds a slot; else it is (or now gets) in the queue, and a run that wants
        to run shows "queued" (lock held)."""
        if self._ticket is None:
            self._ticket = self.admission.enqueue(wake=self._wake, remaining=self._seconds_left)
        if self._ticket.admitted:
            if self._status == "queued":
                self._status = "running"
            return True
        if self._status == "running":
            self._status = "queued"
        return False

    def _give_back(self) -> None:
        """Paused: hand the slot (or the place in the queue) to the next run (lock held)."""
        ticket, self._ticket = self._ticket, None
        if ticket is not None:
            self.admission.release(ticket)

    def _wake(self) -> None:
        """Called by the admission (any thread) when this run got its slot. Never blocks: if the lock is
        busy, the waiting thread looks again within QUEUE_POLL seconds anyway."""
        if self._cond.acquire(blocking=False):
            try:
                self._cond.notify_all()
            finally:
                self._cond.release()

    def _seconds_left(self) -> float | None:
        """Training seconds this run still needs, from its speed so far (read without the lock: the
        admission asks while holding its own)."""
        step, total = self._step, self.total_epochs * self.steps_per_epoch
        return self._clock.seconds() * (total - step) / step if step > 0 else None

    def _record(self, record: dict) -> None:
        with self._cond:
            kind = record["kind"]
            if kind == "end":
                if record["status"] == "stopped" and self._stop_reason is not None:
                    reason = self._stop_reason.format(step=record["step"], epoch=record["epoch"])
                    record = {**record, "reason": reason}
                self._finish(record)
                return
            self._version += 1
            self._epoch, self._step = record["epoch"], record["step"]
            if kind == "step":
                self._keep_step(record)
            else:
                self._keep_epoch(record)

    def _finish(self, end: dict) -> None:
        """Store the end record and the final status (lock held)."""
        self._clock.stop()
        self._version += 1
        self._end = end
        self._status = end["status"]
        self._parked.clear()
        self._cond.notify_all()

    def _keep_step(self, record: dict) -> None:
        self._last_step = record
        if (record["step"] - 1) % self._stride:
            return
        self._steps.append(record)
        if len(self._steps) > self.max_step_records:
            del self._steps[1::2]            # keep steps 1, 1+2·stride, 1+4·stride…
            self._stride *= 2

    def _keep_epoch(self, record: dict) -> None:
        self._epochs.append(record)
        probe = record.get("probe")
        if probe is None:
            return
        self._probed.append(len(self._epochs) - 1)
        keep_at_most = max(16, PROBE_FLOAT_BUDGET // probe_floats(probe))
        if len(self._probed) > keep_at_most:
            dropped = set(self._probed[1:-1:2])        # every other, never the first nor the latest
            for i in dropped:
                self._epochs[i] = {**self._epochs[i], "probe": None}
            self._probed = [i for i in self._probed if i not in dropped]

    def _idle_too_long(self) -> bool:
        """Nobody has been seen for idle_timeout s: no snapshot, and the watcher (asked every WATCH_EVERY
        s, or a third of the timeout if that is shorter) has not said "watched" either (lock held)."""
        if not (self.idle_timeout and self.idle_timeout > 0):
            return False
        now = time.monotonic()
        if self.watcher is not None and now - self._last_asked >= min(WATCH_EVERY, self.idle_timeout / 3):
            self._last_asked = now
            if self._watched():
                self._last_poll = now
        return now - self._last_poll > self.idle_timeout

    def _watched(self) -> bool:
        if self.watcher is None:
            return False
        try:
            return bool(self.watcher())
        except Exception:          # a failing watcher must not kill the run; the timer decides
            return False

    def _wait_seconds(self) -> float:
        """How long a paused thread sleeps before re-checking the idle timeout."""
        if not (self.idle_timeout and self.idle_timeout > 0):
            return 1.0
        left = self.idle_timeout - (time.monotonic() - self._last_poll)
        return min(1.0, max(0.01, left + 0.01))


def downsample(records: list[dict], max_points: int) -> list[dict]:
    """At most `max_points` records, evenly spaced, always the first and the latest."""
    n = len(records)
    if n <= max_points:
        return list(records)
    if max_points <= 1:
        return records[-1:] if max_points == 1 else []
    return [records[i * (n - 1) // (max_points - 1)] for i in range(max_points)]


def probe_floats(probe: dict) -> int:
    """Roughly how many floats one probe dict holds (its per-timestep lists dominate)."""
    T, layers = int(probe.get("timesteps", 1)), len(probe.get("grad_h") or [[]])
    per_layer = 2 + (1 if probe.get("grad_c") else 0) + len((probe.get("gates") or [{}])[0])
    return max(1, T * layers * per_layer)
