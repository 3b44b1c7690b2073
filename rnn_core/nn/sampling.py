"""A character model writes: one-hot windows of the last T characters, its logits, and samples drawn
from them (the trainer records one every epoch).

    one_hot_window(info, ids, T) -> (1, T, V)       the last T character ids, zero rows before a short history
    logits(model, x) -> (B, V)                      the model's next-character logits, float64, in eval mode
    model_input(X), window_batch_size(X, V)         text windows (character ids) as the model takes them, and
                                                    how many at once (≤ 16 M one-hot inputs)
    sample(model, info, n_chars, temperature, seed, prompt) -> str     the model writes, one character at a time
    epoch_sample(model, info) -> {"prompt", "sample", "temperature"}    the trainer's per-epoch sample
    stream_sample, epoch_stream_sample                                  the same with the state carried (stateful)
    closer_hits(logits, target, info) -> (hits, n)  a text with known memory (brackets): closers right
    memory_score(model, windows) -> float | None    that fraction on the validation windows (the trainer
                                                    records it each epoch; the verdict judges by it)

Every prediction reads the T characters before it from a zero state, exactly like a training window,
so what is written is what was trained. The sampling RNG is its own seeded `torch.Generator`: the same
weights and seed give the same sample, so the per-epoch samples differ only because the model changed.
Leaves to others: the text data (`data/text_windows.py`), what a text model scores (`measure/text_eval.py`).
"""

from __future__ import annotations

import numpy as np
import torch
from torch import nn

from rnn_core.data.text_windows import TextInfo

MAX_SAMPLE_CHARS = 2000


def device_of(model: nn.Module) -> torch.device:
    return next(model.parameters()).device


def one_hot_window(info: TextInfo, ids: list[int], T: int) -> np.ndarray:
    """The last T character ids as one one-hot window (1, T, V); zero rows pad a shorter history."""
    V = info.vocab.size
    x = np.zeros((1, T, V), dtype=np.float32)
    tail = ids[-T:]
    if tail:
        x[0, np.arange(T - len(tail), T), tail] = 1.0
    return x


def model_input(X: np.ndarray) -> np.ndarray:
    """Text windows as the model takes them: character ids (b, T) as they are (the network reads them
    one-hot, `nn.inputs.as_input`), one-hot (b, T, V) in float32."""
    X = np.ascontiguousarray(X)
    return X if X.dtype.kind in "iu" else X.astype(np.float32, copy=False)


def window_batch_size(X: np.ndarray, V: int, batch: int = 512) -> int:
    """At most `batch` windows, and at most 16 M one-hot inputs (b · T · V) at once: a batch of long
    windows' ids becomes (b, T, V) floats inside the model."""
    return max(1, min(batch, 16_000_000 // max(1, X.shape[1] * V))) if X.ndim >= 2 else batch


@torch.no_grad()
def logits(model: nn.Module, x: np.ndarray) -> torch.Tensor:
    was = model.training
    model.eval()
    try:
        return model(torch.from_numpy(x).to(device_of(model))).double().cpu()          # (B, V)
    finally:
        model.train(was)


@torch.no_grad()
def sample(model: nn.Module, info: TextInfo, n_chars: int = 200, temperature: float = 0.8,
           seed: int = 0, prompt: str = "") -> str:
    """`n_chars` characters drawn from p(next | the last T characters) with logits ÷ temperature."""
    n_chars = max(0, min(int(n_chars), MAX_SAMPLE_CHARS))
    tau = max(float(temperature), 1e-3)
    gen = torch.Generator().manual_seed(int(seed))
    ids = [int(i) for i in info.vocab.encode(prompt)]
    out = []
    for _ in range(n_chars):
        z = logits(model, one_hot_window(info, ids, info.timesteps))[0]                       # (V,)
        # p = softmax(z / τ)
        p = torch.softmax(z / tau, dim=0)
        nxt = int(torch.multinomial(p, 1, generator=gen))
        ids.append(nxt)
        out.append(info.vocab.chars[nxt])
    return "".join(out)


def epoch_prompt(info: TextInfo) -> str:
    """The fixed prompt of the per-epoch samples: the first T characters of the held-out text."""
    return info.heldout[:info.timesteps]


def epoch_sample(model: nn.Module, info: TextInfo) -> dict:
    """The sample the trainer records each epoch (the same prompt and seed every epoch)."""
    prompt = epoch_prompt(info)
    return {"prompt": prompt, "temperature": info.temperature,
            "sample": sample(model, info, info.sample_chars, info.temperature, info.seed, prompt)}


@torch.no_grad()
def stream_sample(model: nn.Module, info: TextInfo, n_chars: int = 200, temperature: float = 0.8,
                  seed: int = 0, prompt: str = "") -> str:
    """As `sample`, but read as one stream (stateful runs): the prompt warms the state from zero, then each
    drawn character is read once and the state carried on, with no window of T characters."""
    n_chars = max(0, min(int(n_chars), MAX_SAMPLE_CHARS))
    tau = max(float(temperature), 1e-3)
    gen = torch.Generator().manual_seed(int(seed))
    eye = torch.eye(info.vocab.size, device=device_of(model))
    ids = [int(i) for i in info.vocab.encode(prompt)]
    x = eye[ids][None] if ids else torch.zeros(1, 1, info.vocab.size, device=device_of(model))   # (1, n, V)
    out, state = [], None
    was = model.training
    model.eval()
    try:
        for _ in range(n_chars):
            z, state = model.forward_steps(x, state)                                     # (1, n, V)
            # p = softmax(z / τ) of the last character read
            p = torch.softmax(z[0, -1].double().cpu() / tau, dim=0)
            nxt = int(torch.multinomial(p, 1, generator=gen))
            out.append(info.vocab.chars[nxt])
            x = eye[nxt].view(1, 1, -1)
    finally:
        model.train(was)
    return "".join(out)


def epoch_stream_sample(model: nn.Module, info: TextInfo) -> dict:
    """`epoch_sample` for a stateful run: the same prompt and seed, the state carried (`stream_sample`)."""
    prompt = epoch_prompt(info)
    return {"prompt": prompt, "temperature": info.temperature, "stateful": True,
            "sample": stream_sample(model, info, info.sample_chars, info.temperature, info.seed, prompt)}


# --------------------------------------------------------------------------- the task's own score
def closer_hits(z: torch.Tensor, target: torch.Tensor, info: TextInfo) -> tuple[int, int]:
    """At each target that is a closer of a grammar with known memory (brackets): is the matching closer
    the likeliest of the closers? (hits, closers seen) for logits z (B, V) and target ids (B,); (0, 0)
    for a text without known memory."""
    closers = [info.vocab.chars.index(c) for c in info.memory.get("closers", "") if c in info.vocab.chars]
    if not closers:
        return 0, 0
    at_closer = torch.isin(target, torch.tensor(closers))
    if not at_closer.any():
        return 0, 0
    # among the closers only: the likeliest one
    pick = z[at_closer][:, closers].argmax(dim=1)
    return int((torch.tensor(closers)[pick] == target[at_closer]).sum()), int(at_closer.sum())


def memory_score(model: nn.Module, windows, batch: int = 512) -> float | None:
    """The task's own score of a text with known memory (brackets): the fraction of closers where the
    matching one is the likeliest of the closers, on the validation windows (else the training ones);
    None for a text without known memory. About 1/3 without memory of the opener, 1 with it."""
    info: TextInfo = windows.text
    if not info.memory.get("closers"):
        return None
    X, y = (windows.X_val, windows.y_val) if len(windows.X_val) else (windows.X_train, windows.y_train)
    hits, n = 0, 0
    batch = window_batch_size(X, info.vocab.size, batch)
    for s in range(0, len(X), batch):
        z = logits(model, model_input(X[s:s + batch]))                                    # (b, V)
        h, k = closer_hits(z, torch.from_numpy(np.asarray(y[s:s + batch]).argmax(axis=1)), info)
        hits, n = hits + h, n + k
    return hits / n if n else None
