"""The from-scratch tutorial's own RNN and its hand-written "truncated BPTT", transcribed, next to the
true gradient of the same network — for the Learn page.

The tutorial (an RNN from scratch in NumPy on sin(0), sin(1), …) is where the Playground's
"Sine wave (from scratch tutorial)" preset comes from. Its network differs from the app's Elman RNN:
    h_0 = 0
    h_t = σ(U e_t x_t + W h_{t−1})      σ the sigmoid, no biases; e_t x_t is a vector of zeros with x_t
                                        at position t, so U (H, T) uses a different column at each step
    ŷ   = V h_T                         V (O, H)
    L   = (y − ŷ)² / 2                  one record at a time, learning rate 1e-4, weights U(0, 1)
and its backward pass is not the gradient of L: `article_grads` copies it line by line (its dW adds
W h_{t−1} — which contains no error at all — once per step of the "truncation" window, for every t;
its dV sums over all T steps where only the last one feeds ŷ). `true_grads` is the exact BPTT of the
same network, `autograd_grads` the same numbers from torch autograd, and `article_report` puts them
side by side for one record.

Leaves to others: the app's own NumPy RNN and its BPTT (`scratch.py`), the page (`ui/learn.py`).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

# The tutorial's settings, as it prints them
SEQ_LEN = 50           # T
HIDDEN = 100           # hidden_dim
BPTT_TRUNCATE = 5      # bptt_truncate
CLIP = 10.0            # min_clip_value = −10, max_clip_value = 10
LEARNING_RATE = 1e-4   # learning_rate
PARAMS = ("U", "W", "V")


@dataclass
class ArticleRNN:
    U: np.ndarray    # (H, T)  one input column per timestep
    W: np.ndarray    # (H, H)
    V: np.ndarray    # (O, H)

    @classmethod
    def init(cls, seed: int = 0, hidden: int = HIDDEN, seq_len: int = SEQ_LEN, output: int = 1) -> ArticleRNN:
        """Weights drawn as the tutorial draws them: every entry uniform on (0, 1)."""
        rng = np.random.default_rng(seed)
        return cls(U=rng.uniform(0, 1, (hidden, seq_len)), W=rng.uniform(0, 1, (hidden, hidden)),
                   V=rng.uniform(0, 1, (output, hidden)))


def sine_records(seq_len: int = SEQ_LEN) -> tuple[np.ndarray, np.ndarray]:
    """The tutorial's training records: X (100, T, 1) windows of sin(0 … 199), Y (100, 1) the next value."""
    sin_wave = np.sin(np.arange(200.0))
    num_records = len(sin_wave) - seq_len
    X = np.array([sin_wave[i:i + seq_len] for i in range(num_records - 50)])[:, :, None]
    Y = np.array([sin_wave[i + seq_len] for i in range(num_records - 50)])[:, None]
    return X, Y


def sigmoid(x):
    return 1 / (1 + np.exp(-x))


def article_grads(net: ArticleRNN, x: np.ndarray, y: np.ndarray, bptt_truncate: int = BPTT_TRUNCATE) -> dict:
    """dU, dV, dW for one record exactly as the tutorial computes them (before its clipping).

    x (T, 1), y (1,). The tutorial's own lines, in its own names; only the loop over records is gone.
    """
    U, W, V = net.U, net.W, net.V
    T, hidden_dim = x.shape[0], W.shape[0]
    layers = []
    prev_s = np.zeros((hidden_dim, 1))
    dU, dV, dW = np.zeros(U.shape), np.zeros(V.shape), np.zeros(W.shape)
    dU_t, dV_t, dW_t = np.zeros(U.shape), np.zeros(V.shape), np.zeros(W.shape)
    dU_i, dW_i = np.zeros(U.shape), np.zeros(W.shape)
    # forward pass
    for t in range(T):
        new_input = np.zeros(x.shape)
        new_input[t] = x[t]
        mulu = np.dot(U, new_input)
        mulw = np.dot(W, prev_s)
        add = mulw + mulu
        s = sigmoid(add)
        mulv = np.dot(V, s)
        layers.append({"s": s, "prev_s": prev_s})
        prev_s = s
    # derivative of pred
    dmulv = (mulv - y)
    # backward pass
    for t in range(T):
        dV_t = np.dot(dmulv, np.transpose(layers[t]["s"]))
        dsv = np.dot(np.transpose(V), dmulv)
        ds = dsv
        dadd = add * (1 - add) * ds
        dmulw = dadd * np.ones_like(mulw)
        dprev_s = np.dot(np.transpose(W), dmulw)
        for i in range(t - 1, max(-1, t - bptt_truncate - 1), -1):  # noqa: B007 (the tutorial's loop)
            ds = dsv + dprev_s
            dadd = add * (1 - add) * ds
            dmulw = dadd * np.ones_like(mulw)
            dmulu = dadd * np.ones_like(mulu)
            dW_i = np.dot(W, layers[t]["prev_s"])
            dprev_s = np.dot(np.transpose(W), dmulw)
            new_input = np.zeros(x.shape)
            new_input[t] = x[t]
            dU_i = np.dot(U, new_input)
            dx = np.dot(np.transpose(U), dmulu)  # noqa: F841 (computed and never used, as in the tutorial)
            dU_t += dU_i
            dW_t += dW_i
        dV += dV_t
        dU += dU_t
        dW += dW_t
    return {"U": dU, "W": dW, "V": dV}


def article_step(grads: dict, lr: float = LEARNING_RATE, clip: float = CLIP) -> dict:
    """The tutorial's update: every entry clamped to [−10, 10], then θ ← θ − lr · d. Returns −lr·clip(d)."""
    return {name: -lr * np.clip(d, -clip, clip) for name, d in grads.items()}


def true_grads(net: ArticleRNN, x: np.ndarray, y: np.ndarray) -> dict:
    """∂L/∂U, ∂L/∂W, ∂L/∂V of L = (y − ŷ)²/2 for the same network and record: exact BPTT, all T steps."""
    T = x.shape[0]
    x = x[:, 0]                                                    # (T,)
    hs, As = [np.zeros(net.W.shape[0])], []
    for t in range(T):
        # a_t = U e_t x_t + W h_{t−1} ,  h_t = σ(a_t)
        As.append(net.U[:, t] * x[t] + net.W @ hs[-1])             # (H,)
        hs.append(sigmoid(As[-1]))
    # ŷ = V h_T ;  ∂L/∂ŷ = ŷ − y
    dy = net.V @ hs[T] - y                                         # (O,)
    dV = np.outer(dy, hs[T])                                       # (O, H)
    dU, dW = np.zeros_like(net.U), np.zeros_like(net.W)
    # ∂L/∂h_T = Vᵀ ∂L/∂ŷ
    dh = net.V.T @ dy                                              # (H,)
    for t in range(T, 0, -1):
        # δ_t = ∂L/∂h_t ⊙ σ′(a_t),  σ′(a) = σ(a) σ(−a)  (exact where σ(a) rounds to 1)
        delta = dh * sigmoid(As[t - 1]) * sigmoid(-As[t - 1])      # (H,)
        # ∂L/∂W += δ_t h_{t−1}ᵀ ,  ∂L/∂U[:, t] += δ_t x_t
        dW += np.outer(delta, hs[t - 1])
        dU[:, t - 1] += delta * x[t - 1]
        # ∂L/∂h_{t−1} = Wᵀ δ_t
        dh = net.W.T @ delta
    return {"U": dU, "W": dW, "V": dV}


def autograd_grads(net: ArticleRNN, x: np.ndarray, y: np.ndarray) -> dict:
    """The same gradients from torch autograd (float64), σ written as the tutorial writes it."""
    P = {k: torch.tensor(getattr(net, k), dtype=torch.float64, requires_grad=True) for k in PARAMS}
    xt = torch.from_numpy(np.asarray(x, dtype=np.float64)[:, 0])
    h = torch.zeros(net.W.shape[0], dtype=torch.float64)
    with torch.enable_grad():
        for t in range(len(xt)):
            h = 1 / (1 + torch.exp(-(P["U"][:, t] * xt[t] + P["W"] @ h)))
        loss = ((torch.as_tensor(y, dtype=torch.float64) - P["V"] @ h) ** 2).sum() / 2
        loss.backward()
    return {k: P[k].grad.numpy().copy() for k in PARAMS}


def _cosine(a: np.ndarray, b: np.ndarray) -> float | None:
    na, nb = np.linalg.norm(a), np.linalg.norm(b)
    return float(np.sum(a * b) / (na * nb)) if na > 0 and nb > 0 else None


def article_report(record: int = 0, seed: int = 0) -> dict:
    """For one record of the tutorial's data and its initial weights: per parameter the norm of the
    tutorial's d, of the true gradient, their ratio and cosine, and whether the tutorial's d changes
    when the target y does (a gradient of (y − ŷ)²/2 must)."""
    X, Y = sine_records()
    net = ArticleRNN.init(seed)
    x, y = X[record], Y[record]
    art, true = article_grads(net, x, y), true_grads(net, x, y)
    other = article_grads(net, x, y + 1.0)
    rows = []
    for name in PARAMS:
        a, g = np.linalg.norm(art[name]), np.linalg.norm(true[name])
        rows.append({"parameter": name, "tutorial ‖d‖": float(a), "true ‖∂L/∂θ‖": float(g),
                     "ratio": float(a / g) if g > 0 else float("inf"),
                     "cosine": _cosine(art[name], true[name]),
                     "tutorial's d depends on y": not np.array_equal(art[name], other[name])})
    y_hat = float((net.V @ _last_state(net, x))[0])
    return {"rows": rows, "record": record, "seed": seed, "y": float(y[0]), "y_hat": y_hat,
            "loss": (float(y[0]) - y_hat) ** 2 / 2,
            "clipped_share": float(np.mean(np.abs(art["W"]) > CLIP))}


def _last_state(net: ArticleRNN, x: np.ndarray) -> np.ndarray:
    h = np.zeros(net.W.shape[0])
    for t in range(x.shape[0]):
        h = sigmoid(net.U[:, t] * x[t, 0] + net.W @ h)
    return h
