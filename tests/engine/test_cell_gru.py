"""The GRU (`rnn_core/nn/cells/gru.py`): its step against torch's GRUCell, its init per gate block, and the
candidate block its spectrum is of."""

from __future__ import annotations

import torch

from rnn_core.nn.cells.gru import GATES, gru_step
from rnn_core.nn.model_config import ModelConfig
from rnn_core.nn.models import build_model, recurrent_matrix

F, H, B = 3, 6, 8
TIGHT = {"rtol": 1e-12, "atol": 1e-13}


def test_the_step_equals_torchs_gru_cell():
    g = torch.Generator().manual_seed(3)
    x_t, h = (torch.randn(B, n, dtype=torch.float64, generator=g) for n in (F, H))
    ref = torch.nn.GRUCell(F, H).double()
    h_t, gates = gru_step(x_t, h, ref.weight_ih, ref.weight_hh, ref.bias_ih, ref.bias_hh)
    assert torch.allclose(h_t, ref(x_t, h), **TIGHT)
    assert tuple(gates) == GATES == ("reset", "update")


def test_orthogonal_and_identity_act_on_every_gate_block_and_the_spectrum_is_the_candidates():
    for init in ("orthogonal", "identity"):
        m = build_model(ModelConfig(cell="gru", hidden_size=H, num_layers=2, init=init, gain=0.5), seed=1)
        for k in range(2):
            W = getattr(m.rnn, f"weight_hh_l{k}").detach().double()
            for b in range(3):
                block = W[b * H:(b + 1) * H]
                assert torch.allclose(torch.linalg.svdvals(block), torch.full((H,), 0.5, dtype=torch.float64),
                                      atol=1e-6)
                if init == "identity":
                    assert torch.allclose(block, 0.5 * torch.eye(H, dtype=torch.float64))
            assert torch.equal(recurrent_matrix(m, k).detach().double(), W[2 * H:3 * H])   # W_hn, rows n
