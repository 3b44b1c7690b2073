"""The data as streams read in order: what stateful training and its evaluation read instead of windows.

A `Stream` is one sequence of steps: input x_t, target y_t (the next value, or the next character) and a
weight w_t (1 where step t's target counts, 0 for context only). `streams_of(windows)` builds the three
parts of a prepared `Windows`, with the same held-out targets as its windows:

    forecast   x_t = the scaled input row t,  y_t = the scaled target at row t + 1 (every step a target)
    text       x_t = character t,             y_t = character t + 1 (ids here, one-hot when read)
    sequence   the samples one after another; only each sample's last step has a target (its own)

A held-out part (validation, test) is read as one stream continuing the last of the B training streams:
it starts where that stream starts (the last B-th of the training part; with one stream, the data's first
step), everything before the part at weight 0, so its state has read what a stateful model that kept
reading would have. `held_out_start(windows, B)` is that step. `Stream.read(rows)` gathers any
rows (e.g. (B, k) for B parallel streams): float32 arrays, text's inputs as character ids (the network
reads them one-hot, `nn.inputs.as_input`, like text windows).
The streams are a second copy of the data beside its windows, so `streams_of` asks the memory budget
for them first (`budget.ask("windows", …)`), sized from the data alone.
Leaves to others: windows (`windows.py`, `text_windows.py`), the stateful trainer and its evaluation.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from rnn_core.data.budget import ask
from rnn_core.data.errors import DataError
from rnn_core.readable import count

PARTS = ("train", "val", "test")


@dataclass
class Stream:
    x: np.ndarray            # (n, F) float32 scaled inputs, or (n,) int64 character ids (text)
    y: np.ndarray            # (n, O) float32 scaled targets, or (n,) int64 ids of the next character
    w: np.ndarray            # (n,) float32: 1 where the target counts, 0 for warm-up (or no target)
    vocab_size: int = 0      # text: y is read one-hot with this many characters (x stays ids)
    first: int = 0           # the data step of row 0 (forecast: its target is data row first + 1)

    def __len__(self) -> int:
        return len(self.w)

    @property
    def warm(self) -> int:
        """Leading warm-up steps (weight 0 before the first counted target)."""
        counted = np.flatnonzero(self.w)
        return int(counted[0]) if len(counted) else len(self.w)

    def read(self, rows: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """x (…, F), y (…, O), w (…) float32 at the integer array `rows` (any shape); text: x the character
        ids (…) int64, y one-hot (…, V)."""
        if self.vocab_size:
            return self.x[rows], np.eye(self.vocab_size, dtype=np.float32)[self.y[rows]], self.w[rows]
        return self.x[rows], self.y[rows], self.w[rows]

    def segments(self, streams: int) -> np.ndarray:
        """Rows of `streams` parallel streams read in order, (B, m): stream b holds rows b·m … b·m + m − 1,
        m = ⌊n / B⌋ (the last n − B·m rows are left out)."""
        m = len(self) // streams
        if m < 1:
            raise DataError(f"The training part has {count(len(self))} steps, fewer than the {count(streams)} "
                            "streams asked for; use fewer streams or more data.")
        return np.arange(streams * m).reshape(streams, m)


@dataclass
class Streams:
    train: Stream
    val: Stream
    test: Stream
    timesteps: int           # T: the history the probe reads

    def part(self, name: str) -> Stream:
        return getattr(self, name)


def train_steps(windows) -> int:
    """Steps of the training stream (`streams_of(windows).train`), from the sizes alone."""
    if windows.text is not None:
        return len(windows.text.train_text) - 1
    if windows.task == "sequence":
        return len(windows.X_train) * windows.timesteps
    return int(windows.idx_train[-1]) if len(windows.idx_train) else 0


def check_streams(windows, streams: int, timesteps: int) -> None:
    """DataError (one sentence) unless the training part fills `streams` streams of at least T steps each
    (the probe reads T steps of a stream) and the streams fit the memory budget."""
    check_stream_memory(windows)
    n = train_steps(windows)
    if n // streams < timesteps:
        most = max(1, n // timesteps)
        raise DataError(f"The training part has {count(n)} steps: {count(streams)} streams would hold "
                        f"{count(n // streams)} each, fewer than the {count(timesteps)} timesteps the probe reads; "
                        f"use at most {count(most)} streams, fewer timesteps or more data.")


def held_out_start(windows, streams: int = 1) -> int:
    """The step where the last of `streams` training streams starts: a held-out part is read from there."""
    n = train_steps(windows)
    return (streams - 1) * (n // streams)


def streams_of(windows, streams: int = 1) -> Streams:
    """The train / validation / test streams of prepared windows, for a run that reads the training part
    as `streams` parallel streams (see the module docstring)."""
    T, start = windows.timesteps, held_out_start(windows, streams)
    check_stream_memory(windows)
    if windows.text is not None:
        return _text_streams(windows, T, start)
    if windows.task == "sequence":
        return _sequence_streams(windows, T, start)
    return _forecast_streams(windows, T, start)


def stream_bytes(windows) -> tuple[int, int]:
    """(steps, bytes per step) the three streams of `windows` hold, from the sizes alone: text 8-byte ids
    (x and y views of one array) and two float32 weights; forecast the scaled rows in float64 and float32
    and two weights; sequence the samples' inputs twice (concatenated, then as float32), the targets and
    two weights."""
    if windows.text is not None:
        info = windows.text
        return len(info.train_text) + len(info.val_text) + len(info.test_text), 8 + 8
    if windows.task == "sequence":
        X, O = windows.X_train, windows.y_train.shape[1]
        n = (len(X) + len(windows.X_val) + len(windows.X_test)) * windows.timesteps
        return n, 2 * 4 * X.shape[2] + 4 * O + 8
    return len(windows.frame), 12 * len(windows.scaler.columns) + 8


def check_stream_memory(windows) -> None:
    """Ask the memory budget for the streams of `windows` before they are built (one sentence if refused)."""
    n, each = stream_bytes(windows)
    ask("windows", n, each, "stream steps",
        fits=lambda most: f"use at most {count(most)} steps of data for a stateful run, or train on windows")


def _parts(x, y, w, bounds: dict[str, tuple[int, int]], T: int, held_out_from: int, vocab: int = 0) -> Streams:
    """Cut the whole stream into its parts; a held-out part starts at `held_out_from`, the steps before it
    at weight 0."""
    out = {}
    for name, (lo, hi) in bounds.items():
        start = lo if name == "train" else held_out_from
        ww = w[start:hi].copy()
        ww[: lo - start] = 0.0                                   # warm-up: read, never scored
        out[name] = Stream(x[start:hi], y[start:hi], ww, vocab, start)
    return Streams(out["train"], out["val"], out["test"], T)


def _forecast_streams(windows, T: int, held_out_from: int) -> Streams:
    """x_t = scaled inputs of row t, y_t = scaled target of row t + 1; parts by the windows' target rows."""
    sc = windows.scaler
    scaled = sc.transform(windows.frame[sc.columns].to_numpy(dtype=np.float64)).astype(np.float32)  # (n, F+1)
    F = len(windows.feature_names)
    x, y = scaled[:-1, :F], scaled[1:, -1:]                      # step t: row t → target row t + 1
    w = np.ones(len(x), dtype=np.float32)
    # a step's part is its target row's part: step t has target row t + 1
    ends = [int(r[-1]) if len(r) else None for r in (windows.idx_train, windows.idx_val, windows.idx_test)]
    a = ends[0]                                                   # training targets rows 1 … a
    b = ends[1] if ends[1] is not None else a
    return _parts(x, y, w, {"train": (0, a), "val": (a, b), "test": (b, len(x))}, T, held_out_from)


def _text_streams(windows, T: int, held_out_from: int) -> Streams:
    """Character ids of the whole text: x_t = character t, y_t = character t + 1."""
    info = windows.text
    ids = info.vocab.encode(info.train_text + info.val_text + info.test_text)
    x, y = ids[:-1], ids[1:]
    w = np.ones(len(x), dtype=np.float32)
    a = len(info.train_text) - 1                                  # step t predicts character t + 1
    b = a + len(info.val_text)
    return _parts(x, y, w, {"train": (0, a), "val": (a, b), "test": (b, len(x))}, T, held_out_from,
                  vocab=info.vocab.size)


def _sequence_streams(windows, T: int, held_out_from: int) -> Streams:
    """The samples one after another; the target at each sample's last step only."""
    Xs = [windows.X_train, windows.X_val, windows.X_test]
    ys = [windows.y_train, windows.y_val, windows.y_test]
    O = windows.y_train.shape[1]
    x = np.concatenate([X.reshape(-1, X.shape[2]) for X in Xs]).astype(np.float32)   # (N·T, F)
    y = np.zeros((len(x), O), dtype=np.float32)
    w = np.zeros(len(x), dtype=np.float32)
    ends = np.cumsum([len(X) * T for X in Xs])
    last = np.concatenate([yy for yy in ys])                      # (N, O)
    at = np.arange(1, len(last) + 1) * T - 1                      # each sample's last step
    y[at], w[at] = last, 1.0
    bounds = {"train": (0, int(ends[0])), "val": (int(ends[0]), int(ends[1])), "test": (int(ends[1]), int(ends[2]))}
    return _parts(x, y, w, bounds, T, held_out_from)
