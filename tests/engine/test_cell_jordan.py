"""The Jordan network (`rnn_core/nn/cells/jordan.py`): fed its own output back, one layer, its init
schemes on the output loop, and its probe against an independent step-by-step reference."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from rnn_core.nn.cells import copy_params, unrolled_forward
from rnn_core.nn.cells.jordan import JordanRNN
from rnn_core.nn.model_config import ModelConfig
from rnn_core.nn.models import build_model, spectra
from rnn_core.nn.probe import jacobian_product_norms, probe

F, H, O, B = 3, 5, 2, 4
TIGHT = {"rtol": 1e-12, "atol": 1e-13}


def data(seed: int = 0, T: int = 25, F: int = 2, O: int = 1):
    g = torch.Generator().manual_seed(seed)
    return (torch.randn(8, T, F, generator=g, dtype=torch.float64), torch.randn(8, O, generator=g, dtype=torch.float64))


def test_the_equations_by_hand():
    """Two steps written out with explicit matrices: the output ŷ_1 is fed back."""
    model = build_model(ModelConfig(cell="jordan", hidden_size=H, input_size=F, output_size=O, init="gaussian",
                                    gain=0.9), seed=11)
    x = torch.randn(B, 2, F, dtype=torch.float64, generator=torch.Generator().manual_seed(2))
    P = copy_params(model)
    W_ih, b_ih, W_yh, b_yh = (P[f"rnn.{n}_l0"] for n in ("weight_ih", "bias_ih", "weight_yh", "bias_yh"))
    W_out, b_out = P["head.weight"], P["head.bias"]
    h1 = torch.tanh(x[:, 0] @ W_ih.T + b_ih + b_yh)                  # ŷ_0 = 0
    y1 = h1 @ W_out.T + b_out                                         # (B, O): the prediction after step 1
    h2 = torch.tanh(x[:, 1] @ W_ih.T + b_ih + y1 @ W_yh.T + b_yh)
    y2 = h2 @ W_out.T + b_out
    u = unrolled_forward(model, x)
    assert torch.allclose(u.h[0][1], h2, **TIGHT)
    assert torch.allclose(u.y_hat, y2, **TIGHT) and torch.allclose(torch.stack(u.y[0], dim=1)[:, 0], y1, **TIGHT)
    assert torch.allclose(model.double()(x), u.y_hat, **TIGHT)


def test_it_feeds_back_the_output_and_has_no_hidden_to_hidden_matrix():
    m = build_model(ModelConfig(cell="jordan", hidden_size=6, input_size=3, output_size=2), seed=0)
    assert isinstance(m.rnn, JordanRNN)
    shapes = {n: tuple(p.shape) for n, p in m.named_parameters()}
    assert shapes == {"rnn.weight_ih_l0": (6, 3), "rnn.bias_ih_l0": (6,), "rnn.weight_yh_l0": (6, 2),
                      "rnn.bias_yh_l0": (6,), "head.weight": (2, 6), "head.bias": (2,)}
    x = torch.randn(5, 7, 3)
    h, y_hat = m.rnn(x, m.head)                      # the head runs at every step
    assert h.shape == (5, 7, 6) and y_hat.shape == (5, 7, 2)
    assert torch.allclose(m(x), y_hat[:, -1])
    with torch.no_grad():                            # the output fed back matters
        m.rnn.weight_yh_l0.mul_(3.0)
    assert not torch.allclose(m(x), y_hat[:, -1])


@pytest.mark.parametrize("layers", [2, 4])
def test_a_stacked_jordan_network_is_refused_in_one_sentence(layers):
    from rnn_core.config import ConfigError

    with pytest.raises(ConfigError, match=r"^A Jordan network feeds its own output back .* set layers to 1, "
                                          rf"got {layers}\.$"):
        build_model(ModelConfig(cell="jordan", num_layers=layers))


@pytest.mark.parametrize("init", ["orthogonal", "identity"])
def test_the_scheme_sets_the_output_loop_to_the_gain(init):
    m = build_model(ModelConfig(cell="jordan", hidden_size=16, output_size=2, init=init, gain=0.8), seed=2)
    loop = m.rnn.weight_yh_l0.detach().double() @ m.head.weight.detach().double()   # W_yh·W_out (H, H)
    assert torch.linalg.matrix_norm(loop, ord=2) == pytest.approx(0.8, rel=1e-6)
    # gain × a projector: its non-zero eigenvalues are the gain too (the output loop keeps ŷ at gain 1)
    assert spectra(m)[0]["spectral_radius"] == pytest.approx(0.8, rel=1e-6)
    assert spectra(m)[0]["singular_values"] == pytest.approx([0.8, 0.8], rel=1e-6)     # rank ≤ O
    assert torch.count_nonzero(m.rnn.bias_yh_l0) == 0 and torch.count_nonzero(m.head.bias) == 0


def reference_grads(model, X: torch.Tensor, y: torch.Tensor):
    """An independent Jordan network, step by step with plain tensors (no rnn_core code):
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
def test_the_probe_equals_an_independent_step_by_step_reference(init, O):
    """‖∂L/∂h_t‖ through the output-feedback path, the loss, ∂L/∂θ and the forward outputs."""
    model = build_model(ModelConfig(cell="jordan", hidden_size=7, input_size=2, output_size=O, init=init,
                                    gain=1.2), seed=5)
    X, y = data(seed=4, O=O)
    d = probe(model, X, y)
    loss, grads, P, ys = reference_grads(model, X, y)
    assert d["loss"] == pytest.approx(float(loss.detach()), rel=1e-13)
    assert np.allclose(d["grad_h"][0], grads, rtol=1e-11, atol=0)
    assert grads[0] > 0                             # the gradient did travel back through ŷ_t
    for name, p in P.items():
        assert d["param_grad_norms"][name] == pytest.approx(float(torch.linalg.vector_norm(p.grad)), rel=1e-11)
    trained = model.double()                        # forward parity: per-step outputs and the prediction
    _, y_hat = trained.rnn(X, trained.head)
    assert torch.allclose(y_hat, ys, rtol=1e-12, atol=1e-14)
    assert torch.allclose(trained(X), ys[:, -1], rtol=1e-12, atol=1e-14)


def test_jacobian_products_equal_the_explicit_product_through_the_output():
    """∂h_t/∂h_{t−1} = diag(1 − h_t²) W_yh W_out, multiplied out by hand along one sequence."""
    model = build_model(ModelConfig(cell="jordan", hidden_size=5, input_size=2), seed=3)
    X, _ = data(T=9)
    u = unrolled_forward(model, X[:1])
    W = model.rnn.weight_yh_l0.detach().double() @ model.head.weight.detach().double()
    P, expected = torch.eye(5, dtype=torch.float64), []
    for t in range(8, -1, -1):
        h_t = u.h[0][t][0]
        P = P @ ((1 - h_t**2)[:, None] * W)
        expected.append(float(torch.linalg.matrix_norm(P, ord=2)))
    assert np.allclose(jacobian_product_norms(model, X), expected, rtol=1e-10)
