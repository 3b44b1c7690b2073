"""The recurrent cells written out from their equations, and a step-by-step forward of an `RNNModel`.

Holds one function per cell step (`elman_step`, `jordan_step`, `lstm_step`, `gru_step`) working on
weights in the `torch.nn` layout (Jordan: fed the head's previous output, see `models.py`), the stacked
cells' steps with one signature (`STEPS`, named by `config.CellSpec.step`), their step Jacobians
∂s_t/∂s_{t−1} written out (`step_jacobians`, used by `probe.jacobian_product_norms`), and
`unrolled_forward(model, x)` which copies a model's weights
(float64 on the CPU by default) and runs them step by step, keeping every h_t (and c_t) so that
`probe.py` can read the exact ∂L/∂h_t. Parity tests hold this forward equal to the fused one.
Leaves to others: the fused, trainable model (`models.py`) and the gradient read-out (`probe.py`).

Notation: B batch, T timesteps, F input features, H hidden units, σ the logistic sigmoid,
⊙ the elementwise product. Weights act on row vectors, so "W x_t" is computed as `x_t @ W.T`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import torch
from torch import Tensor

from rnn_core.config import CELL_SPECS
from rnn_core.interrupt import checkpoint, hook


def elman_step(x_t: Tensor, h_prev: Tensor, W_ih: Tensor, W_hh: Tensor, b_ih: Tensor, b_hh: Tensor,
               act: str = "tanh") -> Tensor:
    """One Elman step. x_t (B, F), h_prev (B, H), W_ih (H, F), W_hh (H, H) → h_t (B, H)."""
    # a_t = W_ih x_t + b_ih + W_hh h_{t-1} + b_hh
    a_t = x_t @ W_ih.T + b_ih + h_prev @ W_hh.T + b_hh                   # (B, H)
    # h_t = tanh(a_t)   or   h_t = max(0, a_t)
    return torch.tanh(a_t) if act == "tanh" else torch.relu(a_t)         # (B, H)


def jordan_step(x_t: Tensor, y_prev: Tensor, W_ih: Tensor, b_ih: Tensor, W_yh: Tensor, b_yh: Tensor,
                W_out: Tensor, b_out: Tensor) -> tuple[Tensor, Tensor]:
    """One Jordan step, fed the network's previous output ŷ_{t-1} (B, O). W_yh (H, O), W_out (O, H)
    the head. → (h_t (B, H), ŷ_t (B, O))."""
    # h_t = tanh(W_ih x_t + b_ih + W_yh ŷ_{t-1} + b_yh)
    h_t = torch.tanh(x_t @ W_ih.T + b_ih + y_prev @ W_yh.T + b_yh)       # (B, H)
    # ŷ_t = W_out h_t + b_out   (the head, at every step)
    y_t = h_t @ W_out.T + b_out                                          # (B, O)
    return h_t, y_t


def lstm_step(x_t: Tensor, h_prev: Tensor, c_prev: Tensor, W_ih: Tensor, W_hh: Tensor, b_ih: Tensor,
              b_hh: Tensor) -> tuple[Tensor, Tensor, dict[str, Tensor]]:
    """One LSTM step. W_ih (4H, F), W_hh (4H, H), rows i, f, g, o. → (h_t, c_t, gates)."""
    # [a_i, a_f, a_g, a_o] = W_ih x_t + b_ih + W_hh h_{t-1} + b_hh
    a_i, a_f, a_g, a_o = (x_t @ W_ih.T + b_ih + h_prev @ W_hh.T + b_hh).chunk(4, dim=1)  # 4 × (B, H)
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
    return h_t, c_t, dict(zip(CELL_SPECS["lstm"].gates, (i_t, f_t, g_t, o_t)))      # rows i, f, g, o


def gru_step(x_t: Tensor, h_prev: Tensor, W_ih: Tensor, W_hh: Tensor, b_ih: Tensor,
             b_hh: Tensor) -> tuple[Tensor, dict[str, Tensor]]:
    """One GRU step (torch's variant). W_ih (3H, F), W_hh (3H, H), rows r, z, n. → (h_t, gates)."""
    gi_r, gi_z, gi_n = (x_t @ W_ih.T + b_ih).chunk(3, dim=1)              # 3 × (B, H)
    gh_r, gh_z, gh_n = (h_prev @ W_hh.T + b_hh).chunk(3, dim=1)           # 3 × (B, H)
    # r_t = σ(W_ir x_t + b_ir + W_hr h_{t-1} + b_hr)   reset gate
    r_t = torch.sigmoid(gi_r + gh_r)                                     # (B, H)
    # z_t = σ(W_iz x_t + b_iz + W_hz h_{t-1} + b_hz)   update gate
    z_t = torch.sigmoid(gi_z + gh_z)                                     # (B, H)
    # n_t = tanh(W_in x_t + b_in + r_t ⊙ (W_hn h_{t-1} + b_hn))   candidate
    n_t = torch.tanh(gi_n + r_t * gh_n)                                  # (B, H)
    # h_t = (1 − z_t) ⊙ n_t + z_t ⊙ h_{t-1}
    h_t = (1 - z_t) * n_t + z_t * h_prev                                 # (B, H)
    return h_t, dict(zip(CELL_SPECS["gru"].gates, (r_t, z_t)))      # rows r, z (n is the candidate, not a gate)


# The steps of the stacked cells with one signature, (x_t, h_{t-1}, c_{t-1}, W, act) → (h_t, c_t, gates),
# W = (W_ih, W_hh, b_ih, b_hh); c passes through unchanged for cells without a cell state. A cell's
# `CellSpec.step` names its entry. (Jordan's step is fed the network's output instead: `_jordan_unrolled`.)
Step = Callable[[Tensor, Tensor, Tensor, tuple[Tensor, ...], str], tuple[Tensor, Tensor, dict[str, Tensor]]]


def _elman(x_t: Tensor, h_prev: Tensor, c_prev: Tensor, W: tuple[Tensor, ...], act: str):
    return elman_step(x_t, h_prev, *W, act), c_prev, {}


def _lstm(x_t: Tensor, h_prev: Tensor, c_prev: Tensor, W: tuple[Tensor, ...], act: str):
    return lstm_step(x_t, h_prev, c_prev, *W)


def _gru(x_t: Tensor, h_prev: Tensor, c_prev: Tensor, W: tuple[Tensor, ...], act: str):
    h_t, gates = gru_step(x_t, h_prev, *W)
    return h_t, c_prev, gates


STEPS: dict[str, Step] = {"elman": _elman, "lstm": _lstm, "gru": _gru}


@dataclass
class Unrolled:
    """What `unrolled_forward` returns. Lists are per layer, then per timestep (index 0 = first step)."""
    y_hat: Tensor                          # (B, O)
    h: list[list[Tensor]]                  # h[l][t] (B, H)
    c: list[list[Tensor]] | None           # LSTM cell states c[l][t] (B, H), else None
    y: list[list[Tensor]] | None           # Jordan: the outputs fed back, y[0][t] = ŷ_t (B, O); else None
    gates: list[dict[str, list[Tensor]]]   # gates[l][name][t] (B, H); [] entries for Elman / Jordan
    params: dict[str, Tensor]              # the weight copies used, by the model's parameter names
    x: Tensor | None = None                # the input copy (B, T, F), a leaf with .grad when input_grad


def copy_params(model, dtype=torch.float64, device="cpu", requires_grad=False) -> dict[str, Tensor]:
    """Detached copies of the model's parameters (same names), never sharing storage with the model."""
    return {name: p.detach().to(device=device, dtype=dtype).clone().requires_grad_(requires_grad)
            for name, p in model.named_parameters()}


def unrolled_forward(model, x, dtype=torch.float64, retain_grad: bool = False, device="cpu",
                     bptt_truncate: int = 0, input_grad: bool = False) -> Unrolled:
    """Run `model`'s weights (copied to `device`/`dtype`) through the written-out equations.

    x (B, T, F), numpy or torch. With `retain_grad` the weight copies require grad and every h_t / c_t
    keeps its .grad after a backward pass. `bptt_truncate` = k > 0 detaches the state after step T−k,
    as `RNNModel.forward` does. With `input_grad` the input copy `Unrolled.x` requires grad, so a
    backward pass gives ∂L/∂x_t (the connectivity of text tasks). The model itself is never modified.
    """
    spec, L = CELL_SPECS[model.cfg.cell], model.cfg.num_layers
    P = copy_params(model, dtype, device, requires_grad=retain_grad)
    x = torch.as_tensor(np.asarray(x) if not isinstance(x, Tensor) else x)
    x = x.detach().to(device=device, dtype=dtype).requires_grad_(input_grad)   # (B, T, F)
    B, T, _ = x.shape
    H = model.cfg.hidden_size
    cut = T - bptt_truncate if 0 < bptt_truncate < T else 0              # steps before `cut` get no grad
    if spec.output_feedback:
        return _jordan_unrolled(P, x, retain_grad, cut)
    step = STEPS[spec.step]
    hs, cs, gates = [], [] if spec.cell_state else None, []
    layer_in = [x[:, t] for t in range(T)]                               # T × (B, F)
    with torch.enable_grad():
        for l in range(L):
            W = tuple(P[f"rnn.{name}_l{l}"] for name in ("weight_ih", "weight_hh", "bias_ih", "bias_hh"))
            h_t = x.new_zeros(B, H)                  # h_0 = 0
            c_t = x.new_zeros(B, H)                  # c_0 = 0 (LSTM)
            h_l, c_l = [], []
            g_l: dict[str, list[Tensor]] = {}
            for t in range(T):
                checkpoint()                         # Stop / a closed tab ends a long unroll here
                if cut and t == cut:
                    h_t, c_t = h_t.detach(), c_t.detach()
                h_t, c_t, g = step(layer_in[t], h_t, c_t, W, spec.activation)
                if retain_grad and h_t.requires_grad:
                    h_t.retain_grad()
                    if spec.cell_state:
                        c_t.retain_grad()
                if t % 8 == 0:
                    hook(h_t)                        # …and its backward pass, every 8 steps back
                h_l.append(h_t)
                if spec.cell_state:
                    c_l.append(c_t)
                for name, a in g.items():
                    g_l.setdefault(name, []).append(a)
                layer_in[t] = h_t                    # the layer's output h_t feeds the layer above
            hs.append(h_l)
            gates.append(g_l)
            if cs is not None:
                cs.append(c_l)
        # ŷ = W_out h_T + b_out
        y_hat = layer_in[-1] @ P["head.weight"].T + P["head.bias"]       # (B, O)
    return Unrolled(y_hat=y_hat, h=hs, c=cs, y=None, gates=gates, params=P, x=x)


def _jordan_unrolled(P: dict[str, Tensor], x: Tensor, retain_grad: bool, cut: int) -> Unrolled:
    """The Jordan network step by step: the head runs at every t and its ŷ_t is fed back."""
    B, T, _ = x.shape
    W_out, b_out = P["head.weight"], P["head.bias"]                      # (O, H), (O,)
    y_t = x.new_zeros(B, W_out.shape[0])                                 # ŷ_0 = 0 (B, O)
    h_l, y_l = [], []
    with torch.enable_grad():
        for t in range(T):
            checkpoint()                             # Stop / a closed tab ends a long unroll here
            if cut and t == cut:
                y_t = y_t.detach()
            h_t, y_t = jordan_step(x[:, t], y_t, P["rnn.weight_ih_l0"], P["rnn.bias_ih_l0"],
                                   P["rnn.weight_yh_l0"], P["rnn.bias_yh_l0"], W_out, b_out)
            if retain_grad and h_t.requires_grad:
                h_t.retain_grad()
            if t % 8 == 0:
                hook(h_t)                            # …and its backward pass, every 8 steps back
            h_l.append(h_t)
            y_l.append(y_t)
    # ŷ = ŷ_T, the last step's output
    return Unrolled(y_hat=y_t, h=[h_l], c=None, y=[y_l], gates=[{}], params=P, x=x)


def step_jacobians(model, params: dict[str, Tensor], layer: int, inputs: Tensor, s_prev: Tensor,
                   b_y: Tensor | None = None) -> Tensor:
    """J_t = ∂s_t/∂s_{t−1} of one layer for every t at once, from the written-out derivatives.

    inputs (T, F) the layer's inputs x_t; s_prev (T, S) the state before each step: h_{t−1} (S = H) or,
    for LSTM, [h_{t−1}; c_{t−1}] (S = 2H). For Jordan the state is h and the output fed back is
    ŷ_{t−1} = W_out h_{t−1} + b_y[t] (b_y[t] = b_out, but 0 at t = 0 where ŷ_0 = 0).
    Returns (T, S, S). Rows of the batch are timesteps.
    """
    spec, H = CELL_SPECS[model.cfg.cell], model.cfg.hidden_size
    W_ih, b_ih = params[f"rnn.weight_ih_l{layer}"], params[f"rnn.bias_ih_l{layer}"]
    h_prev = s_prev[:, :H]                                               # (T, H)
    gi = inputs @ W_ih.T + b_ih                                          # (T, G·H)

    def diag_times(v: Tensor, W: Tensor) -> Tensor:
        # diag(v_t) W for every t
        return v[:, :, None] * W                                         # (T, H, H)

    if spec.step == "jordan":
        W_yh, W_out = params["rnn.weight_yh_l0"], params["head.weight"]   # (H, O), (O, H)
        # a_t = W_ih x_t + b_ih + W_yh (W_out h_{t−1} + b_y) + b_yh
        a = gi + (h_prev @ W_out.T + b_y) @ W_yh.T + params["rnn.bias_yh_l0"]   # (T, H)
        # ∂h_t/∂h_{t−1} = diag(1 − h_t²) W_yh W_out
        return diag_times(1 - torch.tanh(a) ** 2, W_yh @ W_out)
    W_hh, b_hh = params[f"rnn.weight_hh_l{layer}"], params[f"rnn.bias_hh_l{layer}"]
    if spec.step == "elman":
        # a_t = W_ih x_t + b_ih + W_hh h_{t−1} + b_hh
        a = gi + h_prev @ W_hh.T + b_hh                                  # (T, H)
        # ∂h_t/∂h_{t−1} = diag(φ'(a_t)) W_hh,  tanh' = 1 − tanh², ReLU' = 1[a > 0]
        d = 1 - torch.tanh(a) ** 2 if spec.activation == "tanh" else (a > 0).to(a.dtype)
        return diag_times(d, W_hh)
    gh = h_prev @ W_hh.T + b_hh                                          # (T, G·H)
    if spec.step == "gru":
        W_hr, W_hz, W_hn = W_hh.chunk(3, dim=0)                          # 3 × (H, H)
        (gi_r, gi_z, gi_n), (gh_r, gh_z, gh_n) = gi.chunk(3, dim=1), gh.chunk(3, dim=1)
        r, z = torch.sigmoid(gi_r + gh_r), torch.sigmoid(gi_z + gh_z)    # (T, H)
        n = torch.tanh(gi_n + r * gh_n)                                  # (T, H)
        # ∂r/∂h = diag(r(1−r)) W_hr,  ∂z/∂h = diag(z(1−z)) W_hz
        dr, dz = diag_times(r * (1 - r), W_hr), diag_times(z * (1 - z), W_hz)
        # ∂n/∂h = diag(1 − n²) (diag(r) W_hn + diag(W_hn h_{t−1} + b_hn) ∂r/∂h)
        dn = (1 - n**2)[:, :, None] * (diag_times(r, W_hn) + gh_n[:, :, None] * dr)
        # h_t = (1 − z) ⊙ n + z ⊙ h_{t−1}  ⇒  ∂h_t/∂h_{t−1} = diag(z) + diag(1 − z) ∂n/∂h + diag(h_{t−1} − n) ∂z/∂h
        return torch.diag_embed(z) + (1 - z)[:, :, None] * dn + (h_prev - n)[:, :, None] * dz
    # LSTM, state [h; c]
    c_prev = s_prev[:, H:]                                               # (T, H)
    W_hi, W_hf, W_hg, W_ho = W_hh.chunk(4, dim=0)                        # 4 × (H, H)
    a_i, a_f, a_g, a_o = (gi + gh).chunk(4, dim=1)
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
