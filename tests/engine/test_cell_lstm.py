"""The LSTM (`rnn_core/nn/cells/lstm.py`): its step against torch's LSTMCell, its init per gate block and
forget bias, the candidate block its spectrum is of, and the cell state that keeps the gradient."""

from __future__ import annotations

import numpy as np
import torch

from rnn_core.nn.cells import unrolled_forward
from rnn_core.nn.cells.lstm import GATES, lstm_step
from rnn_core.nn.model_config import ModelConfig
from rnn_core.nn.models import build_model, recurrent_matrix
from rnn_core.nn.probe import gate_path_norms, probe

F, H, B = 3, 6, 8
TIGHT = {"rtol": 1e-12, "atol": 1e-13}


def lstm(**kw):
    return build_model(ModelConfig(cell="lstm", **{"hidden_size": H, "num_layers": 2, **kw}), seed=2)


def test_the_step_equals_torchs_lstm_cell():
    g = torch.Generator().manual_seed(3)
    x_t, h, c = (torch.randn(B, n, dtype=torch.float64, generator=g) for n in (F, H, H))
    ref = torch.nn.LSTMCell(F, H).double()
    h_t, c_t, gates = lstm_step(x_t, h, c, ref.weight_ih, ref.weight_hh, ref.bias_ih, ref.bias_hh)
    h_ref, c_ref = ref(x_t, (h, c))
    assert torch.allclose(h_t, h_ref, **TIGHT) and torch.allclose(c_t, c_ref, **TIGHT)
    assert tuple(gates) == GATES == ("input", "forget", "cell", "output")


def test_the_forget_bias_is_added_to_the_forget_rows():
    plain, biased = lstm(), lstm(forget_bias=2.5)
    for k in range(2):
        d = getattr(biased.rnn, f"bias_hh_l{k}") - getattr(plain.rnn, f"bias_hh_l{k}")
        expected = torch.zeros(4 * H)
        expected[H:2 * H] = 2.5
        assert torch.allclose(d, expected)
    ortho = lstm(init="orthogonal", forget_bias=1.0)
    assert torch.equal(ortho.rnn.bias_hh_l0[H:2 * H], torch.ones(H))
    assert torch.count_nonzero(ortho.rnn.bias_hh_l0[:H]) == 0


def test_orthogonal_and_identity_act_on_every_gate_block_and_the_spectrum_is_the_candidates():
    for init in ("orthogonal", "identity"):
        m = lstm(init=init, gain=0.5)
        for k in range(2):
            W = getattr(m.rnn, f"weight_hh_l{k}").detach().double()
            for b in range(4):
                assert torch.allclose(torch.linalg.svdvals(W[b * H:(b + 1) * H]),
                                      torch.full((H,), 0.5, dtype=torch.float64), atol=1e-6)
            assert torch.equal(recurrent_matrix(m, k).detach().double(), W[2 * H:3 * H])   # W_hg, rows g


def test_a_large_forget_bias_keeps_the_cell_gradient_where_the_tanh_rnn_loses_it():
    X, y = (torch.randn(B, 30, 1, dtype=torch.float64, generator=torch.Generator().manual_seed(1)),
            torch.zeros(B, 1, dtype=torch.float64))
    y += 1.0
    rnn = probe(build_model(ModelConfig(cell="rnn", hidden_size=16), seed=0), X, y)
    kept = probe(build_model(ModelConfig(cell="lstm", hidden_size=16, forget_bias=5.0), seed=0), X, y)
    assert rnn["grad_h"][0][0] / rnn["grad_h"][0][-1] < 1e-5     # the tanh RNN forgets over 30 steps
    assert kept["grad_c"][0][0] / kept["grad_c"][0][-1] > 0.1     # the LSTM's cell path keeps the gradient
    assert np.mean(kept["gates"][0]["forget"]) > 0.95


def test_gate_path_norms_are_the_largest_unit_product_of_forget_gates():
    model = build_model(ModelConfig(cell="lstm", hidden_size=5, forget_bias=1.0), seed=0)
    X = torch.randn(4, 12, 1, dtype=torch.float64, generator=torch.Generator().manual_seed(0))
    f = torch.stack(unrolled_forward(model, X[:1]).gates[0]["forget"])[:, 0]     # (T, H)
    expected = [float(torch.prod(f[12 - k:], dim=0).max()) for k in range(1, 13)]
    assert np.allclose(gate_path_norms(model, X), expected, rtol=1e-12)
