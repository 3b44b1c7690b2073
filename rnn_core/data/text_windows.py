"""Text as a sequence: the vocabulary and the next-character windows (where the characters come from,
as a frame with one row per line, is `text_sources.py`).

Windows (`text_windows`): the text is split by position (the first `train_frac` of the characters train,
the next `val_frac` validate, the rest test: the held-out lines are text the network never saw); each
window holds the ids of its T characters, X (N, T) uint8, and its target is the next character,
one-hot, y (N, V). The network reads x_t = one-hot(id_t) (`models.as_input`, per batch), so its input
size and output size are both V and the cells, the probe and the trainer see the same one-hot numbers
as if X were materialised, while the windows hold N·T bytes, not N·T·V floats. Windows are spread
evenly over each part (at most `n_windows` in all) and ask the memory budget (`budget.py`) first.
`Windows.text` (a `TextInfo`) keeps the vocabulary, the parts of the text, the unigram entropy of the
training text (the baseline, in bits per character) and the sampling settings.
Leaves to others: sampling, next-character tables and connectivity (`text_eval.py`); the loss (`tasks.py`).
"""

from __future__ import annotations

import math
from collections import Counter
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from rnn_core.config import LIMITS
from rnn_core.data.budget import ask
from rnn_core.data.errors import DataError
from rnn_core.data.text_sources import CLOSERS, MIN_TEXT_CHARS, OPENERS, text_frame
from rnn_core.data.window_types import MIN_WINDOWS, Scaler, Windows
from rnn_core.readable import count, fixed

MAX_VOCAB = LIMITS["input_size"][1]   # distinct characters kept (the network's input size); rarer → UNKNOWN
UNKNOWN = "\ufffd"
ID_DTYPE = np.uint8                   # a window's character ids: V ≤ MAX_VOCAB ≤ 256
assert np.iinfo(ID_DTYPE).max + 1 >= MAX_VOCAB


# ----------------------------------------------------------------------------- vocabulary
@dataclass(frozen=True)
class Vocab:
    chars: str                                     # index → character (UNKNOWN last when present)

    @classmethod
    def of(cls, text: str, max_size: int = MAX_VOCAB) -> Vocab:
        counts = Counter(text)
        if len(counts) <= max_size:
            return cls("".join(sorted(counts)))
        keep = sorted(c for c, _ in counts.most_common(max_size - 1))
        return cls("".join(keep) + UNKNOWN)

    @property
    def size(self) -> int:
        return len(self.chars)

    def encode(self, text: str) -> np.ndarray:
        """Character ids (n,); characters outside the vocabulary become UNKNOWN."""
        index = {c: i for i, c in enumerate(self.chars)}
        unknown = index.get(UNKNOWN, 0)
        return np.fromiter((index.get(c, unknown) for c in text), dtype=np.int64, count=len(text))

    def decode(self, ids) -> str:
        return "".join(self.chars[int(i)] for i in ids)

    def one_hot(self, ids: np.ndarray) -> np.ndarray:
        """ids (…) → (…, V) float32."""
        return np.eye(self.size, dtype=np.float32)[ids]


@dataclass
class TextInfo:
    """What a text run needs beyond X and y; plain data."""

    vocab: Vocab
    train_text: str
    val_text: str
    test_text: str
    unigram_bits: float                # H = −Σ_c p(c) log₂ p(c) over the training text
    timesteps: int                     # T: every prediction reads the T characters before it
    temperature: float = 0.8           # for the per-epoch samples
    sample_chars: int = 200
    seed: int = 0
    memory: dict = field(default_factory=dict)   # brackets: {"span": k, "openers": "([{", "closers": ")]}"}

    @property
    def heldout(self) -> str:
        """The text the network never trains on: the test part (the validation part if that is empty)."""
        return self.test_text or self.val_text


def unigram_bits(ids: np.ndarray, vocab_size: int) -> float:
    """Entropy of the character frequencies, bits per character: the loss of a model with no memory."""
    p = np.bincount(ids, minlength=vocab_size).astype(np.float64)
    p = p[p > 0] / p.sum()
    # H = −Σ p log₂ p
    return float(-(p * np.log2(p)).sum())


def _part_windows(ids: np.ndarray, lo: int, hi: int, T: int, n: int) -> np.ndarray:
    """Target positions of at most `n` windows spread evenly over text[lo:hi] (inputs inside it too)."""
    first, last = lo + T, hi            # targets at first … last−1
    if last <= first or n <= 0:
        return np.zeros(0, dtype=np.int64)
    count = min(n, last - first)
    return np.unique(np.linspace(first, last - 1, count).round().astype(np.int64))


def text_windows(text: str, timesteps: int, n_windows: int, train_frac: float, val_frac: float,
                 temperature: float = 0.8, sample_chars: int = 200, seed: int = 0,
                 memory: dict | None = None, frame: pd.DataFrame | None = None) -> Windows:
    """Next-character windows of `text` (see the module docstring)."""
    T = int(timesteps)
    if len(text) < MIN_TEXT_CHARS:
        raise DataError(f"The text has {len(text)} characters; use at least {MIN_TEXT_CHARS}.")
    n = len(text)
    a, b = int(n * train_frac), int(n * (train_frac + val_frac))
    parts = {"train": (0, a), "val": (a, b), "test": (b, n)}
    shortest = min(hi - lo for name, (lo, hi) in parts.items() if name != "val" or val_frac > 0)
    if shortest <= T:
        raise DataError(f"With {count(n)} characters and T = {T}, a part of the split is shorter than one window; "
                        f"lower the timesteps to at most {max(1, shortest - 1)} or use a longer text.")
    vocab = Vocab.of(text)
    ids = vocab.encode(text)
    targets = {name: _part_windows(ids, lo, hi, T, round(n_windows * (hi - lo) / n))
               for name, (lo, hi) in parts.items()}
    if len(targets["train"]) < MIN_WINDOWS:
        raise DataError(f"Only {len(targets['train'])} training windows fit; use a longer text, fewer "
                        "timesteps or more windows.")
    V = vocab.size
    n_all = sum(len(tg) for tg in targets.values())
    # per window: T ids (1 byte each), the one-hot target (V float32) and its position (int64)
    ask("windows", n_all, T + 4 * V + 8, "text windows",
        fits=lambda most: f"use at most {count(most)} windows at T = {T}, or fewer timesteps")
    eye = np.eye(V, dtype=np.float32)
    id_windows = np.lib.stride_tricks.sliding_window_view(ids.astype(ID_DTYPE), T)   # (n−T+1, T), a view

    def xy(tg: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        # X_i = ids(text[t_i − T … t_i − 1]),  y_i = one-hot(text[t_i])
        return id_windows[tg - T], eye[ids[tg]]                       # (N, T) uint8, (N, V) float32

    (Xa, ya), (Xv, yv), (Xt, yt) = (xy(targets[s]) for s in ("train", "val", "test"))
    info = TextInfo(vocab, text[:a], text[a:b], text[b:], unigram_bits(ids[:a], vocab.size), T,
                    float(temperature), int(sample_chars), int(seed), dict(memory or {}))
    target = "next character"
    identity = Scaler("minmax", [target], np.zeros(1), np.ones(1))
    return Windows(Xa, ya, Xv, yv, Xt, yt, targets["train"], targets["val"], targets["test"],
                   frame=frame if frame is not None else text_frame(text), feature_names=list(vocab.chars),
                   target_name=target, scaler=identity, task="text", target_in_features=None,
                   baseline_mse=None, text=info)


def memory_of(dataset: str, params: dict) -> dict:
    """The known memory span of a synthetic text (brackets), else {}."""
    if dataset == "brackets":
        return {"span": int(params["span"]), "openers": OPENERS, "closers": CLOSERS}
    return {}


def bits_text(bits_per_char: float | None) -> str:
    return "—" if bits_per_char is None or not math.isfinite(bits_per_char) else fixed(bits_per_char)
