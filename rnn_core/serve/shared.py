"""A run computed once for everyone: every Train becomes a replay of a stored run, or of the one
computation of its key that every session pressing the same Train follows.

    start_run(model_cfg, data_cfg, train_cfg, windows, *, watcher=None, idle_timeout=…, store=…) -> ReplayRun
        the run for a Train: a replay of the stored run of its key (`store.py`); else a replay of the
        computation of that key already under way in this process (the second session follows the
        first's records); else a new computation, followed
    Computation               one training run (a `workers.new_run`: in a worker process by default) and
                              every record it made, in order, with their arrival times and the weights
                              at each epoch's end; stored when it ends by itself
    computing() -> dict       the computations under way here, by key (tests, monitoring)

Who computes when: a computation trains while at least one of its replays wants more (running, or
queued); it pauses (giving its admission slot back) when all of them are paused, takes one step when
a replay at its head is paused and asks for a Step, and stops when none is left. A replay at the head of
a computation that pauses with it shows the step still in flight (`ReplayRun.drain`), so a lone replay
pauses, steps and shows exactly what a live run would. When the run completes or diverges, its records,
final weights and checkpoints go into the store (on a background thread), and it leaves `computing()`;
replays under way keep reading it.
Leaves to others: the replay (`replay.py`), the store (`store.py`), the training process (`workers.py`).
"""

from __future__ import annotations

import threading
from typing import Any

from rnn_core.serve.admission import run_threads, shared_admission
from rnn_core.serve.live import _FROM_ENV
from rnn_core.serve.replay import ReplayRun, StoredSource
from rnn_core.serve.run_worker import weights_bytes
from rnn_core.serve.store import StoredRun, default_store, run_key, storable
from rnn_core.serve.workers import new_run

STORED_PHRASE = "replay of a stored run"
SHARED_PHRASE = "replay of a run computed once for several sessions"
_DEFAULT: Any = object()


class Computation:
    """One run computing for every replay that follows it (see the module docstring)."""

    def __init__(self, key: str, model_cfg: Any, data_cfg: Any, train_cfg: Any, windows: Any,
                 store: Any = None, *, engine: Any = None):
        """`engine`: the LiveRun that trains (default `workers.new_run`, never idle: its replays decide)."""
        self.key, self.model_cfg, self.data_cfg, self.train_cfg = key, model_cfg, data_cfg, train_cfg
        self.store = store
        self.records: list[dict] = []
        self.times: list[float] = []
        self.checkpoints: dict[int, bytes] = {}
        self.live = True                        # more records may come
        self.stored = threading.Event()         # set once it was stored (or could not be): it is over
        self._final: bytes | None = None
        self._cond = threading.Condition()
        self._update = threading.Lock()         # one decision at a time
        self._followers: list[ReplayRun] = []
        self._stopping = False
        engine = engine if engine is not None else new_run(model_cfg, train_cfg, windows, idle_timeout=None)
        engine.observer, engine.checkpoints, engine.on_checkpoint = self._observe, True, self._checkpoint
        self.engine = engine

    # --- what the engine tells it ---------------------------------------------------------------
    def _observe(self, record: dict, seconds: float) -> None:
        with self._cond:
            self.records.append(record)
            self.times.append(seconds)
            if record["kind"] == "end":
                self.live = False
            self._cond.notify_all()
        if record["kind"] == "end":
            threading.Thread(target=self._finish, name="rnn-run-store", daemon=True).start()

    def _checkpoint(self, epoch: int, weights: bytes) -> None:
        with self._cond:
            self.checkpoints[epoch] = weights
            self._cond.notify_all()

    def _finish(self) -> None:
        """The run ended: its final weights, then the store (if it ended by itself and fits)."""
        try:
            final = weights_bytes(self.engine.model)      # a worker's final weights follow its end record
            with self._cond:
                self._final = final
                self._cond.notify_all()
            if self.store is not None and not storable(self.records):
                self.store.put(StoredRun(self.key, self.model_cfg, self.data_cfg, self.train_cfg,
                                         list(self.records), list(self.times), final, dict(self.checkpoints)))
        finally:
            self.stored.set()
            _forget(self)

    # --- what a replay reads ----------------------------------------------------------------------
    live_weights = True                         # an epoch's (and the final) weights follow its record

    def wait_for(self, i: int, timeout: float) -> bool:
        with self._cond:
            if i >= len(self.records) and (self.live or self._final is None):
                self._cond.wait(timeout)
            return i < len(self.records)

    def checkpoint(self, epoch: int) -> bytes | None:
        with self._cond:
            return self.checkpoints.get(epoch)

    def final_weights(self) -> bytes | None:
        with self._cond:
            return self._final

    def parked_at(self, step: int) -> bool:
        """Whether the engine waits, paused, at exactly `step` (every record it made read)."""
        engine = self.engine
        if engine.status != "paused" or not engine.parked:
            return False
        with self._cond:
            return (self.records[-1]["step"] if self.records else 0) == step

    def parked_model(self, step: int) -> Any:
        """The engine's model while `parked_at(step)`, else None."""
        return self.engine.model if self.parked_at(step) else None

    def engine_status(self) -> str:
        return self.engine.status

    def joinable(self) -> bool:
        """A new replay may follow it: it is computing, or it ended by itself (completed, diverged)."""
        with self._cond:
            if self._stopping:
                return False
            return self.live or storable(self.records) is None

    # --- who computes when ----------------------------------------------------------------------
    def follow(self, run: ReplayRun) -> bool:
        """Add a replay; False when the computation is stopping (its last replay left): start another."""
        with self._cond:
            if self._stopping:
                return False
            self._followers.append(run)
            return True

    def update(self) -> None:
        """A replay changed state: decide whether the engine trains, pauses, steps or stops."""
        with self._update:
            with self._cond:
                if not self.live:
                    return
                followers = [f for f in self._followers if not f.finished]
                self._followers = followers
            engine = self.engine
            if not followers:
                with self._cond:
                    self._stopping = True
                engine.stop()
            elif any(f.wants_records() for f in followers):
                if engine.status == "idle":
                    engine.start()
                else:
                    engine.resume()
            elif any(f.wants_one_step() for f in followers):
                engine.step()
            elif engine.status in ("running", "queued"):
                engine.pause()
                for f in followers:
                    f.drain()


_COMPUTING: dict[str, Computation] = {}
_LOCK = threading.Lock()


def computing() -> dict[str, Computation]:
    """The computations under way (or ended and not stored yet) in this process, by run key."""
    with _LOCK:
        return dict(_COMPUTING)


def _forget(computation: Computation) -> None:
    with _LOCK:
        if _COMPUTING.get(computation.key) is computation:
            del _COMPUTING[computation.key]


def start_run(model_cfg: Any, data_cfg: Any, train_cfg: Any, windows: Any, *, watcher: Any = None,
              idle_timeout: Any = _FROM_ENV, store: Any = _DEFAULT) -> ReplayRun:
    """The run a Train starts (see the module docstring); not started yet (call `start` or `step`).
    Raises ConfigError like a LiveRun for settings that do not fit the windows."""
    store = default_store() if store is _DEFAULT else store
    key = run_key(model_cfg, train_cfg, windows, run_threads(shared_admission().slots))
    options = {"watcher": watcher, "idle_timeout": idle_timeout}
    stored = store.get(key) if store is not None else None
    if stored is not None:
        return ReplayRun(model_cfg, train_cfg, windows, StoredSource(stored), phrase=STORED_PHRASE, **options)
    while True:
        with _LOCK:
            computation = _COMPUTING.get(key)
            joined = computation is not None and computation.joinable()
            if not joined:
                computation = _COMPUTING[key] = Computation(key, model_cfg, data_cfg, train_cfg, windows, store)
        run = ReplayRun(model_cfg, train_cfg, windows, computation, phrase=SHARED_PHRASE if joined else None,
                        **options)
        if computation.follow(run):
            return run
        _forget(computation)                    # it stopped just now: the next look starts a new one
