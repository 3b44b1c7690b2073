"""The trials of a sweep: many small training runs (cell × timesteps × gain × hidden × seed), each
reduced to one plain record. The package's other modules: `backends.py` (where they run),
`background.py` (a sweep on a thread, for the app), `records.py` (the record's columns, CSV in and out).

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
- `run_sweep(...)` (`backends.py`): "inline" (a loop in this process), "local" (worker processes,
  `python -m rnn_core.sweep.worker` fed over pipes; standard library only) and "ray" (`ray.init` on this machine, or the
  cluster named by RAY_ADDRESS; one task runs every seed of a setting, as Ray advises against very
  fine tasks). The backend changes how fast, never what comes out.
- `SweepRun` (`background.py`): a sweep on a background thread with progress, stop and a watcher (the app's); it
  takes its worker slots from the server's admission control, as live runs do.
- CSV in and out (`records.py`: `RecordWriter`, `read_records`, `parse_records_csv` for an upload), Parquet when
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
(`datasets.py`, `windows.py`), figures (`plots/sweeps.py`), argument parsing (`cli/sweep.py`).
"""

from __future__ import annotations

import hashlib
import itertools
import json
import math
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass, replace
from typing import Any

from rnn_core.config import ConfigError, DataConfig, TrainConfig, from_dict, quoted, validate_run
from rnn_core.nn.cells import CELLS
from rnn_core.nn.model_config import ModelConfig
from rnn_core.sweep.records import COLUMNS, SweepError


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
        raise SweepError(f"Unknown cell {quoted(unknown[0])}: choose from {', '.join(CELLS)}.")
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
            rec = {"status": "skipped", "note": sentence(exc)}
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

    from rnn_core.data.streams import streams_of
    from rnn_core.data.windows import naive_loss, prepare
    from rnn_core.measure.evaluate import evaluate, predict
    from rnn_core.nn.models import build_model
    from rnn_core.nn.stateful import stream_loss, streams_read
    from rnn_core.nn.tasks import task_of
    from rnn_core.nn.train import train

    windows = prepare(trial.data)
    mcfg = replace(trial.model, input_size=windows.n_features, output_size=windows.y_train.shape[1])
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
    val_loss = finite(last.get("val_loss"))
    test_loss = skill = None
    if end["status"] != "diverged" and len(windows.X_test):
        task = task_of(windows)
        if tcfg.stateful:                                        # the test part read as one stream
            test_loss = finite(stream_loss(model, streams_of(windows, tcfg.stateful_streams).test, task))
        else:
            y = torch.as_tensor(windows.y_test, dtype=torch.float64)                      # (N, O)
            y_hat = torch.as_tensor(predict(model, windows.X_test), dtype=torch.float64)   # (N, O) scaled
            test_loss = finite(float(task.loss_sum(y_hat, y)) / task.terms(y))
        model_metrics = evaluate(model, windows, stateful_streams=streams_read(tcfg)).get("test", {}).get(
            "metrics", {}).get("model", {})
        skill = finite(model_metrics.get("skill_score"))
    init_probe = first.get("probe")
    return {"status": end["status"], "train_loss": finite(last.get("train_loss")), "val_loss": val_loss,
            "test_loss": test_loss, "baseline_mse": finite(baseline),
            "loss_ratio": finite(val_loss / baseline) if val_loss is not None and baseline else None,
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


def finite(v: Any) -> float | None:
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


def sentence(exc: Exception) -> str:
    text = " ".join(str(exc).split()) or type(exc).__name__
    return text if text.endswith(".") else text + "."
