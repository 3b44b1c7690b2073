"""The gradient-through-time probe: exact values, the vanishing/exploding theory, and no side effects."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
import torch

from rnn_core.config import CELLS, ModelConfig
from rnn_core.lessons.scratch import ScratchRNN
from rnn_core.nn.cells import elman_step, gru_step, jordan_step, lstm_step
from rnn_core.nn.models import build_model, spectra
from rnn_core.nn.probe import (
    bound_holds,
    gate_path_norms,
    jacobian_product_norms,
    layer_trajectory,
    probe,
    step_jacobians,
)

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
    L = 1 if cell == "jordan" else 2
    model = build_model(ModelConfig(cell=cell, hidden_size=6, num_layers=L, input_size=2), seed=0)
    X, y = data(F=2, T=12)
    d = probe(model, X.float().numpy(), y.numpy())       # numpy float32 in, float64 inside
    json.dumps(d, allow_nan=False)
    assert d["timesteps"] == 12 and len(d["grad_h"]) == L and all(len(g) == 12 for g in d["grad_h"])
    assert all(v > 0 for g in d["grad_h"] for v in g)
    assert (d["grad_c"] is not None) == (cell == "lstm")
    assert set(d["param_grad_norms"]) == {n for n, _ in model.named_parameters()}
    # the bound only where it is one: Elman / Jordan, top layer
    assert [len(t) for t in d["theory"]] == [12 if bound_holds(cell, l, L) else 0 for l in range(L)]
    assert [bound_holds(cell, l, L) for l in range(L)] == [cell in ("rnn", "rnn_relu", "jordan") and l == L - 1
                                                           for l in range(L)]
    assert all(d["theory"][l][-1] == pytest.approx(d["grad_h"][l][-1]) for l in range(L) if d["theory"][l])
    # the gated cells' path line instead, top layer
    assert [len(p) for p in d["gate_path"]] == [12 if cell in ("lstm", "gru") and l == L - 1 else 0
                                                for l in range(L)]
    assert d["sigma_max"] == [s["sigma_max"] for s in spectra(model)]
    expected_gates = {"lstm": {"input", "forget", "cell", "output"}, "gru": {"reset", "update"}}
    assert [set(g) for g in d["gates"]] == [expected_gates.get(cell, set())] * L


@pytest.mark.parametrize("cell,init,gain", [("rnn", "default", 1.0), ("rnn", "orthogonal", 1.5),
                                            ("rnn_relu", "identity", 1.0), ("jordan", "orthogonal", 1.3),
                                            ("jordan", "default", 1.0), ("rnn", "gaussian", 0.7)])
def test_theory_line_is_an_upper_bound_where_drawn(cell, init, gain):
    """‖∂L/∂h_t‖ ≤ ‖∂L/∂h_T‖·(σ_max·γ)^(T−1−t) at every t, for the top layer of a stack too."""
    L = 1 if cell == "jordan" else 2
    for seed in range(3):
        model = build_model(ModelConfig(cell=cell, hidden_size=8, num_layers=L, init=init, gain=gain), seed=seed)
        d = probe(model, *data(seed=seed, T=40))
        top, theory = np.array(d["grad_h"][-1]), np.array(d["theory"][-1])
        assert np.all(top <= theory * (1 + 1e-9))


def test_lower_layer_of_a_stack_gets_gradient_from_above_and_no_bound():
    """Why the lower layer has no theory line: its gradient exceeds the line it would have."""
    model = build_model(ModelConfig(cell="rnn", hidden_size=8, num_layers=2, init="orthogonal", gain=0.5), seed=0)
    d = probe(model, *data(T=50))
    assert d["theory"][0] == [] and len(d["theory"][1]) == 50
    rate = d["sigma_max"][0] * d["gamma"]
    g = np.array(d["grad_h"][0])
    would_be = g[-1] * rate ** (49 - np.arange(50))
    assert np.sum(g > would_be * 1.01) >= 45                          # 49 of 50 here


@pytest.mark.parametrize("cell", ["lstm", "gru"])
def test_gate_path_is_the_gate_product_times_the_last_gradient(cell):
    """gate_path[t] = ‖(g_{t+1} ⊙ … ⊙ g_T) ⊙ ∂L/∂s_T‖, recomputed here with a plain loop."""
    from rnn_core.nn.cells import unrolled_forward

    model = build_model(ModelConfig(cell=cell, hidden_size=6, forget_bias=2.0), seed=1)
    X, y = data(T=15, seed=3)
    d = probe(model, X, y)
    u = unrolled_forward(model, X, retain_grad=True)
    torch.mean((u.y_hat - y) ** 2).backward()
    gate, state = ("forget", u.c[0]) if cell == "lstm" else ("update", u.h[0])
    g = u.gates[0][gate]
    expected, prod = [], torch.ones_like(state[-1])
    for t in range(14, -1, -1):
        expected.append(float(torch.linalg.vector_norm(prod * state[-1].grad)))
        prod = prod * g[t].detach()
    assert np.allclose(d["gate_path"][0], expected[::-1], rtol=1e-12)
    last = d["grad_c"][0][-1] if cell == "lstm" else d["grad_h"][0][-1]
    assert d["gate_path"][0][-1] == pytest.approx(last, rel=1e-12)


def test_gate_path_norms_are_the_largest_unit_product():
    model = build_model(ModelConfig(cell="lstm", hidden_size=5, forget_bias=1.0), seed=0)
    X, _ = data(T=12)
    from rnn_core.nn.cells import unrolled_forward

    f = torch.stack(unrolled_forward(model, X[:1]).gates[0]["forget"])[:, 0]     # (T, H)
    expected = [float(torch.prod(f[12 - k:], dim=0).max()) for k in range(1, 13)]
    assert np.allclose(gate_path_norms(model, X), expected, rtol=1e-12)
    with pytest.raises(ValueError, match="LSTM or GRU"):
        gate_path_norms(build_model(ModelConfig(cell="rnn")), X)


def reference_jordan_grads(model, X: torch.Tensor, y: torch.Tensor):
    """An independent Jordan network, step by step with plain tensors (no cells.py, no models.py):
    h_t = tanh(W_ih x_t + b_ih + W_yh ŷ_{t−1} + b_yh), ŷ_t = W_out h_t + b_out, ŷ_0 = 0, L = mean (ŷ_T − y)²."""
    P = {n: p.detach().double().clone().requires_grad_(True) for n, p in model.named_parameters()}
    y_prev = torch.zeros(X.shape[0], P["head.weight"].shape[0], dtype=torch.float64)
    hs, ys = [], []
    for t in range(X.shape[1]):
        a = X[:, t] @ P["rnn.weight_ih_l0"].T + P["rnn.bias_ih_l0"] + y_prev @ P["rnn.weight_yh_l0"].T \
            + P["rnn.bias_yh_l0"]
        h = torch.tanh(a)
        h.retain_grad()
        y_prev = h @ P["head.weight"].T + P["head.bias"]
        hs.append(h)
        ys.append(y_prev)
    loss = torch.mean((ys[-1] - y) ** 2)
    loss.backward()
    return loss, [float(torch.linalg.vector_norm(h.grad)) for h in hs], P, torch.stack(ys, dim=1)


@pytest.mark.parametrize("init,O", [("default", 1), ("orthogonal", 3), ("identity", 2)])
def test_jordan_probe_equals_an_independent_step_by_step_reference(init, O):
    """‖∂L/∂h_t‖ through the output-feedback path, the loss, ∂L/∂θ and the forward outputs."""
    model = build_model(ModelConfig(cell="jordan", hidden_size=7, input_size=2, output_size=O, init=init,
                                    gain=1.2), seed=5)
    X, y = data(seed=4, F=2, O=O, T=25)
    d = probe(model, X, y)
    loss, grads, P, ys = reference_jordan_grads(model, X, y)
    assert d["loss"] == pytest.approx(float(loss.detach()), rel=1e-13)
    assert np.allclose(d["grad_h"][0], grads, rtol=1e-11, atol=0)
    assert grads[0] > 0                             # the gradient did travel back through ŷ_t
    for name, p in P.items():
        assert d["param_grad_norms"][name] == pytest.approx(float(torch.linalg.vector_norm(p.grad)), rel=1e-11)
    # forward parity: the trained model's per-step outputs and its prediction
    fused = model.double()
    _, y_hat = fused.rnn(X, fused.head)
    assert torch.allclose(y_hat, ys, rtol=1e-12, atol=1e-14)
    assert torch.allclose(fused(X), ys[:, -1], rtol=1e-12, atol=1e-14)


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
    assert d["cut"] == 8                                           # the first timestep that gets one
    assert probe(build_model(ModelConfig(cell="gru", hidden_size=5), seed=0), X, y)["cut"] == 0


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
    L = 1 if cell == "jordan" else 2
    model = build_model(ModelConfig(cell=cell, hidden_size=5, num_layers=L, input_size=2), seed=3)
    X, _ = data(T=9, F=2)
    from rnn_core.nn.cells import unrolled_forward

    u = unrolled_forward(model, X[:1])
    layer = L - 1
    if cell == "jordan":                            # h_{t−1} → ŷ_{t−1} → h_t: W_yh·W_out
        W = model.rnn.weight_yh_l0.detach().double() @ model.head.weight.detach().double()
    else:
        W = model.rnn.weight_hh_l1.detach().double()
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

    def step(s, x, b_y):
        s, x = s[None], x[None]
        if cell == "jordan":
            W_out, b_out = params["head.weight"], params["head.bias"]
            W = [params[f"rnn.{n}_l0"] for n in ("weight_ih", "bias_ih", "weight_yh", "bias_yh")]
            return jordan_step(x, s @ W_out.T + b_y, *W, W_out, b_out)[0][0]
        W = [params[f"rnn.{n}_l{layer}"] for n in ("weight_ih", "weight_hh", "bias_ih", "bias_hh")]
        if cell in ("rnn", "rnn_relu"):
            return elman_step(x, s, *W, act="tanh" if cell == "rnn" else "relu")[0]
        if cell == "gru":
            return gru_step(x, s, *W)[0][0]
        h, c, _ = lstm_step(x, s[:, :H], s[:, H:], *W)
        return torch.cat([h, c], dim=1)[0]

    return step


@pytest.mark.parametrize("cell", list(CELLS))
@pytest.mark.parametrize("layer", [0, 1])
def test_written_out_step_jacobians_equal_autograd(cell, layer):
    if cell == "jordan" and layer == 1:
        pytest.skip("a Jordan network has one layer")
    L = 1 if cell == "jordan" else 2
    model = build_model(ModelConfig(cell=cell, hidden_size=5, num_layers=L, input_size=2, output_size=3,
                                    init="gaussian", gain=1.2, forget_bias=0.5), seed=1)
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
