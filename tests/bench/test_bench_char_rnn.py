"""bench/char_rnn.py: its NumPy min-char-rnn is the published equations (its hand-written backward equals
autograd's gradient), and the benchmark runs end to end on its `--quick` setting. No timing is asserted."""

from __future__ import annotations

import re

import numpy as np
import pytest
import torch

from bench import char_rnn

pytestmark = pytest.mark.usefixtures("keep_torch_threads")


def test_min_char_rnn_backward_is_the_gradient_of_its_loss():
    net = char_rnn.MinCharRNN(vocab=7, hidden=5, seed=3)
    inputs, targets = [1, 4, 4, 0, 6, 2], [4, 4, 0, 6, 2, 5]
    h0 = np.random.default_rng(0).standard_normal((5, 1)) * 0.1
    loss, grads, h_last = net.loss_and_grads(inputs, targets, h0)
    P = [torch.tensor(p, requires_grad=True) for p in net.params]
    W_xh, W_hh, W_hy, b_h, b_y = P
    h, nats = torch.tensor(h0), 0.0
    for c, target in zip(inputs, targets):
        # h_t = tanh(W_xh x_t + W_hh h_{t−1} + b_h), p_t = softmax(W_hy h_t + b_y)
        h = torch.tanh(W_xh[:, [c]] + W_hh @ h + b_h)
        nats = nats - torch.log_softmax(W_hy @ h + b_y, dim=0)[target, 0]
    nats.backward()
    assert loss == pytest.approx(nats.item(), rel=1e-12)
    assert np.allclose(h_last, h.detach().numpy())
    for mine, p in zip(grads, P):
        assert np.allclose(mine, np.clip(p.grad.numpy(), -5, 5), rtol=1e-9, atol=1e-12)


def test_adagrad_and_clipping_as_published():
    net = char_rnn.MinCharRNN(vocab=3, hidden=2, seed=0, lr=0.1)
    before = [p.copy() for p in net.params]
    grads = [np.full_like(p, 2.0) for p in net.params]
    net.adagrad(grads)
    for b, p in zip(before, net.params):
        assert np.allclose(b - p, 0.1 * 2.0 / np.sqrt(4.0 + 1e-8))     # θ ← θ − lr g / √(g² + ε)


def test_quick_run_prints_the_held_out_bits_of_all_three(capsys):
    summary: list[str] = []
    assert char_rnn.main(["--quick"], summary) == 0
    out = capsys.readouterr().out
    rows = [line for line in out.splitlines() if line.startswith(("| min-char-rnn", "| app: stateful"))]
    assert len(rows) == 3
    assert all(re.search(r"\| \d+\.\d{3} +\|$", row) for row in rows), rows
    assert "unigram entropy" in out and summary and summary[0].startswith("Char models")
