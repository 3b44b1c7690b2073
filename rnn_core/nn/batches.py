"""Where the trainer's batches come from when it reads windows: shuffled windows of the training part.

    Batch(loss, terms)                 one optimiser step's work: `loss()` runs its forward, `terms` counts
                                       its targets (a batch's share of the epoch's mean loss)
    WindowData.on(windows, device, cfg)  the splits as tensors, each epoch's shuffled `batches`, a split's
                                       loss, the fixed probe batch and its probe
    split_loss(model, X, y, task)      the task's loss over a whole split, in chunks

The stateful counterpart (streams read in order, the state carried) is `stateful.StreamData`; the loop
that reads either is `train.py`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch

from rnn_core.config import TrainConfig
from rnn_core.interrupt import checkpoint
from rnn_core.nn.probe import probe
from rnn_core.nn.tasks import Task, task_of

# Windows evaluated together when computing a split's loss: bounded by the size of the fused module's
# output (B, T, H) and of the one-hot inputs (B, T, V) a text split's ids become, so nothing takes GBs.
EVAL_ELEMENTS = 4_000_000
EVAL_INPUTS = 16_000_000


@dataclass
class Batch:
    """One optimiser step's work: `loss()` runs the forward; `terms` counts its targets."""
    loss: Callable[[], torch.Tensor]
    terms: int


@dataclass
class WindowData:
    """The splits as windows on the training device, and the fixed probe batch."""

    X_train: torch.Tensor      # (N, T, F), or text's character ids (N, T)
    y_train: torch.Tensor      # (N, O)
    X_val: torch.Tensor
    y_val: torch.Tensor
    X_probe: torch.Tensor      # (P, T, F): cfg.probe_batch training windows, the same all run long
    y_probe: torch.Tensor
    task: Task                 # the loss and per-epoch extras of the windows' task (`tasks.py`)
    windows: Any               # what the task's extras read (text: the vocabulary and held-out text)
    cfg: TrainConfig
    shuffle: torch.Generator   # draws each epoch's order of the training windows

    @classmethod
    def on(cls, windows: Any, device: torch.device, cfg: TrainConfig) -> WindowData:
        X_train, y_train = as_tensor(windows.X_train, device), as_tensor(windows.y_train, device)
        if X_train.shape[0] == 0:
            raise ValueError("There are no training windows: use a longer series, fewer timesteps "
                             "or a larger training fraction.")
        X_probe, y_probe = probe_batch(X_train, y_train, cfg.probe_batch, cfg.seed)
        return cls(X_train, y_train, as_tensor(windows.X_val, device), as_tensor(windows.y_val, device),
                   X_probe, y_probe, task_of(windows), windows, cfg, torch.Generator().manual_seed(cfg.seed))

    @property
    def has_val(self) -> bool:
        return bool(self.X_val.shape[0])

    def batches(self, model, epoch: int) -> Iterator[Batch]:
        """This epoch's shuffled batches of training windows, each with its loss closure."""
        n, k = self.X_train.shape[0], self.cfg.bptt_truncate
        order = torch.randperm(n, generator=self.shuffle).to(self.X_train.device)   # this epoch's shuffle
        for start in range(0, n, self.cfg.batch_size):
            idx = order[start:start + self.cfg.batch_size]
            x, y = self.X_train[idx], self.y_train[idx]
            # L = mean over batch and outputs of (ŷ − y)²   (text: mean −log₂ p(next char), see tasks.py)
            yield Batch(lambda x=x, y=y: self.task.loss(model(x, bptt_truncate=k), y), idx.shape[0])

    def split_loss(self, model, split: str) -> float | None:
        X, y = getattr(self, f"X_{split}"), getattr(self, f"y_{split}")
        return split_loss(model, X, y, self.task) if X.shape[0] else None

    def probe(self, model) -> dict:
        # what training sees: with truncation k the gradient stops k steps back
        return probe(model, self.X_probe, self.y_probe, loss=self.task.probe_loss,
                     bptt_truncate=self.cfg.bptt_truncate)

    def probe_loss(self, model) -> torch.Tensor:
        return self.task.loss(model(self.X_probe, bptt_truncate=self.cfg.bptt_truncate), self.y_probe)

    def epoch_extra(self, model) -> dict:
        return self.task.epoch_extra(model, self.windows) if self.task.epoch_extra is not None else {}


@torch.no_grad()
def split_loss(model, X: torch.Tensor, y: torch.Tensor, task: Task | None = None) -> float:
    """The task's loss over a whole split, in chunks: MSE Σ (ŷ − y)² / (N · O); text Σ −log₂ p / N."""
    T = X.shape[1]
    cfg = getattr(model, "cfg", None)
    H = (cfg.hidden_size * cfg.num_layers) if cfg is not None else 64
    F = X.shape[2] if X.ndim == 3 else (cfg.input_size if cfg is not None else 1)
    chunk = max(1, min(EVAL_ELEMENTS // max(1, T * H), EVAL_INPUTS // max(1, T * F)))
    task = task or task_of(None)
    total = torch.zeros((), dtype=torch.float64, device=X.device)
    for start in range(0, X.shape[0], chunk):
        checkpoint()                                                  # Stop ends a long evaluation here
        y_hat = model(X[start:start + chunk])                         # (b, O)
        total += task.loss_sum(y_hat, y[start:start + chunk])
    return float(total / task.terms(y))


def probe_batch(X: torch.Tensor, y: torch.Tensor, size: int, seed: int) -> tuple[torch.Tensor, torch.Tensor]:
    """A fixed batch of `size` training windows, drawn once with the run's seed, in time order."""
    n = X.shape[0]
    if size >= n:
        return X, y
    pick = torch.randperm(n, generator=torch.Generator().manual_seed(seed))[:max(1, size)]
    pick = pick.sort().values.to(X.device)
    return X[pick], y[pick]


def as_tensor(a: Any, device: torch.device) -> torch.Tensor:
    """numpy (or torch) array on `device`: float32, integer ids (text) as they are; None → empty."""
    if a is None:
        return torch.zeros((0, 1, 1), device=device)
    a = a if isinstance(a, torch.Tensor) else torch.as_tensor(np.ascontiguousarray(a))
    return a.to(device=device, dtype=torch.float32 if a.is_floating_point() else None)
