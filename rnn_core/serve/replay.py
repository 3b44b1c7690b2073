"""A run replayed from records computed once: a stored run, or a computation another session started.

    ReplayRun(model_cfg, train_cfg, windows, source, *, speed=1.0, idle_timeout, watcher, phrase=None)
        the `LiveRun` interface — start / pause / resume / step / stop, status, snapshot, model — with
        its records read from `source` instead of computed: the same records, bitwise, at the pace they
        were computed from the first one on (`speed` 2, 4: faster; `math.inf`: at once; `set_speed`
        changes it), no slot of the admission queue, no training CPU
    StoredSource(stored)      a `store.StoredRun` as a source (every record there already)
A source holds `records` (in order; a computation's grows), `times` (training seconds at each record's
arrival), `live` (more may come), `wait_for(i, timeout)`, `update()` (a follower changed state),
`checkpoint(epoch)` / `final_weights()` (safetensors bytes, or None), `parked_at(step)` / `parked_model(step)`
(a computation paused at exactly that step, and its model) and `engine_status()`; `shared.Computation`
is the other one.

Pause, Step and Stop act on the replay alone; a computation followed by several sessions computes while
any of them wants more (`shared.py`). A pause lets the step in flight finish, as a live run does: a
replay at the head of a computation that pauses with it ("draining") shows every record the
computation made before it stopped. Stop ends the replay with the end record training would have written
there. The model the page reads (`model`): at step 0 the seeded initial network; at an epoch's end the
weights stored for it; at the end the final weights; while following a computation paused at the same step
its model; otherwise (paused in the middle of an epoch of a stored run) it is computed again, exactly,
by training a private run to that step (`model_ready()` says whether it is there yet). While a replay
runs, its model is the one at the end of the last epoch it showed.
Leaves to others: the store (`store.py`), computing once for everyone (`shared.py`), the state
machine it inherits (`live.py`).
"""

from __future__ import annotations

import math
import time
from typing import Any

from rnn_core.interrupt import checkpoint
from rnn_core.serve.history import Snapshot
from rnn_core.serve.live import _FROM_ENV, LiveRun
from rnn_core.serve.run_worker import load_weights

WAIT = 0.25            # seconds between two looks at the source while waiting (a new record wakes sooner)
REPLAY_THREAD = "rnn-replay"   # a replay's thread: "rnn-live-run" threads are the runs that compute
WEIGHTS_WAIT = 15.0    # seconds a replay waits for a computation's weights to follow a record
_ACTIVE = ("running", "queued")


class StoredSource:
    """A stored run as a replay's source: complete, nothing to compute."""

    live = False

    def __init__(self, stored: Any):
        self.stored = stored
        self.records, self.times = stored.records, stored.times

    def wait_for(self, i: int, timeout: float) -> bool:
        return i < len(self.records)

    def update(self) -> None:
        """Nothing computes for a stored run."""

    def checkpoint(self, epoch: int) -> bytes | None:
        return self.stored.checkpoints.get(epoch)

    def final_weights(self) -> bytes | None:
        return self.stored.weights

    def parked_at(self, step: int) -> bool:
        return False

    def parked_model(self, step: int) -> Any:
        return None

    def engine_status(self) -> str | None:
        return None


class ReplayRun(LiveRun):
    """A LiveRun whose records come from a source (see the module docstring)."""

    thread_name = REPLAY_THREAD

    def __init__(self, model_cfg: Any, train_cfg: Any, windows: Any, source: Any, *, speed: float = 1.0,
                 idle_timeout: Any = _FROM_ENV, watcher: Any = None, phrase: str | None = None):
        super().__init__(model_cfg, train_cfg, windows, idle_timeout, watcher=watcher)
        self.source = source
        self.phrase = phrase                    # what the page says this run is ("replay of a stored run")
        self._initial = self._model             # the seeded network at step 0, built by LiveRun
        self._delivered = 0                     # records of the source shown so far
        self._speed = float(speed)
        self._pace_base, self._pace_at = 0.0, 0.0    # replay seconds at the last change of speed, and the clock then
        self._draining = False                  # paused with its computation: show what it still finishes
        self._models: dict[tuple, Any] = {}     # ("epoch", e) / ("final",) / ("step", s) → a model built once
        self._catch_up: Any = None              # a private run trained to the step shown (see the docstring)
        self._catch_target = 0

    # --- controls: the replay's own, then the source decides what to compute -----------------------
    def start(self, paused: bool = False) -> None:
        super().start(paused)
        self.source.update()

    def pause(self) -> None:
        super().pause()
        self.source.update()

    def resume(self) -> None:
        super().resume()
        self.source.update()

    def step(self, n: int = 1) -> bool:
        stepped = super().step(n)
        self.source.update()
        return stepped

    def stop(self) -> None:
        super().stop()
        self.source.update()
        self._end_catch_up()

    def set_speed(self, speed: float) -> None:
        """The pace from now on: 1 as computed, 2 or 4 times faster, math.inf at once."""
        with self._cond:
            self._pace_base, self._pace_at = self._replay_seconds(), self._clock.seconds()
            self._speed = float(speed)
            self._cond.notify_all()

    @property
    def speed(self) -> float:
        return self._speed

    # --- what the source and its followers read ----------------------------------------------------
    @property
    def finished(self) -> bool:
        with self._cond:
            return self.history.end is not None

    def wants_records(self) -> bool:
        """Running (or queued): the computation should go on for it."""
        with self._cond:
            return self._status in _ACTIVE and self.history.end is None

    def wants_one_step(self) -> bool:
        """Paused with a Step asked at the head of the computation: it should take one step for it."""
        with self._cond:
            return (self._status == "paused" and self._step_tokens > 0 and self.history.end is None
                    and self._delivered >= len(self.source.records))

    def drain(self) -> None:
        """The computation pauses with this replay: if it was keeping up with it (not replaying its past at
        a slower pace), show what it still finishes — the step in flight, and records not shown yet."""
        with self._cond:
            times = self.source.times
            keeping_up = self._delivered >= len(times) or self._replay_seconds() >= times[-1] - times[0]
            if self._status == "paused" and keeping_up:
                self._draining = True
                self._cond.notify_all()

    @property
    def status(self) -> str:
        """As a LiveRun's; "queued" while it waits at the head of a computation that waits for a slot."""
        with self._cond:
            status, waiting = self._status, self._delivered >= len(self.source.records)
        if status == "running" and waiting and self.source.engine_status() == "queued":
            return "queued"
        return status

    def snapshot(self, max_points: int = 1500) -> Snapshot:
        snap = super().snapshot(max_points)
        snap.replay = self.phrase
        if snap.status == "running" and self.status == "queued":
            engine = self.source.engine
            queued = engine.snapshot(max_points=1)
            snap.status, snap.ahead, snap.wait = "queued", queued.ahead, queued.wait
        return snap

    # --- the "training": records from the source, at their pace -------------------------------------
    def _has_slot(self) -> bool:
        """A replay computes nothing: it never waits in the admission queue (lock held)."""
        if self._status == "queued":
            self._status = "running"
        return True

    def _train(self) -> None:
        source, i = self.source, 0
        while True:
            if not self._await(i):
                return
            record = source.records[i]
            if record["kind"] == "step" and not self._may_step():
                self._stopped_before(record["epoch"], record["step"] - 1)
                return
            # shown at (times_i − times_0) ÷ speed after the replay began: the computation's start-up before
            # its first record (a worker process starting, ≈ 3 s) is not replayed
            self._pace(source.times[i] - source.times[0])
            self._await_weights(record)
            self._record(record)
            with self._cond:
                self._delivered = i + 1
            i += 1
            if record["kind"] == "end":
                return

    def _await(self, i: int) -> bool:
        """Wait until the source has record i; False when the replay was stopped meanwhile (it has ended)."""
        while not self.source.wait_for(i, WAIT):
            parked = self.source.parked_at(self.history.step)
            with self._cond:
                self._note_idle()
                if self._stop_reason is not None:
                    break
                if self._draining and parked:
                    self._draining = False           # the computation stopped where this replay stands
                if self._status == "paused" and not self._draining:
                    self._clock.stop()
                    self._parked.set()               # paused with every record in: as a live run's gate
                else:
                    self._parked.clear()
                    self._clock.start()
        else:
            self._parked.clear()
            return True
        h = self.history
        last_was_epoch = bool(h.epochs) and h.epochs[-1]["step"] == h.step and h.epochs[-1]["epoch"] == h.epoch
        self._stopped_before(h.epoch + 1 if last_was_epoch else max(1, h.epoch), h.step)
        return False

    def _await_weights(self, record: dict) -> None:
        """A computation sends an epoch's weights just after its record, and the final weights just after
        the end record: show the record once its weights are there too, so that the page reading the
        model at that moment reads the model of that moment (at most WEIGHTS_WAIT s; a stop ends it)."""
        kind = record["kind"]
        if kind not in ("epoch", "end") or not getattr(self.source, "live_weights", False):
            return
        weights = (self.source.final_weights if kind == "end" else (lambda: self.source.checkpoint(record["epoch"])))
        deadline = time.monotonic() + WEIGHTS_WAIT
        while weights() is None and time.monotonic() < deadline and not self._stop_asked():
            self.source.wait_for(len(self.source.records), WAIT / 5)

    def _may_step(self) -> bool:
        """train()'s control before a step, as a live run's gate (`LiveRun._gate`): go on while running,
        take a Step while paused, wait otherwise; and go on while draining. False: stop."""
        with self._cond:
            while True:
                self._note_idle()
                if self._stop_reason is not None:
                    return False
                if self._status in _ACTIVE or (self._status == "paused" and self._draining):
                    break
                if self._status == "paused" and self._step_tokens > 0:
                    self._step_tokens -= 1
                    break
                self._clock.stop()
                self._parked.set()
                self._cond.wait(timeout=self.idle.wait_seconds())
            self._parked.clear()
            self._clock.start()
            return True

    def _pace(self, at: float) -> None:
        """Wait until the replay's clock reaches `at` ÷ speed; a paused or stopped replay shows the record
        in flight at once."""
        with self._cond:
            while (self._status in _ACTIVE and self._stop_reason is None and math.isfinite(self._speed)
                   and self._replay_seconds() < at):
                self._cond.wait(min(WAIT, (at - self._replay_seconds()) / max(self._speed, 1e-9)))

    def _replay_seconds(self) -> float:
        """Seconds of the source's training shown so far (lock held)."""
        return self._pace_base + (self._clock.seconds() - self._pace_at) * self._speed

    def _stopped_before(self, epoch: int, step: int) -> None:
        """The end record train() writes when it is stopped before the step after `step`."""
        start = self.source.times[0] if self.source.times else 0.0     # the computation's clock, as its records'
        self._record({"kind": "end", "status": "stopped", "epoch": epoch, "step": step,
                      "reason": f"Stopped at step {step} (epoch {epoch}) before the end.",
                      "seconds": start + self._replay_seconds()})

    def _wrap_up(self) -> None:
        super()._wrap_up()
        self.source.update()

    # --- the model at the step shown -------------------------------------------------------------
    @property
    def model(self) -> Any:
        """The network at the step shown (see the module docstring); may compute it first."""
        while True:
            model = self._model_now()
            if model is not None:
                return model
            checkpoint()                        # Stop / a closed tab / a click ends the wait here
            time.sleep(0.05)

    @model.setter
    def model(self, value: Any) -> None:
        self._model = value

    def model_ready(self) -> bool:
        """Whether `model` answers at once (False while it is being computed again for the step shown)."""
        return self._model_now() is not None

    def _model_now(self) -> Any:
        with self._cond:
            h, delivered, status = self.history, self._delivered, self._status
            step, end = h.step, h.end
            last = self.source.records[delivered - 1] if delivered else None
        if end is not None and last is not None and last["kind"] == "end":
            return self._built(("final",), self.source.final_weights)
        if step == 0:
            return self._initial
        if last is not None and last["kind"] == "epoch" and last["step"] == step:
            epoch = last["epoch"]
            model = self._built(("epoch", epoch), lambda: self.source.checkpoint(epoch))
            if model is not None:
                return model
        if ("step", step) in self._models:
            return self._models[("step", step)]
        parked = self.source.parked_model(step)
        if parked is not None:
            return self._built(("step", step), lambda: _weights_of(parked))
        if status in _ACTIVE:                   # running: the end of the last epoch shown
            return self._latest_epoch_model()
        return self._caught_up(step)

    def _built(self, name: tuple, weights: Any) -> Any:
        if name not in self._models:
            data = weights()
            if data is None:
                return None
            from rnn_core.nn.models import build_model

            self._models[name] = load_weights(build_model(self.model_cfg), data).eval()
        return self._models[name]

    def _latest_epoch_model(self) -> Any:
        with self._cond:
            epochs = [r["epoch"] for r in self.history.epochs]
        for epoch in reversed(epochs):
            model = self._built(("epoch", epoch), lambda e=epoch: self.source.checkpoint(e))
            if model is not None:
                return model
        return self._initial

    def _caught_up(self, step: int) -> Any:
        """The model at `step`, trained again exactly in a private run (None until it is there)."""
        from rnn_core.serve.workers import new_run

        run = self._catch_up
        if run is None or self._catch_target > step:
            self._end_catch_up()
            # it lives as long as the replay's tab does (Reset and Stop end it at once)
            run = self._catch_up = new_run(self.model_cfg, self.train_cfg, self.windows,
                                           idle_timeout=self.idle_timeout, watcher=self.idle.watcher)
            run.start(paused=True)
            self._catch_target = 0
        if self._catch_target < step:
            run.step(step - self._catch_target)
            self._catch_target = step
        snap = run.snapshot(max_points=1)
        if snap.step == step and run.parked:
            return self._built(("step", step), lambda: _weights_of(run.model))
        if snap.end is not None:                 # it could not get there (an error): show the last epoch's
            return self._latest_epoch_model()
        return None

    def _end_catch_up(self) -> None:
        run, self._catch_up = self._catch_up, None
        if run is not None:
            run.stop()


def _weights_of(model: Any) -> bytes:
    from rnn_core.serve.run_worker import weights_bytes

    return weights_bytes(model)
