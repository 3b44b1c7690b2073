"""The gradient-through-time probe: exact ‖∂L/∂h_t‖ for every layer and timestep, and what explains it.

Holds `probe(model, X, y)` (one dict of plain floats per call, see docs/architecture.md), `probe_lines(models,
X, y)` (its gradient lines for N networks of one configuration in one pass: the Gradient Lab's seeds),
`connectivity(model, x, y)` (how much one prediction depends on each earlier input, for text) and
`jacobian_product_norms(model, X, layer)`. Both copy the model's current weights to float64 on the CPU
and run them through the written-out equations of the cells (`rnn_core.nn.cells`; fused kernels hide h_t), so they never
touch the model's weights or .grad, work whatever device the model lives on, and do not underflow
where float32 would (~1e-38).
Leaves to others: when to probe and what to do with the dict (`train.py`), the plots (`plots/gradients.py`).

Conventions:
- ∂L/∂h_t is the *total* derivative: through h_{t+1}, the layer above, and the head (Jordan: also
  through the output ŷ_t fed back into h_{t+1}).
- σ_max and the spectral radius come from `models.spectra`, of the matrix `Cell.recurrent_matrix` names
  (`Cell.spectrum_of`: Elman W_hh, Jordan W_yh·W_out, LSTM / GRU a candidate block, …).
- γ = `Cell.gamma`, the sup of the recurrent activation's derivative (tanh′ ≤ 1, ReLU′ ≤ 1).
- theory[l][t] = ‖∂L/∂h_T‖ · (σ_max·γ)^(T−1−t), the Pascanu, Mikolov & Bengio (2013) upper bound
  ‖∂L/∂h_t‖ ≤ theory[l][t], computed in log space and capped at 1e300 — only where it is one
  (`bound_holds`): the cell's step Jacobian is diag(φ′(a_t))·M (`Cell.bounded`) and the gradient
  enters the layer only at T (the top layer; a lower layer takes gradient from the
  layer above at every step). Elsewhere theory[l] = []. The bound allows anything below it: with
  σ_max·γ < 1 it forces vanishing, with σ_max·γ ≥ 1 it allows growth but does not force it.
- gate_path[l][t] (a cell with `Cell.gate_path`, top layer, else []): the gradient the additive path alone carries back
  from the last step, exactly, from the probe's own gate values: LSTM ‖(f_{t+1} ⊙ … ⊙ f_T) ⊙ ∂L/∂c_T‖
  (the cell state), GRU ‖(z_{t+1} ⊙ … ⊙ z_T) ⊙ ∂L/∂h_T‖ (the update gate's copy of h_{t−1}). Not a
  bound: the other paths (through h, the gates) add to it or partly cancel it — for the LSTM the
  total ‖∂L/∂c_t‖ was measured below the additive path alone at some timesteps.
"""

from __future__ import annotations

import math

import numpy as np
import torch
from torch import Tensor

from rnn_core.interrupt import checkpoint
from rnn_core.nn.cells import cell_of, step_jacobians, unroll_stack, unrolled_forward
from rnn_core.nn.inputs import as_input
from rnn_core.nn.losses import bits
from rnn_core.nn.models import spectra

THEORY_CAP = 1e300
CARRY_ELEMENTS = 4_000_000   # float64s the state carry's rows of ∂h_T/∂x hold at once (32 MB)
JACOBIAN_ELEMENTS = 2_000_000   # float64s of the step Jacobians `jacobian_product_norms` holds at once (16 MB)


# What the reference line on a gradient-through-time chart is, in the words the app shows (one place).
REFERENCE_NOTE = {
    "bound": "The dashed line is an upper bound, ‖∂L/∂h_T‖·(σ_max·γ)^(T−1−t) (Pascanu et al., 2013), drawn "
             "for the top layer (a lower layer also gets gradient from the layer above at every step): the "
             "gradient stays in the shaded region beneath it and may fall far below it. With σ_max·γ < 1 "
             "the bound falls, so vanishing is certain; with σ_max·γ ≥ 1 it allows growth but does not "
             "force it — PyTorch's default init has σ_max ≈ 1.1, yet its spectral radius ≈ 0.6 and tanh′ < 1 "
             "still make the gradient vanish.",
    "gated": "Gated cells have no σ_max bound: their gates add paths it does not cover. The dash-dotted line "
             "is what the additive path alone carries back from the last step — the product of the forget "
             "gates along c_t (LSTM) or of the update gates (GRU); the other paths add to it or partly "
             "cancel it, so the total may lie above or below this line.",
}


def reference_note(cell: str) -> str:
    """The sentence explaining a cell's reference line (bound or gate path)."""
    return REFERENCE_NOTE["bound" if cell_of(cell).bounded else "gated"]


def bound_holds(cell: str, layer: int, num_layers: int) -> bool:
    """Is ‖∂L/∂h_t‖ ≤ ‖∂L/∂h_T‖·(σ_max·γ)^(T−1−t) true for this layer? (See the module doc.)"""
    return cell_of(cell).bounded and layer == num_layers - 1


def _as_float64(a) -> Tensor:
    a = a.detach().cpu() if isinstance(a, Tensor) else torch.as_tensor(np.asarray(a))
    return a.to(torch.float64)


def _inputs(model, X) -> Tensor:
    """The inputs in float64 as the network reads them: (B, T, F), or character ids (B, T) one-hot."""
    X = X.detach().cpu() if isinstance(X, Tensor) else torch.as_tensor(np.asarray(X))
    return as_input(X, model.cfg.input_size, torch.float64)


def _norms(hs: list[Tensor]) -> list:
    """‖∂L/∂h_t‖ (Frobenius over the batch and units) for each t; 0.0 where no gradient reached h_t.
    One stacked norm and one host copy for all t (a norm per t cost ~10% of a probe).
    h_t (B, H) → a list over t; h_t (N, B, H) of N networks (`probe_lines`) → (T, N) nested lists."""
    grads = [torch.zeros_like(h) if h.grad is None else h.grad for h in hs]
    return torch.linalg.vector_norm(torch.stack(grads).flatten(-2), dim=-1).tolist()   # (T,) or (T, N)


def _gate_means(acts: list[Tensor]) -> list[float]:
    """Mean activation of one gate at each t, over the batch and units."""
    return torch.stack([a.detach() for a in acts]).flatten(1).mean(dim=1).tolist()   # (T,)


def _loss(y_hat: Tensor, y: Tensor, loss: str) -> Tensor:
    if loss == "bits":
        # L = mean −log₂ softmax(ŷ)[next character]   (y one-hot; text tasks)
        return bits(y_hat, y)
    if loss == "mse":
        # L = mean (ŷ − y)²
        return torch.mean((y_hat - y) ** 2)
    if loss == "mae":
        # L = mean |ŷ − y|
        return torch.mean(torch.abs(y_hat - y))
    raise ValueError(f"Unknown loss '{loss}': use 'mse', 'mae' or 'bits'.")


def _theory_line(g_T: float, rate: float, T: int) -> list[float]:
    """g_T · rate^(T−1−t) for t = 0..T−1, in log space, capped at THEORY_CAP, 0 for a zero start."""
    if g_T <= 0 or rate <= 0:
        return [0.0] * (T - 1) + [g_T]
    log_g, log_r = math.log(g_T), math.log(rate)
    return [min(THEORY_CAP, math.exp(min(700.0, log_g + (T - 1 - t) * log_r))) for t in range(T)]


def _gate_path(gate: list[Tensor], state: list[Tensor], cut: int) -> list:
    """‖(g_{t+1} ⊙ … ⊙ g_T) ⊙ ∂L/∂s_T‖ for t = 0..T−1 (0 before the truncation point `cut`); a list over t,
    or (T, N) nested lists for N networks at once (gates and states (N, B, H), `probe_lines`)."""
    T = len(state)
    g_T = state[-1].grad if state[-1].grad is not None else torch.zeros_like(state[-1])   # (B, H)
    G = torch.stack([a.detach() for a in gate])                          # (T, B, H)
    # P_t = g_{t+1} ⊙ … ⊙ g_T (P_T = 1): a reversed cumulative product, shifted by one step
    P = torch.flip(torch.cumprod(torch.flip(G[1:], [0]), dim=0), [0])    # (T−1, B, H)
    P = torch.cat([P, torch.ones_like(G[:1])])                           # (T, B, H)
    path = torch.linalg.vector_norm((P * g_T).flatten(-2), dim=-1).tolist()   # (T,) or (T, N)
    return [0.0 if t < cut else v for t, v in enumerate(path)] if T else []


def probe(model, X, y, loss: str = "mse", bptt_truncate: int = 0, state=None, weights=None,
          carry: bool = False) -> dict:
    """Exact gradient-through-time profile of `model` on the batch X (B, T, F), y (B, O); JSON-ready.

    `bptt_truncate` = k > 0 measures the gradient training with truncation k gets (zero before T−k);
    "cut" is that first timestep that gets a gradient (0: full BPTT), so a reader tells a gradient cut off
    from one that vanished.
    Stateful (many-to-many) updates: y (B, T, O) a target at every step, `weights` (B, T) the steps whose
    targets count (an update's new steps), `state` the state carried into the window (the fused module's
    form, None = zeros). With `carry`, the record also holds "carry"[t] = ‖∂h_T/∂x_t‖ (top layer, every
    sample, exact and never truncated): how far back the state still carries the input, beside how far
    back the gradient goes.
    """
    X, y = _inputs(model, X), _as_float64(y)
    if y.ndim == 1:
        y = y[:, None]                                                   # (B,) → (B, 1)
    steps = y.ndim == 3
    if X.ndim != 3 or y.ndim not in (2, 3) or X.shape[0] != y.shape[0] or (steps and y.shape[1] != X.shape[1]):
        raise ValueError(f"probe needs X (B, T, F) and y (B, O) or (B, T, O) with the same B (and T), got "
                         f"{tuple(X.shape)} and {tuple(y.shape)}.")
    cell, T = model.cfg.cell, X.shape[1]
    w = _as_float64(weights) if weights is not None else torch.ones(X.shape[:2], dtype=torch.float64)
    with torch.enable_grad():
        u = unrolled_forward(model, X, retain_grad=True, bptt_truncate=bptt_truncate, state=state)
        if steps:
            # L = the task's mean loss over the steps whose targets count (B, T) → the rows with w > 0
            keep = w.reshape(-1) > 0
            L = _loss(u.y_steps.reshape(-1, y.shape[2])[keep], y.reshape(-1, y.shape[2])[keep], loss)
        else:
            L = _loss(u.y_hat, y, loss)
        L.backward()
    grad_h = [_norms(h_l) for h_l in u.h]
    grad_c = [_norms(c_l) for c_l in u.c] if u.c is not None else None
    gates = [{name: _gate_means(acts) for name, acts in g_l.items()} for g_l in u.gates]
    param_grad_norms = {name: 0.0 if p.grad is None else float(torch.linalg.vector_norm(p.grad))
                        for name, p in u.params.items()}
    spec = spectra(model)
    sigma_max = [s["sigma_max"] for s in spec]
    gamma = cell_of(cell).gamma
    n = len(grad_h)
    # the bound starts from ∂L/∂h_T: it holds only where the loss enters at the last step alone
    last_only = not steps or not bool(w[:, :-1].any())
    theory = [_theory_line(g_l[-1], s * gamma, T) if last_only and bound_holds(cell, l, n) else []
              for l, (g_l, s) in enumerate(zip(grad_h, sigma_max))]
    cut = T - bptt_truncate if 0 < bptt_truncate < T else 0
    gate_path = [[] for _ in range(n)]
    if cell_of(cell).gate_path:
        gate, along = cell_of(cell).gate_path
        gate_path[-1] = _gate_path(u.gates[-1][gate], (u.c if along == "c" else u.h)[-1], cut)
    record = {"timesteps": int(T), "loss": float(L.detach()),
              "grad_h": grad_h, "grad_c": grad_c, "gates": gates, "gate_path": gate_path,
              "param_grad_norms": param_grad_norms,
              "sigma_max": sigma_max, "spectral_radius": [s["spectral_radius"] for s in spec],
              "gamma": gamma, "theory": theory, "cut": int(cut)}
    if carry:
        record["carry"] = state_carry(model, X, state)
    return record


def probe_lines(models, X, y, spectra_of: list[list[dict]] | None = None) -> list[dict]:
    """What the Gradient Lab reads of `probe`, for N networks of one configuration in one pass.

    `models` (N networks: the same cfg, their own weights), X (N, B, T, F), y (N, B, O), the loss "mse",
    full BPTT, zero start state. Returns one dict per network with the keys "timesteps", "loss", "grad_h",
    "grad_c", "gate_path", "theory", "sigma_max", "spectral_radius", "gamma", "cut" of
    `probe(models[n], X[n], y[n])`, equal to them (tests/engine hold it); leaves out "gates" and
    "param_grad_norms" (no weight gradient is taken). One unroll of N networks costs about what one costs:
    the steps are small, so their count, not their size, decides the time. `spectra_of`: `models.spectra` of
    each model where the caller has them already.
    """
    X, y = _as_float64(X), _as_float64(y)
    cfg = models[0].cfg
    cell, T = cfg.cell, X.shape[-2]
    with torch.enable_grad():
        u = unroll_stack(models, X)
        # L_n = mean (ŷ − y)² of network n; their sum gives each network its own ∂L_n/∂h_t (they share nothing)
        losses = torch.mean((u.y_hat - y) ** 2, dim=(-2, -1))            # (N,)
        losses.sum().backward()
    grad_h = [_columns(_norms(h_l)) for h_l in u.h]                      # [l][n][t]
    grad_c = [_columns(_norms(c_l)) for c_l in u.c] if u.c is not None else None
    gate_path = None
    if cell_of(cell).gate_path:
        gate, along = cell_of(cell).gate_path
        gate_path = _columns(_gate_path(u.gates[-1][gate], (u.c if along == "c" else u.h)[-1], 0))
    gamma, L = cell_of(cell).gamma, len(grad_h)
    out = []
    for n, (model, loss) in enumerate(zip(models, losses.tolist())):
        spec = spectra_of[n] if spectra_of is not None else spectra(model)
        sigma_max = [s["sigma_max"] for s in spec]
        g_h = [g[n] for g in grad_h]
        theory = [_theory_line(g_l[-1], s * gamma, T) if bound_holds(cell, l, L) else []
                  for l, (g_l, s) in enumerate(zip(g_h, sigma_max))]
        paths = [[] for _ in range(L)]
        if gate_path is not None:
            paths[-1] = gate_path[n]
        out.append({"timesteps": int(T), "loss": loss, "grad_h": g_h,
                    "grad_c": [g[n] for g in grad_c] if grad_c is not None else None, "gate_path": paths,
                    "sigma_max": sigma_max, "spectral_radius": [s["spectral_radius"] for s in spec],
                    "gamma": gamma, "theory": theory, "cut": 0})
    return out


def _columns(rows: list[list[float]]) -> list[list[float]]:
    """(T, N) nested lists → N lists over t."""
    return [list(col) for col in zip(*rows)]


def state_carry(model, X, state=None) -> list[float]:
    """‖∂h_T/∂x_t‖ for t = 0..T−1: how much the top layer's last state still depends on each input, over
    the batch X (B, T, F) (Frobenius over samples, units and features), from the carried `state`.
    Exact (float64, the written-out equations, no truncation): one backward pass per hidden unit, batched
    in groups of units within CARRY_ELEMENTS."""
    X = _inputs(model, X)
    B, T, F = X.shape
    cfg = model.cfg
    with torch.enable_grad():
        u = unrolled_forward(model, X, input_grad=True, state=state)
        h_T = u.h[-1][-1]                                                # (B, H)
        H = h_T.shape[1]
        # g units' rows at once, so the rows (g, B, T, F) and the batched backward's states (g, B, T, 4·H·L)
        # stay within CARRY_ELEMENTS floats whatever H, B, T and F a visitor chose
        g = max(1, min(H, CARRY_ELEMENTS // (B * T * max(F, 4 * cfg.hidden_size * cfg.num_layers))))
        norms = []
        for j in range(0, H, g):
            # rows j … j+g−1 of ∂h_T/∂x for every sample at once: the samples do not mix
            units = torch.eye(H, dtype=h_T.dtype)[j:j + g, None, :].expand(-1, *h_T.shape)   # (g, B, H)
            (J,) = torch.autograd.grad(h_T, u.x, grad_outputs=units, is_grads_batched=True,
                                       retain_graph=j + g < H)                            # (g, B, T, F)
            norms.append(torch.linalg.vector_norm(J.transpose(0, 2).flatten(1), dim=1))   # (T,)
    # ‖∂h_T/∂x_t‖ = √Σ_{j, b, f} (∂h_T[b, j]/∂x_t[b, f])²
    return (norms[0] if len(norms) == 1 else torch.stack(norms).square().sum(0).sqrt()).tolist()   # (T,)


def connectivity(model, x, y, loss: str = "bits", state=None) -> dict:
    """How much one prediction still feels each earlier input: one window x (1, T, F), its target y (1, O).

    Exact, like `probe` (the written-out equations, float64, the model's current weights):
    "grad_x"[t] = ‖∂L/∂x_t‖ and "grad_h"[l][t] = ‖∂L/∂h_t‖ of layer l, with L the loss of this one window
    (text: −log₂ p(next character)); also "loss". t index 0 = the oldest input. JSON-ready.
    `state`: the state carried into the window (a stateful run's; None = zeros).
    """
    x, y = _inputs(model, x), _as_float64(y)
    if x.ndim != 3 or x.shape[0] != 1 or y.shape != (1, model.cfg.output_size):
        raise ValueError(f"connectivity needs one window x (1, T, F) and y (1, O), got {tuple(x.shape)} and "
                         f"{tuple(y.shape)}.")
    with torch.enable_grad():
        u = unrolled_forward(model, x, retain_grad=True, input_grad=True, state=state)
        L = _loss(u.y_hat, y, loss)
        L.backward()
    # ‖∂L/∂x_t‖ over the features of step t
    grad_x = torch.linalg.vector_norm(u.x.grad[0], dim=1).tolist()          # (T,)
    return {"loss": float(L.detach()), "grad_x": grad_x, "grad_h": [_norms(h_l) for h_l in u.h]}


def layer_trajectory(model, X, layer: int, sample: int = 0):
    """(inputs (T, F), s_prev (T, S), b_y (T, O) or None, params) of one layer along sample `sample` of X."""
    X = _inputs(model, X)
    cfg = model.cfg
    if not 0 <= layer < cfg.num_layers:
        raise ValueError(f"layer must be between 0 and {cfg.num_layers - 1}, got {layer}.")
    if not 0 <= sample < X.shape[0]:
        raise ValueError(f"sample must be between 0 and {X.shape[0] - 1}, got {sample}.")
    with torch.no_grad():
        u = unrolled_forward(model, X[sample:sample + 1])
    T = X.shape[1]
    # the layer's inputs: x_t (T, F) for the first layer, the layer below's h_t (T, H) above it
    inputs = X[sample] if layer == 0 else torch.cat(u.h[layer - 1])
    states = torch.cat(u.h[layer])                                       # (T, H)
    if u.c is not None:
        states = torch.cat([states, torch.cat(u.c[layer])], dim=1)       # (T, 2H)
    s_prev = torch.cat([torch.zeros_like(states[:1]), states[:-1]])      # s_{t−1}, s_{−1} = 0
    b_y = None
    if cell_of(cfg.cell).output_feedback:
        b_y = u.params["head.bias"].expand(T, -1).clone()                # (T, O)
        b_y[0] = 0.0                                                     # ŷ_0 = 0
    return inputs, s_prev, b_y, u.params


def jacobian_product_norms(model, X, layer: int = 0, sample: int = 0) -> list[float]:
    """‖∏_{j=t+1..T} ∂h_j/∂h_{j−1}‖₂ for k = T−t = 1..T (list index k−1), for one sample of X.

    Exact Jacobians from the written-out derivatives (`step_jacobians`, checked against autograd in the
    tests), float64, the model's current weights, along the sample's own trajectory; for LSTM the state
    is (h, c) and the product is of the (2H, 2H) Jacobians of the full state. Only sample `sample` of X
    is used (default the first: one trajectory keeps T = 1000 cheap). The running product is kept
    rescaled (its scale in log space), so nothing under- or overflows; values are capped at 1e300.
    The Jacobians are made and read JACOBIAN_ELEMENTS at a time, from the last step back (all T of an
    LSTM with H = 256 at T = 100 held 1 GB at once), so what this holds does not grow with T.
    """
    inputs, s_prev, b_y, params = layer_trajectory(model, X, layer, sample)
    T, S = s_prev.shape
    chunk = max(1, JACOBIAN_ELEMENTS // (S * S))                         # steps whose Jacobians are held at once
    P = torch.eye(S, dtype=s_prev.dtype)                                 # (S, S)
    log_scale, norms = 0.0, []
    for end in range(T, 0, -chunk):
        start = max(0, end - chunk)
        with torch.no_grad():                                            # J[i] = ∂s_t/∂s_{t−1}, t = start + i
            J = step_jacobians(model, params, layer, inputs[start:end], s_prev[start:end],
                               None if b_y is None else b_y[start:end])  # (C, S, S)
        scaled, logs = [], []
        for i in range(end - start - 1, -1, -1):
            if (start + i) % 16 == 0:
                checkpoint()                                             # Stop / a closed tab ends it here
            # P = J_T J_{T−1} … J_t   (0-based); k = T − t factors
            P = P @ J[i]
            norm = float(torch.linalg.matrix_norm(P))                    # Frobenius, only to rescale
            if norm == 0.0 or not math.isfinite(norm):
                scaled.append(P.clone())
                logs.append(log_scale)
                continue
            P = P / norm
            log_scale += math.log(norm)
            scaled.append(P)
            logs.append(log_scale)
        del J
        # ‖P‖₂ = sqrt(λ_max(PᵀP)), batched over this chunk's k
        Ps = torch.stack(scaled)                                         # (C, S, S)
        two_norms = torch.linalg.eigvalsh(Ps.mT @ Ps)[:, -1].clamp_min(0).sqrt()
        norms += [0.0 if v == 0 else min(THEORY_CAP, math.exp(min(700.0, lg + math.log(v))))
                  for v, lg in zip(two_norms.tolist(), logs)]
    return norms


def gate_path_norms(model, X, layer: int = 0, sample: int = 0) -> list[float]:
    """LSTM / GRU: ‖∏_{j=t+1..T} diag(g_j)‖₂ = max over units of the product of the path's gate
    (forget f for LSTM, update z for GRU) for k = T−t = 1..T (list index k−1), along one sample of X:
    the Jacobian product of the additive path alone (c_t = f_t ⊙ c_{t−1} + …, h_t = z_t ⊙ h_{t−1} + …),
    the part of `jacobian_product_norms` that the gates govern. Computed in log space (no underflow)."""
    cell = model.cfg.cell
    if not cell_of(cell).gate_path:
        raise ValueError(f"gate_path_norms needs a cell with a gate path (LSTM, GRU), got '{cell}'.")
    X = _inputs(model, X)
    with torch.no_grad():
        u = unrolled_forward(model, X[sample:sample + 1])
    return gate_path_from(torch.stack(u.gates[layer][cell_of(cell).gate_path[0]])[:, 0])   # (T, H)


def gate_path_from(G: Tensor) -> list[float]:
    """`gate_path_norms` from the path's gate values G (T, H) along one sample."""
    # log ∏_{j=T−k..T−1} g_j for every k: a reversed cumulative sum of logs
    logs = torch.cumsum(torch.flip(torch.log(G), [0]), dim=0)            # (T, H), row k−1
    return [min(THEORY_CAP, math.exp(v)) for v in logs.max(dim=1).values.tolist()]
