"""IndRNN (`rnn_core/nn/cells/indrnn.py`, Li et al. 2018): h_t = ReLU(W_ih x_t + u ⊙ h_{t−1} + b), a recurrent
weight that is a vector. Its parity against an independent step-by-step reference (forward, every h_t,
the exact probe, every weight's gradient), its Jacobian diag(1[a_t > 0] ⊙ u), the init schemes on u,
and the bound (|u|_max·γ)^k, reached exactly while the unit with the largest |u_i| stays on."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from rnn_core.nn.cells import unrolled_forward
from rnn_core.nn.cells.indrnn import IndRNN
from rnn_core.nn.model_config import ModelConfig
from rnn_core.nn.models import build_model, spectra
from rnn_core.nn.probe import jacobian_product_norms, probe

F, H, O, B = 2, 7, 3, 8


def data(seed: int = 0, T: int = 20, F: int = F, O: int = O, scale: float = 1.0):
    g = torch.Generator().manual_seed(seed)
    return (scale * torch.randn(B, T, F, generator=g, dtype=torch.float64),
            torch.randn(B, O, generator=g, dtype=torch.float64))


def reference(model, X: torch.Tensor, y: torch.Tensor):
    """An independent IndRNN, step by step with plain tensors (no rnn_core code), every layer:
    h_t = max(0, W_ih x_t + b_ih + u ⊙ h_{t−1} + b_hh), h_0 = 0; ŷ = W_out h_T + b_out; L = mean (ŷ − y)².
    → (loss, ‖∂L/∂h_t‖ per layer, the parameter copies with .grad, h_t per layer)."""
    P = {n: p.detach().double().clone().requires_grad_(True) for n, p in model.named_parameters()}
    layer_in, all_h = [X[:, t] for t in range(X.shape[1])], []
    for k in range(model.cfg.num_layers):
        W_ih, u = P[f"rnn.weight_ih_l{k}"], P[f"rnn.weight_hh_l{k}"]
        b = P[f"rnn.bias_ih_l{k}"] + P[f"rnn.bias_hh_l{k}"]
        h, hs = torch.zeros(X.shape[0], u.shape[0], dtype=torch.float64), []
        for x_t in layer_in:
            h = torch.clamp(x_t @ W_ih.T + u * h + b, min=0.0)
            h.retain_grad()
            hs.append(h)
        all_h.append(hs)
        layer_in = hs
    loss = torch.mean((layer_in[-1] @ P["head.weight"].T + P["head.bias"] - y) ** 2)
    loss.backward()
    norms = [[float(torch.linalg.vector_norm(h.grad)) for h in hs] for hs in all_h]
    return loss, norms, P, all_h


@pytest.mark.parametrize("layers", [1, 3])
@pytest.mark.parametrize("init,gain", [("default", 1.0), ("identity", 1.0), ("orthogonal", 0.9), ("gaussian", 2.0)])
def test_the_module_and_the_written_out_equations_equal_an_independent_reference(layers, init, gain):
    model = build_model(ModelConfig(cell="indrnn", hidden_size=H, num_layers=layers, input_size=F, output_size=O,
                                    init=init, gain=gain), seed=5)
    with torch.no_grad():                           # non-zero biases, so that some units switch off
        for name, p in model.named_parameters():
            if "bias" in name:
                p.uniform_(-0.3, 0.3, generator=torch.Generator().manual_seed(len(name)))
    X, y = data(seed=4)
    loss, norms, P, hs = reference(model, X, y)
    trained = model.double()
    out, h_n = trained.rnn(X)
    assert torch.allclose(out, torch.stack(hs[-1], dim=1), rtol=1e-12, atol=1e-14)
    assert torch.allclose(h_n, torch.stack([h_l[-1] for h_l in hs]), rtol=1e-12, atol=1e-14)
    u = unrolled_forward(model, X)
    assert all(torch.allclose(a, b, rtol=1e-12, atol=1e-14) for a_l, b_l in zip(u.h, hs) for a, b in zip(a_l, b_l))
    d = probe(model, X, y)                          # the exact probe: every ‖∂L/∂h_t‖ and every ‖∂L/∂θ‖
    assert d["loss"] == pytest.approx(float(loss.detach()), rel=1e-13)
    for got, want in zip(d["grad_h"], norms):
        assert np.allclose(got, want, rtol=1e-11, atol=1e-300)
    for name, p in P.items():
        assert d["param_grad_norms"][name] == pytest.approx(float(torch.linalg.vector_norm(p.grad)), rel=1e-11)


def test_the_recurrent_weight_is_a_vector_and_its_matrix_is_diag_u():
    m = build_model(ModelConfig(cell="indrnn", hidden_size=H, num_layers=2, input_size=F, output_size=O), seed=0)
    assert isinstance(m.rnn, IndRNN)
    shapes = {n: tuple(p.shape) for n, p in m.named_parameters()}
    assert shapes["rnn.weight_hh_l0"] == shapes["rnn.weight_hh_l1"] == (H,)
    assert shapes["rnn.weight_ih_l0"] == (H, F) and shapes["rnn.weight_ih_l1"] == (H, H)
    u = m.rnn.weight_hh_l1.detach().double()
    s = spectra(m)[1]                               # diag(u): singular values |u_i|, spectral radius |u|_max
    assert s["singular_values"] == pytest.approx(sorted(u.abs().tolist(), reverse=True), rel=1e-12)
    assert s["sigma_max"] == s["spectral_radius"] == pytest.approx(float(u.abs().max()), rel=1e-12)


@pytest.mark.parametrize("init,gain", [("orthogonal", 0.7), ("identity", 1.3), ("gaussian", 1.0)])
def test_the_init_schemes_act_on_diag_u(init, gain):
    m = build_model(ModelConfig(cell="indrnn", hidden_size=400, init=init, gain=gain), seed=0)
    u = m.rnn.weight_hh_l0.detach()
    if init == "orthogonal":                        # a diagonal orthogonal matrix is diag(±1)
        assert torch.allclose(u.abs(), torch.full_like(u, gain)) and bool((u < 0).any()) and bool((u > 0).any())
    elif init == "identity":
        assert torch.equal(u, torch.full_like(u, gain))
    else:                                           # N(0, gain²/H)
        assert float(u.std()) == pytest.approx(gain / 400**0.5, rel=0.1)


def test_each_unit_keeps_its_own_gradient_and_the_bound_is_reached_while_the_largest_stays_on():
    """Positive inputs keep every unit on: ∂h_T/∂h_{T−k} = diag(u)^k, so ‖∏J‖₂ = |u|_max^k exactly — the
    bound (|u|_max·γ)^k — and each unit's share of ∂L/∂h_t changes by its own |u_i| per step back."""
    m = build_model(ModelConfig(cell="indrnn", hidden_size=4, input_size=1, output_size=1, init="identity"), seed=0)
    with torch.no_grad():
        m.rnn.weight_hh_l0.copy_(torch.tensor([0.5, 0.8, 0.9, 1.0]))
        m.rnn.weight_ih_l0.copy_(torch.ones(4, 1))          # a > 0 for positive inputs: every unit on
    X, y = data(T=30, F=1, O=1)
    X = X.abs() + 0.1
    norms = jacobian_product_norms(m, X)
    assert np.allclose(norms, [1.0] * 30, rtol=1e-12)                # |u|_max = 1: kept exactly
    with torch.no_grad():
        m.rnn.weight_hh_l0.mul_(0.9)                                  # |u|_max = 0.9
    u_max = float(m.rnn.weight_hh_l0.detach().abs().max())                  # 0.9 in float32
    assert np.allclose(jacobian_product_norms(m, X), [u_max**k for k in range(1, 31)], rtol=1e-10)
    assert probe(m, X, y)["sigma_max"] == [pytest.approx(u_max, rel=1e-12)]   # the bound's rate, |u|_max·γ
    u = unrolled_forward(m, X, retain_grad=True)
    torch.mean((u.y_hat - y) ** 2).backward()
    g = torch.stack([h.grad for h in u.h[0]])                         # (T, B, H): ∂L/∂h_t
    ratio = g[:-1] / g[1:]                                            # one step back, unit by unit
    assert torch.allclose(ratio, m.rnn.weight_hh_l0.detach().double().expand_as(ratio), rtol=1e-10)
