"""Stateful training: the state flows forward for ever, the gradient only k2 steps back.

The training part is read as B parallel streams (`Stream.segments`), in order. Update j reads k1 new
steps of every stream from the state carried so far and back-propagates k2 ≥ k1 steps (Williams &
Peng's truncated BPTT(k2; k1)): it runs steps [e − k2, e) with e = the end of its new steps, every new step
is a target (many-to-many), and the state it hands on is detached — never reset, except where the
user chose (`state_reset`: each epoch, never, or every N updates).

    updates(m, k1, k2, ...) -> list[Update]     one epoch's schedule over streams of m steps
    stream_memory_score(model, streams, info)   brackets' closers right, held-out text read as one stream
    StreamData(windows, cfg, device)            what the trainer reads in stateful mode: batches (one per
                                                update, with its loss closure), a part's loss read as one
                                                stream, and the fixed probe batch with its carried state
    stream_chunks(model, stream, streams)       (ŷ, y) of a stream's scored steps, read in order, in chunks
                                                of `eval_chunk(model, B)` steps
    stream_loss(model, stream, task, streams)   a part's loss, read in order with the state carried
    scored_outputs(model, stream)               ŷ at every scored step of one stream

An update's loss is the task's mean over its new steps, L = (1/|new|) Σ_{t ∈ [new, end)} ℓ(ŷ_t, y_t), and
its forward runs in two pieces, [start, keep) and [keep, end), so the state at `keep` (where the next
update begins back-propagating) is exact without a second pass. A step of weight w_t = 0 (the data before
a held-out part, or a sequence sample's steps before its end) is read but not scored.
Leaves to others: the streams (`streams.py`), the loop and its records (`train.py`), the probe (`probe.py`).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
from torch import Tensor

from rnn_core.config import TrainConfig
from rnn_core.data.errors import DataError
from rnn_core.data.streams import Stream, Streams, check_streams, streams_of
from rnn_core.interrupt import checkpoint
from rnn_core.nn.batches import EVAL_ELEMENTS, EVAL_INPUTS, Batch
from rnn_core.nn.cells import final_state, unrolled_forward
from rnn_core.nn.probe import probe
from rnn_core.nn.sampling import closer_hits
from rnn_core.nn.tasks import Task, task_of

EVAL_CHUNK = 2048        # steps of a part read per no-grad call when its loss is measured


@dataclass(frozen=True)
class Update:
    """One update of every stream: its gradient reaches back to `start`, its targets are [new, end)."""
    start: int               # first step the gradient reaches (the carried state is the one before it)
    new: int                 # first new step: its targets count
    end: int                 # one past the last new step
    keep: int                # the state after step keep − 1 is carried to the next update
    reset: bool              # the state is set to zero before this update


def streams_read(cfg: TrainConfig) -> int:
    """How many parallel streams a run read its training part as: 0 for a run on windows."""
    return cfg.stateful_streams if cfg.stateful else 0


def chunk_lengths(cfg: TrainConfig, timesteps: int) -> tuple[int, int]:
    """(k1, k2): new steps per update and steps back-propagated (0 means T for k2, k2 for k1)."""
    k2 = cfg.bptt_truncate or timesteps
    return (cfg.stateful_step or k2), k2


def updates(m: int, k1: int, k2: int, first_update: int = 0, reset_rule: str = "epoch",
            every: int = 0) -> list[Update]:
    """One epoch's updates over streams of m steps; `first_update` is the run's count before it (for
    a reset every N updates). The gradient never reaches past the epoch's start or the last reset."""
    ends = [*range(k1, m, k1), m]
    news = [0, *ends[:-1]]                                        # where each update's new steps begin
    floor, rows = 0, []
    for j, (new, end) in enumerate(zip(news, ends)):
        reset = (reset_rule == "epoch" and j == 0) or (reset_rule == "steps" and (first_update + j) % every == 0)
        if reset:
            floor = new                                           # nothing before a reset is back-propagated
        rows.append((max(end - k2, floor), new, end, reset))
    out = []
    for j, (start, new, end, reset) in enumerate(rows):
        nxt = rows[j + 1] if j + 1 < len(rows) else None
        keep = nxt[0] if nxt is not None and not nxt[3] else end   # where the next update starts back-propagating
        out.append(Update(start, new, end, keep, reset))
    return out


def _zero_like(state):
    if state is None:
        return None
    return tuple(torch.zeros_like(s) for s in state) if isinstance(state, tuple) else torch.zeros_like(state)


def _detach(state):
    if state is None:
        return None
    return tuple(s.detach() for s in state) if isinstance(state, tuple) else state.detach()


def _cast(state, device, dtype=torch.float32):
    """A carried state (None, a tensor or a tuple of them) on `device` as `dtype`."""
    if state is None:
        return None
    if isinstance(state, tuple):
        return tuple(s.to(device=device, dtype=dtype) for s in state)
    return state.to(device=device, dtype=dtype)


def _tensors(stream: Stream, rows: np.ndarray, device) -> tuple[Tensor, Tensor, Tensor]:
    x, y, w = stream.read(rows)
    return (torch.as_tensor(x, device=device), torch.as_tensor(y, device=device),
            torch.as_tensor(w, device=device))


def _steps(model, x: Tensor, state, keep: int):
    """ŷ over x (B, L, F) from `state`, in two pieces split at `keep`: (ŷ (B, L, O), state at keep, end state)."""
    if keep > 0:
        y1, at_keep = model.forward_steps(x[:, :keep], state)
    else:
        y1, at_keep = None, state
    if keep < x.shape[1]:
        y2, at_end = model.forward_steps(x[:, keep:], at_keep)
    else:
        y2, at_end = None, at_keep
    parts = [y for y in (y1, y2) if y is not None]
    return torch.cat(parts, dim=1) if len(parts) > 1 else parts[0], at_keep, at_end


def scored_loss(task: Task, y_hat: Tensor, y: Tensor, w: Tensor) -> tuple[Tensor, int]:
    """The task's mean loss over the steps whose weight is set, and how many terms that mean has."""
    keep = w.reshape(-1) > 0
    y_hat, y = y_hat.reshape(-1, y_hat.shape[-1])[keep], y.reshape(-1, y.shape[-1])[keep]
    return task.loss(y_hat, y), int(keep.sum())


class StreamData:
    """The trainer's data in stateful mode: the streams, the carried state, and what is measured on them."""

    def __init__(self, windows: Any, cfg: TrainConfig, device: torch.device):
        self.windows, self.cfg, self.device = windows, cfg, device
        self.task = task_of(windows)
        self.streams: Streams = streams_of(windows, cfg.stateful_streams)
        self.k1, self.k2 = chunk_lengths(cfg, self.streams.timesteps)
        check_streams(windows, cfg.stateful_streams, self.streams.timesteps)
        self.rows = self.streams.train.segments(cfg.stateful_streams)          # (B, m)
        self.n_updates = 0
        self.state = None
        B, m, T = *self.rows.shape, self.streams.timesteps
        if not self.streams.train.w.any():
            raise DataError("The training part has no target to learn from; use more data.")
        # the probe's fixed place: the first P streams, at the first update that ends at or after 2T
        self.probe_rows = self.rows[: max(1, min(cfg.probe_batch, B))]
        self.probe_update = next(u for u in updates(m, self.k1, self.k2) if u.end >= min(2 * T, m))

    @property
    def has_val(self) -> bool:
        return bool(self.streams.val.w.any())

    def batches(self, model, epoch: int) -> Iterator[Batch]:
        """One Batch per update of this epoch, in order; updates whose new steps hold no target only
        move the state on (no optimiser step)."""
        cfg = self.cfg
        for u in updates(self.rows.shape[1], self.k1, self.k2, self.n_updates, cfg.state_reset,
                         cfg.state_reset_every):
            self.n_updates += 1
            if u.reset:
                self.state = _zero_like(self.state)
            x, y, w = _tensors(self.streams.train, self.rows[:, u.start:u.end], self.device)
            w = w.clone()
            w[:, : u.new - u.start] = 0.0                       # steps before `new` were scored last update
            terms = int((w > 0).sum())
            if terms == 0:
                with torch.no_grad():
                    self.state = _detach(_steps(model, x, self.state, u.keep - u.start)[1])
                continue
            yield Batch(self._loss_of(model, x, y, w, u.keep - u.start), terms)

    def _loss_of(self, model, x: Tensor, y: Tensor, w: Tensor, keep: int) -> Callable[[], Tensor]:
        def loss() -> Tensor:
            y_hat, at_keep, _ = _steps(model, x, self.state, keep)          # (B, end − start, O)
            self.state = _detach(at_keep)                         # carried on, never back-propagated into
            # L = (1/|new|) Σ_{t ∈ new steps} ℓ(ŷ_t, y_t)   (the steps before `new` have w = 0)
            return scored_loss(self.task, y_hat, y, w)[0]
        return loss

    def split_loss(self, model, split: str) -> float | None:
        """The part's loss read in order, state carried: training as the B streams, held-out as one."""
        stream = self.streams.part(split)
        if not stream.w.any():
            return None
        return stream_loss(model, stream, self.task, self.cfg.stateful_streams if split == "train" else 1,
                           self.device)

    def probe_batch(self, model) -> dict:
        """The probe's inputs: P streams' last T steps before a fixed update end e, the state they carry
        into that history (run from the stream's start at the current weights, float64, the written-out
        equations: exact like the probe), and the update's
        targets (its k1 new steps); plus the truncation k2, the update's end `e` and where its new steps
        begin in the window (`new_from`)."""
        T, rows, u = self.streams.timesteps, self.probe_rows, self.probe_update
        e = u.end                                                 # the probed update: new steps [u.new, e)
        state = None
        if e > T:
            x0, _, _ = self.streams.train.read(rows[:, : e - T])
            with torch.no_grad():
                state = final_state(unrolled_forward(model, x0))  # float64: the state carried into the window
        x, y, w = self.streams.train.read(rows[:, e - T:e])
        w = w.copy()
        w[:, : u.new - (e - T)] = 0.0                             # only the update's new steps are targets
        return {"X": x, "y": y, "weights": w, "state": _detach(state), "bptt_truncate": self.k2, "end": e,
                "new_from": u.new - (e - T)}

    def probe(self, model) -> dict:
        """The exact probe of the update at the probed point (see `probe_batch`): ‖∂L/∂h_t‖ cut k2 steps
        back, and "carry" ‖∂h_T/∂x_t‖, how far back the carried state still holds the input; "new_from"
        is where the update's new steps (its targets) begin in the window."""
        b = self.probe_batch(model)
        record = probe(model, b["X"], b["y"], loss=self.task.probe_loss, bptt_truncate=b["bptt_truncate"],
                       state=b["state"], weights=b["weights"], carry=True)
        record["new_from"] = b["new_from"]
        return record

    def probe_loss(self, model) -> Tensor:
        """The probed update's loss through the trained model (its forward, truncation included)."""
        b = self.probe_batch(model)
        x, y, w = (torch.as_tensor(a, device=self.device) for a in (b["X"], b["y"], b["weights"]))
        cut = x.shape[1] - b["bptt_truncate"]
        state = _cast(b["state"], self.device)
        if cut > 0:
            with torch.no_grad():
                _, state = model.forward_steps(x[:, :cut], state)
        y_hat, _ = model.forward_steps(x[:, cut:], _detach(state))
        return scored_loss(self.task, y_hat, y[:, cut:], w[:, cut:])[0]

    def epoch_extra(self, model) -> dict:
        """More fields per epoch record (text: a sample written with the state carried, and for a text
        with known memory the closers right on validation read as one stream)."""
        extra = self.task.stream_extra
        out = extra(model, self.windows) if extra is not None else {}
        score = stream_memory_score(model, self.streams, self.windows.text) if "text" in out else None
        if score is not None:
            out["text"]["memory_accuracy"] = score
        return out


def stream_chunks(model, stream: Stream, streams: int = 1, device=None) -> Iterator[tuple[Tensor, Tensor]]:
    """(ŷ, y) of the scored steps of `stream`, chunk by chunk, each (n, O): the stream read in order as
    `streams` parallel streams from a zero state, the state carried from chunk to chunk; no gradient, in
    eval mode (the model's mode is restored afterwards)."""
    device = device or next(model.parameters()).device
    rows = stream.segments(streams) if streams > 1 else np.arange(len(stream))[None]
    k = eval_chunk(model, rows.shape[0])
    state, was = None, model.training
    model.eval()
    try:
        with torch.no_grad():
            for start in range(0, rows.shape[1], k):
                checkpoint()                                      # Stop ends a long evaluation here
                x, y, w = _tensors(stream, rows[:, start:start + k], device)
                y_hat, state = model.forward_steps(x, state)      # (B, k, O)
                keep = w.reshape(-1) > 0
                if keep.any():
                    yield y_hat.reshape(-1, y_hat.shape[-1])[keep], y.reshape(-1, y.shape[-1])[keep]
    finally:
        model.train(was)


def eval_chunk(model, streams: int) -> int:
    """Steps of `streams` parallel streams read per no-grad call: EVAL_CHUNK, fewer where B · k inputs,
    targets (text: one-hot, V each) or hidden states (H per layer) would pass the windows' own bounds."""
    cfg = model.cfg
    width = max(cfg.input_size, cfg.output_size)
    return max(1, min(EVAL_CHUNK, EVAL_INPUTS // (streams * width),
                      EVAL_ELEMENTS // (streams * cfg.hidden_size * cfg.num_layers)))


def stream_memory_score(model, streams: Streams, info) -> float | None:
    """The closers right of a text with known memory (brackets; `sampling.memory_score` for windows) on
    the validation text (else the training text) read as the evaluation reads it: one stream continuing
    the last training stream, the state carried. None for a text without known memory."""
    if not info.memory.get("closers"):
        return None
    stream = streams.val if streams.val.w.any() else streams.train
    hits, n = 0, 0
    for z, y in stream_chunks(model, stream):                       # logits (b, V), one-hot targets (b, V)
        h, k = closer_hits(z.double().cpu(), y.argmax(dim=1).cpu(), info)
        hits, n = hits + h, n + k
    return hits / n if n else None


def scored_outputs(model, stream: Stream) -> np.ndarray:
    """ŷ at every scored step of `stream`, in order, (n, O) float64: the stream read as one, state carried."""
    outs = [y_hat.double().cpu().numpy() for y_hat, _ in stream_chunks(model, stream)]
    return np.concatenate(outs) if outs else np.zeros((0, model.cfg.output_size))


def stream_loss(model, stream: Stream, task: Task, streams: int = 1, device=None) -> float:
    """The task's loss over `stream`'s scored steps read in order (`stream_chunks`): Σ loss / Σ terms."""
    total, terms = 0.0, 0
    for y_hat, y in stream_chunks(model, stream, streams, device):
        total += float(task.loss_sum(y_hat, y))
        terms += task.terms(y)
    return total / terms if terms else math.nan
