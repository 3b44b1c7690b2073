"""A character model writes: one-hot windows of the last T characters, its logits, and samples drawn
from them (the trainer records one every epoch).

    one_hot_window(info, ids, T) -> (1, T, V)       the last T character ids, zero rows before a short history
    logits(model, x) -> (B, V)                      the model's next-character logits, float64, in eval mode
    sample(model, info, n_chars, temperature, seed, prompt) -> str     the model writes, one character at a time
    epoch_sample(model, info) -> {"prompt", "sample", "temperature"}    the trainer's per-epoch sample

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
