"""The Elman RNN (Elman 1990), with tanh or ReLU: two cells, one equation.

    h_t = φ(W_ih x_t + b_ih + W_hh h_{t−1} + b_hh),   φ = tanh or ReLU
    ∂h_t/∂h_{t−1} = diag(φ′(a_t)) W_hh,  tanh′ = 1 − tanh² ≤ 1,  ReLU′ = 1[a > 0] ≤ 1

so ‖∂h_T/∂h_t‖ ≤ (σ_max(W_hh)·γ)^(T−t) with γ = 1 (Pascanu et al., 2013). Trained by torch's fused
nn.RNN (same weights, same layout). Holds `elman_step` and the registry entries `TANH` and `RELU`.
"""

from __future__ import annotations

from functools import partial

import torch
from torch import Tensor

from rnn_core.nn.cells.cell import Cell, block, diag_times, fused, init_dense, times_T


def elman_step(x_t: Tensor, h_prev: Tensor, W_ih: Tensor, W_hh: Tensor, b_ih: Tensor, b_hh: Tensor,
               act: str = "tanh") -> Tensor:
    """One Elman step. x_t (B, F), h_prev (B, H), W_ih (H, F), W_hh (H, H) → h_t (B, H)."""
    # a_t = W_ih x_t + b_ih + W_hh h_{t-1} + b_hh
    a_t = times_T(x_t, W_ih) + b_ih + times_T(h_prev, W_hh) + b_hh       # (B, H)
    # h_t = tanh(a_t)   or   h_t = max(0, a_t)
    return torch.tanh(a_t) if act == "tanh" else torch.relu(a_t)         # (B, H)


def _step(x_t: Tensor, h_prev: Tensor, c_prev: Tensor, W: tuple[Tensor, ...], act: str):
    return elman_step(x_t, h_prev, *W, act), c_prev, {}


def _jacobian(P: dict[str, Tensor], layer: int, inputs: Tensor, s_prev: Tensor, b_y, act: str) -> Tensor:
    W_ih, W_hh, b_ih, b_hh = (P[f"rnn.{n}_l{layer}"] for n in ("weight_ih", "weight_hh", "bias_ih", "bias_hh"))
    # a_t = W_ih x_t + b_ih + W_hh h_{t−1} + b_hh
    a = inputs @ W_ih.T + b_ih + s_prev @ W_hh.T + b_hh                  # (T, H)
    # ∂h_t/∂h_{t−1} = diag(φ′(a_t)) W_hh,  tanh′ = 1 − tanh², ReLU′ = 1[a > 0]
    d = 1 - torch.tanh(a) ** 2 if act == "tanh" else (a > 0).to(a.dtype)
    return diag_times(d, W_hh)                                           # (T, H, H)


def _init(model) -> None:
    init_dense(model, blocks=1)


def _recurrent_matrix(P: dict[str, Tensor], layer: int) -> Tensor:
    return block(P, layer, 0)                                            # W_hh (H, H)


def _elman(name: str, label: str, act: str, color: str, sentence: str) -> Cell:
    return Cell(name, label, sentence, color, module=fused("RNN", nonlinearity=act), init=_init,
                step=partial(_step, act=act), jacobian=partial(_jacobian, act=act),
                recurrent_matrix=_recurrent_matrix, spectrum_of="W_hh", activation=act, gamma=1.0, bounded=True)


TANH = _elman("rnn", "Elman RNN (tanh)", "tanh", "#3b5bdb",
              "hₜ = tanh(W_ih xₜ + W_hh hₜ₋₁ + b): the gradient is multiplied by diag(tanh′)·W_hh at every step "
              "back, so it fades (or blows up) geometrically; σ_max(W_hh)·γ < 1 forces it to vanish.")
RELU = _elman("rnn_relu", "Elman RNN (ReLU)", "relu", "#189bdc",
              "hₜ = max(0, W_ih xₜ + W_hh hₜ₋₁ + b): ReLU′ is 1 wherever a unit is on, so with W_hh = I (IRNN) "
              "the gradient passes active units unchanged; units that switch off drop their share.")
