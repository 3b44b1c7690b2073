"""The written-out equations (cells.py) reproduce the fused torch forward, for every cell and 1–3 layers."""

from __future__ import annotations

import copy

import numpy as np
import pytest
import torch

from rnn_core.config import CELL_SPECS, CELLS, MAX_LAYERS, ModelConfig
from rnn_core.nn.cells import copy_params, elman_step, gru_step, lstm_step, unrolled_forward
from rnn_core.nn.models import build_model

F, H, O, T, B = 3, 5, 2, 8, 4
TIGHT = {"rtol": 1e-12, "atol": 1e-13}


def make(cell: str, layers: int, init: str = "default"):
    if layers > MAX_LAYERS.get(cell, layers):
        pytest.skip(f"{cell} has at most {MAX_LAYERS[cell]} layer (tests/engine/test_models.py checks the refusal)")
    cfg = ModelConfig(cell=cell, hidden_size=H, num_layers=layers, input_size=F, output_size=O, init=init,
                      gain=0.9, forget_bias=1.0)
    return build_model(cfg, seed=11)


def batch(seed: int = 0) -> torch.Tensor:
    return torch.randn(B, T, F, dtype=torch.float64, generator=torch.Generator().manual_seed(seed))


@pytest.mark.parametrize("cell", list(CELLS))
@pytest.mark.parametrize("layers", [1, 2, 3])
@pytest.mark.parametrize("init", ["default", "gaussian"])
def test_unrolled_equals_fused_forward(cell, layers, init):
    model = make(cell, layers, init)
    x = batch()
    fused = copy.deepcopy(model).double()          # the same float32 weights, evaluated in float64
    u = unrolled_forward(model, x)
    assert u.y_hat.dtype == torch.float64
    assert torch.allclose(u.y_hat, fused(x), **TIGHT)
    if cell == "jordan":                           # h_1..h_T and the outputs ŷ_1..ŷ_T fed back
        h, y_hat = fused.rnn(x, fused.head)
        assert torch.allclose(torch.stack(u.h[0], dim=1), h, **TIGHT)
        assert torch.allclose(torch.stack(u.y[0], dim=1), y_hat, **TIGHT)
        return
    out, state = fused.rnn(x)                      # out (B, T, H) of the top layer
    assert torch.allclose(torch.stack(u.h[-1], dim=1), out, **TIGHT)
    h_n = state[0] if cell == "lstm" else state    # (L, B, H)
    assert torch.allclose(torch.stack([h_l[-1] for h_l in u.h]), h_n, **TIGHT)
    if cell == "lstm":
        assert torch.allclose(torch.stack([c_l[-1] for c_l in u.c]), state[1], **TIGHT)
    assert len(u.h) == layers and all(len(h_l) == T for h_l in u.h)


@pytest.mark.parametrize("cell", list(CELLS))
@pytest.mark.parametrize("layers", [1, 3])
def test_unrolled_truncation_matches_model_gradients(cell, layers):
    model = make(cell, layers)
    x, y = batch(1), torch.randn(B, O, dtype=torch.float64)
    fused = copy.deepcopy(model).double()
    for k in (0, 3):
        fused.zero_grad()
        torch.mean((fused(x, bptt_truncate=k) - y) ** 2).backward()
        u = unrolled_forward(model, x, retain_grad=True, bptt_truncate=k)
        torch.mean((u.y_hat - y) ** 2).backward()
        for name, p in fused.named_parameters():
            assert torch.allclose(u.params[name].grad, p.grad, rtol=1e-10, atol=1e-13), (k, name)


def test_jordan_equations_by_hand():
    """The Jordan network, two steps, written out with explicit matrices: the output ŷ_1 is fed back."""
    model = make("jordan", 1)
    x = batch(2)[:, :2]
    P = copy_params(model)
    W_ih, b_ih, W_yh, b_yh = (P[f"rnn.{n}_l0"] for n in ("weight_ih", "bias_ih", "weight_yh", "bias_yh"))
    W_out, b_out = P["head.weight"], P["head.bias"]
    h1 = torch.tanh(x[:, 0] @ W_ih.T + b_ih + b_yh)                  # ŷ_0 = 0
    y1 = h1 @ W_out.T + b_out                                         # (B, O): the prediction after step 1
    h2 = torch.tanh(x[:, 1] @ W_ih.T + b_ih + y1 @ W_yh.T + b_yh)
    y2 = h2 @ W_out.T + b_out
    u = unrolled_forward(model, x)
    assert y1.shape == (B, O)
    assert torch.allclose(u.h[0][1], h2, **TIGHT)
    assert torch.allclose(u.y_hat, y2, **TIGHT)
    assert torch.allclose(model.double()(x), u.y_hat, **TIGHT)


def test_step_functions_against_single_step_torch_cells():
    g = torch.Generator().manual_seed(3)
    x_t, h, c = (torch.randn(B, n, dtype=torch.float64, generator=g) for n in (F, H, H))
    for cell_cls, step in ((torch.nn.RNNCell, "elman"), (torch.nn.LSTMCell, "lstm"), (torch.nn.GRUCell, "gru")):
        ref = cell_cls(F, H).double()
        W = (ref.weight_ih, ref.weight_hh, ref.bias_ih, ref.bias_hh)
        if step == "elman":
            assert torch.allclose(elman_step(x_t, h, *W), ref(x_t, h), **TIGHT)
        elif step == "lstm":
            h_t, c_t, gates = lstm_step(x_t, h, c, *W)
            h_ref, c_ref = ref(x_t, (h, c))
            assert torch.allclose(h_t, h_ref, **TIGHT) and torch.allclose(c_t, c_ref, **TIGHT)
            assert tuple(gates) == CELL_SPECS["lstm"].gates
        else:
            h_t, gates = gru_step(x_t, h, *W)
            assert torch.allclose(h_t, ref(x_t, h), **TIGHT)
            assert tuple(gates) == ("reset", "update")
    relu = torch.nn.RNNCell(F, H, nonlinearity="relu").double()
    W = (relu.weight_ih, relu.weight_hh, relu.bias_ih, relu.bias_hh)
    assert torch.allclose(elman_step(x_t, h, *W, act="relu"), relu(x_t, h), **TIGHT)


@pytest.mark.parametrize("cell", ["lstm", "gru"])
def test_gates_are_reported_per_layer_and_step_in_range(cell):
    u = unrolled_forward(make(cell, 2), batch())
    assert len(u.gates) == 2
    for g_l in u.gates:
        assert set(g_l) == set(CELL_SPECS[cell].gates)
        for name, acts in g_l.items():
            assert len(acts) == T
            lo = -1.0 if name == "cell" else 0.0
            assert all(float(a.min()) >= lo and float(a.max()) <= 1.0 for a in acts)


def test_unrolled_never_touches_the_model_and_accepts_numpy():
    model = make("lstm", 2)
    before = {k: v.clone() for k, v in model.state_dict().items()}
    u = unrolled_forward(model, batch().numpy(), retain_grad=True)
    u.y_hat.sum().backward()
    assert all(p.grad is None for p in model.parameters())
    assert all(torch.equal(before[k], v) for k, v in model.state_dict().items())
    assert isinstance(np.asarray(u.y_hat.detach()), np.ndarray)
