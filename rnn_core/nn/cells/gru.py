"""The GRU (Cho et al. 2014), torch's variant and layout (rows r, z, n).

    r_t = σ(W_ir x_t + b_ir + W_hr h_{t−1} + b_hr),   z_t = σ(W_iz x_t + b_iz + W_hz h_{t−1} + b_hz)
    n_t = tanh(W_in x_t + b_in + r_t ⊙ (W_hn h_{t−1} + b_hn)),   h_t = (1 − z_t) ⊙ n_t + z_t ⊙ h_{t−1}

The update gate copies z_t ⊙ h_{t−1} forward, so the gradient along that path is the product of the
update gates (`gate_path`); no σ_max bound covers the other paths. Trained by torch's fused nn.GRU.
Holds `gru_step` and the registry entry `CELL`.
"""

from __future__ import annotations

import torch
from torch import Tensor

from rnn_core.nn.cells.cell import Cell, block, diag_times, fused, init_dense, times_T

GATES = ("reset", "update")                        # rows r, z (n is the candidate, not a gate)


def gru_step(x_t: Tensor, h_prev: Tensor, W_ih: Tensor, W_hh: Tensor, b_ih: Tensor,
             b_hh: Tensor) -> tuple[Tensor, dict[str, Tensor]]:
    """One GRU step (torch's variant). W_ih (3H, F), W_hh (3H, H), rows r, z, n. → (h_t, gates)."""
    gi_r, gi_z, gi_n = (times_T(x_t, W_ih) + b_ih).chunk(3, dim=-1)       # 3 × (B, H)
    gh_r, gh_z, gh_n = (times_T(h_prev, W_hh) + b_hh).chunk(3, dim=-1)    # 3 × (B, H)
    # r_t = σ(W_ir x_t + b_ir + W_hr h_{t-1} + b_hr)   reset gate
    r_t = torch.sigmoid(gi_r + gh_r)                                     # (B, H)
    # z_t = σ(W_iz x_t + b_iz + W_hz h_{t-1} + b_hz)   update gate
    z_t = torch.sigmoid(gi_z + gh_z)                                     # (B, H)
    # n_t = tanh(W_in x_t + b_in + r_t ⊙ (W_hn h_{t-1} + b_hn))   candidate
    n_t = torch.tanh(gi_n + r_t * gh_n)                                  # (B, H)
    # h_t = (1 − z_t) ⊙ n_t + z_t ⊙ h_{t-1}
    h_t = (1 - z_t) * n_t + z_t * h_prev                                 # (B, H)
    return h_t, dict(zip(GATES, (r_t, z_t)))


def _step(x_t: Tensor, h_prev: Tensor, c_prev: Tensor, W: tuple[Tensor, ...]):
    h_t, gates = gru_step(x_t, h_prev, *W)
    return h_t, c_prev, gates


def _jacobian(P: dict[str, Tensor], layer: int, inputs: Tensor, s_prev: Tensor, b_y) -> Tensor:
    """∂h_t/∂h_{t−1} for every t: (T, H, H)."""
    W_ih, W_hh, b_ih, b_hh = (P[f"rnn.{n}_l{layer}"] for n in ("weight_ih", "weight_hh", "bias_ih", "bias_hh"))
    h_prev = s_prev                                                      # (T, H)
    W_hr, W_hz, W_hn = W_hh.chunk(3, dim=0)                              # 3 × (H, H)
    (gi_r, gi_z, gi_n) = (inputs @ W_ih.T + b_ih).chunk(3, dim=1)
    (gh_r, gh_z, gh_n) = (h_prev @ W_hh.T + b_hh).chunk(3, dim=1)
    r, z = torch.sigmoid(gi_r + gh_r), torch.sigmoid(gi_z + gh_z)        # (T, H)
    n = torch.tanh(gi_n + r * gh_n)                                      # (T, H)
    # ∂r/∂h = diag(r(1−r)) W_hr,  ∂z/∂h = diag(z(1−z)) W_hz
    dr, dz = diag_times(r * (1 - r), W_hr), diag_times(z * (1 - z), W_hz)
    # ∂n/∂h = diag(1 − n²) (diag(r) W_hn + diag(W_hn h_{t−1} + b_hn) ∂r/∂h)
    dn = (1 - n**2)[:, :, None] * (diag_times(r, W_hn) + gh_n[:, :, None] * dr)
    # h_t = (1 − z) ⊙ n + z ⊙ h_{t−1}  ⇒  ∂h_t/∂h_{t−1} = diag(z) + diag(1 − z) ∂n/∂h + diag(h_{t−1} − n) ∂z/∂h
    return torch.diag_embed(z) + (1 - z)[:, :, None] * dn + (h_prev - n)[:, :, None] * dz


def _init(model) -> None:
    init_dense(model, blocks=3)


def _recurrent_matrix(P: dict[str, Tensor], layer: int) -> Tensor:
    return block(P, layer, 2)                                            # W_hn, the candidate's block (H, H)


CELL = Cell("gru", "GRU",
            "hₜ = (1 − zₜ) ⊙ nₜ + zₜ ⊙ hₜ₋₁: the update gate copies hₜ₋₁ forward, so along that path the "
            "gradient is multiplied only by zₜ and passes many steps when zₜ is near 1; no σ_max bound covers "
            "the other paths.",
            "#a36d00", module=fused("GRU"), init=_init, step=_step, jacobian=_jacobian,
            recurrent_matrix=_recurrent_matrix, spectrum_of="W_hn (candidate block of W_hh)", blocks=3,
            gates=GATES, gate_path=("update", "h"))
