"""A live training run: `train.py` on a background thread, with play / pause / step / stop and a history.

Holds `LiveRun`: the run's state machine and its thread. The thread never touches Streamlit; the page
polls `snapshot()` from a fragment.
Leaves to others: the training loop and its records (`nn/train.py`), the bounded history and its
`Snapshot` (`history.py`), whether anybody still watches (`idle.py`), the queue (`admission.py`),
drawing (`plots/`, `ui/`).

Life of a run: status "idle" → start() → "queued" ⇄ "running" ⇄ "paused" (pause()/resume(); step() takes
one optimiser step while paused) → "completed" | "stopped" | "diverged". stop() ends it after the step in
flight, or at once while it waits in the queue. A run whose `watcher` says its browser tab was closed
stops about a second later, and one whose snapshot() nobody has called for `idle_timeout` seconds while
no watcher said "watched" stops too, so abandoned runs do not burn the server's CPU (`idle.py`: the
app's watcher asks Streamlit whether the browser tab is still connected; RNN_PLAYGROUND_IDLE_TIMEOUT
sets the timeout of every run built without an explicit `idle_timeout`, and tests use a short one). The thread is named
"rnn-live-run", also at the OS level on Linux (/proc/<pid>/task/<tid>/comm, `top -H`), so live runs
can be counted from outside the process.

How pausing works: `train()` calls `LiveRun._control()` before every optimiser step; while paused
that call waits on a condition variable (without holding the model lock), so `with run.lock:` lets
the UI evaluate `run.model` whenever the thread is between steps, paused or finished.

The history is bounded whatever the run's length (`history.History`). Whoever needs every record as it
comes (the run store's computations, `shared.py`) sets `observer(record, seconds)`: called once per
record, in order, outside the run's lock, with the training seconds at its arrival; with `checkpoints`
set, `on_checkpoint(epoch, weights)` also gets the weights (safetensors bytes) at every epoch's end.

Admission ("queued"): a run computes only while it holds one of the process's slots
(`rnn_core.serve.admission`, N = RNN_PLAYGROUND_MAX_RUNS, default the number of CPUs). start() and resume()
join the fair queue; while no slot is free the status is "queued" and `Snapshot.ahead` / `.wait` say how
many runs are ahead and about how long it will take. A paused run gives its slot (or its place in the
queue) back, so a paused tab never blocks the room; resume() queues it again at the back.

Threads: a Streamlit server runs every session's runs in one process. Each run's thread sets its own
torch intra-op threads to `admission.threads_per_run()` (CPUs ÷ slots, at least 1; the env var
RNN_PLAYGROUND_TORCH_THREADS overrides), so N runs computing at once fill the cores without
oversubscribing them (bench/admission.py measured it: docs/benchmarks.md, "A classroom on one server").
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

from rnn_core.config import ConfigError, TrainConfig
from rnn_core.data.streams import check_streams
from rnn_core.interrupt import interruptible
from rnn_core.nn.model_config import ModelConfig
from rnn_core.nn.models import build_model
from rnn_core.nn.step_memory import check_run_memory
from rnn_core.nn.train import Stopwatch, epoch_steps, train
from rnn_core.serve.admission import Admission, Ticket, limit_torch_threads, shared_admission
from rnn_core.serve.history import History, Snapshot
from rnn_core.serve.idle import IdleWatch, default_idle_timeout
from rnn_core.threads import name_os_thread

THREAD_NAME = "rnn-live-run"     # ≤ 15 bytes: the OS keeps at most that much of a thread's name
_FROM_ENV: Any = object()        # idle_timeout not given: DEFAULT_IDLE_TIMEOUT or the env var
_FINISHED = ("completed", "stopped", "diverged")
_WANTS_SLOT = ("running", "queued")
QUEUE_POLL = 0.25                # seconds between two looks at the queue while queued (a wake comes sooner)
PACE_STEPS = 10                  # steps after the first evaluation before a run estimates the time it needs


class LiveRun:
    """One training run on a daemon thread. Every public method is thread-safe and returns at once."""

    thread_name = THREAD_NAME        # what its thread is called (a replay's is REPLAY_THREAD: it computes nothing)

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
        shape = (getattr(windows, "n_features", None) or windows.X_train.shape[-1], windows.y_train.shape[-1])
        if shape != (model_cfg.input_size, model_cfg.output_size):
            raise ConfigError(f"The model takes {model_cfg.input_size} input feature(s) and predicts "
                              f"{model_cfg.output_size} value(s), but the data has {shape[0]} and {shape[1]}: "
                              "set input_size and output_size from the data.")
        self.windows = windows
        self.model = model if model is not None else build_model(model_cfg, seed=train_cfg.seed)
        self.lock = threading.RLock()            # guards self.model
        self.idle = IdleWatch(idle_timeout, watcher)
        self.admission = admission if admission is not None else shared_admission()
        self.history = History()
        self.total_epochs = train_cfg.epochs
        # refused here, in one sentence, not in the training thread
        check_run_memory(model_cfg, train_cfg, windows.X_train.shape[1], n_train)
        if train_cfg.stateful:
            check_streams(windows, train_cfg.stateful_streams, windows.timesteps)
        self.steps_per_epoch = epoch_steps(windows, train_cfg)

        self._cond = threading.Condition()       # guards everything below
        self._status = "idle"
        self._stop_reason: str | None = None     # why stop was asked, formatted with step and epoch
        self._step_tokens = 0                    # single steps granted while paused
        self._parked = threading.Event()         # set while the thread waits in _control
        self._clock = Stopwatch(running=False)   # seconds spent training, pauses excluded
        self._first_eval: float | None = None    # the clock when the evaluation at initialisation arrived
        self._thread: threading.Thread | None = None
        self._ticket: Ticket | None = None         # this run's place in the queue or its slot
        self.observer: Callable[[dict, float], None] | None = None   # every record as it comes (see above)
        self.checkpoints = False                   # send the weights at each epoch's end to on_checkpoint
        self.on_checkpoint: Callable[[int, bytes], None] | None = None

    # --- controls -------------------------------------------------------------------------------

    def start(self, paused: bool = False) -> None:
        """Start the thread (once); paused=True starts it paused, e.g. to single-step from the start."""
        with self._cond:
            if self._status != "idle":
                return
            self._status = "paused" if paused else "running"
            if not paused:
                self._has_slot()                     # "running" with a free slot, else "queued"
            self.idle.seen()
            self._clock.start()
            self._thread = threading.Thread(target=self._run, name=self.thread_name, daemon=True)
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

    def step(self, n: int = 1) -> bool:
        """Take exactly `n` optimiser steps (default one) while paused (from idle: start paused, then step).

        Returns False, doing nothing, when the run is running or finished."""
        with self._cond:
            if self._status == "idle":
                self.start(paused=True)
            if self._status != "paused":
                return False
            self._step_tokens += max(0, int(n))
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

    @property
    def idle_timeout(self) -> float | None:
        return self.idle.idle_timeout

    @property
    def max_step_records(self) -> int:
        return self.history.max_step_records

    @max_step_records.setter
    def max_step_records(self, n: int) -> None:
        self.history.max_step_records = n

    def kept_steps(self) -> tuple[list[dict], int]:
        """The step records held in memory (steps 1, 1+stride, 1+2·stride…, before a snapshot thins
        them further) and that stride. Reading them does not count as watching the run."""
        with self._cond:
            return list(self.history.steps), self.history.stride

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
            self.idle.seen()
            h = self.history
            ahead = wait = None
            if self._status == "queued" and self._ticket is not None:
                ahead, wait = self.admission.ahead(self._ticket), self.admission.wait_estimate(self._ticket)
            return Snapshot(status=self._status, steps=h.recent_steps(max_points), epochs=list(h.epochs),
                            end=h.end, epoch=h.epoch, step=h.step, total_epochs=self.total_epochs,
                            steps_per_epoch=self.steps_per_epoch, elapsed=self._clock.seconds(),
                            version=h.version, ahead=ahead, wait=wait)

    # --- the thread -----------------------------------------------------------------------------

    def _run(self) -> None:
        name_os_thread(self.thread_name)
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
                if self.checkpoints and record["kind"] == "epoch" and self.on_checkpoint is not None:
                    from rnn_core.serve.run_worker import weights_bytes  # the weights at this epoch's end

                    self.on_checkpoint(record["epoch"], weights_bytes(self.model))

    def _failed(self, message: str) -> None:
        """End the run on an error, with a sentence."""
        with self._cond:
            if self.history.end is None:
                self._finish({"kind": "end", "status": "stopped", "epoch": self.history.epoch,
                              "step": self.history.step, "reason": f"Training stopped on an error: {message}",
                              "seconds": self._clock.seconds()})

    def _wrap_up(self) -> None:
        """The thread's last act: an end record if none came, and the slot back to the queue."""
        with self._cond:
            if self.history.end is None:        # the generator was closed without an end record
                self._finish({"kind": "end", "status": "stopped", "epoch": self.history.epoch,
                              "step": self.history.step, "reason": "Training ended unexpectedly.",
                              "seconds": self._clock.seconds()})
            ticket, self._ticket = self._ticket, None
        if ticket is not None:
            self.admission.release(ticket, finished=True)

    def _stop_asked(self) -> bool:
        """Non-blocking, for checkpoints inside long computations: stop was asked, or nobody watches."""
        with self._cond:
            self._note_idle()
            return self._stop_reason is not None

    def _note_idle(self) -> None:
        """Nobody watches any more: the run is asked to stop, saying why (lock held)."""
        if self._stop_reason is None and self.idle.too_long():
            self._stop_reason = "Stopped at step {step} (epoch {epoch}) " + self.idle.reason() + "."

    def _control(self) -> bool:
        """Called by train() before every step: True takes the step, False stops; blocks while paused
        or queued."""
        return self._gate(consume_step=True)

    def _gate(self, consume_step: bool) -> bool:
        """Wait until the run may compute: running (or a single step granted) and holding a slot.
        False when it must stop instead. A paused run waits without a slot or a place in the queue."""
        with self._cond:
            while True:
                self._note_idle()
                if self._stop_reason is not None:
                    return False
                wants = self._status in _WANTS_SLOT or self._step_tokens > 0
                if wants and self._has_slot():
                    break
                if not wants:
                    self._give_back()
                self._clock.stop()
                self._parked.set()
                self._cond.wait(timeout=QUEUE_POLL if wants else self.idle.wait_seconds())
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
        """Training seconds this run still needs, from its own pace (read without the lock: the admission
        asks while holding its own); None until it has taken PACE_STEPS steps after its first evaluation.
        t_left = t_step · (steps left) + t_eval · (epochs left), t_eval the evaluation at initialisation
        (start-up included), t_step the seconds per step since."""
        step, total, first_eval = self.history.step, self.total_epochs * self.steps_per_epoch, self._first_eval
        if first_eval is None or step < min(PACE_STEPS, total):
            return None
        per_step = (self._clock.seconds() - first_eval) / step
        return per_step * (total - step) + first_eval * (self.total_epochs - self.history.epoch)

    def _record(self, record: dict) -> None:
        with self._cond:
            if record["kind"] == "end":
                if record["status"] == "stopped" and self._stop_reason is not None:
                    reason = self._stop_reason.format(step=record["step"], epoch=record["epoch"])
                    record = {**record, "reason": reason}
                self._finish(record)
            else:
                if record["kind"] == "epoch" and self._first_eval is None:
                    self._first_eval = self._clock.seconds()
                self.history.add(record)
            seconds = self._clock.seconds()
        if self.observer is not None:            # outside the lock: the observer may call back into the run
            self.observer(record, seconds)

    def _finish(self, end: dict) -> None:
        """Store the end record and the final status (lock held)."""
        self._clock.stop()
        self.history.finish(end)
        self._status = end["status"]
        self._parked.clear()
        self._cond.notify_all()
