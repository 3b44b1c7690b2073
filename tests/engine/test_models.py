"""The trainable model (`rnn_core.nn.models`) for every cell of the registry: seeds, the init schemes on the
recurrent matrix the cell's entry names, spectra, truncated BPTT, devices. What one cell's init does
beyond that (gate blocks, the forget bias, the output loop, diag(u)) is in tests/test_cell_<name>.py."""

from __future__ import annotations

import copy

import pytest
import torch

from rnn_core.nn.cells import CELLS, cell_of
from rnn_core.nn.model_config import ModelConfig
from rnn_core.nn.models import build_model, recurrent_matrix, spectra
from tests.conftest import cell_model as make
from tests.conftest import float64_batch as batch

F, O, B = 3, 2, 4
ALL = list(CELLS)


def test_a_seed_leaves_the_global_rng_alone():
    torch.manual_seed(123)
    expected = torch.rand(3)
    torch.manual_seed(123)
    build_model(ModelConfig(hidden_size=6, num_layers=2), seed=7)
    assert torch.equal(torch.rand(3), expected)


# ------------------------------------------------------------------------------------ the trainable model
@pytest.mark.parametrize("cell", ALL)
@pytest.mark.parametrize("init", ["default", "orthogonal", "identity", "gaussian"])
def test_a_seed_reproduces_the_weights_and_seeds_differ(cell, init):
    a, b, c = (make(cell, 2, init, gain=0.7, seed=s).state_dict() for s in (3, 3, 4))
    assert list(a) == list(b) and all(torch.equal(a[k], b[k]) for k in a)
    assert any(not torch.equal(a[k], c[k]) for k in a)


@pytest.mark.parametrize("cell", ALL)
@pytest.mark.parametrize("init", ["orthogonal", "identity"])
def test_orthogonal_and_identity_set_every_singular_value_of_the_recurrent_matrix_to_the_gain(cell, init):
    """…of the matrix the entry names (all of its rank), and the recurrent layers' biases to 0."""
    model = make(cell, 2, init, gain=0.5, hidden_size=6, output_size=2, forget_bias=0.0, seed=1)
    rank = model.cfg.output_size if cell_of(cell).output_feedback else model.cfg.hidden_size
    for s in spectra(model):
        assert s["singular_values"][:rank] == pytest.approx([0.5] * rank, abs=1e-6)
        assert s["sigma_max"] == pytest.approx(0.5, abs=1e-6)
    assert all(torch.count_nonzero(p) == 0 for n, p in model.named_parameters() if n.startswith("rnn.bias"))


@pytest.mark.parametrize("cell", ALL)
def test_spectra_are_those_of_the_recurrent_matrix(cell):
    model = make(cell, 2, "gaussian", gain=1.3, hidden_size=6, seed=5)
    for k, s in enumerate(spectra(model)):
        W = recurrent_matrix(model, k, torch.float64).detach()
        rank = model.cfg.output_size if cell_of(cell).output_feedback else 6
        sv = torch.linalg.svdvals(W)[:rank]
        assert s["sigma_max"] == pytest.approx(float(sv[0]), rel=1e-12)
        assert s["singular_values"] == pytest.approx([float(v) for v in sv], rel=1e-12)
        assert s["spectral_radius"] == pytest.approx(float(torch.linalg.eigvals(W).abs().max()), rel=1e-10)


@pytest.mark.parametrize("cell", ALL)
def test_truncation_keeps_the_forward_value(cell):
    m = make(cell, 2, seed=0)
    x = torch.randn(4, 9, F)
    full = m(x)
    for k in (1, 4, 9, 20):
        assert torch.allclose(m(x, bptt_truncate=k), full, atol=1e-6)


@pytest.mark.parametrize("cell", ALL)
def test_truncation_gradient_equals_the_last_k_steps_from_a_detached_state(cell):
    m = make(cell, 2, seed=1).double()
    x, y = batch(2, T=10), torch.randn(B, O, dtype=torch.float64)
    k = 3
    m.zero_grad()
    torch.mean((m(x, bptt_truncate=k) - y) ** 2).backward()
    g_trunc = {n: p.grad.clone() for n, p in m.named_parameters()}
    # reference: the state after T−k steps, as a constant, then the last k steps with grad
    ref = copy.deepcopy(m)
    ref.zero_grad()
    if cell_of(cell).output_feedback:                # the state is the output ŷ_{T−k} fed back
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
    m.zero_grad()                                    # and it is a different gradient from full BPTT
    torch.mean((m(x) - y) ** 2).backward()
    assert not torch.allclose(m.rnn.weight_ih_l0.grad, g_trunc["rnn.weight_ih_l0"])


@pytest.mark.skipif(not torch.cuda.is_available(), reason="no CUDA device here")
@pytest.mark.parametrize("cell", ALL)
def test_runs_on_cuda(cell):
    m = make(cell, 2, seed=0).to("cuda")
    x = torch.randn(4, 8, F, device="cuda")
    y = m(x, bptt_truncate=3)
    y.sum().backward()
    assert y.device.type == "cuda"
    assert len(spectra(m)) == m.cfg.num_layers
