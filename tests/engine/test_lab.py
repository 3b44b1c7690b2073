"""Gradient Lab computations (`rnn_core.lessons.lab`) and their figures (`plots.lab`)."""

import math
import re

import numpy as np
import pytest

from plots.lab import (
    jacobian_figure,
    lab_gradient_figure,
    overlay_figure,
    phase_figure,
    singular_values_figure,
    truncation_figure,
)
from rnn_core.config import ConfigError
from rnn_core.lessons import lab
from rnn_core.lessons.lab import LAB_PRESETS, LabConfig
from rnn_core.lessons.scratch import scratch_report
from rnn_core.measure.reach import reach
from rnn_core.nn.cells import CELLS, label_of, layers_error

SMALL = LabConfig(timesteps=20, hidden_size=8, seeds=2)
# Small inputs keep tanh in its linear part, where ‖∂h_t/∂h_{t−1}‖ ≈ σ_max·γ = gain.
LINEAR = LabConfig(cell="rnn", timesteps=30, hidden_size=16, init="orthogonal", seeds=1, input_scale=0.01)


def test_overlay_has_every_cell_with_a_band_around_the_mean():
    curves = lab.overlay(SMALL)
    assert list(curves) == list(CELLS)
    for cell, c in curves.items():
        assert len(c["t"]) == len(c["mean"]) == len(c["lo"]) == len(c["hi"]) == SMALL.timesteps
        assert c["mean"][-1] == pytest.approx(1.0), cell                 # normalised to the last step
        lo, mean, hi = (np.array(c[k]) for k in ("lo", "mean", "hi"))
        assert np.all(lo <= mean * (1 + 1e-12)) and np.all(mean <= hi * (1 + 1e-12)), cell
    # two seeds really differ (the band has width somewhere)
    assert any(np.any(np.array(c["hi"]) > np.array(c["lo"]) * 1.001) for c in curves.values())


def test_profile_stats_is_reproducible_and_bounded_by_the_theory_for_elman():
    a, b = lab.profile_stats(SMALL), lab.profile_stats(SMALL)
    assert a == b
    measured, theory = np.array(a["grad_h"][0]), np.array(a["theory"][0])
    assert measured.shape == theory.shape == (SMALL.timesteps,)
    # Pascanu: ‖∂L/∂h_t‖ ≤ ‖∂L/∂h_T‖ (σ_max γ)^(T−1−t) for a tanh RNN
    assert np.all(measured <= theory * (1 + 1e-9))
    assert a["grad_c"] is None
    assert all(lab.profile_stats(SMALL.replace(seeds=1), name)["grad_c"] for name, c in CELLS.items() if c.cell_state)


def test_phase_diagram_vanishes_at_low_gain_and_grows_at_high_gain():
    phase = lab.phase_diagram(LINEAR, gains=(0.5, 1.0, 2.0))
    z = {g: row for g, row in zip(phase["gains"], phase["z"])}
    T = LINEAR.timesteps
    assert all(row[-1] == pytest.approx(0.0) for row in phase["z"])      # normalised at t = T−1
    # gain 0.5: log10 falls by log10(0.5) per step back, as the theory says in the linear regime
    assert z[0.5][0] == pytest.approx((T - 1) * math.log10(0.5), abs=0.3)
    assert all(np.diff(z[0.5]) > 0)
    # gain 2: the gradient grows going back
    assert z[2.0][0] > 2.0
    # gain 1: neither
    assert abs(z[1.0][0]) < 0.5
    assert phase["sigma_gamma"] == pytest.approx([0.5, 1.0, 2.0], rel=1e-4)
    assert phase["border_gain"] == pytest.approx(1.0, abs=1e-3)


def test_phase_diagram_replaces_the_default_init_which_ignores_the_gain():
    phase = lab.phase_diagram(LINEAR.replace(init="default", timesteps=5), gains=(0.5, 1.5))
    assert phase["init"] == "orthogonal"
    assert phase["sigma_gamma"] == pytest.approx([0.5, 1.5], rel=1e-4)


def test_jacobian_product_norm_decays_for_gain_half():
    jac = lab.jacobian_stats(LINEAR.replace(gain=0.5, seeds=2))
    norms = np.array(jac["mean"])
    assert jac["k"][0] == 1 and len(norms) == LINEAR.timesteps
    assert np.all(np.diff(norms) < 0)
    assert np.all(norms <= np.array(jac["theory"]) * (1 + 1e-9))          # ≤ (σ_max γ)^k
    assert norms[-1] < 1e-7
    assert jac["theory"][0] == pytest.approx(0.5, rel=1e-4)


def test_singular_values_of_orthogonal_times_gain_all_equal_the_gain():
    spectra = lab.singular_values(LINEAR.replace(gain=1.3))
    assert len(spectra) == 1
    assert spectra[0]["singular_values"] == pytest.approx([1.3] * 16, rel=1e-5)


def test_lab_config_round_trips_through_the_url_and_rejects_bad_values():
    cfg = LabConfig(cell="gru", timesteps=77, gain=1.25, seeds=4)
    q = cfg.to_query()
    assert q == {"lab.cell": "gru", "lab.timesteps": "77", "lab.gain": "1.25", "lab.seeds": "4"}
    assert LabConfig.from_query({**q, "m.cell": "lstm", "preset": "x"}) == cfg
    with pytest.raises(ConfigError, match="not a number"):
        LabConfig.from_query({"lab.timesteps": "ten"})
    with pytest.raises(ConfigError, match="timesteps"):
        LabConfig(timesteps=501).validate()
    with pytest.raises(ConfigError, match="Unknown cell"):
        LabConfig(cell="transformer").validate()


def test_every_preset_is_valid_and_says_what_to_look_for():
    for name, p in LAB_PRESETS.items():
        p["config"].validate()
        assert p["title"] and p["note"].endswith((".", ")")), name


def test_scratch_report_hand_bptt_equals_autograd_and_truncation_keeps_the_last_k():
    full = scratch_report(timesteps=12, truncate=0)
    assert full["match"] and full["max_abs_diff"] < 1e-12
    assert len(full["table"]) == 5 and all(r["max |difference|"] < 1e-12 for r in full["table"])
    cut = scratch_report(timesteps=12, truncate=4)
    assert cut["match"]
    assert cut["kept"] == [False] * 8 + [True] * 4
    # truncation changes ∂L/∂W_hh: the dropped contributions are missing
    w_full = next(r for r in full["table"] if r["parameter"].startswith("W ="))["hand ‖∂L/∂W‖"]
    w_cut = next(r for r in cut["table"] if r["parameter"].startswith("W ="))["hand ‖∂L/∂W‖"]
    assert w_cut != pytest.approx(w_full)


def test_figures_draw_what_they_are_given():
    stats = lab.profile_stats(SMALL.replace(num_layers=2))
    fig = lab_gradient_figure(stats)
    assert sum(1 for t in fig.data if t.fill == "tonexty") == 2            # one band per layer
    assert any("theory" in (t.name or "") for t in fig.data)
    assert len(overlay_figure(lab.overlay(SMALL, cells=("rnn", "lstm"))).data) == 2 * 3
    phase = lab.phase_diagram(SMALL, gains=(0.5, 1.0, 1.5))
    pf = phase_figure(phase)
    assert pf.data[0].type == "heatmap" and len(pf.data[0].y) == 3
    assert len(singular_values_figure(lab.singular_values(SMALL)).data) == 1
    assert len(jacobian_figure(lab.jacobian_stats(SMALL)).data) == 4
    tf = truncation_figure(scratch_report(timesteps=10, truncate=3))
    assert tf.data[0].marker.color.count("#3b5bdb") == 3


def test_lab_log_axes_show_decades_only():
    from plots.lab import compare_loss_figure

    epochs = [{"epoch": e, "train_loss": 0.3 - 0.01 * e, "val_loss": 0.35 - 0.01 * e} for e in range(6)]
    figs = [compare_loss_figure({"rnn": {"epochs": epochs}}, baseline=0.4),              # < 1 decade
            jacobian_figure(lab.jacobian_stats(SMALL)), overlay_figure(lab.overlay(SMALL, cells=("lstm",))),
            lab_gradient_figure(lab.profile_stats(SMALL.replace(cell="lstm"))),
            truncation_figure(scratch_report(timesteps=10, truncate=3))]
    for fig in figs:
        axis = fig.layout.yaxis
        assert axis.type == "log" and isinstance(axis.dtick, int) and axis.dtick >= 1 and axis.tick0 == 0
        if axis.range is not None:                                     # widened: two powers of ten in view
            assert math.floor(axis.range[1]) - math.ceil(axis.range[0]) >= 1
    assert figs[0].layout.yaxis.range == pytest.approx((-1.05, 0.05))
    # the constant guess is named in the legend, not on its line, where the curves start and covered it
    assert "constant guess = 0.4" in [t.name for t in figs[0].data] and not figs[0].layout.annotations
    assert figs[0].layout.yaxis.title.text == "MSE"
    text = compare_loss_figure({"rnn": {"epochs": epochs}}, baseline=2.16, baseline_label="unigram baseline",
                               loss_label="bits per character")           # a text race
    assert text.layout.yaxis.title.text == "bits per character"


# ---------------------------------------------------------------------- every Lab preset keeps its word
FIVE_SEEDS = range(5)      # every range the Lab, the tooltips and Learn state is measured over these


def _decades_lost(cfg: LabConfig, cell: str | None = None, key: str = "grad_h") -> list[float]:
    """log10(‖∂L/∂h_T‖ / ‖∂L/∂h_first‖) (first layer) per seed 0–4, over the part that is not 0 (as the
    app counts them): > 0 vanished, < 0 grew."""
    return [-reach(lab.probe_at_init(cfg, cell or cfg.cell, seed)[key][0]).decades for seed in FIVE_SEEDS]


def _within(values: list[float], lo: float, hi: float) -> bool:
    """Every value inside the stated range lo–hi, as the text rounds it (one decimal)."""
    return all(lo - 0.05 <= v < hi + 0.05 for v in values)


def _bound_decades(cfg: LabConfig) -> float:
    """Decades the bound forces lost (< 0: allows to grow) over the preset's T, from the probe's σ_max."""
    sigma = lab.probe_at_init(cfg, cfg.cell, 0)["sigma_max"][0]
    return -(cfg.timesteps - 1) * math.log10(sigma * 1.0)


def test_every_lab_preset_has_a_one_sentence_note_and_a_check_below():
    assert set(LAB_PRESETS) == {"vanishing", "exploding", "edge", "lstm_keeps", "identity_relu", "default_init",
                                "indrnn_vector"}
    for p in LAB_PRESETS.values():
        assert p["note"].endswith(".") and p["note"].count(". ") == 0, p["note"]


def test_preset_vanishing_loses_at_least_what_the_bound_forces():
    cfg = LAB_PRESETS["vanishing"]["config"]
    note = LAB_PRESETS["vanishing"]["note"]
    assert "at least 9.6 decades" in note and "loses 9.8–9.9" in note
    assert _bound_decades(cfg) == pytest.approx(9.6, abs=0.05)
    assert _within(_decades_lost(cfg), 9.8, 9.9)


def test_preset_exploding_grows_but_far_below_the_bound():
    cfg = LAB_PRESETS["exploding"]["config"]
    note = LAB_PRESETS["exploding"]["note"]
    assert "up to 10.4 decades" in note and "grows 2.9–3.3" in note
    assert _bound_decades(cfg) == pytest.approx(-10.4, abs=0.05)
    assert _within([-d for d in _decades_lost(cfg)], 2.9, 3.3)


def test_preset_edge_loses_at_most_half_a_decade():
    cfg = LAB_PRESETS["edge"]["config"]
    assert "loses only 0.3–0.5 decades" in LAB_PRESETS["edge"]["note"]
    assert _within(_decades_lost(cfg), 0.3, 0.5)


def test_preset_lstm_keeps_loses_a_few_decades_against_about_40_without_forget_bias():
    cfg = LAB_PRESETS["lstm_keeps"]["config"]
    note = LAB_PRESETS["lstm_keeps"]["note"]
    assert "0.2–2.8 decades" in note and "against 36–42 with forget bias 0" in note
    assert _within(_decades_lost(cfg), 0.2, 2.8)
    assert _within(_decades_lost(cfg.replace(forget_bias=0.0)), 36, 42)
    stats = lab.profile_stats(cfg)
    assert stats["theory"] == [[]] and len(stats["gate_path"][0]) == cfg.timesteps   # no bound, the gate path


def test_preset_identity_relu_is_nearly_flat_not_flat():
    cfg = LAB_PRESETS["identity_relu"]["config"]
    assert "loses 0.6–2.1 decades" in LAB_PRESETS["identity_relu"]["note"]
    assert _within(_decades_lost(cfg), 0.6, 2.1)


def test_preset_default_init_forgets_with_sigma_max_above_one():
    cfg = LAB_PRESETS["default_init"]["config"]
    note = LAB_PRESETS["default_init"]["note"]
    assert "σ_max ≈ 1.1" in note and "spectral radius is only ≈ 0.6" in note and "19–27 decades" in note
    for seed in FIVE_SEEDS:
        p = lab.probe_at_init(cfg, cfg.cell, seed)
        assert 1.0 < p["sigma_max"][0] < 1.2 and 0.5 < p["spectral_radius"][0] < 0.7
    assert _within(_decades_lost(cfg), 18.5, 27)


def test_preset_indrnn_vector_nearly_reaches_its_elementwise_bound():
    """What each of the Lab's charts shows for it: u's values as the singular values (|u|_max ≈ 0.17), the
    gradient losing 75–104 decades (seeds 0–4) where the bound (|u|_max·γ)^99 forces about 75, and the Jacobian product
    under its bound at every k."""
    cfg = LAB_PRESETS["indrnn_vector"]["config"]
    note = LAB_PRESETS["indrnn_vector"]["note"]
    assert "|u|_max ≈ 0.17" in note and "about 75 decades" in note and "loses 75–104" in note
    assert "σ_max ≈ 1.1" in note                                        # the tanh RNN's, as default_init measures
    for seed in FIVE_SEEDS:
        u = lab.singular_values(cfg, seed=seed)[0]
        assert 0.16 <= u["sigma_max"] <= 0.18 and u["spectral_radius"] == pytest.approx(u["sigma_max"])
        assert 74.5 <= -(cfg.timesteps - 1) * math.log10(u["sigma_max"]) <= 76.5           # "about 75"
    lost = _decades_lost(cfg)
    assert _within(lost, 75, 104)
    assert all(d >= -(cfg.timesteps - 1) * math.log10(lab.probe_at_init(cfg, cfg.cell, s)["sigma_max"][0])
               for s, d in enumerate(lost))                                   # at or below the bound
    jac = lab.jacobian_stats(cfg)
    assert np.all(np.array(jac["mean"]) <= np.array(jac["theory"]) * (1 + 1e-9))
    # the Learn page says the same numbers
    from ui.learn import STEPS

    learn = " ".join(str(part) for step in STEPS for part in step.parts)
    assert "about 75 decades lost over 100 steps: the gradient loses 75–104 (five seeds)" in learn and "0.17" in learn


@pytest.mark.parametrize("cell", list(CELLS))
def test_jacobian_chart_has_the_bound_where_it_holds_and_the_gate_path_where_there_is_one(cell):
    jac = lab.jacobian_stats(SMALL.replace(cell=cell, forget_bias=3.0, init="orthogonal", gain=0.5, seeds=1))
    assert len(jac["theory"]) == (len(jac["k"]) if CELLS[cell].bounded else 0)
    assert len(jac["gate_path"]) == (len(jac["k"]) if CELLS[cell].gate_path else 0)
    if CELLS[cell].bounded:
        assert np.all(np.array(jac["mean"]) <= np.array(jac["theory"]) * (1 + 1e-9))
    else:
        names = [t.name for t in jacobian_figure(jac).data]
        assert not any("bound" in (n or "") and "not a bound" not in (n or "") for n in names)


def test_overlay_leaves_a_cell_that_cannot_stack_out_of_a_stack_and_says_why():
    cfg = SMALL.replace(num_layers=2, seeds=1, timesteps=8)
    one_layer = [name for name, c in CELLS.items() if c.max_layers == 1]
    assert one_layer and list(lab.overlay(cfg)) == [name for name in CELLS if name not in one_layer]
    assert lab.overlay_left_out(cfg) == [layers_error(name, 2) for name in one_layer]
    for name in one_layer:
        with pytest.raises(ConfigError, match="set layers to 1"):
            cfg.replace(cell=name).validate()


@pytest.mark.slow
def test_gain_and_forget_bias_tooltips_and_learn_say_what_the_lab_measures():
    """The numbers the Playground tooltips and the Learn page teach, recomputed (Lab inputs, seeds 0–4)."""
    from ui.controls import HELP
    from ui.learn import STEPS

    learn = " ".join(str(part) for step in STEPS for part in step.parts)
    base = LabConfig(cell="rnn", timesteps=100, init="orthogonal")
    gain = " ".join(HELP["gain"].split())
    assert "gain 0.9 loses 4.8–5.1 decades (the bound forces 4.5)" in gain
    assert _within(_decades_lost(base.replace(gain=0.9)), 4.8, 5.1)
    assert "at 1.0 loses 1.0–1.4" in gain
    assert _within(_decades_lost(base.replace(gain=1.0)), 1.0, 1.4)
    assert "at 1.5 grows 2.8–4.1 where the bound allows 17.4" in gain
    assert _bound_decades(base.replace(gain=1.5)) == pytest.approx(-17.4, abs=0.05)
    assert _within([-d for d in _decades_lost(base.replace(gain=1.5))], 2.8, 4.1)
    lstm = LabConfig(cell="lstm", timesteps=300, init="default")
    for text in (HELP["forget_bias"], learn):
        assert "17–24 decades" in text and "under 4" in text
    assert _within(_decades_lost(lstm.replace(forget_bias=1.0)), 17, 24.3)
    assert all(0.0 <= d < 4.0 for d in _decades_lost(lstm.replace(forget_bias=3.0)))
    assert "19–27 decades over 100 steps" in learn and "19–27 decades over 100 steps" in HELP["hidden_size"]
    assert "loses 0.6–2.1 decades (the Lab preset, five seeds), where a tanh RNN with PyTorch's default init " \
           "loses 37–52" in learn
    irnn = LAB_PRESETS["identity_relu"]["config"]
    assert _within(_decades_lost(irnn.replace(cell="rnn", init="default")), 37, 52)
    assert "bias 0 loses 36–42 over 200" in " ".join(HELP["forget_bias"].split())
    assert _within(_decades_lost(lstm.replace(forget_bias=0.0, timesteps=200)), 36, 42)


def test_lab_verdict_reads_sigma_gamma_against_one_and_how_much_reaches_t0():
    """The Lab's headline: σ_max·γ of the top layer decides the verdict for Elman cells; the reach is the
    first layer's ‖∂L/∂h₀‖ / ‖∂L/∂h_T‖ in decades."""
    for gain, says in ((0.5, "must vanish"), (1.0, "on the edge"), (1.5, "may grow")):
        v = lab.lab_verdict(lab.profile_stats(LINEAR.replace(gain=gain)))
        assert v.verdict == says and v.bounded and v.rate == pytest.approx(gain, abs=1e-5)   # float32 weights
    stats = lab.profile_stats(LINEAR.replace(gain=0.5))
    first = stats["grad_h"][0]
    reached = lab.lab_verdict(stats).reach
    mantissa, power = re.fullmatch(r"(\d\.\d) × 10([⁻⁰¹²³⁴⁵⁶⁷⁸⁹]+)", reached).groups()   # "1.6 × 10⁻¹⁰"
    value = float(mantissa) * 10.0 ** int(power.translate(str.maketrans("⁻⁰¹²³⁴⁵⁶⁷⁸⁹", "-0123456789")))
    assert value == pytest.approx(first[0] / first[-1], rel=0.05)
    assert value < 1e-5                                                # 0.5^29: about 8.7 decades lost
    assert lab.lab_verdict({**stats, "grad_h": [[1.0, 1.0]]}).reach == "≈ 1"
    gated = lab.lab_verdict(lab.profile_stats(SMALL.replace(cell=next(n for n, c in CELLS.items() if not c.bounded))))
    assert gated.verdict == "gates decide" and not gated.bounded


def test_the_lab_tile_says_what_happened_and_tells_blocked_from_underflow():
    """Beside σ_max·γ and its bound ("may grow"), the tile says what the gradient did: "loses 9.8 decades",
    "gains 3.1 decades"; an exact 0 is blocked (it dropped from an ordinary number straight to 0) or an
    underflow (it faded below float64), read from the seeds' minimum, not called an underflow by default."""
    stats = lab.profile_stats(LINEAR.replace(gain=0.5))
    v = lab.lab_verdict(stats)
    assert v.verdict == "must vanish" and re.fullmatch(r"loses \d+\.\d decades", v.outcome)
    grows = lab.lab_verdict(lab.profile_stats(LAB_PRESETS["exploding"]["config"]))
    assert grows.verdict == "may grow" and re.fullmatch(r"gains (2\.9|3\.[0-3]) decades", grows.outcome)
    blocked = {**stats, "grad_h": [[0.0, 0.0, 0.3, 1.0]], "grad_h_lo": [[0.0, 0.0, 0.1, 1.0]]}
    assert lab.lab_verdict(blocked).reach == "0 (blocked)"
    assert lab.lab_verdict(blocked).outcome == "blocked before t = 2"
    faded = {**stats, "grad_h": [[0.0, 1e-120, 1e-40, 1.0]], "grad_h_lo": [[0.0, 1e-305, 1e-80, 1.0]]}
    assert lab.lab_verdict(faded).reach == "0 (underflow)"
    assert lab.lab_verdict(faded).outcome == "underflow before t = 1"


def test_the_full_bptt_chart_says_why_it_draws_one_bar_fewer():
    """h₋₁ = 0, so t = 0 contributes exactly 0 to ∂L/∂W_hh: "all 20 contributions" over 19 bars on a log
    axis says why."""
    full = scratch_report(timesteps=20, truncate=0)
    assert full["contrib"][0] == 0 and all(c > 0 for c in full["contrib"][1:])
    assert truncation_figure(full).layout.title.text.endswith("(t = 0 adds 0: h₋₁ = 0)")
    assert "h₋₁" not in truncation_figure(scratch_report(timesteps=20, truncate=5)).layout.title.text


def test_the_geometric_mean_over_seeds_is_zero_where_one_seed_underflowed():
    """Leaving an underflowed seed out made the mean jump up to the survivors (a Jordan profile seemed
    to grow back through time at t ≈ 10 and 20 while it vanished); with it, the mean is 0 there."""
    from rnn_core.lessons.lab import seed_stats

    mean, lo, hi = seed_stats(np.array([[1e-3, 1e-200, 0.0], [1e-1, 1e-2, 1e-150]]))
    assert mean[0] == pytest.approx(1e-2) and mean[1] == pytest.approx(1e-101) and mean[2] == 0.0
    assert lo == [1e-3, 1e-200, 0.0] and hi == [1e-1, 1e-2, 1e-150]
    # so a profile never rises back through time past a seed's underflow
    jordan = lab.profile_stats(lab.LAB_PRESETS["default_init"]["config"].replace(cell="jordan"))
    g = jordan["grad_h"][0]
    last_zero = max(t for t in range(len(g)) if g[t] == 0)            # some seed underflows by t ≈ 20
    assert 0 < last_zero < len(g) - 1 and all(v == 0 for v in g[: last_zero + 1])
    assert all(a <= b for a, b in zip(g[last_zero + 1:], g[last_zero + 2:])), "it only fades back in time"


def test_overlay_tells_coinciding_cells_apart_and_phase_colour_bar_says_of_what():
    """At small inputs Elman tanh and Jordan draw nearly the same line: dash and marker tell them apart.
    The phase diagram's colour bar names its ratio and labels it in powers of ten."""
    curves = {cell: {"t": [0, 1, 2], "mean": [0.1, 0.5, 1.0], "lo": [0.1, 0.5, 1.0], "hi": [0.1, 0.5, 1.0]}
              for cell in ("rnn", "jordan", "lstm")}
    lines = [t for t in overlay_figure(curves).data if t.fill is None and t.showlegend is not False]
    assert [t.name for t in lines] == [label_of("rnn"), label_of("jordan"), label_of("lstm")]
    assert len({(t.line.dash, t.marker.symbol) for t in lines}) == 3
    phase = phase_figure(lab.phase_diagram(SMALL, gains=(0.5, 1.0, 1.5)))
    bar = phase.data[0].colorbar
    assert bar.title.text == "log₁₀(‖∂L/∂hₜ‖ ÷ ‖∂L/∂h_T‖)" and "10⁰" in bar.ticktext


def test_the_gate_path_is_not_a_bound_the_other_paths_may_partly_cancel_it():
    """"the other paths add to it or partly cancel it": on the Lab's LSTM preset (seeds 0–4) the total
    ‖∂L/∂c_t‖ lies below what the forget gates' product alone carries at some timesteps, above it at others."""
    from rnn_core.nn.probe import REFERENCE_NOTE

    assert "add to it or partly cancel it" in REFERENCE_NOTE["gated"]
    cfg = LAB_PRESETS["lstm_keeps"]["config"]
    below = above = 0
    for seed in FIVE_SEEDS:
        p = lab.probe_at_init(cfg, "lstm", seed)
        c, path = np.array(p["grad_c"][0]), np.array(p["gate_path"][0])
        below += int((c < path * (1 - 1e-9)).sum())
        above += int((c > path * (1 + 1e-9)).sum())
    assert below > 0 and above > 0, (below, above)
