"""Every cell of the registry (`rnn_core.nn.cells.CELLS`), whole: the entry agrees with the model it builds,
the written-out equations equal the trainable module, the written-out Jacobian equals autograd of the
written-out step, and the Jacobian product stays under the bound wherever the entry says it holds.
No test here names a cell: a new cell's row is tested by all of them (and by tests/test_probe.py and
tests/test_models.py); its own file, tests/test_cell_<name>.py, holds what is true of that cell alone."""

from __future__ import annotations

import copy

import numpy as np
import pytest
import torch

from rnn_core.config import ConfigError
from rnn_core.nn.cells import CELLS, cell_help, cell_of, layers_error, unrolled_forward
from rnn_core.nn.model_config import ModelConfig
from rnn_core.nn.models import build_model, recurrent_matrix, spectra
from rnn_core.nn.probe import jacobian_product_norms, layer_trajectory, probe, step_jacobians
from tests.conftest import cell_model as make
from tests.conftest import float64_batch as batch

F, H, O, T, B = 3, 5, 2, 8, 4
TIGHT = {"rtol": 1e-12, "atol": 1e-13}
ALL = list(CELLS)
BOUNDED = [name for name, c in CELLS.items() if c.bounded]
GATED = [name for name, c in CELLS.items() if c.gates]


def layers_of(cell: str, wanted: int) -> int:
    """`wanted` layers, or the most the cell can have."""
    return min(wanted, cell_of(cell).max_layers or wanted)


# ------------------------------------------------------------------------------------------ the entries
def test_each_entry_is_whole_and_distinct():
    assert len({c.color for c in CELLS.values()}) == len({c.label for c in CELLS.values()}) == len(CELLS)
    for name, c in CELLS.items():
        assert c.name == name and "=" in c.sentence and c.sentence in cell_help()   # its equation, shown
        assert (c.step is None) == (c.unroll is not None)            # one loop or the other, never neither
        assert c.gate_path is None or c.gate_path[0] in c.gates
        assert bool(c.layers_why) == (c.max_layers is not None)


def test_an_unknown_cell_and_too_many_layers_are_one_sentence():
    with pytest.raises(ConfigError, match=r"^Unknown cell 'transformer': choose one of .*\.$"):
        build_model(ModelConfig(cell="transformer"))
    for name, c in CELLS.items():
        if c.max_layers is not None:
            message = layers_error(name, c.max_layers + 1)
            assert message.startswith(f"A {c.label} {c.layers_why}") and message.endswith(
                f"set layers to {c.max_layers}, got {c.max_layers + 1}.")
            with pytest.raises(ConfigError, match="set layers to"):
                build_model(ModelConfig(cell=name, num_layers=c.max_layers + 1))
        else:
            assert layers_error(name, 4) is None


@pytest.mark.parametrize("cell", ALL)
def test_the_model_and_the_probe_agree_with_the_entry(cell):
    c = cell_of(cell)
    model = make(cell, hidden_size=4, input_size=2, output_size=1)
    assert all(recurrent_matrix(model, k).shape == (4, 4) for k in range(model.cfg.num_layers))
    X = np.random.default_rng(0).normal(size=(3, 5, 2)).astype(np.float32)
    u = unrolled_forward(model, X)
    assert all(set(g) == set(c.gates) for g in u.gates) and (u.c is not None) == c.cell_state
    result = probe(model, X, np.zeros((3, 1), np.float32))
    assert result["gamma"] == c.gamma
    assert bool(result["theory"][-1]) == c.bounded                     # the bound is drawn only where it is one
    assert bool(result["gate_path"][-1]) == bool(c.gate_path)
    assert spectra(model)[0]["matrix"] == c.spectrum_of


# --------------------------------------------------------------------- the written-out equations (parity)
@pytest.mark.parametrize("cell", ALL)
@pytest.mark.parametrize("layers", [1, 2, 3])
@pytest.mark.parametrize("init", ["default", "gaussian"])
def test_written_out_forward_equals_the_trainable_module(cell, layers, init):
    if layers_of(cell, layers) < layers:
        pytest.skip(f"{cell} has at most {cell_of(cell).max_layers} layer (the refusal is tested above)")
    model = make(cell, layers, init)
    x = batch()
    trained = copy.deepcopy(model).double()          # the same float32 weights, evaluated in float64
    u = unrolled_forward(model, x)
    assert u.y_hat.dtype == torch.float64
    assert torch.allclose(u.y_hat, trained(x), **TIGHT)
    assert len(u.h) == layers and all(len(h_l) == T for h_l in u.h)
    if not cell_of(cell).output_feedback:             # the top layer's h_1..h_T and every layer's h_T
        out, state = trained.rnn(x)                  # out (B, T, H)
        assert torch.allclose(torch.stack(u.h[-1], dim=1), out, **TIGHT)
        h_n = state[0] if isinstance(state, tuple) else state        # (L, B, H)
        assert torch.allclose(torch.stack([h_l[-1] for h_l in u.h]), h_n, **TIGHT)
        if cell_of(cell).cell_state:
            assert torch.allclose(torch.stack([c_l[-1] for c_l in u.c]), state[1], **TIGHT)


@pytest.mark.parametrize("cell", ALL)
@pytest.mark.parametrize("layers", [1, 3])
def test_written_out_truncation_matches_the_model_gradients(cell, layers):
    model = make(cell, layers)
    x, y = batch(1), torch.randn(B, O, dtype=torch.float64)
    trained = copy.deepcopy(model).double()
    for k in (0, 3):
        trained.zero_grad()
        torch.mean((trained(x, bptt_truncate=k) - y) ** 2).backward()
        u = unrolled_forward(model, x, retain_grad=True, bptt_truncate=k)
        torch.mean((u.y_hat - y) ** 2).backward()
        for name, p in trained.named_parameters():
            assert torch.allclose(u.params[name].grad, p.grad, rtol=1e-10, atol=1e-13), (k, name)


@pytest.mark.parametrize("cell", ALL)
def test_written_out_forward_never_touches_the_model_and_accepts_numpy(cell):
    model = make(cell)
    before = {k: v.clone() for k, v in model.state_dict().items()}
    u = unrolled_forward(model, batch().numpy(), retain_grad=True)
    u.y_hat.sum().backward()
    assert all(p.grad is None for p in model.parameters())
    assert all(torch.equal(before[k], v) for k, v in model.state_dict().items())


@pytest.mark.parametrize("cell", GATED)
def test_gates_are_reported_per_layer_and_step_in_range(cell):
    u = unrolled_forward(make(cell, 2), batch())
    for g_l in u.gates:
        assert set(g_l) == set(cell_of(cell).gates)
        for acts in g_l.values():
            assert len(acts) == T and all(float(a.min()) >= -1.0 and float(a.max()) <= 1.0 for a in acts)


# ---------------------------------------------------------------------------------------- Jacobians
@pytest.mark.parametrize("cell", ALL)
@pytest.mark.parametrize("layer", [0, 1])
def test_written_out_step_jacobians_equal_autograd_of_the_step(cell, layer):
    if layer >= layers_of(cell, 2):
        pytest.skip(f"{cell} has one layer")
    model = make(cell, 2, "gaussian", gain=1.2, forget_bias=0.5, output_size=3, input_size=2, seed=1)
    with torch.no_grad():                          # non-zero biases everywhere
        for name, p in model.named_parameters():
            if "bias" in name:
                p.uniform_(-0.5, 0.5, generator=torch.Generator().manual_seed(len(name)))
    X = batch(T=7, F=2)
    inputs, s_prev, b_y, params = layer_trajectory(model, X, layer, sample=1)
    J = step_jacobians(model, params, layer, inputs, s_prev, b_y)
    b = b_y if b_y is not None else torch.zeros(7, 3, dtype=torch.float64)
    step = cell_of(cell).state_step

    def one(s, x, b_t):
        return step(params, layer, x[None], s[None], b_t[None])[0]

    ref = torch.func.vmap(torch.func.jacrev(one))(s_prev, inputs, b)
    assert J.shape == ref.shape == (7, s_prev.shape[1], s_prev.shape[1])
    assert torch.allclose(J, ref, rtol=1e-12, atol=1e-14)


@pytest.mark.parametrize("cell", BOUNDED)
@pytest.mark.parametrize("init,gain", [("default", 1.0), ("orthogonal", 0.8), ("orthogonal", 1.4),
                                       ("identity", 1.0), ("gaussian", 1.3)])
def test_the_jacobian_product_stays_under_the_bound_where_the_entry_says_it_holds(cell, init, gain):
    """‖∏ J‖₂ ≤ (σ_max·γ)^k for every k, σ_max of the entry's recurrent matrix."""
    model = make(cell, 1, init, gain=gain, hidden_size=6, output_size=1)
    rate = spectra(model)[0]["sigma_max"] * cell_of(cell).gamma
    norms = np.array(jacobian_product_norms(model, batch(T=40), layer=0))
    assert np.all(norms <= rate ** np.arange(1, 41) * (1 + 1e-9))


