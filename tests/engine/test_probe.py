"""The gradient-through-time probe, for every cell of the registry: its dict, the bound drawn only where it
is one (and then above the measured line), the gate path, truncation, and no side effects on the model.
What the probe shows for one cell (vanishing at gain 0.5, an LSTM keeping its gradient, …) is in that
cell's own file, tests/test_cell_<name>.py."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from rnn_core.nn.cells import CELLS, cell_of, unrolled_forward
from rnn_core.nn.models import spectra
from rnn_core.nn.probe import bound_holds, probe
from tests.conftest import cell_model as make
from tests.conftest import float64_batch as batch

B = 4
ALL = list(CELLS)
BOUNDED = [name for name, c in CELLS.items() if c.bounded]
PATHS = [name for name, c in CELLS.items() if c.gate_path]


def layers_of(cell: str, wanted: int) -> int:
    """`wanted` layers, or the most the cell can have."""
    return min(wanted, cell_of(cell).max_layers or wanted)


# ------------------------------------------------------------------------------------------ the probe
@pytest.mark.parametrize("cell", ALL)
def test_probe_dict_shape_and_json(cell):
    L = layers_of(cell, 2)
    model = make(cell, 2, hidden_size=6, input_size=2, output_size=1, seed=0)
    X, y = batch(T=12, F=2), torch.randn(B, 1, dtype=torch.float64)
    d = probe(model, X.float().numpy(), y.numpy())       # numpy float32 in, float64 inside
    json.dumps(d, allow_nan=False)
    assert d["timesteps"] == 12 and len(d["grad_h"]) == L and all(len(g) == 12 for g in d["grad_h"])
    assert all(v > 0 for g in d["grad_h"] for v in g)
    assert (d["grad_c"] is not None) == cell_of(cell).cell_state
    assert set(d["param_grad_norms"]) == {n for n, _ in model.named_parameters()}
    # the bound only where it is one: a bounded cell's top layer
    assert [len(t) for t in d["theory"]] == [12 if bound_holds(cell, l, L) else 0 for l in range(L)]
    assert [bound_holds(cell, l, L) for l in range(L)] == [cell_of(cell).bounded and l == L - 1 for l in range(L)]
    assert all(d["theory"][l][-1] == pytest.approx(d["grad_h"][l][-1]) for l in range(L) if d["theory"][l])
    # a gated cell's path line instead, top layer
    assert [len(p) for p in d["gate_path"]] == [12 if cell_of(cell).gate_path and l == L - 1 else 0
                                                for l in range(L)]
    assert d["sigma_max"] == [s["sigma_max"] for s in spectra(model)]
    assert [set(g) for g in d["gates"]] == [set(cell_of(cell).gates)] * L


@pytest.mark.parametrize("cell", BOUNDED)
@pytest.mark.parametrize("init,gain", [("default", 1.0), ("orthogonal", 1.5), ("identity", 1.0),
                                       ("orthogonal", 1.3), ("gaussian", 0.7)])
def test_the_theory_line_is_an_upper_bound_where_drawn(cell, init, gain):
    """‖∂L/∂h_t‖ ≤ ‖∂L/∂h_T‖·(σ_max·γ)^(T−1−t) at every t, for the top layer of a stack too."""
    for seed in range(3):
        model = make(cell, 2, init, gain=gain, hidden_size=8, input_size=1, output_size=1, seed=seed)
        X, y = batch(seed, T=40, F=1, B=8), torch.randn(8, 1, dtype=torch.float64)
        d = probe(model, X, y)
        top, theory = np.array(d["grad_h"][-1]), np.array(d["theory"][-1])
        assert np.all(top <= theory * (1 + 1e-9))


@pytest.mark.parametrize("cell", BOUNDED)
def test_the_theory_line_is_capped_not_infinite(cell):
    model = make(cell, 1, "orthogonal", gain=5.0, hidden_size=4, input_size=1, output_size=1, seed=0)
    d = probe(model, batch(T=600, F=1), torch.randn(B, 1, dtype=torch.float64))
    assert all(np.isfinite(d["theory"][0])) and max(d["theory"][0]) <= 1e300


@pytest.mark.parametrize("cell", PATHS)
def test_the_gate_path_is_the_gate_product_times_the_last_gradient(cell):
    """gate_path[t] = ‖(g_{t+1} ⊙ … ⊙ g_T) ⊙ ∂L/∂s_T‖, recomputed here with a plain loop."""
    model = make(cell, 1, hidden_size=6, input_size=1, output_size=1, forget_bias=2.0, seed=1)
    X, y = batch(3, T=15, F=1), torch.randn(B, 1, dtype=torch.float64)
    d = probe(model, X, y)
    u = unrolled_forward(model, X, retain_grad=True)
    torch.mean((u.y_hat - y) ** 2).backward()
    gate, which = cell_of(cell).gate_path
    state = (u.c if which == "c" else u.h)[0]
    expected, prod = [], torch.ones_like(state[-1])
    for t in range(14, -1, -1):
        expected.append(float(torch.linalg.vector_norm(prod * state[-1].grad)))
        prod = prod * u.gates[0][gate][t].detach()
    assert np.allclose(d["gate_path"][0], expected[::-1], rtol=1e-12)
    last = (d["grad_c"] if which == "c" else d["grad_h"])[0][-1]
    assert d["gate_path"][0][-1] == pytest.approx(last, rel=1e-12)


@pytest.mark.parametrize("cell", ALL)
def test_probe_with_truncation_has_no_gradient_beyond_k(cell):
    model = make(cell, 1, hidden_size=5, input_size=1, output_size=1, seed=0)
    X, y = batch(T=12, F=1), torch.randn(B, 1, dtype=torch.float64)
    d = probe(model, X, y, bptt_truncate=4)
    assert d["grad_h"][0][:8] == [0.0] * 8
    assert all(v > 0 for v in d["grad_h"][0][8:])
    assert d["cut"] == 8                                           # the first timestep that gets one
    assert probe(model, X, y)["cut"] == 0


@pytest.mark.parametrize("cell", ALL)
def test_probe_never_changes_the_model(cell):
    model = make(cell, 2, hidden_size=6, input_size=1, output_size=1, seed=0)
    X, y = batch(T=10, F=1), torch.randn(B, 1, dtype=torch.float64)
    before = {k: v.clone() for k, v in model.state_dict().items()}
    probe(model, X, y)
    assert all(p.grad is None for p in model.parameters())
    model(X.float()).sum().backward()
    grads = {n: p.grad.clone() for n, p in model.named_parameters()}
    with torch.no_grad():                           # also works inside a caller's no_grad
        probe(model, X, y)
    assert all(torch.equal(before[k], v) for k, v in model.state_dict().items())
    assert all(torch.equal(grads[n], p.grad) for n, p in model.named_parameters())


