"""The gradient-through-time probe: exact values, the vanishing/exploding theory, and no side effects."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
import torch

from rnn_core.cells import elman_step, gru_step, jordan_step, lstm_step
from rnn_core.config import CELLS, ModelConfig
from rnn_core.models import build_model, spectra
from rnn_core.probe import jacobian_product_norms, layer_trajectory, probe, step_jacobians
from rnn_core.scratch import ScratchRNN

T, B = 30, 8


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


def test_lstm_with_large_forget_bias_keeps_the_cell_gradient():
    X, y = data(seed=1)
    rnn = probe(build_model(ModelConfig(cell="rnn", hidden_size=16), seed=0), X, y)
    lstm = probe(build_model(ModelConfig(cell="lstm", hidden_size=16, forget_bias=5.0), seed=0), X, y)
    rnn_ratio = rnn["grad_h"][0][0] / rnn["grad_h"][0][-1]
    lstm_ratio = lstm["grad_c"][0][0] / lstm["grad_c"][0][-1]
    assert rnn_ratio < 1e-5                         # the tanh RNN forgets over 30 steps
    assert lstm_ratio > 0.1                         # the LSTM's cell path keeps the gradient
    assert lstm["grad_c"][0][0] > 1e4 * rnn["grad_h"][0][0]
    assert np.mean(lstm["gates"][0]["forget"]) > 0.95


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


@pytest.mark.parametrize("cell", list(CELLS))
def test_probe_dict_shape_and_json(cell):
    model = build_model(ModelConfig(cell=cell, hidden_size=6, num_layers=2, input_size=2), seed=0)
    X, y = data(F=2, T=12)
    d = probe(model, X.float().numpy(), y.numpy())       # numpy float32 in, float64 inside
    json.dumps(d, allow_nan=False)
    assert d["timesteps"] == 12 and len(d["grad_h"]) == 2 and all(len(g) == 12 for g in d["grad_h"])
    assert all(v > 0 for g in d["grad_h"] for v in g)
    assert (d["grad_c"] is not None) == (cell == "lstm")
    assert set(d["param_grad_norms"]) == {n for n, _ in model.named_parameters()}
    assert [len(t) for t in d["theory"]] == [12, 12]
    assert all(d["theory"][l][-1] == pytest.approx(d["grad_h"][l][-1]) for l in range(2))
    assert d["sigma_max"] == [s["sigma_max"] for s in spectra(model)]
    expected_gates = {"lstm": {"input", "forget", "cell", "output"}, "gru": {"reset", "update"}}
    assert [set(g) for g in d["gates"]] == [expected_gates.get(cell, set())] * 2


def test_probe_never_changes_the_model():
    model = build_model(ModelConfig(cell="lstm", hidden_size=6, num_layers=2), seed=0)
    X, y = data(T=10)
    before = {k: v.clone() for k, v in model.state_dict().items()}
    probe(model, X, y)
    assert all(p.grad is None for p in model.parameters())
    model(X.float()).sum().backward()
    grads = {n: p.grad.clone() for n, p in model.named_parameters()}
    with torch.no_grad():                           # also works inside a caller's no_grad
        probe(model, X, y)
    assert all(torch.equal(before[k], v) for k, v in model.state_dict().items())
    assert all(torch.equal(grads[n], p.grad) for n, p in model.named_parameters())


def test_probe_with_truncation_has_no_gradient_beyond_k():
    X, y = data(T=12)
    d = probe(build_model(ModelConfig(cell="gru", hidden_size=5), seed=0), X, y, bptt_truncate=4)
    assert d["grad_h"][0][:8] == [0.0] * 8
    assert all(v > 0 for v in d["grad_h"][0][8:])


def test_theory_line_is_capped_not_infinite():
    model = build_model(ModelConfig(cell="rnn", hidden_size=4, init="orthogonal", gain=5.0), seed=0)
    X, y = data(T=600)
    d = probe(model, X, y)
    assert all(math.isfinite(v) for v in d["theory"][0]) and max(d["theory"][0]) <= 1e300


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


@pytest.mark.parametrize("cell", ["rnn", "rnn_relu", "jordan"])
def test_jacobian_products_equal_the_explicit_product(cell):
    model = build_model(ModelConfig(cell=cell, hidden_size=5, num_layers=2, input_size=2), seed=3)
    X, _ = data(T=9, F=2)
    from rnn_core.cells import unrolled_forward

    u = unrolled_forward(model, X[:1])
    layer = 1
    W = model.rnn.weight_hh_l1.detach().double()
    if cell == "jordan":
        W = W @ model.rnn.weight_hy_l1.detach().double()
    P, expected = torch.eye(5, dtype=torch.float64), []
    for t in range(8, -1, -1):
        h_t = u.h[layer][t][0]
        # ∂h_t/∂h_{t−1} = diag(φ'(a_t)) W
        d = (h_t > 0).double() if cell == "rnn_relu" else 1 - h_t**2
        P = P @ (d[:, None] * W)
        expected.append(float(torch.linalg.matrix_norm(P, ord=2)))
    assert np.allclose(jacobian_product_norms(model, X, layer=layer), expected, rtol=1e-10)


def reference_step(model, params, layer: int):
    """(s_{t−1}, x_t, b_y) ↦ s_t through cells.py's step functions, for torch.func.jacrev."""
    cell, H = model.cfg.cell, model.cfg.hidden_size
    W = [params[f"rnn.{n}_l{layer}"] for n in ("weight_ih", "weight_hh", "bias_ih", "bias_hh")]

    def step(s, x, b_y):
        s, x = s[None], x[None]
        if cell in ("rnn", "rnn_relu"):
            return elman_step(x, s, *W, act="tanh" if cell == "rnn" else "relu")[0]
        if cell == "jordan":
            W_hy, b_hy = params[f"rnn.weight_hy_l{layer}"], params[f"rnn.bias_hy_l{layer}"]
            return jordan_step(x, s @ W_hy.T + b_y, *W, W_hy, b_hy)[0][0]
        if cell == "gru":
            return gru_step(x, s, *W)[0][0]
        h, c, _ = lstm_step(x, s[:, :H], s[:, H:], *W)
        return torch.cat([h, c], dim=1)[0]

    return step


@pytest.mark.parametrize("cell", list(CELLS))
@pytest.mark.parametrize("layer", [0, 1])
def test_written_out_step_jacobians_equal_autograd(cell, layer):
    model = build_model(ModelConfig(cell=cell, hidden_size=5, num_layers=2, input_size=2, init="gaussian",
                                    gain=1.2, forget_bias=0.5), seed=1)
    with torch.no_grad():                          # non-zero biases everywhere
        for name, p in model.named_parameters():
            if "bias" in name:
                p.uniform_(-0.5, 0.5, generator=torch.Generator().manual_seed(len(name)))
    X, _ = data(T=7, F=2)
    inputs, s_prev, b_y, params = layer_trajectory(model, X, layer, sample=1)
    J = step_jacobians(model, params, layer, inputs, s_prev, b_y)
    b = b_y if b_y is not None else torch.zeros(7, 5, dtype=torch.float64)
    ref = torch.func.vmap(torch.func.jacrev(reference_step(model, params, layer)))(s_prev, inputs, b)
    assert J.shape == ref.shape == ((7, 10, 10) if cell == "lstm" else (7, 5, 5))
    assert torch.allclose(J, ref, rtol=1e-12, atol=1e-14)


@pytest.mark.parametrize("cell", ["lstm", "gru"])
def test_jacobian_products_gated_cells(cell):
    model = build_model(ModelConfig(cell=cell, hidden_size=4, num_layers=2, forget_bias=3.0), seed=0)
    X, _ = data(T=15)
    norms = jacobian_product_norms(model, X, layer=1, sample=2)
    assert len(norms) == 15 and all(math.isfinite(v) and v >= 0 for v in norms)
    with pytest.raises(ValueError, match="layer must be"):
        jacobian_product_norms(model, X, layer=2)


def test_probe_accepts_a_flat_target_and_rejects_bad_shapes():
    model = build_model(ModelConfig(cell="rnn", hidden_size=4), seed=0)
    X, y = data(T=6)
    assert probe(model, X, y[:, 0])["loss"] == pytest.approx(probe(model, X, y)["loss"], rel=1e-15)
    with pytest.raises(ValueError, match="probe needs X"):
        probe(model, X[0], y)


@pytest.mark.skipif(not torch.cuda.is_available(), reason="no CUDA device here")
def test_probe_of_a_cuda_model_runs_on_cpu():
    model = build_model(ModelConfig(cell="lstm", hidden_size=6), seed=0).to("cuda")
    X, y = data(T=10)
    d = probe(model, X.cuda(), y.cuda())
    assert len(d["grad_h"][0]) == 10 and all(p.grad is None for p in model.parameters())
    assert len(jacobian_product_norms(model, X.cuda())) == 10
