"""What each kind of task minimises and measures against: one row per task type, read by the trainer,
the probe, the evaluation, the CLI and the charts (so no front end asks `if task == "text"`).

    forecast   next value of a series      MSE (scaled units)      baseline: persistence (ŷ_t = y_{t−1})
    sequence   one target per sample       MSE (scaled units)      baseline: the constant guess
    text       next character              cross-entropy in bits   baseline: the unigram entropy

`TASKS = {task: Task}`; `task_of(windows)` reads `windows.task` (forecast when absent).
Text targets are one-hot rows y (B, V), so `cross_entropy` with probability targets equals the usual
−log p(next character); dividing by ln 2 turns nats into bits per character.
Leaves to others: the data of each task (`data/windows.py`, `data/text_windows.py`), the per-epoch
sample (`sampling.py`), each task's own evaluation (`measure/evaluate.py`), the loop (`train.py`), the
loss functions (`losses.py`).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from torch import Tensor
from torch.nn import functional as F

from rnn_core.nn.losses import bits, bits_sum, mse_sum


def _text_extra(model: Any, windows: Any) -> dict:
    """The epoch's sample; for a text with known memory (brackets) also the task's own score, the
    closers right on the validation windows, which the verdict judges by."""
    from rnn_core.nn.sampling import epoch_sample, memory_score  # text helpers, only for text runs

    extra = epoch_sample(model, windows.text)
    score = memory_score(model, windows)
    if score is not None:
        extra["memory_accuracy"] = score
    return {"text": extra}


def _text_stream_extra(model: Any, windows: Any) -> dict:
    from rnn_core.nn.sampling import epoch_stream_sample

    return {"text": epoch_stream_sample(model, windows.text)}


@dataclass(frozen=True)
class Task:
    loss: Callable[[Tensor, Tensor], Tensor]       # mean loss of a batch: what the optimiser minimises
    loss_sum: Callable[[Tensor, Tensor], Tensor]   # the same summed over a chunk, float64 (a split's loss)
    terms: Callable[[Tensor], int]                 # how many terms y adds to the mean: loss = sum / terms
    probe_loss: str                                # the probe's name for the loss ("mse", "bits")
    loss_label: str                                # axis label
    baseline_label: str                            # the dashed line on the loss chart
    epoch_extra: Callable[[Any, Any], dict] | None = None   # (model, windows) → more fields per epoch record
    stream_extra: Callable[[Any, Any], dict] | None = None  # the same for a stateful run (state carried)
    verdict_name: str = "the baseline"                      # the baseline in the verdict's sentence


TASKS: dict[str, Task] = {
    "forecast": Task(F.mse_loss, mse_sum, lambda y: y.numel(), "mse", "MSE (scaled)", "persistence baseline",
                     verdict_name="tomorrow = today"),
    "sequence": Task(F.mse_loss, mse_sum, lambda y: y.numel(), "mse", "MSE (scaled)", "constant guess",
                     verdict_name="the constant guess"),
    "text": Task(bits, bits_sum, lambda y: int(y.shape[0]), "bits", "bits per character", "unigram baseline",
                 epoch_extra=_text_extra, stream_extra=_text_stream_extra, verdict_name="the unigram baseline"),
}


def task_of(windows: Any) -> Task:
    """The task row of a `Windows` (or anything with a `.task`); forecast when it has none."""
    return TASKS[getattr(windows, "task", "forecast")]


