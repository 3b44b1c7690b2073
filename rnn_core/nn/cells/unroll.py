"""The written-out forward of an `RNNModel`: its weights copied (float64 on the CPU by default) and run
step by step through the cells' equations, keeping every h_t (and c_t), so that `probe.py` reads the
exact ∂L/∂h_t that a fused kernel hides.

Holds `unrolled_forward(model, x)` (one loop over layers and steps for every stacked cell, `unroll`; a cell
with its own loop, `Cell.unroll`, runs that), `unroll_stack(models, x)` (several networks of one
configuration at once, on a leading network axis: the Gradient Lab's seeds and gains in one pass),
`copy_params`, `stack_params` and `step_jacobians` (a layer's ∂s_t/∂s_{t−1}
for every t, from its cell's written-out Jacobian). Parity tests hold this forward equal to the
trainable one. Leaves to others: the cells' equations (one file each), the trainable model
(`models.py`) and the gradient read-out (`probe.py`).
"""

from __future__ import annotations

import numpy as np
import torch
from torch import Tensor

from rnn_core.interrupt import checkpoint, hook
from rnn_core.nn.cells.cell import Unrolled, times_T
from rnn_core.nn.cells.registry import cell_of
from rnn_core.nn.inputs import as_input


def copy_params(model, dtype=torch.float64, device="cpu", requires_grad=False) -> dict[str, Tensor]:
    """Detached copies of the model's parameters (same names), never sharing storage with the model."""
    return {name: p.detach().to(device=device, dtype=dtype).clone().requires_grad_(requires_grad)
            for name, p in model.named_parameters()}


def initial_state(state, dtype=torch.float64, device="cpu") -> tuple[Tensor | None, Tensor | None]:
    """A carried state as the written-out forward starts from it: (h (L, B, H), c (L, B, H) or None) for
    the stacked cells, (ŷ (B, O), None) for a cell fed its output; (None, None) for a zero state. Copies."""
    if state is None:
        return None, None
    h, c = state if isinstance(state, tuple) else (state, None)
    return tuple(None if s is None else s.detach().to(device=device, dtype=dtype).clone() for s in (h, c))


def final_state(u: Unrolled):
    """The state after the last step of `u`, in the fused module's form (`initial_state` reads it back):
    h (L, B, H), or (h, c) for a cell with a cell state; a cell fed its output: ŷ_T (B, O)."""
    if u.y is not None:
        return u.y[0][-1]
    h = torch.stack([h_l[-1] for h_l in u.h])                            # (L, B, H)
    return h if u.c is None else (h, torch.stack([c_l[-1] for c_l in u.c]))


def unrolled_forward(model, x, dtype=torch.float64, retain_grad: bool = False, device="cpu",
                     bptt_truncate: int = 0, input_grad: bool = False, state=None) -> Unrolled:
    """Run `model`'s weights (copied to `device`/`dtype`) through the written-out equations.

    x (B, T, F), or character ids (B, T) read one-hot (`inputs.as_input`), numpy or torch. With
    `retain_grad` the weight copies require grad and every h_t / c_t keeps its .grad after a backward
    pass. `bptt_truncate` = k > 0 detaches the state after step T−k, as `RNNModel.forward` does. With
    `input_grad` the input copy `Unrolled.x` requires grad, so a backward pass gives ∂L/∂x_t (the
    connectivity of text tasks). `state` is a carried state in the fused module's form
    (`models.RNNModel.forward_steps`; None = zeros): the unroll starts from it, and nothing flows back
    into it. The model itself is never modified.
    """
    P = copy_params(model, dtype, device, requires_grad=retain_grad)
    x = torch.as_tensor(np.asarray(x) if not isinstance(x, Tensor) else x).detach().to(device)
    x = as_input(x, model.cfg.input_size, dtype).requires_grad_(input_grad)    # (B, T, F)
    T = x.shape[1]
    cut = T - bptt_truncate if 0 < bptt_truncate < T else 0              # steps before `cut` get no grad
    h0, c0 = initial_state(state, dtype, device)
    return unroll(model.cfg, P, x, retain_grad, cut, h0, c0)


def stack_params(models) -> dict[str, Tensor]:
    """The weights of N networks of one configuration, float64 copies stacked on a leading network axis:
    a weight (out, in) → (N, out, in), a bias or vector (n,) → (N, 1, n), so that every step's
    `x_t @ W.mT + b` and `u ⊙ h` runs all N networks on their own rows (B, ·) at once. No grad."""
    Ps = [copy_params(m) for m in models]
    return {name: torch.stack([P[name] for P in Ps]).reshape(len(Ps), *(P0.shape if P0.ndim == 2 else (1, -1)))
            for name, P0 in Ps[0].items()}


def unroll_stack(models, x: Tensor) -> Unrolled:
    """N networks of one configuration (`models`, same cfg, their own weights) unrolled at once on their own
    inputs x (N, B, T, F): every tensor of the result has the network axis in front (h[l][t] (N, B, H)).

    Each network's numbers are those `unrolled_forward(model, x[n], retain_grad=True)` gives (the same
    operations on each network's rows): the probe tests hold them equal. The weights get no gradient;
    the zero start state requires one, so a backward pass reaches every h_t (and c_t), each keeping its .grad.
    """
    cfg = models[0].cfg
    P = stack_params(models)
    x = x.detach().to(torch.float64)                                     # (N, B, T, F)
    zeros = x.new_zeros(cfg.num_layers, *x.shape[:-2], cfg.hidden_size)  # (L, N, B, H)
    if cell_of(cfg.cell).output_feedback:
        # ŷ_0 = 0 (N, B, O), a leaf that takes the gradient in the weights' place
        y_0 = x.new_zeros(*x.shape[:-2], cfg.output_size).requires_grad_(True)
        return cell_of(cfg.cell).unroll(P, x, True, 0, y_0)
    return unroll(cfg, P, x, True, 0, zeros.clone().requires_grad_(True), zeros)


def unroll(cfg, P: dict[str, Tensor], x: Tensor, retain_grad: bool, cut: int = 0, h0: Tensor | None = None,
           c0: Tensor | None = None) -> Unrolled:
    """The loop over layers and steps of the configuration `cfg` (a `ModelConfig`) on the weights P, from
    the states h0, c0 (L, …, B, H) or zeros. x (…, B, T, F): any leading axes (several networks, `unroll_stack`)
    run along. Steps before `cut` get no gradient."""
    cell, L, H = cell_of(cfg.cell), cfg.num_layers, cfg.hidden_size
    if cell.unroll is not None:
        return cell.unroll(P, x, retain_grad, cut, h0)
    T = x.shape[-2]
    hs, cs, gates = [], [] if cell.cell_state else None, []
    layer_in = [x[..., t, :] for t in range(T)]                          # T × (B, F)
    with torch.enable_grad():
        for l in range(L):
            W = cell.layer_weights(P, l)
            h_t = x.new_zeros(*x.shape[:-2], H) if h0 is None else h0[l]   # h_0 = 0, or the carried state
            c_t = x.new_zeros(*x.shape[:-2], H) if c0 is None else c0[l]   # c_0 = 0 (a cell state), or carried
            h_l, c_l = [], []
            g_l: dict[str, list[Tensor]] = {}
            for t in range(T):
                checkpoint()                         # Stop / a closed tab ends a long unroll here
                if cut and t == cut:
                    h_t, c_t = h_t.detach(), c_t.detach()
                h_t, c_t, g = cell.step(layer_in[t], h_t, c_t, W)
                if retain_grad and h_t.requires_grad:
                    h_t.retain_grad()
                    if cell.cell_state:
                        c_t.retain_grad()
                if t % 8 == 0:
                    hook(h_t)                        # …and its backward pass, every 8 steps back
                h_l.append(h_t)
                if cell.cell_state:
                    c_l.append(c_t)
                for name, a in g.items():
                    g_l.setdefault(name, []).append(a)
                layer_in[t] = h_t                    # the layer's output h_t feeds the layer above
            hs.append(h_l)
            gates.append(g_l)
            if cs is not None:
                cs.append(c_l)
        # ŷ = W_out h_T + b_out
        y_hat = times_T(layer_in[-1], P["head.weight"]) + P["head.bias"]   # (B, O)
        # ŷ_t = W_out h_t + b_out   at every step (one network's: the stateful targets; none for a stack)
        y_steps = torch.stack(layer_in, dim=1) @ P["head.weight"].T + P["head.bias"] if x.ndim == 3 else None
    return Unrolled(y_hat=y_hat, h=hs, c=cs, y=None, gates=gates, params=P, x=x, y_steps=y_steps)


def step_jacobians(model, params: dict[str, Tensor], layer: int, inputs: Tensor, s_prev: Tensor,
                   b_y: Tensor | None = None) -> Tensor:
    """J_t = ∂s_t/∂s_{t−1} of one layer for every t at once, from its cell's written-out derivatives.

    inputs (T, F) the layer's inputs x_t; s_prev (T, S) the state before each step: h_{t−1} (S = H) or,
    for a cell with a cell state, [h_{t−1}; c_{t−1}] (S = 2H). For a cell fed its output back the output
    is ŷ_{t−1} = W_out h_{t−1} + b_y[t] (b_y[t] = b_out, but 0 at t = 0 where ŷ_0 = 0).
    Returns (T, S, S). Rows of the batch are timesteps.
    """
    return cell_of(model.cfg.cell).jacobian(params, layer, inputs, s_prev, b_y)
