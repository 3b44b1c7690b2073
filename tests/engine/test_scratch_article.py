"""The from-scratch tutorial's backward pass, transcribed: it gives the tutorial's update (checked
against an independent re-derivation of what its lines compute), and that update is not the gradient
(the true gradient, exact BPTT, equals autograd and is a different thing)."""

import numpy as np
import pytest

from rnn_core.lessons import scratch_article as A


def _small(seed=0):
    """The tutorial's kind of network, small enough to check entry by entry (T 8, hidden 6)."""
    return A.ArticleRNN.init(seed, hidden=6, seq_len=8), np.sin(np.arange(8.0))[:, None], np.array([np.sin(8.0)])


def test_the_tutorial_data_and_init():
    X, Y = A.sine_records()
    assert X.shape == (100, 50, 1) and Y.shape == (100, 1)
    assert X[3, 0, 0] == pytest.approx(np.sin(3.0)) and Y[0, 0] == pytest.approx(np.sin(50.0))
    net = A.ArticleRNN.init(0)
    assert net.U.shape == (100, 50) and net.W.shape == (100, 100) and net.V.shape == (1, 100)
    assert all(getattr(net, k).min() >= 0 and getattr(net, k).max() < 1 for k in A.PARAMS)


def test_transcription_gives_the_tutorials_update():
    """What the tutorial's lines add up to, re-derived in closed form: every (t, i) of the inner loop
    adds W h_{t−1} to every column of dW_t and U e_t x_t to every column of dU_t; dW_t / dU_t are never
    reset, so step t adds the running total; dV adds (ŷ − y) h_tᵀ once per t."""
    net, x, y = _small()
    T, k = len(x), A.BPTT_TRUNCATE
    hs = [np.zeros(6)]
    for t in range(T):
        hs.append(A.sigmoid(net.U[:, t] * x[t, 0] + net.W @ hs[-1]))
    err = net.V @ hs[-1] - y
    dW, dU, run_W, run_U = np.zeros((6, 6)), np.zeros((6, T)), np.zeros(6), np.zeros(6)
    for t in range(T):
        n_inner = min(t, k)                               # range(t−1, max(−1, t−k−1), −1)
        run_W = run_W + n_inner * (net.W @ hs[t])         # layers[t]['prev_s'] = h_{t−1} = hs[t]
        run_U = run_U + n_inner * (net.U[:, t] * x[t, 0])
        dW += run_W[:, None]
        dU += run_U[:, None]
    dV = sum(np.outer(err, hs[t + 1]) for t in range(T))
    got = A.article_grads(net, x, y)
    np.testing.assert_allclose(got["W"], dW, rtol=1e-12)
    np.testing.assert_allclose(got["U"], dU, rtol=1e-12)
    np.testing.assert_allclose(got["V"], dV, rtol=1e-12)
    step = A.article_step(got)
    assert np.abs(step["W"]).max() <= A.LEARNING_RATE * A.CLIP * (1 + 1e-12)


def test_true_gradient_equals_autograd_and_finite_differences():
    net, x, y = _small(1)
    true, auto = A.true_grads(net, x, y), A.autograd_grads(net, x, y)
    for name in A.PARAMS:
        np.testing.assert_allclose(true[name], auto[name], rtol=1e-9, atol=1e-300)

    def loss():
        h = np.zeros(6)
        for t in range(len(x)):
            h = A.sigmoid(net.U[:, t] * x[t, 0] + net.W @ h)
        return float(((y - net.V @ h) ** 2).sum() / 2)

    i, eps = (2, 3), 1e-6
    old = net.W[i]
    net.W[i] = old + eps
    up = loss()
    net.W[i] = old - eps
    down = loss()
    net.W[i] = old
    assert true["W"][i] == pytest.approx((up - down) / (2 * eps), rel=1e-5)
    # on the tutorial's own sizes the sigmoids saturate: the exact σ′ keeps the tiny true gradient non-zero
    X, Y = A.sine_records()
    big = A.ArticleRNN.init(0)
    true, auto = A.true_grads(big, X[0], Y[0]), A.autograd_grads(big, X[0], Y[0])
    for name in A.PARAMS:
        assert np.linalg.norm(true[name]) > 0
        np.testing.assert_allclose(true[name], auto[name], rtol=1e-9, atol=1e-300)


def test_the_tutorials_update_is_not_the_gradient():
    report = A.article_report()
    rows = {r["parameter"]: r for r in report["rows"]}
    assert rows["W"]["ratio"] > 1e6 and rows["U"]["ratio"] > 1e6           # far from 1
    assert not rows["W"]["tutorial's d depends on y"] and not rows["U"]["tutorial's d depends on y"]
    assert rows["V"]["tutorial's d depends on y"] and rows["V"]["cosine"] == pytest.approx(1.0)
    assert rows["V"]["ratio"] > 10                                          # summed over all T steps
    assert report["clipped_share"] == 1.0
