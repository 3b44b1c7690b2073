"""The Jacobian products of N networks at once: `probe.jacobian_product_norms` for the Gradient Lab's seeds.

Holds `jacobian_stack(models, X, layer, sample)`: for N networks of one configuration (their own weights, their
own inputs X[n]), "norms": ‖∏_{j=t+1..T} ∂h_j/∂h_{j−1}‖₂ for k = T−t = 1..T and "gate_path" (a cell with a gate
path, else []), each network's lists bit for bit those `probe.jacobian_product_norms(models[n], X[n], layer,
sample)` and `probe.gate_path_norms` give alone (tests/engine/test_lab_probes.py).

Why: the running product P ← P·J_t is T small (S, S) products, each costing its count more than its size; N
networks' trajectories are one unroll (no gradient), their products go through one batched product per step
(torch hands each network to the 2-D product from `cells.BATCHED_FROM` multiply-adds up; below it, one 2-D
product each, as `cells.times_T` does), their rescaling and their eigenproblems too.
Leaves to others: the reference and its conventions (`probe.jacobian_product_norms`: rescaling, the cap, the
chunks of JACOBIAN_ELEMENTS), the step Jacobians (`cells.step_jacobians`), the trajectories (`probe.layer_trajectory`).
"""

from __future__ import annotations

import math

import torch
from torch import Tensor

from rnn_core.interrupt import checkpoint
from rnn_core.nn import probe
from rnn_core.nn.cells import cell_of, copy_params, step_jacobians, unroll_stack
from rnn_core.nn.cells.cell import BATCHED_FROM
from rnn_core.nn.inputs import as_input
from rnn_core.nn.probe import THEORY_CAP, gate_path_from


def _times(a: Tensor, b: Tensor) -> Tensor:
    """a @ b for N (S, S) pairs at once, (N, S, S), each with the numbers its own 2-D product gives."""
    if a.shape[-2] * a.shape[-1] * b.shape[-1] >= BATCHED_FROM:
        return a @ b
    return torch.stack([a_n @ b_n for a_n, b_n in zip(a, b)])


def _two_norms(Ps: Tensor) -> list[float]:
    """‖P‖₂ = sqrt(λ_max(PᵀP)) of C rescaled products (C, S, S), as the reference computes them per chunk."""
    return torch.linalg.eigvalsh(Ps.mT @ Ps)[:, -1].clamp_min(0).sqrt().tolist()


def jacobian_stack(models, X, layer: int = 0, sample: int = 0) -> list[dict]:
    """Per network n: {"norms": `probe.jacobian_product_norms(models[n], X[n], layer, sample)`, "gate_path":
    `probe.gate_path_norms(models[n], X[n], layer, sample)` where the cell has a gate path, else []} (X a sequence
    of N batches (B, T, F)), the products computed for as many networks at once as keep the Jacobians held
    within JACOBIAN_ELEMENTS."""
    paths, gates = _trajectories(models, X, layer, sample)              # N × (inputs, s_prev, b_y, params)
    T, S = paths[0][1].shape
    chunk = max(1, probe.JACOBIAN_ELEMENTS // (S * S))                   # steps held at once (the reference's)
    group = max(1, probe.JACOBIAN_ELEMENTS // (min(T, chunk) * S * S))   # networks at once
    norms = [n for i in range(0, len(models), group)
             for n in _stack_norms(models[i:i + group], paths[i:i + group], layer, chunk)]
    return [{"norms": n, "gate_path": gate_path_from(G) if G is not None else []} for n, G in zip(norms, gates)]


def _trajectories(models, X, layer: int, sample: int) -> tuple[list[tuple], list[Tensor | None]]:
    """`probe.layer_trajectory(models[n], X[n], layer, sample)` for every n from one unroll of the N networks on
    their sample (no gradient), and the gate values (T, H) of the cell's gate path along it (None: no path)."""
    cfg, cell = models[0].cfg, cell_of(models[0].cfg.cell)
    xs = [as_input(torch.as_tensor(x), cfg.input_size, torch.float64)[sample] for x in X]   # N × (T, F)
    if not 0 <= layer < cfg.num_layers:
        raise ValueError(f"layer must be between 0 and {cfg.num_layers - 1}, got {layer}.")
    with torch.no_grad():
        u = unroll_stack(models, torch.stack(xs)[:, None])               # x (N, 1, T, F)
    T = xs[0].shape[0]
    paths, gates = [], []
    for n, model in enumerate(models):
        # the layer's inputs: x_t (T, F) for the first layer, the layer below's h_t (T, H) above it
        inputs = xs[n] if layer == 0 else torch.cat([h[n] for h in u.h[layer - 1]])
        states = torch.cat([h[n] for h in u.h[layer]])                   # (T, H)
        if u.c is not None:
            states = torch.cat([states, torch.cat([c[n] for c in u.c[layer]])], dim=1)   # (T, 2H)
        s_prev = torch.cat([torch.zeros_like(states[:1]), states[:-1]])  # s_{t−1}, s_{−1} = 0
        params = copy_params(model)
        b_y = None
        if cell.output_feedback:
            b_y = params["head.bias"].expand(T, -1).clone()              # (T, O)
            b_y[0] = 0.0                                                 # ŷ_0 = 0
        paths.append((inputs, s_prev, b_y, params))
        gates.append(torch.cat([g[n] for g in u.gates[layer][cell.gate_path[0]]]) if cell.gate_path else None)
    return paths, gates


def _stack_norms(models, paths: list[tuple], layer: int, chunk: int) -> list[list[float]]:
    """The reference's loop (`probe.jacobian_product_norms`) over chunks of `chunk` steps from the last step
    back, every network of `models` (their trajectories `paths`) at once."""
    N, (T, S) = len(models), paths[0][1].shape
    P = torch.eye(S, dtype=paths[0][1].dtype).expand(N, S, S)           # (N, S, S)
    log_scale = [0.0] * N
    norms: list[list[float]] = [[] for _ in range(N)]
    for end in range(T, 0, -chunk):
        start = max(0, end - chunk)
        with torch.no_grad():                                            # J[n, i] = ∂s_t/∂s_{t−1}, t = start + i
            J = torch.stack([step_jacobians(m, params, layer, inputs[start:end], s_prev[start:end],
                                            None if b_y is None else b_y[start:end])
                             for m, (inputs, s_prev, b_y, params) in zip(models, paths)])   # (N, C, S, S)
        scaled, logs = [], []
        for i in range(end - start - 1, -1, -1):
            if (start + i) % 16 == 0:
                checkpoint()                                             # Stop / a closed tab ends it here
            # P = J_T J_{T−1} … J_t   (0-based); k = T − t factors, every network at once
            P = _times(P, J[:, i])                                       # (N, S, S)
            P, logs_now = _rescaled(P, log_scale)
            scaled.append(P)
            logs.append(logs_now)
        del J
        Ps = torch.stack(scaled, dim=1)                                  # (N, C, S, S)
        for n in range(N):
            norms[n] += [0.0 if v == 0 else min(THEORY_CAP, math.exp(min(700.0, lg[n] + math.log(v))))
                         for v, lg in zip(_two_norms(Ps[n]), logs)]
    return norms


def _rescaled(P: Tensor, log_scale: list[float]) -> tuple[Tensor, list[float]]:
    """P[n] / ‖P[n]‖_F where that norm is finite and not 0 (kept as it is otherwise), its log added to
    log_scale[n] (in place); returns the new P (N, S, S) and a copy of the logs, as the reference does."""
    norm = torch.linalg.matrix_norm(P)                                   # (N,) Frobenius, only to rescale
    values = norm.tolist()
    ok = [v != 0.0 and math.isfinite(v) for v in values]
    for n, v in enumerate(values):
        if ok[n]:
            log_scale[n] += math.log(v)
    if all(ok):
        P = P / norm[:, None, None]
    elif any(ok):
        P = torch.where(torch.tensor(ok)[:, None, None], P / norm[:, None, None], P)
    else:
        P = P.clone()
    return P, list(log_scale)
