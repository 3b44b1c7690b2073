"""The NumPy RNN's hand-written BPTT: equal to autograd, to finite differences, and to the torch model."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from rnn_core.lessons.scratch import PARAM_NAMES, ScratchRNN, autograd_gradients, train_scratch
from rnn_core.nn.model_config import ModelConfig
from rnn_core.nn.models import build_model

T = 12


def batch(seed: int = 0, B: int = 4, F: int = 2, O: int = 3):
    rng = np.random.default_rng(seed)
    return rng.normal(size=(B, T, F)), rng.normal(size=(B, O))


@pytest.mark.parametrize("truncate", [0, 1, 3, T - 1, T, T + 5])
def test_hand_bptt_equals_autograd(truncate):
    net = ScratchRNN.init(2, 6, 3, seed=1)
    X, y = batch()
    hand = net.bptt(X, y, truncate=truncate)
    auto = autograd_gradients(net, X, y, truncate=truncate)
    assert set(hand.grads) == set(auto) == set(PARAM_NAMES)
    for name in PARAM_NAMES:
        assert hand.grads[name].shape == getattr(net, name).shape
        np.testing.assert_allclose(hand.grads[name], auto[name], rtol=1e-8, atol=1e-14)


def test_single_window_input():
    net = ScratchRNN.init(1, 5, 1, seed=0)
    x, y = np.sin(0.3 * np.arange(T))[:, None], np.array([np.sin(0.3 * T)])
    hand, auto = net.bptt(x, y, truncate=4), autograd_gradients(net, x, y, truncate=4)
    for name in PARAM_NAMES:
        np.testing.assert_allclose(hand.grads[name], auto[name], rtol=1e-8, atol=1e-14)
    assert hand.y_hat.shape == (1, 1)


def test_hand_bptt_equals_finite_differences():
    net = ScratchRNN.init(2, 4, 1, seed=2)
    X, y = batch(O=1)
    grads = net.bptt(X, y).grads
    eps = 1e-6
    for name in ("U", "W", "b"):
        theta = getattr(net, name)
        num = np.zeros_like(theta)
        for i in np.ndindex(theta.shape):
            old = theta[i]
            theta[i] = old + eps
            up = net.loss(X, y)
            theta[i] = old - eps
            down = net.loss(X, y)
            theta[i] = old
            num[i] = (up - down) / (2 * eps)
        np.testing.assert_allclose(grads[name], num, rtol=1e-6, atol=1e-10)


def test_truncation_cuts_every_contribution_older_than_k():
    net = ScratchRNN.init(2, 5, 3, seed=0)
    X, y = batch()
    k = 4
    full, cut = net.bptt(X, y), net.bptt(X, y, truncate=k)
    assert cut.dh_norms[:T - k] == [0.0] * (T - k) and cut.contrib_W_hh[:T - k] == [0.0] * (T - k)
    assert cut.dh_norms[T - k:] == pytest.approx(full.dh_norms[T - k:], rel=1e-12)
    assert full.contrib_W_hh[0] == 0.0 and all(v > 0 for v in full.contrib_W_hh[1:])   # h_0 = 0
    # ∂L/∂W is the sum of the kept steps' shares; the same network on the last k inputs only,
    # started from the true h_{T−k}, gives the same gradient
    _, hs = net.forward(X)
    h_start = hs[T - k]
    P = {n: torch.tensor(v, requires_grad=True) for n, v in net.params().items()}
    h = torch.tensor(h_start)
    for t in range(T - k, T):
        h = torch.tanh(torch.tensor(X[:, t]) @ P["U"].T + h @ P["W"].T + P["b"])
    torch.mean((h @ P["V"].T + P["c"] - torch.tensor(y)) ** 2).backward()
    for name in PARAM_NAMES:
        np.testing.assert_allclose(cut.grads[name], P[name].grad.numpy(), rtol=1e-10, atol=1e-14)
    assert not np.allclose(cut.grads["U"], full.grads["U"])


@pytest.mark.parametrize("truncate", [0, 5])
def test_scratch_truncation_means_what_the_model_truncation_means(truncate):
    model = build_model(ModelConfig(cell="rnn", hidden_size=6, input_size=2, output_size=3), seed=5).double()
    X, y = batch(seed=3)
    torch.mean((model(torch.tensor(X), bptt_truncate=truncate) - torch.tensor(y)) ** 2).backward()
    hand = ScratchRNN.from_model(model).bptt(X, y, truncate=truncate)
    pairs = {"U": "rnn.weight_ih_l0", "W": "rnn.weight_hh_l0", "V": "head.weight", "b": "rnn.bias_hh_l0",
             "c": "head.bias"}
    grads = dict(model.named_parameters())
    for mine, theirs in pairs.items():
        np.testing.assert_allclose(hand.grads[mine], grads[theirs].grad.numpy(), rtol=1e-9, atol=1e-14)


def test_from_model_rejects_other_cells():
    with pytest.raises(ValueError, match="one-layer Elman tanh"):
        ScratchRNN.from_model(build_model(ModelConfig(cell="lstm", hidden_size=4)))


def test_init_is_seeded():
    a, b, c = ScratchRNN.init(2, 5, 1, seed=7), ScratchRNN.init(2, 5, 1, seed=7), ScratchRNN.init(2, 5, 1, seed=8)
    assert all(np.array_equal(getattr(a, n), getattr(b, n)) for n in PARAM_NAMES)
    assert not np.array_equal(a.W, c.W)


def sine_windows(n: int = 40, T: int = 10):
    s = np.sin(0.3 * np.arange(n + T + 1))
    X = np.stack([s[i:i + T] for i in range(n)])[:, :, None]
    return X, s[T:T + n][:, None]


def test_train_scratch_learns_a_sine():
    X, y = sine_windows()
    hist = train_scratch(X, y, hidden_size=8, lr=0.1, epochs=60, seed=0, X_val=X[:5], y_val=y[:5])
    assert len(hist.loss) == len(hist.val_loss) == len(hist.clipped) == 60
    assert hist.loss[-1] < 0.2 * hist.loss[0]
    assert hist.net.loss(X, y) < hist.loss[-1]
    assert all(isinstance(v, float) for v in hist.loss)


def test_clipping_by_value_bounds_each_update():
    X, y = sine_windows()
    y = 50.0 * y                                    # large errors → large gradients
    net0 = ScratchRNN.init(1, 8, 1, seed=0)
    hist = train_scratch(X, y, hidden_size=8, lr=0.01, epochs=1, clip_value=0.05, seed=0)
    assert hist.clipped[0] > 0
    for name in PARAM_NAMES:
        step = np.abs(getattr(hist.net, name) - getattr(net0, name))
        assert step.max() <= 0.01 * 0.05 + 1e-15
    unclipped = train_scratch(X, y, hidden_size=8, lr=0.01, epochs=1, clip_value=None, seed=0)
    assert np.abs(unclipped.net.V - net0.V).max() > 0.01 * 0.05
