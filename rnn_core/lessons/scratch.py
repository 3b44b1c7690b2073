"""A NumPy-only Elman RNN (tanh) with a hand-written forward pass and backpropagation through time.

What "BPTT" actually computes, written out for the Learn page and the Gradient Lab: `ScratchRNN`
(weights U, W, V, b, c), its `forward`, its `bptt` (optionally truncated), `autograd_gradients` (the
same gradients from torch autograd, for comparison), `train_scratch`, a tiny SGD loop with
clipping by value, and `scratch_report`, the two backward passes side by side with what truncation
cuts (the Learn page's table). Leaves to others: the trainable torch models (`models.py`), the probe
(`probe.py`).

The network, for one window x_1..x_T (rows are samples; weights act on column vectors):
    h_0 = 0
    h_t = tanh(U x_t + W h_{t-1} + b)          U (H, F), W (H, H), b (H,)
    ŷ   = V h_T + c                            V (O, H), c (O,)
    L   = mean over samples and outputs of (ŷ − y)²   (the loss is on the last step only,
                                                       like nn.MSELoss on the model's ŷ)
In torch names: U = rnn.weight_ih_l0, W = rnn.weight_hh_l0, b = rnn.bias_ih_l0 + rnn.bias_hh_l0,
V = head.weight, c = head.bias (see `ScratchRNN.from_model`).

Truncated BPTT with k > 0: the backward pass stops after k steps, so only steps t = T−k+1..T
contribute to ∂L/∂U, ∂L/∂W, ∂L/∂b, and h_{T−k} acts as a constant. That is exactly what
`RNNModel.forward(x, bptt_truncate=k)` computes for the same weights (tests hold them equal).
Unlike the tutorial this grew from, the derivative of tanh is taken at h_t (1 − h_t²), the input of
step t is x_t alone, and ∂L/∂W_t uses h_{t−1} of the same step.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import torch

PARAM_NAMES = ("U", "W", "V", "b", "c")


def _batch(X, y=None) -> tuple[np.ndarray, np.ndarray | None]:
    """Accept one window x (T, F) / y (O,) or a batch X (B, T, F) / y (B, O); return the batch form."""
    X = np.asarray(X, dtype=np.float64)
    if X.ndim == 2:
        X = X[None]
        y = None if y is None else np.asarray(y, dtype=np.float64).reshape(1, -1)
    elif y is not None:
        y = np.asarray(y, dtype=np.float64).reshape(X.shape[0], -1)
    if X.ndim != 3:
        raise ValueError(f"X must be (T, F) or (B, T, F), got shape {X.shape}.")
    return X, y


@dataclass
class BPTTResult:
    """What one hand-written backward pass gives."""
    loss: float
    y_hat: np.ndarray                          # (B, O)
    grads: dict[str, np.ndarray]               # ∂L/∂U, ∂L/∂W, ∂L/∂V, ∂L/∂b, ∂L/∂c
    dh_norms: list[float]                      # ‖∂L/∂h_t‖ for t = 1..T (index 0 = first step)
    contrib_W_hh: list[float]                  # ‖δ_t h_{t−1}ᵀ‖_F: step t's share of ∂L/∂W (0 if cut)


@dataclass
class ScratchRNN:
    U: np.ndarray    # (H, F)  input → hidden
    W: np.ndarray    # (H, H)  hidden → hidden
    V: np.ndarray    # (O, H)  hidden → output
    b: np.ndarray    # (H,)    hidden bias
    c: np.ndarray    # (O,)    output bias

    @classmethod
    def init(cls, input_size: int = 1, hidden_size: int = 16, output_size: int = 1,
             seed: int = 0) -> ScratchRNN:
        """Uniform ±1/√H for every weight (torch's default for nn.RNN), from a seeded generator."""
        rng = np.random.default_rng(seed)
        s = 1.0 / np.sqrt(hidden_size)
        F, H, O = input_size, hidden_size, output_size
        return cls(U=rng.uniform(-s, s, (H, F)), W=rng.uniform(-s, s, (H, H)),
                   V=rng.uniform(-s, s, (O, H)), b=rng.uniform(-s, s, H), c=rng.uniform(-s, s, O))

    @classmethod
    def from_model(cls, model) -> ScratchRNN:
        """The weights of a one-layer tanh `RNNModel` (cell "rnn"), as float64 NumPy arrays."""
        if model.cfg.cell != "rnn" or model.cfg.num_layers != 1:
            raise ValueError("Only a one-layer Elman tanh model maps onto the from-scratch RNN.")
        p = {k: v.detach().cpu().double().numpy().copy() for k, v in model.state_dict().items()}
        return cls(U=p["rnn.weight_ih_l0"], W=p["rnn.weight_hh_l0"], V=p["head.weight"],
                   b=p["rnn.bias_ih_l0"] + p["rnn.bias_hh_l0"], c=p["head.bias"])

    def params(self) -> dict[str, np.ndarray]:
        return {name: getattr(self, name) for name in PARAM_NAMES}

    def forward(self, X) -> tuple[np.ndarray, list[np.ndarray]]:
        """X (B, T, F) or (T, F) → ŷ (B, O) and [h_0, h_1, …, h_T], each (B, H)."""
        X, _ = _batch(X)
        B, T, _ = X.shape
        hs = [np.zeros((B, self.W.shape[0]))]                            # h_0 = 0
        for t in range(T):
            # h_t = tanh(U x_t + W h_{t-1} + b)
            hs.append(np.tanh(X[:, t] @ self.U.T + hs[-1] @ self.W.T + self.b))   # (B, H)
        # ŷ = V h_T + c
        y_hat = hs[-1] @ self.V.T + self.c                               # (B, O)
        return y_hat, hs

    def predict(self, X) -> np.ndarray:
        return self.forward(X)[0]

    def loss(self, X, y) -> float:
        X, y = _batch(X, y)
        return float(np.mean((self.predict(X) - y) ** 2))

    def bptt(self, X, y, truncate: int = 0) -> BPTTResult:
        """The hand-written backward pass; `truncate` = k > 0 walks back only k steps from T."""
        X, y = _batch(X, y)
        T = X.shape[1]
        y_hat, hs = self.forward(X)
        n = y_hat.size
        stop = T - truncate if 0 < truncate < T else 0                   # last step index not reached
        # ∂L/∂ŷ = 2 (ŷ − y) / (B·O)
        dy = 2.0 * (y_hat - y) / n                                       # (B, O)
        # ∂L/∂V = Σ_b ∂L/∂ŷ h_Tᵀ ,  ∂L/∂c = Σ_b ∂L/∂ŷ
        dV, dc = dy.T @ hs[T], dy.sum(axis=0)                            # (O, H), (O,)
        dU, dW, db = np.zeros_like(self.U), np.zeros_like(self.W), np.zeros_like(self.b)
        # ∂L/∂h_T = Vᵀ ∂L/∂ŷ
        dh = dy @ self.V                                                 # (B, H)
        dh_norms, contrib = [0.0] * T, [0.0] * T
        for t in range(T, stop, -1):                                     # t = T, T−1, …, stop+1
            dh_norms[t - 1] = float(np.linalg.norm(dh))
            # δ_t = ∂L/∂a_t = ∂L/∂h_t ⊙ (1 − h_t²)     (a_t the pre-activation)
            delta = dh * (1.0 - hs[t] ** 2)                              # (B, H)
            # ∂L/∂U += δ_t x_tᵀ ,  ∂L/∂W += δ_t h_{t−1}ᵀ ,  ∂L/∂b += δ_t
            dU += delta.T @ X[:, t - 1]                                  # (H, F)
            dW_t = delta.T @ hs[t - 1]                                   # (H, H)
            dW += dW_t
            db += delta.sum(axis=0)                                      # (H,)
            contrib[t - 1] = float(np.linalg.norm(dW_t))
            # ∂L/∂h_{t−1} = Wᵀ δ_t
            dh = delta @ self.W                                          # (B, H)
        grads = {"U": dU, "W": dW, "V": dV, "b": db, "c": dc}
        return BPTTResult(loss=float(np.mean((y_hat - y) ** 2)), y_hat=y_hat, grads=grads,
                          dh_norms=dh_norms, contrib_W_hh=contrib)


def autograd_gradients(net: ScratchRNN, X, y, truncate: int = 0) -> dict[str, np.ndarray]:
    """The same gradients as `net.bptt` from torch autograd (float64): truncation by running the first
    T−k steps under no_grad and detaching h_{T−k}, as `RNNModel.forward` does."""
    X, y = _batch(X, y)
    T = X.shape[1]
    P = {k: torch.tensor(v, dtype=torch.float64, requires_grad=True) for k, v in net.params().items()}
    Xt, yt = torch.from_numpy(X), torch.from_numpy(y)
    stop = T - truncate if 0 < truncate < T else 0
    h = torch.zeros(X.shape[0], net.W.shape[0], dtype=torch.float64)
    with torch.enable_grad():
        for t in range(T):
            with torch.set_grad_enabled(t >= stop):
                h = torch.tanh(Xt[:, t] @ P["U"].T + h @ P["W"].T + P["b"])
            if t + 1 == stop:
                h = h.detach()
        loss = torch.mean((h @ P["V"].T + P["c"] - yt) ** 2)
        loss.backward()
    return {k: (p.grad.numpy().copy() if p.grad is not None else np.zeros_like(net.params()[k]))
            for k, p in P.items()}


@dataclass
class ScratchHistory:
    """Per-epoch plain lists of floats (JSON-ready), plus the trained network."""
    net: ScratchRNN
    loss: list[float] = field(default_factory=list)         # training loss before each epoch's update
    val_loss: list[float] = field(default_factory=list)     # [] when no validation data was given
    clipped: list[float] = field(default_factory=list)      # fraction of gradient entries clipped


def train_scratch(X, y, hidden_size: int = 16, lr: float = 0.05, epochs: int = 50, truncate: int = 0,
                  clip_value: float | None = 1.0, seed: int = 0, X_val=None, y_val=None) -> ScratchHistory:
    """Full-batch gradient descent on the from-scratch RNN with hand-written BPTT.

    Clipping by value (as the tutorial does): every gradient entry is clamped to [−clip_value,
    clip_value]; None or 0 turns it off. A non-finite loss stops the loop early (the history keeps
    what came before).
    """
    X, y = _batch(X, y)
    net = ScratchRNN.init(X.shape[2], hidden_size, y.shape[1], seed=seed)
    hist = ScratchHistory(net=net)
    for _ in range(epochs):
        result = net.bptt(X, y, truncate=truncate)
        if not np.isfinite(result.loss):
            break
        hist.loss.append(result.loss)
        if X_val is not None and y_val is not None:
            hist.val_loss.append(net.loss(X_val, y_val))
        n_clipped, n_total = 0, 0
        for name, g in result.grads.items():
            if clip_value:
                n_clipped += int(np.sum(np.abs(g) > clip_value))
                # g ← clamp(g, −clip, +clip)
                g = np.clip(g, -clip_value, clip_value)
            n_total += g.size
            # θ ← θ − lr · g
            setattr(net, name, getattr(net, name) - lr * g)
        hist.clipped.append(n_clipped / n_total)
    return hist


# ------------------------------------------------------------------- hand BPTT against autograd
SCRATCH_TIMESTEPS = 20
SCRATCH_HIDDEN = 16
SCRATCH_LABELS = {"U": "U = W_xh (input → hidden)", "W": "W = W_hh (hidden → hidden)",
                  "V": "V = W_hy (hidden → output)", "b": "b (hidden bias)", "c": "c (output bias)"}


def scratch_report(timesteps: int = SCRATCH_TIMESTEPS, truncate: int = 0, hidden: int = SCRATCH_HIDDEN,
                   seed: int = 0) -> dict:
    """The NumPy RNN's hand-written BPTT next to autograd on the same weights, and what truncation cuts.

    {"table": [{"parameter", "hand ‖∂L/∂W‖", "autograd ‖∂L/∂W‖", "max |difference|"}], "max_abs_diff",
     "match", "t": [0…T−1], "contrib": ‖δ_t h_{t−1}ᵀ‖_F per timestep (full BPTT), "kept": [bool per t],
     "truncate", "timesteps"}.
    """
    net = ScratchRNN.init(input_size=1, hidden_size=hidden, output_size=1, seed=seed)
    rng = np.random.default_rng(seed)
    # A sine window, as in the from-scratch tutorial: predict the next value.
    phase = rng.uniform(0, 2 * np.pi)
    s = np.sin(phase + 0.2 * np.arange(timesteps + 1))
    x, y = s[:timesteps, None], s[timesteps:timesteps + 1]                      # (T, 1), (1,)
    hand = net.bptt(x, y, truncate=truncate)
    auto = autograd_gradients(net, x, y, truncate=truncate)
    rows, worst = [], 0.0
    for name in hand.grads:
        g_hand, g_auto = np.asarray(hand.grads[name]), np.asarray(auto[name])
        diff = float(np.max(np.abs(g_hand - g_auto)))
        worst = max(worst, diff)
        rows.append({"parameter": SCRATCH_LABELS.get(name, name), "hand ‖∂L/∂W‖": float(np.linalg.norm(g_hand)),
                     "autograd ‖∂L/∂W‖": float(np.linalg.norm(g_auto)), "max |difference|": diff})
    full = net.bptt(x, y, truncate=0)
    contrib = [float(v) for v in full.contrib_W_hh]
    T = timesteps
    kept = [truncate == 0 or t >= T - truncate for t in range(T)]
    return {"table": rows, "max_abs_diff": worst, "match": worst < 1e-9, "t": list(range(T)),
            "contrib": contrib, "kept": kept, "truncate": truncate, "timesteps": T}
