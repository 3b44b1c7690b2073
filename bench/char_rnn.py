"""A character model on the Python docs, three ways, for the same CPU time: Karpathy's min-char-rnn written
out in NumPy from its published equations, the app's stateful many-to-many tanh RNN, and its LSTM.

    python -m bench.char_rnn --seconds 120          # each model trains for 120 s of CPU time on all the docs
    python -m bench.char_rnn --quick                # seconds (smoke test)

min-char-rnn (Karpathy 2015, `min-char-rnn.py`): H = 100, one stream read in chunks of 25 characters,
the hidden state carried from chunk to chunk (reset when the text wraps), weights N(0, 0.01²), Adagrad at
0.1 with every gradient entry clipped to ±5:
    h_t = tanh(W_xh x_t + W_hh h_{t−1} + b_h),   y_t = W_hy h_t + b_y,   p_t = softmax(y_t)
    L = −Σ_t log p_t[target_t],  full BPTT over the chunk,  m ← m + g²,  θ ← θ − 0.1 g / √(m + 1e−8)
The app's runs: `train --stateful` (B streams in order, k = 25 steps per update, every character a target,
Adam, norm clipping) on the same text. Every model is scored the same way: the held-out (test) part read as
one stream from a zero state warmed on the 25 characters before it, bits per character, and the unigram
entropy beside them. Training time is CPU time (time.process_time) of one process on one thread (torch and
NumPy's BLAS), so another job on a shared machine slows the wall clock, not the budget; the app's budget
includes its per-epoch validation loss and sample (min-char-rnn has none).
"""

from __future__ import annotations

import os

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")                      # NumPy's BLAS on one thread, like torch below

import math  # noqa: E402
import time  # noqa: E402

import numpy as np  # noqa: E402

from bench.common import parser, setup_threads, table  # noqa: E402

CHUNK = 25           # min-char-rnn's seq_length, and the app's truncation k
HIDDEN = 100


# ----------------------------------------------------------------------------- min-char-rnn, in NumPy
class MinCharRNN:
    """Karpathy's min-char-rnn: the forward, the backward through one chunk, Adagrad; column vectors."""

    def __init__(self, vocab: int, hidden: int = HIDDEN, seed: int = 0, lr: float = 0.1):
        rng = np.random.default_rng(seed)
        self.W_xh = rng.standard_normal((hidden, vocab)) * 0.01
        self.W_hh = rng.standard_normal((hidden, hidden)) * 0.01
        self.W_hy = rng.standard_normal((vocab, hidden)) * 0.01
        self.b_h, self.b_y = np.zeros((hidden, 1)), np.zeros((vocab, 1))
        self.lr, self.vocab = lr, vocab
        self.mem = [np.zeros_like(p) for p in self.params]

    @property
    def params(self) -> list[np.ndarray]:
        return [self.W_xh, self.W_hh, self.W_hy, self.b_h, self.b_y]

    def step(self, h: np.ndarray, c: int) -> tuple[np.ndarray, np.ndarray]:
        """One character: h_t = tanh(W_xh x_t + W_hh h_{t−1} + b_h), log p_t (V, 1)."""
        h = np.tanh(self.W_xh[:, [c]] + self.W_hh @ h + self.b_h)
        y = self.W_hy @ h + self.b_y
        return h, y - (y.max() + np.log(np.exp(y - y.max()).sum()))

    def loss_and_grads(self, inputs: list[int], targets: list[int], h_prev: np.ndarray):
        """min-char-rnn's lossFun: nats over the chunk, the gradients (full BPTT over it), the last h."""
        hs, ps, loss = {-1: h_prev}, {}, 0.0
        for t, c in enumerate(inputs):
            hs[t], logp = self.step(hs[t - 1], c)
            ps[t] = np.exp(logp)
            loss -= float(logp[targets[t], 0])
        dW_xh, dW_hh, dW_hy = (np.zeros_like(p) for p in (self.W_xh, self.W_hh, self.W_hy))
        db_h, db_y = np.zeros_like(self.b_h), np.zeros_like(self.b_y)
        dh_next = np.zeros_like(hs[0])
        for t in reversed(range(len(inputs))):
            # ∂L/∂y_t = p_t − one_hot(target)
            dy = ps[t].copy()
            dy[targets[t]] -= 1
            dW_hy += dy @ hs[t].T
            db_y += dy
            # ∂L/∂h_t = W_hyᵀ dy + the gradient from h_{t+1};  through tanh: (1 − h_t²)
            dh_raw = (1 - hs[t] ** 2) * (self.W_hy.T @ dy + dh_next)
            db_h += dh_raw
            dW_xh[:, [inputs[t]]] += dh_raw
            dW_hh += dh_raw @ hs[t - 1].T
            dh_next = self.W_hh.T @ dh_raw
        grads = [dW_xh, dW_hh, dW_hy, db_h, db_y]
        for g in grads:
            np.clip(g, -5, 5, out=g)                              # clip every entry to ±5
        return loss, grads, hs[len(inputs) - 1]

    def adagrad(self, grads: list[np.ndarray]) -> None:
        for p, g, m in zip(self.params, grads, self.mem):
            m += g * g                                            # m ← m + g²
            p -= self.lr * g / np.sqrt(m + 1e-8)                  # θ ← θ − lr g / √(m + ε)

    def train_for(self, ids: np.ndarray, cpu_seconds: float) -> dict:
        """min-char-rnn's loop over `ids` until `cpu_seconds` of CPU time have passed."""
        t0, p, n, h = time.process_time(), 0, 0, np.zeros((self.W_hh.shape[0], 1))
        while time.process_time() - t0 < cpu_seconds:
            if p + CHUNK + 1 >= len(ids) or n == 0:
                h, p = np.zeros_like(h), 0                        # reset at the start and when the text wraps
            inputs, targets = ids[p:p + CHUNK].tolist(), ids[p + 1:p + CHUNK + 1].tolist()
            _, grads, h = self.loss_and_grads(inputs, targets, h)
            self.adagrad(grads)
            p, n = p + CHUNK, n + 1
        return {"updates": n, "chars": n * CHUNK, "seconds": time.process_time() - t0}

    def bits(self, ids: np.ndarray, warm: int) -> float:
        """Bits per character over ids[warm + 1:], read as one stream from a zero state."""
        h, nats = np.zeros((self.W_hh.shape[0], 1)), 0.0
        for t in range(len(ids) - 1):
            h, logp = self.step(h, int(ids[t]))
            if t >= warm:
                nats -= float(logp[ids[t + 1], 0])
        return nats / (len(ids) - 1 - warm) / math.log(2)


# ----------------------------------------------------------------------------- the app's runs
def app_run(cell: str, windows, cpu_seconds: float, streams: int, lr: float) -> dict:
    """The app's stateful trainer on the same text until `cpu_seconds` of CPU time, then its held-out score."""
    from rnn_core.config import TrainConfig
    from rnn_core.data.streams import streams_of
    from rnn_core.nn.model_config import ModelConfig
    from rnn_core.nn.models import build_model
    from rnn_core.nn.stateful import stream_loss
    from rnn_core.nn.tasks import task_of
    from rnn_core.nn.train import train

    V = windows.text.vocab.size
    model = build_model(ModelConfig(cell=cell, hidden_size=HIDDEN, input_size=V, output_size=V), seed=0)
    cfg = TrainConfig(optimizer="adam", lr=lr, epochs=500, clip="norm", clip_value=5.0, stateful=True,
                      stateful_streams=streams, bptt_truncate=CHUNK, probe_every=0)
    t0 = time.process_time()
    steps = sum(1 for r in train(model, windows, cfg, control=lambda: time.process_time() - t0 < cpu_seconds)
                if r["kind"] == "step")
    seconds = time.process_time() - t0
    bits = stream_loss(model, streams_of(windows).test, task_of(windows))
    return {"updates": steps, "chars": steps * streams * CHUNK, "seconds": seconds, "bits": bits}


def main(argv: list[str] | None = None, summary: list[str] | None = None) -> int:
    p = parser(__doc__.splitlines()[0])
    p.add_argument("--seconds", type=float, default=120.0, help="CPU seconds of training per model (120)")
    p.add_argument("--length", type=int, default=500_000, help="characters of the Python docs (500,000: all of them)")
    p.add_argument("--streams", type=int, default=32, help="the app's parallel streams B (32)")
    args = p.parse_args(argv)
    if args.quick:
        args.seconds, args.length = 1.0, 5_000
    setup_threads(1)
    from rnn_core.config import DataConfig
    from rnn_core.data.windows import prepare

    windows = prepare(DataConfig(dataset="pydoc", timesteps=CHUNK, train_frac=0.8, val_frac=0.1,
                                 params={"length": args.length, "windows": 200}))
    info = windows.text
    ids = info.vocab.encode(info.train_text + info.val_text + info.test_text)
    train_ids = ids[:len(info.train_text)]
    held = ids[len(ids) - len(info.test_text) - CHUNK - 1:]          # 25 characters of warm-up, then the test part
    rows = []
    ref = MinCharRNN(info.vocab.size)
    done = ref.train_for(train_ids, args.seconds)
    rows.append(("min-char-rnn (NumPy, 1 stream, Adagrad 0.1)", done, ref.bits(held, CHUNK)))
    for cell, lr in (("rnn", 0.002), ("lstm", 0.005)):
        done = app_run(cell, windows, args.seconds, args.streams, lr)
        rows.append((f"app: stateful {cell}, {args.streams} streams, k = {CHUNK}, Adam {lr:g}", done, done["bits"]))
    print(f"The Python docs: {len(ids):,} characters ({len(info.test_text):,} held out), "
          f"{info.vocab.size} distinct; unigram entropy {info.unigram_bits:.3f} bits/char; "
          f"{args.seconds:g} s of CPU time per model (one thread).")
    print(table(["model", "CPU s", "updates", "characters read", "held-out bits/char"],
                [(name, f"{d['seconds']:.1f}", f"{d['updates']:,}", f"{d['chars']:,}", f"{bits:.3f}")
                 for name, d, bits in rows]))
    if summary is not None:
        summary.append("Char models (" + ", ".join(f"{name.split(',')[0]}: {bits:.3f}" for name, _, bits in rows)
                       + " bits/char held out)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
