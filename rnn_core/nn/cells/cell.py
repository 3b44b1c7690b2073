"""What a cell is: the `Cell` record each cell file fills in once, and what the stacked cells share.

A `Cell` holds everything the app knows about one recurrent cell, so nothing else names a cell:
its written-out step and its step Jacobian (float64, for the probe), its trainable module (a fused
`torch.nn` kernel or a hand-written one) and how the init schemes set it, the square matrix whose
spectrum the charts show and whether the Pascanu bound (σ_max·γ)^k holds for it, its colour, and the
sentence that says what it does to the gradient through time. The registry (`__init__.py`) lists them.
Also here: `Unrolled` (what a written-out forward returns), `times_T(a, W)` (a Wᵀ for one network or N
networks at once, `unroll_stack`), `fused(kind)` (the module of a torch.nn kernel), `init_dense`
(the init schemes on a W_hh of stacked (H, H) blocks), `block` (one of them) and `diag_times`
(diag(v_t)·W for every t). Leaves to others: the loop over time (`unroll.py`), the model around the
cells (`models.py`), the gradient read-out (`probe.py`).

Notation: B batch, T timesteps, F input features, H hidden units, S the state the Jacobian is of
(h_t, or [h_t; c_t] for a cell with a cell state). Weights act on row vectors: "W x_t" is `x_t @ W.T`
(`times_T(x_t, W)` in a step). A step also runs N networks of one configuration at once (`unroll_stack`):
every tensor then has a network axis in front, x_t (N, B, F), W (N, out, in), a bias or vector (N, 1, n).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import partial

import torch
from torch import Tensor, nn

# (x_t (B, F), h_{t−1} (B, H), c_{t−1} (B, H), W the layer's weights) → (h_t, c_t, {gate: (B, H)});
# c passes through unchanged for a cell without a cell state.
Step = Callable[[Tensor, Tensor, Tensor, tuple[Tensor, ...]], tuple[Tensor, Tensor, dict[str, Tensor]]]
# (P the weights by parameter name, layer, inputs (T, F), s_{t−1} (T, S), b_y (T, O) or None) → (T, S, S)
Jacobian = Callable[[dict[str, Tensor], int, Tensor, Tensor, "Tensor | None"], Tensor]


@dataclass
class Unrolled:
    """What a written-out forward returns. Lists are per layer, then per timestep (index 0 = first step)."""
    y_hat: Tensor                          # (B, O): ŷ_T
    h: list[list[Tensor]]                  # h[l][t] (B, H)
    c: list[list[Tensor]] | None           # cell states c[l][t] (B, H) of a cell with one, else None
    y: list[list[Tensor]] | None           # output feedback: the outputs fed back, y[0][t] = ŷ_t (B, O); else None
    gates: list[dict[str, list[Tensor]]]   # gates[l][name][t] (B, H); {} for a cell without gates
    params: dict[str, Tensor]              # the weight copies used, by the model's parameter names
    x: Tensor | None = None                # the input copy (B, T, F), a leaf with .grad when input_grad
    y_steps: Tensor | None = None          # ŷ_t at every step (B, T, O): many-to-many (stateful) targets


@dataclass(frozen=True)
class Cell:
    """One recurrent cell, whole. Every front end, chart and test reads these fields."""

    name: str                       # its key in configs, links, the CLI and saved runs
    label: str                      # as the select boxes and charts name it
    sentence: str                   # its equation and what it does to the gradient through time
    color: str                      # its line colour in every chart
    module: Callable                # (cfg: ModelConfig) → the trainable layers, batch_first like nn.RNN
    init: Callable                  # (model) → None: cfg.init × cfg.gain on the recurrent weights (in place)
    step: Step | None               # the written-out step of the stacked cells (None: the cell has `unroll`)
    jacobian: Jacobian              # J_t = ∂s_t/∂s_{t−1} for every t at once, written out
    recurrent_matrix: Callable      # (P, layer) → the square (H, H) map h_{t−1} → pre-activation
    spectrum_of: str                # which matrix that is, in words
    activation: str = "tanh"        # φ of the hidden update
    gamma: float = 1.0              # sup |φ′| (tanh′ ≤ 1, ReLU′ ≤ 1): the γ of the bound (σ_max·γ)^k
    bounded: bool = False           # J_t = diag(φ′)·M, so ‖∏J‖ ≤ (σ_max(M)·γ)^k is a bound for it
    weights: tuple[str, ...] = ("weight_ih", "weight_hh", "bias_ih", "bias_hh")   # per layer, in `step`'s order
    blocks: int = 1                 # row blocks stacked in W_ih / W_hh (the cost of a step: blocks·H·(F + H))
    gates: tuple[str, ...] = ()     # gate names, as the probe reports them
    gate_path: tuple[str, str] | None = None   # gated cells: (gate, state) of the additive path
    cell_state: bool = False        # carries c_t besides h_t (LSTM)
    max_layers: int | None = None   # a fixed number of layers (Jordan: the output it feeds back is one)
    layers_why: str = ""            # why, as "A <label> <why>, so it has exactly <max_layers> layer"
    output_feedback: bool = False   # fed the network's own output ŷ_{t−1}: runs its own loop (`unroll`)
    unroll: Callable | None = None  # (P, x, retain_grad, cut, y_0) → Unrolled, for a cell outside the stacked loop
    transition: Callable | None = None   # (P, layer, x_t, s_{t−1}, b_y) → s_t where `step` does not give it

    def layer_weights(self, P: dict[str, Tensor], layer: int) -> tuple[Tensor, ...]:
        """The weights `step` takes for one layer, from the model's parameters by name."""
        return tuple(P[f"rnn.{stem}_l{layer}"] for stem in self.weights)

    def state_step(self, P: dict[str, Tensor], layer: int, x_t: Tensor, s_prev: Tensor,
                   b_y: Tensor | None = None) -> Tensor:
        """s_{t−1} (B, S) ↦ s_t (B, S): the map whose derivative `jacobian` writes out."""
        if self.transition is not None:
            return self.transition(P, layer, x_t, s_prev, b_y)
        H = s_prev.shape[1] // 2 if self.cell_state else s_prev.shape[1]
        h_t, c_t, _ = self.step(x_t, s_prev[:, :H], s_prev[:, H:], self.layer_weights(P, layer))
        return torch.cat([h_t, c_t], dim=1) if self.cell_state else h_t


# torch's batched product hands each network to the 2-D product (the same sums, bit for bit) from this many
# multiply-adds up; below it, it sums in a loop of its own, in another order
BATCHED_FROM = 400


def times_T(a: Tensor, W: Tensor) -> Tensor:
    """a Wᵀ for one network, a (B, in) @ W (out, in) → (B, out), or for N networks at once, a (N, B, in) and
    W (N, out, in) → (N, B, out), each network's rows by its own weights and with exactly the numbers it
    gets alone: the N networks go through one batched product where torch takes each one's 2-D product
    (more than one output and one input, B·in·out ≥ `BATCHED_FROM`, or an inner size of one, a single
    product per entry, where no gradient flows back into a), one 2-D product each otherwise (a matrix
    times a vector, a small product). An inner size of one where no gradient flows at all (N networks'
    first layer reading one input feature) is the elementwise product a ⊙ Wᵀ: the same single product per
    entry, a third of the batched product's cost, at every step of the Gradient Lab's probes."""
    if W.ndim == 2:
        return a @ W.T
    rows, out, inner = a.shape[-2], W.shape[-2], W.shape[-1]
    if inner == 1 and not a.requires_grad:
        # (a Wᵀ)_bj = a_b1 · W_j1: one product per entry, no sum
        return a * W.mT if not W.requires_grad else a @ W.mT             # (N, B, out)
    if inner > 1 and out > 1 and rows * inner * out >= BATCHED_FROM:
        # torch.bmm is what `@` calls for two (N, ·, ·) operands, less its shape logic (same numbers)
        return torch.bmm(a, W.mT) if a.ndim == 3 else a @ W.mT
    return torch.stack([a_n @ W_n.T for a_n, W_n in zip(a, W)])


def fused(kind: str, **options) -> Callable:
    """`Cell.module` for a fused torch.nn kernel ("RNN", "LSTM", "GRU"), batch_first."""
    return partial(_fused, kind, options)


def _fused(kind: str, options: dict, cfg) -> nn.Module:
    return getattr(nn, kind)(cfg.input_size, cfg.hidden_size, num_layers=cfg.num_layers, batch_first=True,
                             **options)


def diag_times(v: Tensor, W: Tensor) -> Tensor:
    """diag(v_t) W for every t: v (T, H), W (H, K) → (T, H, K)."""
    return v[:, :, None] * W


@torch.no_grad()
def init_dense(model, blocks: int) -> None:
    """cfg.init × cfg.gain on each (H, H) block of every layer's W_hh; a scheme other than the default
    also sets b_ih = b_hh = 0 (as the IRNN paper does). W_ih and the head keep torch's default init."""
    cfg = model.cfg
    if cfg.init == "default":
        return
    H = cfg.hidden_size
    for k in range(cfg.num_layers):
        W_hh = getattr(model.rnn, f"weight_hh_l{k}")
        for b in range(blocks):
            init_square(W_hh[b * H:(b + 1) * H], cfg.init, cfg.gain)
        getattr(model.rnn, f"bias_ih_l{k}").zero_()
        getattr(model.rnn, f"bias_hh_l{k}").zero_()


def init_square(W: Tensor, scheme: str, gain: float) -> None:
    """Fill the (H, H) block W in place with one init scheme."""
    H = W.shape[0]
    if scheme == "orthogonal":
        nn.init.orthogonal_(W, gain=gain)
    elif scheme == "identity":
        W.copy_(gain * torch.eye(H, dtype=W.dtype, device=W.device))
    elif scheme == "gaussian":
        nn.init.normal_(W, mean=0.0, std=gain / H**0.5)
    else:
        raise ValueError(f"Unknown init scheme '{scheme}'.")


def block(P: dict[str, Tensor], layer: int, index: int) -> Tensor:
    """Row block `index` (H, H) of layer `layer`'s W_hh."""
    W_hh = P[f"rnn.weight_hh_l{layer}"]
    H = W_hh.shape[1]
    return W_hh[index * H:(index + 1) * H]
