"""The LSTM (Hochreiter & Schmidhuber 1997, with a forget gate, Gers et al. 2000), torch's layout.

    [a_i, a_f, a_g, a_o] = W_ih x_t + b_ih + W_hh h_{t−1} + b_hh      rows i, f, g, o
    c_t = σ(a_f) ⊙ c_{t−1} + σ(a_i) ⊙ tanh(a_g),   h_t = σ(a_o) ⊙ tanh(c_t)

The cell state's path c_{t−1} → c_t is multiplied by diag(f_t) only, so the gradient along it is the
product of the forget gates (`gate_path`); the gates add paths the σ_max bound does not cover. The
state the Jacobian is of is [h_t; c_t] (S = 2H). Trained by torch's fused nn.LSTM. Its init adds
`cfg.forget_bias` to the forget gate's rows of b_hh. Holds `lstm_step` and the registry entry `CELL`.
"""

from __future__ import annotations

import torch
from torch import Tensor

from rnn_core.nn.cells.cell import Cell, block, diag_times, fused, init_dense, times_T

GATES = ("input", "forget", "cell", "output")      # the row blocks i, f, g, o of W_ih / W_hh


def lstm_step(x_t: Tensor, h_prev: Tensor, c_prev: Tensor, W_ih: Tensor, W_hh: Tensor, b_ih: Tensor,
              b_hh: Tensor) -> tuple[Tensor, Tensor, dict[str, Tensor]]:
    """One LSTM step. W_ih (4H, F), W_hh (4H, H), rows i, f, g, o. → (h_t, c_t, gates)."""
    # [a_i, a_f, a_g, a_o] = W_ih x_t + b_ih + W_hh h_{t-1} + b_hh
    a_i, a_f, a_g, a_o = (times_T(x_t, W_ih) + b_ih + times_T(h_prev, W_hh) + b_hh).chunk(
        4, dim=-1)                                                       # 4 × (B, H)
    # i_t = σ(a_i)   input gate
    i_t = torch.sigmoid(a_i)                                             # (B, H)
    # f_t = σ(a_f)   forget gate
    f_t = torch.sigmoid(a_f)                                             # (B, H)
    # g_t = tanh(a_g)   cell candidate
    g_t = torch.tanh(a_g)                                                # (B, H)
    # o_t = σ(a_o)   output gate
    o_t = torch.sigmoid(a_o)                                             # (B, H)
    # c_t = f_t ⊙ c_{t-1} + i_t ⊙ g_t
    c_t = f_t * c_prev + i_t * g_t                                       # (B, H)
    # h_t = o_t ⊙ tanh(c_t)
    h_t = o_t * torch.tanh(c_t)                                          # (B, H)
    return h_t, c_t, dict(zip(GATES, (i_t, f_t, g_t, o_t)))


def _step(x_t: Tensor, h_prev: Tensor, c_prev: Tensor, W: tuple[Tensor, ...]):
    return lstm_step(x_t, h_prev, c_prev, *W)


def _jacobian(P: dict[str, Tensor], layer: int, inputs: Tensor, s_prev: Tensor, b_y) -> Tensor:
    """∂[h_t; c_t]/∂[h_{t−1}; c_{t−1}] for every t: (T, 2H, 2H)."""
    W_ih, W_hh, b_ih, b_hh = (P[f"rnn.{n}_l{layer}"] for n in ("weight_ih", "weight_hh", "bias_ih", "bias_hh"))
    H = W_hh.shape[1]
    h_prev, c_prev = s_prev[:, :H], s_prev[:, H:]                        # (T, H) each
    W_hi, W_hf, W_hg, W_ho = W_hh.chunk(4, dim=0)                        # 4 × (H, H)
    a_i, a_f, a_g, a_o = (inputs @ W_ih.T + b_ih + h_prev @ W_hh.T + b_hh).chunk(4, dim=1)
    i, f, g, o = torch.sigmoid(a_i), torch.sigmoid(a_f), torch.tanh(a_g), torch.sigmoid(a_o)
    # c_t = f ⊙ c_{t−1} + i ⊙ g,  h_t = o ⊙ tanh(c_t)
    tc = torch.tanh(f * c_prev + i * g)                                  # (T, H)
    # ∂c_t/∂h_{t−1} = diag(c_{t−1} f(1−f)) W_hf + diag(g i(1−i)) W_hi + diag(i (1−g²)) W_hg
    dc_dh = diag_times(c_prev * f * (1 - f), W_hf) + diag_times(g * i * (1 - i), W_hi) \
        + diag_times(i * (1 - g**2), W_hg)
    # ∂c_t/∂c_{t−1} = diag(f)
    dc_dc = torch.diag_embed(f)
    # ∂h_t/∂h_{t−1} = diag(tanh(c_t) o(1−o)) W_ho + diag(o (1 − tanh² c_t)) ∂c_t/∂h_{t−1}
    dh_dh = diag_times(tc * o * (1 - o), W_ho) + (o * (1 - tc**2))[:, :, None] * dc_dh
    # ∂h_t/∂c_{t−1} = diag(o (1 − tanh² c_t) f)
    dh_dc = torch.diag_embed(o * (1 - tc**2) * f)
    return torch.cat([torch.cat([dh_dh, dh_dc], dim=2), torch.cat([dc_dh, dc_dc], dim=2)], dim=1)


@torch.no_grad()
def _init(model) -> None:
    """The scheme on each gate block of W_hh, then b_f += cfg.forget_bias (rows H:2H of b_hh)."""
    init_dense(model, blocks=4)
    cfg = model.cfg
    if cfg.forget_bias:
        H, f = cfg.hidden_size, GATES.index("forget")
        for k in range(cfg.num_layers):
            # b_f += forget_bias
            getattr(model.rnn, f"bias_hh_l{k}")[f * H:(f + 1) * H] += cfg.forget_bias


def _recurrent_matrix(P: dict[str, Tensor], layer: int) -> Tensor:
    return block(P, layer, GATES.index("cell"))                          # W_hg, the candidate's block (H, H)


CELL = Cell("lstm", "LSTM",
            "cₜ = fₜ ⊙ cₜ₋₁ + iₜ ⊙ gₜ: along the cell state the gradient is multiplied only by the forget gate "
            "fₜ, so with fₜ near 1 it passes many steps almost unchanged; the gates add paths no σ_max bound "
            "covers.",
            "#d6336c", module=fused("LSTM"), init=_init, step=_step, jacobian=_jacobian,
            recurrent_matrix=_recurrent_matrix, spectrum_of="W_hg (candidate block of W_hh)", blocks=4,
            gates=GATES, gate_path=("forget", "c"), cell_state=True)
