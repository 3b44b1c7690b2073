"""RNNModel / build_model / spectra: init schemes, seeds, truncated BPTT, names and devices."""

from __future__ import annotations

import copy

import pytest
import torch

from rnn_core.config import CELLS, INITS, MAX_LAYERS, ConfigError, ModelConfig
from rnn_core.nn.models import JordanRNN, build_model, recurrent_matrix, spectra

BLOCKS = {"rnn": 1, "rnn_relu": 1, "lstm": 4, "gru": 3}
STACKED = [c for c in CELLS if c != "jordan"]      # cells with a W_hh per layer


def cfg(cell="rnn", **kw) -> ModelConfig:
    """Two layers (Jordan: its one), unless `num_layers` says otherwise."""
    base = {"hidden_size": 6, "num_layers": min(2, MAX_LAYERS.get(cell, 2)), "input_size": 3, "output_size": 2}
    return ModelConfig(cell=cell, **{**base, **kw})


@pytest.mark.parametrize("cell", list(CELLS))
@pytest.mark.parametrize("init", list(INITS))
def test_seed_reproducible_and_seeds_differ(cell, init):
    a = build_model(cfg(cell, init=init, gain=0.7, forget_bias=1.0), seed=3).state_dict()
    b = build_model(cfg(cell, init=init, gain=0.7, forget_bias=1.0), seed=3).state_dict()
    c = build_model(cfg(cell, init=init, gain=0.7, forget_bias=1.0), seed=4).state_dict()
    assert list(a) == list(b)
    assert all(torch.equal(a[k], b[k]) for k in a)
    assert any(not torch.equal(a[k], c[k]) for k in a)


def test_seed_leaves_global_rng_alone():
    torch.manual_seed(123)
    expected = torch.rand(3)
    torch.manual_seed(123)
    build_model(cfg(), seed=7)
    assert torch.equal(torch.rand(3), expected)


@pytest.mark.parametrize("cell", STACKED)
def test_forward_shapes_and_names(cell):
    m = build_model(cfg(cell, num_layers=3), seed=0)
    assert m(torch.randn(5, 7, 3)).shape == (5, 2)
    names = dict(m.named_parameters())
    for k in range(3):
        for stem in ("weight_ih", "weight_hh", "bias_ih", "bias_hh"):
            assert f"rnn.{stem}_l{k}" in names
    assert names["rnn.weight_hh_l0"].shape == (BLOCKS[cell] * 6, 6)
    assert names["rnn.weight_ih_l1"].shape == (BLOCKS[cell] * 6, 6)
    assert [tuple(W.shape) for W in m.recurrent_weights()] == [(BLOCKS[cell] * 6, 6)] * 3


def test_jordan_feeds_back_the_output_and_has_no_hidden_to_hidden_matrix():
    m = build_model(cfg("jordan"), seed=0)           # H 6, F 3, O 2
    assert isinstance(m.rnn, JordanRNN)
    shapes = {n: tuple(p.shape) for n, p in m.named_parameters()}
    assert shapes == {"rnn.weight_ih_l0": (6, 3), "rnn.bias_ih_l0": (6,), "rnn.weight_yh_l0": (6, 2),
                      "rnn.bias_yh_l0": (6,), "head.weight": (2, 6), "head.bias": (2,)}
    assert not any(s == (6, 6) for s in shapes.values())
    x = torch.randn(5, 7, 3)
    h, y_hat = m.rnn(x, m.head)                      # the head runs at every step
    assert h.shape == (5, 7, 6) and y_hat.shape == (5, 7, 2)
    assert torch.allclose(m(x), y_hat[:, -1])
    # the output fed back matters: a different W_yh changes the prediction
    with torch.no_grad():
        m.rnn.weight_yh_l0.mul_(3.0)
    assert not torch.allclose(m(x), y_hat[:, -1])


@pytest.mark.parametrize("layers", [2, 4])
def test_stacked_jordan_is_refused_in_one_sentence(layers):
    with pytest.raises(ConfigError, match=r"^A Jordan network feeds its own output back .* set layers to 1, "
                                          rf"got {layers}\.$"):
        build_model(cfg("jordan", num_layers=layers))


@pytest.mark.parametrize("init", ["orthogonal", "identity"])
def test_jordan_scheme_sets_the_output_loop_to_the_gain(init):
    m = build_model(cfg("jordan", hidden_size=16, init=init, gain=0.8), seed=2)
    loop = m.rnn.weight_yh_l0.detach().double() @ m.head.weight.detach().double()   # W_yh·W_out (H, H)
    assert torch.linalg.matrix_norm(loop, ord=2) == pytest.approx(0.8, rel=1e-6)
    assert spectra(m)[0]["sigma_max"] == pytest.approx(0.8, rel=1e-6)
    # gain × a projector: its non-zero eigenvalues are the gain too (the output loop keeps ŷ at gain 1)
    assert spectra(m)[0]["spectral_radius"] == pytest.approx(0.8, rel=1e-6)
    assert spectra(m)[0]["singular_values"] == pytest.approx([0.8, 0.8], rel=1e-6)
    assert len(spectra(m)[0]["singular_values"]) == 2                 # rank ≤ O
    assert torch.count_nonzero(m.rnn.bias_yh_l0) == 0 and torch.count_nonzero(m.rnn.bias_ih_l0) == 0


@pytest.mark.parametrize("cell", STACKED)
def test_orthogonal_and_identity_schemes_per_gate_block(cell):
    H = 6
    for init in ("orthogonal", "identity"):
        m = build_model(cfg(cell, init=init, gain=0.5), seed=1)
        for k in range(2):
            W = getattr(m.rnn, f"weight_hh_l{k}").detach().double()
            for b in range(BLOCKS[cell]):
                block = W[b * H:(b + 1) * H]
                # gain · Q has every singular value equal to the gain
                assert torch.allclose(torch.linalg.svdvals(block), torch.full((H,), 0.5, dtype=torch.float64),
                                      atol=1e-6)
                if init == "identity":
                    assert torch.allclose(block, 0.5 * torch.eye(H, dtype=torch.float64))
            assert torch.count_nonzero(getattr(m.rnn, f"bias_hh_l{k}")) == 0
            assert torch.count_nonzero(getattr(m.rnn, f"bias_ih_l{k}")) == 0


def test_gaussian_scheme_std():
    H = 200
    m = build_model(ModelConfig(cell="rnn", hidden_size=H, init="gaussian", gain=1.5), seed=0)
    W = m.rnn.weight_hh_l0.detach()
    assert abs(float(W.std()) - 1.5 / H**0.5) < 0.05 * 1.5 / H**0.5
    assert abs(float(W.mean())) < 0.01


def test_forget_bias_added_to_forget_rows():
    H = 6
    plain = build_model(cfg("lstm"), seed=2)
    biased = build_model(cfg("lstm", forget_bias=2.5), seed=2)
    for k in range(2):
        d = getattr(biased.rnn, f"bias_hh_l{k}") - getattr(plain.rnn, f"bias_hh_l{k}")
        expected = torch.zeros(4 * H)
        expected[H:2 * H] = 2.5
        assert torch.allclose(d, expected)
    ortho = build_model(cfg("lstm", init="orthogonal", forget_bias=1.0), seed=2)
    assert torch.equal(ortho.rnn.bias_hh_l0[H:2 * H], torch.ones(H))
    assert torch.count_nonzero(ortho.rnn.bias_hh_l0[:H]) == 0


@pytest.mark.parametrize("cell", list(CELLS))
def test_spectra_match_linalg(cell):
    H = 6
    m = build_model(cfg(cell, init="gaussian", gain=1.3), seed=5)
    spec = spectra(m)
    assert len(spec) == m.cfg.num_layers
    for k, s in enumerate(spec):
        if cell == "jordan":
            W = m.rnn.weight_yh_l0.detach().double() @ m.head.weight.detach().double()
        elif cell in ("lstm", "gru"):
            W = getattr(m.rnn, f"weight_hh_l{k}").detach().double()[2 * H:3 * H]   # candidate block (g, n)
        else:
            W = getattr(m.rnn, f"weight_hh_l{k}").detach().double()
        assert torch.allclose(recurrent_matrix(m, k, torch.float64).detach(), W, rtol=1e-12, atol=0)
        sv = torch.linalg.svdvals(W)[:2 if cell == "jordan" else H]
        assert s["sigma_max"] == pytest.approx(float(sv[0]), rel=1e-12)
        assert s["singular_values"] == pytest.approx([float(v) for v in sv], rel=1e-12)
        assert s["spectral_radius"] == pytest.approx(float(torch.linalg.eigvals(W).abs().max()), rel=1e-10)
        assert s["matrix"].startswith({"jordan": "W_yh·W_out", "lstm": "W_hg", "gru": "W_hn"}.get(cell, "W_hh"))


@pytest.mark.parametrize("cell", list(CELLS))
def test_truncation_keeps_the_forward_value(cell):
    m = build_model(cfg(cell), seed=0)
    x = torch.randn(4, 9, 3)
    full = m(x)
    for k in (1, 4, 9, 20):
        assert torch.allclose(m(x, bptt_truncate=k), full, atol=1e-6)


@pytest.mark.parametrize("cell", list(CELLS))
def test_truncation_gradient_equals_last_k_steps_from_detached_state(cell):
    torch.manual_seed(0)
    m = build_model(cfg(cell), seed=1).double()
    x, y = torch.randn(4, 10, 3, dtype=torch.float64), torch.randn(4, 2, dtype=torch.float64)
    k = 3
    m.zero_grad()
    torch.mean((m(x, bptt_truncate=k) - y) ** 2).backward()
    g_trunc = {n: p.grad.clone() for n, p in m.named_parameters()}
    # reference: the state after T−k steps, as a constant, then the last k steps with grad
    ref = copy.deepcopy(m)
    ref.zero_grad()
    if cell == "jordan":                             # the state is the output ŷ_{T−k} fed back
        with torch.no_grad():
            _, y_hat = ref.rnn(x[:, :-k], ref.head)
        _, y_hat = ref.rnn(x[:, -k:], ref.head, y_hat[:, -1])
        last = y_hat[:, -1]
    else:
        with torch.no_grad():
            _, state = ref.rnn(x[:, :-k])
        out, _ = ref.rnn(x[:, -k:], state)
        last = ref.head(out[:, -1])
    torch.mean((last - y) ** 2).backward()
    for n, p in ref.named_parameters():
        assert torch.allclose(g_trunc[n], p.grad, rtol=1e-10, atol=1e-14), n
    # and it is a different gradient from full BPTT
    m.zero_grad()
    torch.mean((m(x) - y) ** 2).backward()
    assert not torch.allclose(m.rnn.weight_ih_l0.grad, g_trunc["rnn.weight_ih_l0"])


def test_invalid_config_is_one_sentence():
    with pytest.raises(ConfigError, match="Unknown cell"):
        build_model(ModelConfig(cell="transformer"))


@pytest.mark.skipif(not torch.cuda.is_available(), reason="no CUDA device here")
@pytest.mark.parametrize("cell", list(CELLS))
def test_runs_on_cuda(cell):
    m = build_model(cfg(cell), seed=0).to("cuda")
    x = torch.randn(4, 8, 3, device="cuda")
    y = m(x, bptt_truncate=3)
    y.sum().backward()
    assert y.device.type == "cuda"
    assert len(spectra(m)) == m.cfg.num_layers
