"""The sweep engine: many small training runs (cell × timesteps × gain × hidden × seed), one plain
record per run, on one machine's processes or on a Ray cluster.

    trials = grid(cells=["rnn", "lstm"], timesteps=[10, 50], gains=[0.5, 1.0, 1.5], seeds=3,
                  model=ModelConfig(init="orthogonal"), data=DataConfig(dataset="adding"),
                  train=TrainConfig(epochs=5))
    for record in run_sweep(trials, backend="local", workers=2, skip=finished_keys(path)):
        ...                                   # streamed as runs finish, in any order

What it holds:
- `Trial` (the three configs of one run) and its `key`: a hash of every setting, seed included, so a
  finished run is recognised and never re-run (`finished_keys`, `RecordWriter`).
- `run_trial(trial) -> dict`: the one pure function that trains one run and measures it; the CLI,
  the app and the benchmarks all call it. Same trial → same numbers on any backend (torch runs on
  one thread inside it, and every random draw comes from the trial's seed).
- `run_sweep(...)`: the backends. "inline" (a loop in this process), "local" (worker processes,
  `python -m rnn_core.sweep.worker` fed over pipes; standard library only) and "ray" (`ray.init` on this machine, or the
  cluster named by RAY_ADDRESS; one task runs every seed of a setting, as Ray advises against very
  fine tasks). The backend changes how fast, never what comes out.
- `SweepRun`: a sweep on a background thread with progress, stop and a watcher (the app's); it
  takes its worker slots from the server's admission control, as live runs do.
- CSV in and out (`RecordWriter`, `read_records`, `parse_records_csv` for an upload), Parquet when
  pyarrow is installed (`write_parquet`).

The record (one per run, flat, JSON- and CSV-ready; floats may be None):
    key, cell, timesteps, gain, hidden_size, init, dataset, epochs, seed,
    status ("completed" | "diverged" | "skipped"), diverged (bool),
    train_loss, val_loss, test_loss      final loss per split in the loss's units (`tasks.py`: MSE, scaled,
                                         or bits per character for text), as training sees it
    baseline_mse                         the naive guess's validation loss (`windows.naive_loss`)
    loss_ratio                           val_loss / baseline_mse: below 1 the network learned something
    skill_score                          1 − test RMSE / baseline RMSE, real units (`evaluate.evaluate`);
                                         None for text (its loss is bits per character)
    decades_init, decades_end            log10(‖∂L/∂h_T‖ / ‖∂L/∂h_1‖), first layer, at initialisation and
                                         after the last epoch (> 0: the gradient vanishes going back)
    sigma_gamma                          σ_max·γ of the top layer's recurrent matrix at initialisation
    seconds, note                        wall time of the run; why it was skipped
Leaves to others: training (`train.py`), the probe (`probe.py`), metrics (`evaluate.py`), data
(`datasets.py`, `windows.py`), figures (`plots/sweeps.py`), argument parsing (`cli.py`).
"""

from __future__ import annotations

import csv
import hashlib
import io
import itertools
import json
import math
import os
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Any

from rnn_core.config import (
    CELLS,
    LIMITS,
    ConfigError,
    DataConfig,
    ModelConfig,
    TrainConfig,
    from_dict,
    validate_run,
)

BACKENDS = ("inline", "local", "ray")
BACKEND_ENV = "RNN_PLAYGROUND_SWEEP_BACKEND"     # the app's backend: local (default), ray or inline
WORKERS_ENV = "RNN_PLAYGROUND_SWEEP_WORKERS"     # the app's worker processes (default 2, at most 2)
MAX_UPLOAD_BYTES = 5_000_000                     # a sweep CSV uploaded to the app
MAX_RECORDS = 100_000                            # rows of one sweep file

# (name, type) of every column, in file order.
FIELDS: tuple[tuple[str, type], ...] = (
    ("key", str), ("cell", str), ("timesteps", int), ("gain", float), ("hidden_size", int), ("init", str),
    ("dataset", str), ("epochs", int), ("seed", int), ("status", str), ("diverged", bool),
    ("train_loss", float), ("val_loss", float), ("test_loss", float), ("baseline_mse", float),
    ("loss_ratio", float), ("skill_score", float), ("decades_init", float), ("decades_end", float),
    ("sigma_gamma", float), ("seconds", float), ("note", str))
COLUMNS = tuple(name for name, _ in FIELDS)
# Columns a file must have to be drawn again (the rest may be missing).
REQUIRED = ("cell", "timesteps", "gain", "seed", "status", "val_loss", "baseline_mse")


class SweepError(ValueError):
    """A bad grid or a bad sweep file; the message is one sentence."""


# ------------------------------------------------------------------------------------------ trials
@dataclass(frozen=True)
class Trial:
    """One run of a sweep: the three configs; `train.seed` is the run's seed."""

    model: ModelConfig
    data: DataConfig
    train: TrainConfig

    @property
    def key(self) -> str:
        """16 hex digits of SHA-1 over every setting (seed included), stable across processes."""
        text = json.dumps({"model": asdict(self.model), "data": asdict(self.data), "train": asdict(self.train)},
                          sort_keys=True, default=str)
        return hashlib.sha1(text.encode()).hexdigest()[:16]

    def to_dict(self) -> dict:
        """Plain data (what a worker process is sent)."""
        return {"model": asdict(self.model), "data": asdict(self.data), "train": asdict(self.train)}

    @classmethod
    def from_dict(cls, d: dict) -> Trial:
        return cls(from_dict(ModelConfig, d["model"]), from_dict(DataConfig, d["data"]),
                   from_dict(TrainConfig, d["train"]))

    @property
    def setting(self) -> str:
        """The key without the seed: the trials that differ only by seed share it."""
        return Trial(self.model, self.data, replace(self.train, seed=0)).key


def grid(cells: Sequence[str], timesteps: Sequence[int], gains: Sequence[float] = (1.0,),
         seeds: int | Sequence[int] = 1, hidden_sizes: Sequence[int] | None = None,
         model: ModelConfig | None = None, data: DataConfig | None = None,
         train: TrainConfig | None = None) -> list[Trial]:
    """Every combination cell × timesteps × gain × hidden size × seed, on the base configs.

    `seeds` is a count (seeds 0 … n−1) or the seeds themselves. Raises SweepError (one sentence) for
    an empty axis, an unknown cell, or a value out of the configs' limits."""
    model, data, train = model or ModelConfig(), data or DataConfig(), train or TrainConfig()
    data = replace(data, params={k: _scalar(v) for k, v in data.params.items()})   # "120" and 120: one key
    seed_list = list(range(seeds)) if isinstance(seeds, int) else [int(s) for s in seeds]
    hidden = [model.hidden_size] if hidden_sizes is None else [int(h) for h in hidden_sizes]
    axes = {"cell": list(cells), "timesteps": [int(t) for t in timesteps], "gain": [float(g) for g in gains],
            "hidden size": hidden, "seed": seed_list}
    for name, values in axes.items():
        if not values:
            raise SweepError(f"The grid has no {name}: give at least one.")
    unknown = [c for c in axes["cell"] if c not in CELLS]
    if unknown:
        raise SweepError(f"Unknown cell '{unknown[0]}': choose from {', '.join(CELLS)}.")
    trials = []
    for cell, T, gain, H, seed in itertools.product(*axes.values()):
        m = replace(model, cell=cell, gain=gain, hidden_size=H)
        d = replace(data, timesteps=T)
        t = replace(train, seed=seed)
        try:
            validate_run(m, d, t)                   # the checks every front end makes before a run
        except ConfigError as exc:
            raise SweepError(str(exc)) from None
        trials.append(Trial(m, d, t))
    return trials


# --------------------------------------------------------------------------------- one trial
def run_trial(trial: Trial) -> dict:
    """Train one run to the end and measure it: the record described at the top of this file.

    A setting the data cannot serve (an echo lag longer than the window, too few samples) gives a
    "skipped" record with the sentence in `note`; anything else that fails is a bug and raises."""
    from rnn_core.nn.train import warm_up
    from rnn_core.threads import one_thread

    warm_up()                                   # torch's one-off import cost is not this run's time
    t0 = time.perf_counter()
    with one_thread():                          # same numbers whatever the process's thread count
        try:
            rec = _train_and_measure(trial)
        except (ConfigError, ValueError) as exc:    # DataError is a ValueError
            rec = {"status": "skipped", "note": _sentence(exc)}
    out = dict.fromkeys(COLUMNS)
    out.update(key=trial.key, cell=trial.model.cell, timesteps=trial.data.timesteps, gain=trial.model.gain,
               hidden_size=trial.model.hidden_size, init=trial.model.init, dataset=trial.data.dataset,
               epochs=trial.train.epochs, seed=trial.train.seed, note="")
    out.update(rec)
    out["diverged"] = out["status"] == "diverged"
    out["seconds"] = time.perf_counter() - t0
    return out


def _train_and_measure(trial: Trial) -> dict:
    import torch

    from rnn_core.data.windows import naive_loss, prepare
    from rnn_core.measure.evaluate import evaluate, predict
    from rnn_core.nn.models import build_model
    from rnn_core.nn.tasks import task_of
    from rnn_core.nn.train import train

    windows = prepare(trial.data)
    mcfg = replace(trial.model, input_size=windows.X_train.shape[2], output_size=windows.y_train.shape[1])
    tcfg = replace(trial.train, probe_every=trial.train.epochs)    # probe at initialisation and at the end
    model = build_model(mcfg.validate(), seed=tcfg.seed)
    epochs, end = [], None
    with torch.inference_mode(False):
        for r in train(model, windows, tcfg):
            if r["kind"] == "epoch":
                epochs.append(r)
            elif r["kind"] == "end":
                end = r
    first, last = epochs[0] if epochs else {}, epochs[-1] if epochs else {}
    probed = [r["probe"] for r in epochs if r.get("probe")]
    baseline = naive_loss(windows)
    val_loss = _finite(last.get("val_loss"))
    test_loss = skill = None
    if end["status"] != "diverged" and len(windows.X_test):
        task = task_of(windows)
        y = torch.as_tensor(windows.y_test, dtype=torch.float64)                      # (N, O)
        y_hat = torch.as_tensor(predict(model, windows.X_test), dtype=torch.float64)   # (N, O) scaled
        test_loss = _finite(float(task.loss_sum(y_hat, y)) / task.terms(y))
        model_metrics = evaluate(model, windows).get("test", {}).get("metrics", {}).get("model", {})
        skill = _finite(model_metrics.get("skill_score"))
    init_probe = first.get("probe")
    return {"status": end["status"], "train_loss": _finite(last.get("train_loss")), "val_loss": val_loss,
            "test_loss": test_loss, "baseline_mse": _finite(baseline),
            "loss_ratio": _finite(val_loss / baseline) if val_loss is not None and baseline else None,
            "skill_score": skill,
            "decades_init": _decades(init_probe) if init_probe else None,
            "decades_end": _decades(probed[-1]) if len(probed) > 1 else None,
            "sigma_gamma": (init_probe["sigma_max"][-1] * init_probe["gamma"]) if init_probe else None,
            "note": end["reason"] if end["status"] == "diverged" else ""}


def _decades(p: dict) -> float | None:
    """log10(‖∂L/∂h_T‖ / ‖∂L/∂h_1‖) of the first layer: decades the gradient loses going back."""
    g = p["grad_h"][0]
    if g[-1] > 0 and g[0] > 0:
        return math.log10(g[-1]) - math.log10(g[0])
    return None


def run_task(trials: Sequence[Trial]) -> list[dict]:
    """Several trials one after another (a backend's unit of work)."""
    return [run_trial(t) for t in trials]


# ----------------------------------------------------------------------------------- backends
def tasks_of(trials: Sequence[Trial], per_task: int = 1) -> list[list[Trial]]:
    """Group trials into tasks: `per_task` = 0 puts every seed of a setting in one task; n > 0 packs
    n trials of the same setting per task. Order is kept (settings as they first appear)."""
    groups: dict[str, list[Trial]] = {}
    for t in trials:
        groups.setdefault(t.setting, []).append(t)
    out = []
    for group in groups.values():
        n = len(group) if per_task <= 0 else per_task
        out.extend(group[i:i + n] for i in range(0, len(group), n))
    return out


def run_sweep(trials: Sequence[Trial], backend: str = "local", workers: int = 2,
              skip: Iterable[str] = (), stop: Callable[[], bool] | None = None,
              per_task: int | None = None) -> Iterator[dict]:
    """Run the trials whose key is not in `skip`; yield each record as its run finishes.

    `stop()` (optional) is asked while waiting; once it says True, no new run starts, the runs in
    flight are abandoned (worker processes terminated, Ray tasks cancelled) and the iterator ends.
    `per_task`: trials per unit of work (default: 1 locally, every seed of a setting on Ray)."""
    if backend not in BACKENDS:
        raise SweepError(f"Unknown backend '{backend}': choose {', '.join(BACKENDS)}.")
    if workers < 1:
        raise SweepError(f"Workers must be at least 1, got {workers}.")
    done = set(skip)
    todo = [t for t in trials if t.key not in done]
    if not todo:
        return
    stop = stop or (lambda: False)
    tasks = tasks_of(todo, (0 if backend == "ray" else 1) if per_task is None else per_task)
    if backend == "inline":
        for task in tasks:
            if stop():
                return
            yield from run_task(task)
    elif backend == "local":
        yield from _run_local(tasks, workers, stop)
    else:
        yield from _run_ray(tasks, workers, stop)


def _run_local(tasks: list[list[Trial]], workers: int, stop: Callable[[], bool]) -> Iterator[dict]:
    """Worker processes (`python -m rnn_core.sweep.worker`), each fed one task at a time over a pipe;
    records come back as tasks finish; on stop, Ctrl-C or an error the workers are killed."""
    import selectors
    import subprocess
    import sys

    from rnn_core.serve.pipes import read_message, write_message

    package_root = str(Path(__file__).resolve().parent.parent)
    env = {**os.environ, "OMP_NUM_THREADS": "1",
           "PYTHONPATH": os.pathsep.join(p for p in (package_root, os.environ.get("PYTHONPATH", "")) if p)}
    procs = [subprocess.Popen([sys.executable, "-m", "rnn_core.sweep.worker"], stdin=subprocess.PIPE,
                              stdout=subprocess.PIPE, env=env, bufsize=0)
             for _ in range(min(workers, len(tasks)))]
    todo = list(enumerate(tasks))[::-1]                # popped from the end: first task first

    def send(proc, item: tuple[int, list[Trial]]) -> None:
        write_message(proc.stdin, (item[0], [t.to_dict() for t in item[1]]))

    sel = selectors.DefaultSelector()
    try:
        for proc in procs:
            sel.register(proc.stdout, selectors.EVENT_READ, proc)
            send(proc, todo.pop())
        busy = len(procs)
        while busy:
            if stop():
                return
            for key, _ in sel.select(timeout=0.2):
                proc = key.data
                try:
                    _, records, error = read_message(proc.stdout)
                except EOFError:
                    code = proc.wait()
                    raise RuntimeError(f"A sweep worker process ended unexpectedly (exit code {code}).") from None
                if error:
                    raise RuntimeError(f"A sweep run failed in a worker process: {error}")
                if todo:
                    send(proc, todo.pop())
                else:
                    busy -= 1
                yield from records
    finally:
        sel.close()
        for proc in procs:
            proc.kill()
            proc.wait()
            for stream in (proc.stdin, proc.stdout):
                stream.close()


def ray_available() -> str | None:
    """None when Ray can be imported, else the sentence saying why not."""
    try:
        import ray  # noqa: F401
    except ImportError:
        return "Ray is not installed: pip install -r requirements-ray.txt."
    return None


def _run_ray(tasks: list[list[Trial]], workers: int, stop: Callable[[], bool]) -> Iterator[dict]:
    """One Ray task per unit of work on the cluster at RAY_ADDRESS, or on a local instance with
    `workers` CPUs (started here and shut down after)."""
    why = ray_available()
    if why:
        raise SweepError(why)
    import ray

    started = False
    if not ray.is_initialized():
        ray.init(**ray_init_args(workers))
        started = True
    remote = ray.remote(num_cpus=1, max_retries=0)(run_task)
    pending = [remote.remote(task) for task in tasks]
    try:
        while pending:
            if stop():
                return
            ready, pending = ray.wait(pending, num_returns=1, timeout=0.2)
            for ref in ready:
                yield from ray.get(ref)
    finally:
        for ref in pending:
            ray.cancel(ref, force=True)
        if started:
            ray.shutdown()


def ray_init_args(workers: int) -> dict:
    """`ray.init` arguments: a cluster at RAY_ADDRESS gets this package shipped with the job
    (py_modules); a local instance gets `workers` CPUs and finds the package on PYTHONPATH."""
    package = Path(__file__).resolve().parent
    env = {"OMP_NUM_THREADS": "1"}
    address = os.environ.get("RAY_ADDRESS", "").strip()
    if address:
        return {"address": address, "runtime_env": {"py_modules": [str(package)], "env_vars": env},
                "log_to_driver": False}
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(package.parent), os.environ.get("PYTHONPATH", "")) if p)
    return {"num_cpus": workers, "include_dashboard": False, "log_to_driver": False,
            "runtime_env": {"env_vars": env}}


# ------------------------------------------------------------------------- a sweep on a thread
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
        from rnn_core.serve.live import WATCH_EVERY, default_idle_timeout

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
        self.watcher = watcher
        self.idle_timeout = default_idle_timeout() if idle_timeout is None else idle_timeout
        self._ask_every = min(WATCH_EVERY, self.idle_timeout / 3)
        self._last_watched = self._last_asked = time.monotonic()
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
        if self._stop.is_set():
            return True
        now = time.monotonic()
        if self.watcher is None or now - self._last_asked < self._ask_every:
            return False
        self._last_asked = now
        try:
            watched = bool(self.watcher())
        except Exception:              # a failing watcher counts as "nobody watches"
            watched = False
        if watched:
            self._last_watched = now
        elif now - self._last_watched > self.idle_timeout:
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
            self.error, self.status = _sentence(exc), "failed"
        finally:
            self.ended = time.monotonic()
            for t in self._tickets:
                self.admission.release(t, finished=True)


def eta(done: int, total: int, seconds: float) -> float | None:
    """Seconds left at the pace so far; None before the first run finishes."""
    return None if done == 0 else seconds / done * (total - done)


def app_backend() -> tuple[str, int]:
    """The app's backend and worker count, from the server's environment; bounded to 2 workers so a
    sweep never takes more than two cores of a shared server."""
    backend = os.environ.get(BACKEND_ENV, "local").strip().lower() or "local"
    if backend not in BACKENDS:
        backend = "local"
    text = os.environ.get(WORKERS_ENV, "").strip()
    workers = int(text) if text.isdigit() and int(text) > 0 else 2
    return backend, min(workers, 2)


# ------------------------------------------------------------------------------------ files
class RecordWriter:
    """Appends records to a CSV file as they come (header first when the file is new), flushed per
    record, so an interrupted sweep keeps every finished run."""

    def __init__(self, path: str | Path):
        self.path = Path(path).expanduser()
        new = not self.path.exists() or self.path.stat().st_size == 0
        if not new:
            with self.path.open(newline="", encoding="utf-8") as f:
                header = next(csv.reader(f), [])
            if tuple(header) != COLUMNS:
                raise SweepError(f"'{self.path}' is not a sweep file of this version (its columns differ): "
                                 "choose another --out.")
        self._file = self.path.open("a", newline="", encoding="utf-8")
        self._csv = csv.DictWriter(self._file, COLUMNS, extrasaction="ignore")
        if new:
            self._csv.writeheader()
            self._file.flush()

    def write(self, record: dict) -> None:
        self._csv.writerow({k: _cell(record.get(k)) for k in COLUMNS})
        self._file.flush()

    def close(self) -> None:
        self._file.close()

    def __enter__(self) -> RecordWriter:
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def _cell(v: Any) -> Any:
    if v is None:
        return ""
    if isinstance(v, float):
        return repr(v)                 # round-trips exactly
    return v


def read_records(path: str | Path) -> list[dict]:
    """The records of a sweep CSV written by `RecordWriter` ([] when the file does not exist)."""
    p = Path(path).expanduser()
    data = p.read_bytes() if p.exists() else b""
    if not data.strip() or len(data.splitlines()) < 2:      # new, or only the header so far
        return []
    return parse_records_csv(data, limit=None)


def finished_keys(path: str | Path) -> set[str]:
    """Keys of the runs a sweep file already holds: `run_sweep(skip=...)` does not run them again."""
    return {r["key"] for r in read_records(path) if r.get("key")}


def parse_records_csv(data: bytes, limit: int | None = MAX_UPLOAD_BYTES) -> list[dict]:
    """Records from a sweep CSV's bytes, typed by FIELDS; raises SweepError (one sentence) for a file
    too large, not UTF-8 text, without the needed columns, or with a value that does not parse."""
    if limit is not None and len(data) > limit:
        raise SweepError(f"The file is {len(data) / 1e6:.1f} MB; a sweep file may be at most "
                         f"{limit / 1e6:.0f} MB.")
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise SweepError("The file is not UTF-8 text: upload the CSV a sweep wrote.") from None
    try:
        rows = list(csv.DictReader(io.StringIO(text)))
    except csv.Error as exc:
        raise SweepError(f"The file is not a readable CSV ({exc}).") from None
    header = set(rows[0]) if rows else set(next(csv.reader(io.StringIO(text)), []))
    missing = [c for c in REQUIRED if c not in header]
    if missing:
        raise SweepError(f"The file lacks the column(s) {', '.join(missing)}: upload the CSV a sweep wrote.")
    if not rows:
        raise SweepError("The file has a header but no runs.")
    if len(rows) > MAX_RECORDS:
        raise SweepError(f"The file has {len(rows):,} runs; at most {MAX_RECORDS:,} can be drawn.")
    types = dict(FIELDS)
    out = []
    for i, row in enumerate(rows, start=2):
        rec = dict.fromkeys(COLUMNS)
        for name, value in row.items():
            if name not in types:
                continue
            try:
                rec[name] = _parse(value, types[name])
            except ValueError:
                raise SweepError(f"Line {i}: {name} '{value}' is not a valid {types[name].__name__}.") from None
        if rec["cell"] not in CELLS:
            raise SweepError(f"Line {i}: unknown cell '{rec['cell']}'; a sweep file names one of "
                             f"{', '.join(CELLS)}.")
        lo, hi = LIMITS["timesteps"]
        if rec["timesteps"] is None or not lo <= rec["timesteps"] <= hi:
            raise SweepError(f"Line {i}: timesteps must be between {lo} and {hi}.")
        if rec["gain"] is None or rec["seed"] is None:
            raise SweepError(f"Line {i}: gain and seed must be given.")
        out.append(rec)
    return out


def _parse(value: str | None, kind: type) -> Any:
    if value is None:
        return None
    value = value.strip()
    if kind is str:
        return value
    if value == "":
        return None
    if kind is bool:
        if value.lower() in ("true", "1"):
            return True
        if value.lower() in ("false", "0"):
            return False
        raise ValueError(value)
    if kind is int:
        return int(float(value)) if float(value).is_integer() else int(value)
    x = float(value)
    return x if math.isfinite(x) else None


def records_csv(records: Sequence[dict]) -> bytes:
    """The records as a sweep CSV (the download)."""
    buf = io.StringIO()
    w = csv.DictWriter(buf, COLUMNS, extrasaction="ignore")
    w.writeheader()
    for r in records:
        w.writerow({k: _cell(r.get(k)) for k in COLUMNS})
    return buf.getvalue().encode("utf-8")


def parquet_available() -> str | None:
    """None when pyarrow can be imported, else the sentence saying why Parquet cannot be written."""
    try:
        import pyarrow  # noqa: F401
    except ImportError:
        return "Parquet needs pyarrow, which is not installed; write CSV (--out) instead."
    return None


def write_parquet(records: Sequence[dict], path: str | Path) -> None:
    """The records as a Parquet file (pyarrow), typed by FIELDS."""
    import pandas as pd

    frame = pd.DataFrame([{k: r.get(k) for k in COLUMNS} for r in records], columns=list(COLUMNS))
    frame.to_parquet(Path(path).expanduser(), index=False)


# ------------------------------------------------------------------------------ aggregation
def summarise(records: Sequence[dict], value: str = "val_loss",
              by: tuple[str, ...] = ("cell", "timesteps")) -> list[dict]:
    """Mean, min and max of `value` over seeds for each group (finite values only; a group whose
    runs all diverged or were skipped has mean None). Each row: the group's fields, "mean", "lo",
    "hi", "n" (runs with a value), "runs" (all runs), "baseline_mse" (mean), "diverged" (count)."""
    groups: dict[tuple, list[dict]] = {}
    for r in records:
        groups.setdefault(tuple(r.get(k) for k in by), []).append(r)
    out = []
    for values, rs in groups.items():
        xs = [r[value] for r in rs if r.get(value) is not None and math.isfinite(r[value])]
        bs = [r["baseline_mse"] for r in rs if r.get("baseline_mse")]
        out.append({**dict(zip(by, values)), "mean": sum(xs) / len(xs) if xs else None,
                    "lo": min(xs) if xs else None, "hi": max(xs) if xs else None, "n": len(xs),
                    "runs": len(rs), "baseline_mse": sum(bs) / len(bs) if bs else None,
                    "diverged": sum(bool(r.get("diverged")) for r in rs)})
    return out


# ------------------------------------------------------------------------------ small helpers
def _finite(v: Any) -> float | None:
    return float(v) if v is not None and math.isfinite(float(v)) else None


def _scalar(v: Any) -> Any:
    """A dataset parameter given as text (CLI, URL) as the number it spells, else as it is."""
    if isinstance(v, str):
        for cast in (int, float):
            try:
                return cast(v)
            except ValueError:
                pass
    return v


def _sentence(exc: Exception) -> str:
    text = " ".join(str(exc).split()) or type(exc).__name__
    return text if text.endswith(".") else text + "."
