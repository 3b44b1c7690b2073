"""The Elman RNN, tanh and ReLU (`rnn_core/nn/cells/elman.py`): its step against torch's own RNNCell, its
probe against a hand-written NumPy BPTT, and the vanishing / exploding it shows at a known gain."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from rnn_core.lessons.scratch import ScratchRNN
from rnn_core.nn.cells import unrolled_forward
from rnn_core.nn.cells.elman import elman_step
from rnn_core.nn.model_config import ModelConfig
from rnn_core.nn.models import build_model, recurrent_matrix
from rnn_core.nn.probe import jacobian_product_norms, probe

F, H, B, T = 3, 5, 8, 30
TIGHT = {"rtol": 1e-12, "atol": 1e-13}


def data(scale: float = 1.0, seed: int = 0, T: int = T, F: int = 1, O: int = 1):
    g = torch.Generator().manual_seed(seed)
    X = scale * torch.randn(B, T, F, generator=g, dtype=torch.float64)
    y = torch.randn(B, O, generator=g, dtype=torch.float64)
    return X, y


def ortho_rnn(gain: float, H: int = 16):
    return build_model(ModelConfig(cell="rnn", hidden_size=H, init="orthogonal", gain=gain), seed=0)


def slope_per_step_back(values: list[float]) -> float:
    """Slope of log v_t against k = T−1−t (steps back from the last one)."""
    k = np.arange(len(values))[::-1]
    return float(np.polyfit(k, np.log(values), 1)[0])


@pytest.mark.parametrize("act", ["tanh", "relu"])
def test_the_step_equals_torchs_rnn_cell(act):
    g = torch.Generator().manual_seed(3)
    x_t, h = (torch.randn(B, n, dtype=torch.float64, generator=g) for n in (F, H))
    ref = torch.nn.RNNCell(F, H, nonlinearity=act).double()
    W = (ref.weight_ih, ref.weight_hh, ref.bias_ih, ref.bias_hh)
    assert torch.allclose(elman_step(x_t, h, *W, act=act), ref(x_t, h), **TIGHT)


@pytest.mark.parametrize("cell", ["rnn", "rnn_relu"])
def test_the_recurrent_matrix_is_w_hh(cell):
    m = build_model(ModelConfig(cell=cell, hidden_size=H, num_layers=2), seed=0)
    for k in range(2):
        assert torch.equal(recurrent_matrix(m, k), getattr(m.rnn, f"weight_hh_l{k}"))


def test_gaussian_scheme_std():
    H = 200
    m = build_model(ModelConfig(cell="rnn", hidden_size=H, init="gaussian", gain=1.5), seed=0)
    W = m.rnn.weight_hh_l0.detach()
    assert abs(float(W.std()) - 1.5 / H**0.5) < 0.05 * 1.5 / H**0.5
    assert abs(float(W.mean())) < 0.01


def test_probe_equals_the_hand_written_bptt():
    """‖∂L/∂h_t‖ and ‖∂L/∂θ‖ from the probe against NumPy BPTT on the same weights (float64)."""
    model = build_model(ModelConfig(cell="rnn", hidden_size=7, input_size=2, output_size=3), seed=4)
    X, y = data(seed=2, F=2, O=3)
    d = probe(model, X, y)
    net = ScratchRNN.from_model(model)
    hand = net.bptt(X.numpy(), y.numpy())
    assert np.allclose(d["grad_h"][0], hand.dh_norms, rtol=1e-9, atol=0)
    assert d["loss"] == pytest.approx(hand.loss, rel=1e-12)
    assert d["param_grad_norms"]["rnn.weight_hh_l0"] == pytest.approx(np.linalg.norm(hand.grads["W"]), rel=1e-9)
    assert d["param_grad_norms"]["head.weight"] == pytest.approx(np.linalg.norm(hand.grads["V"]), rel=1e-9)
    # b_ih and b_hh both receive ∂L/∂b
    assert d["param_grad_norms"]["rnn.bias_ih_l0"] == pytest.approx(np.linalg.norm(hand.grads["b"]), rel=1e-9)


def test_orthogonal_half_vanishes_geometrically_with_theory_slope():
    X, y = data(scale=1e-9)                        # tiny inputs, zero biases: tanh stays linear
    d = probe(ortho_rnn(0.5), X, y)
    grads = d["grad_h"][0]
    assert slope_per_step_back(grads) == pytest.approx(math.log(0.5), abs=0.01)
    assert grads[0] < 1e-7 * grads[-1]
    # in the linear regime the Pascanu line is not just a bound but the value itself
    assert d["sigma_max"][0] == pytest.approx(0.5, rel=1e-6) and d["gamma"] == 1.0
    assert np.allclose(np.log(grads), np.log(d["theory"][0]), atol=1e-3)


def test_orthogonal_one_and_a_half_explodes_back_in_time():
    X, y = data(scale=1e-9, T=25)
    grads = probe(ortho_rnn(1.5), X, y)["grad_h"][0]
    assert slope_per_step_back(grads) == pytest.approx(math.log(1.5), abs=0.02)
    assert grads[0] > 1e3 * grads[-1]


def test_lower_layer_of_a_stack_gets_gradient_from_above_and_no_bound():
    """Why the lower layer has no theory line: its gradient exceeds the line it would have."""
    model = build_model(ModelConfig(cell="rnn", hidden_size=8, num_layers=2, init="orthogonal", gain=0.5), seed=0)
    d = probe(model, *data(T=50))
    assert d["theory"][0] == [] and len(d["theory"][1]) == 50
    rate = d["sigma_max"][0] * d["gamma"]
    g = np.array(d["grad_h"][0])
    would_be = g[-1] * rate ** (49 - np.arange(50))
    assert np.sum(g > would_be * 1.01) >= 45                          # 49 of 50 here


def test_jacobian_products_follow_the_gain_in_the_linear_regime():
    X, _ = data(scale=1e-9, T=20)
    norms = jacobian_product_norms(ortho_rnn(0.5), X)
    assert len(norms) == 20
    assert np.allclose(norms, [0.5**k for k in range(1, 21)], rtol=1e-6)
    X, _ = data(scale=1e-9, T=1200)                # 0.5^1200 ≈ 1e-361 and 3^1200: no under/overflow
    small = jacobian_product_norms(ortho_rnn(0.5), X)
    assert small[999] == pytest.approx(0.5**1000, rel=1e-6) and small[-1] == 0.0
    # IRNN with gain 3 and positive inputs: the ReLU units with W_ih > 0 stay on, ‖∏ J‖ = 3^k
    irnn = build_model(ModelConfig(cell="rnn_relu", hidden_size=8, init="identity", gain=3.0), seed=0)
    big = jacobian_product_norms(irnn, X[:, :300].abs())
    assert np.allclose(big, [3.0**k for k in range(1, 301)], rtol=1e-9)


@pytest.mark.parametrize("cell", ["rnn", "rnn_relu"])
def test_jacobian_products_equal_the_explicit_product(cell):
    """∂h_t/∂h_{t−1} = diag(φ′(a_t)) W_hh, multiplied out by hand along one sequence (top layer)."""
    model = build_model(ModelConfig(cell=cell, hidden_size=5, num_layers=2, input_size=2), seed=3)
    X, _ = data(T=9, F=2)
    u = unrolled_forward(model, X[:1])
    W = model.rnn.weight_hh_l1.detach().double()
    P, expected = torch.eye(5, dtype=torch.float64), []
    for t in range(8, -1, -1):
        h_t = u.h[1][t][0]
        d = (h_t > 0).double() if cell == "rnn_relu" else 1 - h_t**2
        P = P @ (d[:, None] * W)
        expected.append(float(torch.linalg.matrix_norm(P, ord=2)))
    assert np.allclose(jacobian_product_norms(model, X, layer=1), expected, rtol=1e-10)
