"""The Gradient Lab's networks probed side by side (`probe.probe_lines`, `lessons.lab_probes`) give each network
bit for bit what `probe` gives it alone (their Jacobian products, `jacobian_stack`: what
`jacobian_product_norms` gives it alone), and a kept probe is one whose settings really are the same."""

import numpy as np
import pytest

from rnn_core.lessons import lab, lab_probes
from rnn_core.lessons.lab import LabConfig
from rnn_core.nn import probe as probe_module
from rnn_core.nn.cells import CELLS, layers_error
from rnn_core.nn.jacobian_stack import jacobian_stack
from rnn_core.nn.models import build_model
from rnn_core.nn.probe import gate_path_norms, jacobian_product_norms, probe, probe_lines

KEYS = ("timesteps", "loss", "grad_h", "grad_c", "gate_path", "theory", "sigma_max", "spectral_radius", "gamma",
        "cut")
# H = 3: products small enough that torch's batched product would sum them in its own order; H = 16: large
CASES = [(cell, layers, H) for cell in CELLS for layers in (1, 2) for H in (3, 16) if not layers_error(cell, layers)]


@pytest.mark.parametrize("cell,layers,H", CASES)
def test_networks_probed_side_by_side_get_exactly_their_own_probe(cell, layers, H):
    cfg = LabConfig(cell=cell, num_layers=layers, timesteps=12, hidden_size=H, gain=1.3, forget_bias=1.0)
    models = [build_model(cfg.model_config(gain=g), seed=s) for s, g in ((0, 1.3), (1, 1.3), (0, 0.7))]
    batches = [lab.lab_batch(cfg, s) for s in (0, 1, 0)]
    alone = [probe(m, X, y) for m, (X, y) in zip(models, batches)]
    together = probe_lines(models, np.stack([X for X, _ in batches]), np.stack([y for _, y in batches]))
    for a, b in zip(alone, together):
        for key in KEYS:
            assert a[key] == b[key], (key, cell, layers, H)              # bitwise: == on every float
    assert alone[0]["grad_h"] != alone[1]["grad_h"] != alone[2]["grad_h"]   # three different networks


def test_lab_probes_equal_the_probe_of_each_network_alone_in_every_pass_size(monkeypatch):
    cfg = LabConfig(cell="lstm", timesteps=15, hidden_size=5, seeds=3, forget_bias=0.5)
    lab_probes.forget_probes()
    seeds, gains = [0, 1, 2, 0, 1], [None, None, None, 0.5, 2.0]
    together = lab_probes.lab_probes(cfg, "lstm", seeds, gains)
    lab_probes.forget_probes()
    monkeypatch.setattr(lab_probes, "STACK_FLOATS", 1)                  # one network a pass
    one_by_one = lab_probes.lab_probes(cfg, "lstm", seeds, gains)
    for s, g, a, b in zip(seeds, gains, together, one_by_one):
        reference = lab.probe_at_init(cfg, "lstm", s, gain=g)
        assert all(a[k] == reference[k] == b[k] for k in KEYS), (s, g)


@pytest.mark.parametrize("stats", [lab.profile_stats, lab.jacobian_stats])
def test_charts_over_more_seeds_keep_the_seeds_they_had_and_equal_fresh_ones(stats):
    cfg = LabConfig(cell="gru", timesteps=10, hidden_size=4, seeds=2)
    lab_probes.forget_probes()
    stats(cfg)
    grown = stats(cfg.replace(seeds=3))
    lab_probes.forget_probes()
    assert grown == stats(cfg.replace(seeds=3))
    assert grown != stats(cfg)                                          # a third seed moves the mean


@pytest.mark.parametrize("cell", list(CELLS))
def test_what_the_probe_key_leaves_out_does_not_change_the_probe(cell):
    base = LabConfig(cell=cell, timesteps=10, hidden_size=4, init="default", gain=1.0, forget_bias=0.0)
    key, probe_of = lab_probes.probe_key, lab.probe_at_init
    # the default init ignores the gain
    other = base.replace(gain=2.5)
    assert key(base, cell, 0) == key(other, cell, 0) and probe_of(base, cell, 0) == probe_of(other, cell, 0)
    # the forget bias acts on a cell with a forget gate only
    biased = base.replace(forget_bias=2.0)
    if "forget" in CELLS[cell].gates:
        assert key(base, cell, 0) != key(biased, cell, 0) and probe_of(base, cell, 0) != probe_of(biased, cell, 0)
    else:
        assert key(base, cell, 0) == key(biased, cell, 0) and probe_of(base, cell, 0) == probe_of(biased, cell, 0)
    # where the init uses the gain, the key has it (and the probe moves with it)
    ortho = base.replace(init="orthogonal")
    assert key(ortho, cell, 0) != key(ortho.replace(gain=2.5), cell, 0)
    assert probe_of(ortho, cell, 0) != probe_of(ortho.replace(gain=2.5), cell, 0)


@pytest.mark.parametrize("cell,H,chunk", [(cell, H, None) for cell in CELLS for H in (3, 16)]
                         + [("lstm", 5, 7), ("rnn", 4, 1), ("jordan", 6, 3)])
def test_jacobian_products_of_seeds_side_by_side_equal_each_seed_alone(cell, H, chunk, monkeypatch):
    cfg = LabConfig(cell=cell, timesteps=20, hidden_size=H, gain=1.3)
    models = [build_model(cfg.model_config(), seed=s) for s in range(3)]
    X = [lab.lab_batch(cfg, s)[0] for s in range(3)]
    if chunk:        # a few steps' Jacobians at a time, as a long T at a large H gets them
        monkeypatch.setattr(probe_module, "JACOBIAN_ELEMENTS", chunk * (2 * H if CELLS[cell].cell_state else H) ** 2)
    alone = [{"norms": jacobian_product_norms(m, x),
              "gate_path": gate_path_norms(m, x) if CELLS[cell].gate_path else []} for m, x in zip(models, X)]
    together = jacobian_stack(models, X)
    assert together == alone                                             # bitwise: == on every float
    assert alone[0] != alone[1] != alone[2]                              # three different networks


def test_lab_jacobians_equal_each_seed_alone_whichever_seeds_were_kept():
    cfg = LabConfig(cell="gru", timesteps=12, hidden_size=6, seeds=3)
    lab_probes.forget_probes()
    lab_probes.lab_jacobians(cfg, [1])
    together = lab_probes.lab_jacobians(cfg, range(3))                   # seed 1 kept, seeds 0 and 2 in one pass
    for seed, got in zip(range(3), together):
        model = build_model(cfg.model_config(), seed=seed)
        X, _ = lab.lab_batch(cfg, seed)
        assert got["norms"] == jacobian_product_norms(model, X)
        assert got["gate_path"] == gate_path_norms(model, X) and got["gate_path"]


def test_networks_kept_across_a_change_of_t_or_input_scale_probe_as_fresh_ones():
    cfg = LabConfig(cell="lstm", timesteps=10, hidden_size=4, seeds=2, forget_bias=0.5)
    lab_probes.forget_probes()
    first = lab_probes.lab_networks(cfg, "lstm", [0, 1])
    for other in (cfg.replace(timesteps=11), cfg.replace(input_scale=0.9), cfg.replace(timesteps=11, gain=1.0)):
        assert lab_probes.lab_networks(other, "lstm", [0, 1]) == first     # the same networks, not drawn again
        for seed, got in zip((0, 1), lab_probes.lab_probes(other, "lstm", [0, 1])):
            reference = lab.probe_at_init(other, "lstm", seed)
            assert all(got[k] == reference[k] for k in KEYS), seed
    # what draws a network does change it: the gain of the orthogonal init, the forget bias, the seed
    for other in (cfg.replace(gain=1.5), cfg.replace(forget_bias=1.0)):
        assert lab_probes.lab_networks(other, "lstm", [0])[0][0] is not first[0][0]
    assert first[0][0] is not first[1][0]
