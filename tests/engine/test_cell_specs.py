"""The one table of cell facts (config.CELL_SPECS): every cell's row agrees with the model it builds,
the probe and the figures, so adding a cell is a row, a step and a module."""

from __future__ import annotations

import numpy as np
import pytest

from rnn_core.config import CELL_SPECS, CELLS, MAX_LAYERS, ModelConfig
from rnn_core.nn.cells import STEPS, unrolled_forward
from rnn_core.nn.models import SPECTRUM_OF, build_model, spectra
from rnn_core.nn.probe import BOUND_CELLS, probe


@pytest.mark.parametrize("cell", list(CELL_SPECS))
def test_each_row_matches_the_model_it_builds_and_the_probe(cell):
    spec = CELL_SPECS[cell]
    assert spec.output_feedback or spec.step in STEPS
    model = build_model(ModelConfig(cell=cell, hidden_size=4, input_size=2, output_size=1), seed=0)
    if not spec.output_feedback:
        assert model.rnn.weight_hh_l0.shape == (spec.blocks * 4, 4)        # blocks stacked in W_hh
        assert type(model.rnn).__name__ == spec.torch_module
    X = np.random.default_rng(0).normal(size=(3, 5, 2)).astype(np.float32)
    u = unrolled_forward(model, X)
    assert set(u.gates[0]) == set(spec.gates) and (u.c is not None) == spec.cell_state
    result = probe(model, X, np.zeros((3, 1), np.float32))
    assert result["gamma"] == spec.gamma
    assert bool(result["theory"][-1]) == spec.bounded                      # the bound is drawn only where it is one
    assert bool(result["gate_path"][-1]) == bool(spec.gate_path)
    assert spectra(model)[0]["matrix"] == spec.spectrum_of


def test_the_old_names_are_views_of_the_table():
    assert {n: s.label for n, s in CELL_SPECS.items()} == CELLS
    assert MAX_LAYERS == {"jordan": 1}
    assert BOUND_CELLS == ("rnn", "rnn_relu", "jordan")
    assert {n: s.spectrum_of for n, s in CELL_SPECS.items()} == SPECTRUM_OF
    assert len({s.color for s in CELL_SPECS.values()}) == len(CELL_SPECS)   # one colour per cell
