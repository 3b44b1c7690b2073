"""The trainer: a training loop that streams plain records, one per optimiser step and one per epoch.

`train(model, windows, cfg)` trains `model` in place with its task's loss (`tasks.py`: MSE; for text,
cross-entropy in bits per character) and yields JSON-ready dicts (see docs/architecture.md). Its batches
are shuffled windows (`batches.WindowData`), or with `cfg.stateful` updates of the data read in order as
parallel streams, the state carried from one to the next (`stateful.StreamData`; every step a target):

    {"kind": "step",  "epoch", "step", "loss", "grad_norm", "clipped"}
    {"kind": "epoch", "epoch", "step", "train_loss", "val_loss", "probe", "spectra",
                      "param_grad_norms", "seconds"}                    # epoch 0 = at initialisation
    {"kind": "end",   "status", "epoch", "step", "reason", "seconds"}  # completed | stopped | diverged

What the numbers mean:
- step `loss`: MSE of that step's batch before the update; `grad_norm`: total 2-norm of the gradient
  ‖g‖ = √Σ_θ ‖∂L/∂θ‖² before clipping; `clipped`: whether clipping changed the gradient
  (by norm: ‖g‖ > threshold; by value: max |g_i| > threshold).
- epoch `train_loss`: at epoch 0 the MSE over the whole training split at initialisation; after that
  the mean of the epoch's batch losses weighted by batch size (as Keras reports it: free, since those
  losses are already known; a full extra pass over the training split cost 10–30% of an epoch).
  `val_loss`: MSE over the whole validation split after the epoch (no grad), None when there are no
  validation windows.
- epoch `param_grad_norms`: per parameter, the mean over the epoch's steps of ‖∂L/∂θ‖ before clipping;
  at epoch 0 (no step yet) the gradient of the fixed probe batch at initialisation.
- `probe`: `rnn_core.nn.probe.probe` on a fixed, seeded batch of `cfg.probe_batch` training windows, every
  `cfg.probe_every` epochs (and at epoch 0 and the last epoch; probe_every 0 = never), else None.
  With truncated BPTT it measures the gradient training gets (zero beyond k steps back).
- text tasks: the epoch record also carries "text": {"sample", "prompt", "temperature"}, a sample the
  model wrote at that epoch (`sampling.epoch_sample`), and for a text with known memory (brackets)
  "memory_accuracy", the closers right on the validation windows (`sampling.memory_score`); losses are
  in bits per character.
- stateful: `train_loss` is the mean over the epoch's updates weighted by their targets, `val_loss` the
  validation part read as one stream, and the probe takes one update from its carried state (its record
  adds "carry" ‖∂h_T/∂xₜ‖ and "new_from"; `stateful.py`).
- `seconds`: time spent training so far, not counting time paused in `control` nor time the consumer
  held the generator suspended.
- end `step`: the last applied step; for "diverged", the step whose update was refused.

Control (how the live runner pauses and stops): `control` is an optional callable taking no argument,
called before every optimiser step. It may block (that is how a pause works: the model is not locked
meanwhile); it returns True to take the step or False to stop, which ends the run with status
"stopped". `lock` (keyword) is an optional lock held while the model is read or written (each step,
each epoch's evaluation), so another thread can evaluate the model between steps.

NaN/Inf in the loss or the gradient norm ends the run as "diverged" and the update of that step is not
applied, so the model keeps the last finite weights and every record yielded before stays valid.

Also here: `run_to_end(model_cfg, train_cfg, windows) -> (model, records)` for the CLI and benchmarks,
`steps_per_epoch(n, batch_size)`, `epoch_steps(windows, cfg)` (stateful runs too), `device_problem(name)`
and `warm_up()` (torch's one-off import cost, for app start).

Leaves to others: the network (`models.py`), the gradient probe (`probe.py`), the data windows
(`windows.py`), threads and history (`live.py`).
"""

from __future__ import annotations

import contextlib
import math
import time
from collections.abc import Callable, Iterator
from typing import Any

import torch
from torch import nn

from rnn_core.config import ConfigError, TrainConfig
from rnn_core.data.streams import train_steps
from rnn_core.interrupt import Interrupted
from rnn_core.nn.batches import WindowData
from rnn_core.nn.model_config import ModelConfig
from rnn_core.nn.models import build_model, spectra
from rnn_core.nn.optim import make_optimizer
from rnn_core.nn.stateful import StreamData, chunk_lengths
from rnn_core.nn.step_memory import check_run_memory


def steps_per_epoch(n_windows: int, batch_size: int) -> int:
    """Optimiser steps in one epoch: ⌈N / B⌉ (the last batch may be smaller)."""
    return math.ceil(n_windows / batch_size)


def epoch_steps(windows: Any, cfg: TrainConfig) -> int:
    """Optimiser steps in one epoch of a run on `windows`: ⌈N / batch⌉, or (stateful) ⌈m / k1⌉ updates of
    streams of m steps (at most: a sequence task's updates without a target take no step)."""
    if not cfg.stateful:
        return steps_per_epoch(len(windows.X_train), cfg.batch_size)
    k1, _ = chunk_lengths(cfg, windows.timesteps)
    return math.ceil(train_steps(windows) // cfg.stateful_streams / k1)


def train(model: nn.Module, windows: Any, cfg: TrainConfig,
          control: Callable[[], bool] | None = None, *, lock: Any = None) -> Iterator[dict]:
    """Train `model` in place on `windows` (X_train, y_train, X_val, y_val) and yield records.

    When the calling thread has an interrupt check installed (`rnn_core.interrupt`) and it fires inside
    a step, an evaluation or a probe, the run ends as "stopped" at once; the step in flight is not
    applied (the weights are those after the last finished step)."""
    state = {"epoch": 0, "step": 0}
    try:
        yield from _train(model, windows, cfg, control, lock, state)
    except Interrupted:
        for p in model.parameters():
            p.grad = None
        model.train()
        end = _end("stopped", state["epoch"], state["step"],
                   f"Stopped at step {state['step']} (epoch {state['epoch']}) in the middle of a computation.")
        if "clock" in state:
            end["seconds"] = state["clock"].seconds()
        yield end


def _train(model: nn.Module, windows: Any, cfg: TrainConfig, control: Callable[[], bool] | None,
           lock: Any, state: dict) -> Iterator[dict]:
    cfg.validate()
    if isinstance(getattr(model, "cfg", None), ModelConfig):       # asked before any batch is allocated
        check_run_memory(model.cfg, cfg, windows.X_train.shape[1], len(windows.X_train))
    device = _device(cfg.device)
    guard = lock if lock is not None else contextlib.nullcontext()
    clock = state["clock"] = Stopwatch()
    with guard:
        model.to(device)
        model.train()
    data = _data_for(windows, device, cfg)
    names = [name for name, _ in model.named_parameters()]
    params = [p for _, p in model.named_parameters()]

    # Epoch 0: the network at initialisation.
    with guard:
        record = _epoch_record(model, 0, 0, cfg, data, _probe_grad_norms(model, names, params, data, cfg))
    if not math.isfinite(record["train_loss"]):
        yield from clock.emit(_end("diverged", 0, 0, _reason_at_init(record["train_loss"])))
        return
    yield from clock.emit(record)

    optimizer = make_optimizer(cfg.optimizer, params, lr=cfg.lr, momentum=cfg.momentum)   # no random numbers
    step = 0
    for epoch in range(1, cfg.epochs + 1):
        norm_sum = torch.zeros(len(params), dtype=torch.float64, device=device)
        loss_sum, terms, steps = 0.0, 0, 0                                   # Σ batch loss · its terms
        for batch in data.batches(model, epoch):
            if control is not None:
                clock.stop()                      # time spent paused in control() is not training
                go_on = control()
                clock.start()
                if not go_on:
                    yield from clock.emit(_end("stopped", epoch, step,
                                               f"Stopped at step {step} (epoch {epoch}) before the end."))
                    return
            state["epoch"] = epoch
            with guard:
                loss, grad_norm, clipped, norms = _step(model, optimizer, params, batch.loss, cfg)
            step += 1
            state["step"] = step
            if not (math.isfinite(loss) and math.isfinite(grad_norm)):
                yield from clock.emit(_end("diverged", epoch, step,
                                           _reason_at_step(loss, grad_norm, step, epoch, cfg)))
                return
            norm_sum += norms
            loss_sum, terms, steps = loss_sum + loss * batch.terms, terms + batch.terms, steps + 1
            yield from clock.emit({"kind": "step", "epoch": epoch, "step": step, "loss": loss,
                                   "grad_norm": grad_norm, "clipped": clipped})

        mean_norms = dict(zip(names, (norm_sum / max(1, steps)).tolist()))
        with guard:
            record = _epoch_record(model, epoch, step, cfg, data, mean_norms,
                                   train_loss=loss_sum / terms if terms else math.nan)
        if record["val_loss"] is None and data.has_val:                 # the last update broke the weights
            yield from clock.emit(_end("diverged", epoch, step, _reason_after_epoch(math.nan, epoch, cfg,
                                                                                   "validation")))
            return
        yield from clock.emit(record)

    yield from clock.emit(_end("completed", cfg.epochs, step, f"Finished {cfg.epochs} epochs ({step} steps)."))


def run_to_end(model_cfg: ModelConfig, train_cfg: TrainConfig, windows: Any) -> tuple[nn.Module, list[dict]]:
    """Build the model (seeded by train_cfg.seed), train it to the end, return (model, records)."""
    model = build_model(model_cfg.validate(), seed=train_cfg.seed)
    records = list(train(model, windows, train_cfg))
    return model, records


def _data_for(windows: Any, device: torch.device, cfg: TrainConfig):
    """What the loop reads: shuffled windows, or (stateful) streams read in order with the state carried."""
    if cfg.stateful:
        return StreamData(windows, cfg, device)
    return WindowData.on(windows, device, cfg)


# --- why a run diverged: one sentence each ---------------------------------------------------------

def _advice(cfg: TrainConfig) -> str:
    if cfg.clip == "off":
        return "lower the learning rate or turn on gradient clipping"
    return "lower the learning rate or the clipping threshold"


def _reason_at_step(loss: float, grad_norm: float, step: int, epoch: int, cfg: TrainConfig) -> str:
    what = f"Loss became {_what(loss)}" if not math.isfinite(loss) else (
        f"The gradient norm became {_what(grad_norm)}")
    return f"{what} at step {step} (epoch {epoch}): the updates exploded — {_advice(cfg)}."


def _reason_after_epoch(loss: float, epoch: int, cfg: TrainConfig, split: str = "training") -> str:
    return (f"The {split} loss became {_what(loss)} after epoch {epoch}: the weights blew up — "
            f"{_advice(cfg)}.")


def _reason_at_init(train_loss: float) -> str:
    return (f"The loss is already {_what(train_loss)} at initialisation: the network's outputs overflow — "
            "lower the init gain or use fewer timesteps.")


def warm_up() -> None:
    """Pay torch's one-off start-up costs now (its import, the first autograd pass and the first
    multi-tensor kernels: ≈1 s, nearly all the import) so that a run's epoch 0 does not. Call it once
    at app start, e.g. on a background thread; later calls cost about a millisecond. It touches no
    model, data or random state of anyone's run."""
    w_hh = torch.zeros(2, 2, requires_grad=True)
    h_t = torch.tanh(torch.ones(1, 2) @ w_hh)
    h_t.sum().backward()
    optimizer = make_optimizer("adam", [w_hh], lr=0.0)
    torch.linalg.vector_norm(w_hh.grad, dtype=torch.float64).tolist()
    optimizer.step()


# --- one optimiser step ---------------------------------------------------------------------------

def _step(model, optimizer, params, batch_loss: Callable[[], torch.Tensor],
          cfg: TrainConfig) -> tuple[float, float, bool, torch.Tensor]:
    """Forward (`batch_loss()`: the batch's loss), backward, clip and (when everything is finite) update.
    One host sync.

    Returns (loss, ‖g‖ before clipping, clipped, per-parameter ‖∂L/∂θ‖ as a (P,) tensor)."""
    optimizer.zero_grad(set_to_none=True)
    loss = batch_loss()
    loss.backward()
    grads = [p.grad if p.grad is not None else torch.zeros_like(p) for p in params]
    # ‖∂L/∂θ‖ per parameter, and ‖g‖ = √Σ_θ ‖∂L/∂θ‖² (the norm Pascanu clipping uses)
    norms = torch.stack([torch.linalg.vector_norm(g, dtype=torch.float64) for g in grads])   # (P,)
    total = torch.linalg.vector_norm(norms)
    watched = [loss.detach().double(), total]
    if cfg.clip == "value":
        watched.append(torch.nn.utils.get_total_norm(grads, norm_type=math.inf).double())   # max |g_i|
    values = torch.stack(watched).tolist()        # the one host/device sync of the step
    loss_v, norm_v = values[0], values[1]
    if not (math.isfinite(loss_v) and math.isfinite(norm_v)):
        optimizer.zero_grad(set_to_none=True)     # refuse the update: weights stay as they were
        return loss_v, norm_v, False, norms

    clipped = False
    if cfg.clip == "norm":
        # Pascanu et al. 2013: if ‖g‖ > c then g ← c · g / ‖g‖
        clipped = norm_v > cfg.clip_value
        if clipped:
            torch.nn.utils.clip_grads_with_norm_(params, cfg.clip_value, total.to(params[0].dtype))
    elif cfg.clip == "value":
        # g_i ← max(−c, min(c, g_i))
        clipped = values[2] > cfg.clip_value
        if clipped:
            torch.nn.utils.clip_grad_value_(params, cfg.clip_value)
    optimizer.step()
    return loss_v, norm_v, clipped, norms


# --- per-epoch measurements -----------------------------------------------------------------------

def _epoch_record(model, epoch: int, step: int, cfg: TrainConfig, data: WindowData | StreamData,
                  param_grad_norms: dict[str, float], train_loss: float | None = None) -> dict:
    """Losses (the training split's only when `train_loss` is not given), the probe (when due) and the
    W_hh spectra, at the model's current weights."""
    model.eval()
    if train_loss is None:
        train_loss = data.split_loss(model, "train")
    val_loss = data.split_loss(model, "val")
    probe_due = cfg.probe_every >= 1 and (epoch % cfg.probe_every == 0 or epoch == cfg.epochs)
    probed = data.probe(model) if probe_due and math.isfinite(train_loss) else None
    layers = [{"sigma_max": float(s["sigma_max"]), "spectral_radius": float(s["spectral_radius"])}
              for s in spectra(model)]
    record = {"kind": "epoch", "epoch": epoch, "step": step, "train_loss": train_loss,
              "val_loss": val_loss if val_loss is None or math.isfinite(val_loss) else None,
              "probe": probed, "spectra": layers, "param_grad_norms": param_grad_norms, "seconds": 0.0}
    if math.isfinite(train_loss):
        record.update(data.epoch_extra(model))                        # text: this epoch's sample
    model.train()
    return record


def _probe_grad_norms(model, names, params, data: WindowData | StreamData, cfg: TrainConfig) -> dict[str, float]:
    """‖∂L/∂θ‖ per parameter on the probe batch (training forward, truncation included); no update."""
    for p in params:
        p.grad = None
    loss = data.probe_loss(model)
    loss.backward()
    norms = [float(torch.linalg.vector_norm(p.grad)) if p.grad is not None else 0.0 for p in params]
    for p in params:
        p.grad = None
    return dict(zip(names, norms))


# --- small helpers --------------------------------------------------------------------------------

def _end(status: str, epoch: int, step: int, reason: str) -> dict:
    """The last record; its seconds are stamped when it is emitted."""
    return {"kind": "end", "status": status, "epoch": epoch, "step": step, "reason": reason,
            "seconds": 0.0}


def _what(x: float) -> str:
    return "NaN" if math.isnan(x) else "infinite"


def device_problem(name: str) -> str | None:
    """The sentence refusing cuda on a machine without a GPU (an unknown name: `TrainConfig.validate`)."""
    cuda_missing = name == "cuda" and not torch.cuda.is_available()
    return "A GPU (cuda) was requested but none is available: choose the cpu device." if cuda_missing else None


def _device(name: str) -> torch.device:
    if problem := device_problem(name):
        raise ConfigError(problem)
    return torch.device(name)


class Stopwatch:
    """Seconds of training: runs while the work runs, stops while it waits or is suspended (the
    trainer's generator here; `LiveRun`'s pauses in live.py). Starts running unless told not to."""

    def __init__(self, running: bool = True) -> None:
        self._total = 0.0
        self._since: float | None = time.perf_counter() if running else None

    def start(self) -> None:
        if self._since is None:
            self._since = time.perf_counter()

    def stop(self) -> None:
        if self._since is not None:
            self._total += time.perf_counter() - self._since
            self._since = None

    def seconds(self) -> float:
        running = time.perf_counter() - self._since if self._since is not None else 0.0
        return self._total + running

    def emit(self, record: dict) -> Iterator[dict]:
        """Stamp `record`'s seconds and yield it with the clock stopped (`yield from clock.emit(r)`)."""
        if "seconds" in record:
            record["seconds"] = self.seconds()
        self.stop()
        yield record
        self.start()
