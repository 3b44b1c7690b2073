"""What the presets are made of: one sentence each, the twins that share everything but one setting,
every preset with its last-frame test (`test_preset_frames.py`, which trains each one over five seeds
and checks its sentence), the README's echo link, the Compare page's defaults, and the exploding run's
banner on the Playground."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from rnn_core.config import replace as cfg_replace
from rnn_core.data.registry import get_dataset
from rnn_core.lessons.presets import PRESETS, preset_configs

ROOT = Path(__file__).resolve().parents[2]


def test_every_description_is_one_sentence():
    for key, preset in PRESETS.items():
        text = preset.description
        assert text.endswith("."), key
        assert not re.search(r"[.!?]\s+[A-Z]", text), (key, text)      # no second sentence


def test_the_vanishing_runs_ghost_lstm_is_lstm_remembers():
    """A lecturer's first move on "Vanishing" is the ghost run with an LSTM (the same setup, another
    cell, `ui.live.ghost_bar`): that must be the "LSTM remembers" setup, which learns (tested below),
    not an LSTM that fails beside the RNN for reasons of its own (forget bias, learning rate)."""
    m, d, t = preset_configs("vanishing")
    lm, ld, lt = preset_configs("lstm_remembers")
    assert (cfg_replace(m, cell="lstm"), d, t) == (lm, ld, lt)


def test_exploding_and_clipping_rescue_are_the_same_run_but_for_clipping():
    exploding, rescue = PRESETS["exploding"], PRESETS["clipping_rescue"]
    assert exploding.model == rescue.model and exploding.data == rescue.data
    assert {k: v for k, v in exploding.train.items() if not k.startswith("clip")} == \
        {k: v for k, v in rescue.train.items() if not k.startswith("clip")}
    assert exploding.train["clip"] == "off" and rescue.train["clip"] == "norm"


def test_readme_echo_link_is_the_gru_echo_preset():
    """The README's example link opens settings that learn: exactly the GRU-echo preset's, tested above."""
    from ui.links import PLAYGROUND, read_link

    readme = (ROOT / "README.md").read_text()
    link = re.search(r"`/\?(m\.cell=[^`]*d\.dataset=echo[^`]*)`", readme).group(1)
    query = dict(pair.split("=", 1) for pair in link.split("&"))
    model, data, train_cfg = read_link(PLAYGROUND, query).settings
    p_model, p_data, p_train = preset_configs("gru_echo")
    assert (model, train_cfg) == (p_model, p_train)
    defaults = {p.name: p.default for p in get_dataset("echo").params}     # what the link leaves out
    assert cfg_replace(data, params={**defaults, **data.params}) == \
        cfg_replace(p_data, params={**defaults, **p_data.params})


@pytest.mark.slow
def test_compare_default_sweep_shows_the_plain_rnn_failing_first():
    """The Compare sweep's caption: the plain RNN reaches the constant guess first, the gated cells at
    longer windows. With the page's defaults: the RNN learns at the shortest T and sits on the constant
    guess at T = 25, where the LSTM and the GRU still learn."""
    from rnn_core.config import replace as cfg_replace
    from rnn_core.lessons.compare import RACE_DATA, RACE_MODEL, RACE_TRAIN, SWEEP_DEFAULTS, run_one

    data = cfg_replace(RACE_DATA, params={"n_samples": SWEEP_DEFAULTS.n_samples})
    model, train_cfg = RACE_MODEL, cfg_replace(RACE_TRAIN, epochs=SWEEP_DEFAULTS.epochs)
    sweep = SWEEP_DEFAULTS.timesteps

    def ratio(cell: str, T: int) -> float:
        row = run_one(cell, T, data, model, train_cfg)
        return row.val_loss / row.baseline_mse

    assert ratio("rnn", min(sweep)) < 0.5
    assert ratio("rnn", 25) > 0.95             # also the default race's: "gets no lower than the constant guess"
    assert ratio("lstm", 25) < 0.2
    assert ratio("gru", 25) < 0.2


@pytest.mark.slow
def test_compare_default_map_shows_trainability_narrowing_to_gain_one():
    """The trainability map's caption, with the page's defaults (W_hh orthogonal × gain, the adding
    problem): the plain RNN learns at T = 5 at every gain, at T = 10 only near gain 1 and not from
    T = 25; the LSTM learns to T = 25 and at T = 50 only near gain 1; the GRU learns across the map."""
    from rnn_core.config import replace as cfg_replace
    from rnn_core.lessons.compare import MAP_DEFAULTS, RACE_DATA, RACE_MODEL, RACE_TRAIN, run_one

    data = cfg_replace(RACE_DATA, params={"n_samples": MAP_DEFAULTS.n_samples})
    train_cfg = cfg_replace(RACE_TRAIN, epochs=MAP_DEFAULTS.epochs)
    assert MAP_DEFAULTS.gains == (0.5, 0.9, 1.1, 1.5) and MAP_DEFAULTS.timesteps == (5, 10, 25, 50)

    def ratio(cell: str, T: int, gain: float) -> float:
        row = run_one(cell, T, data, cfg_replace(RACE_MODEL, init="orthogonal", gain=gain), train_cfg)
        return row.val_loss / row.baseline_mse

    assert max(ratio("rnn", 5, g) for g in (0.5, 1.5)) < 0.5                  # short: every gain
    near, far = [ratio("rnn", 10, g) for g in (0.9, 1.1)], [ratio("rnn", 10, g) for g in (0.5, 1.5)]
    assert max(near) < 0.4 < 0.6 < min(far), (near, far)                       # T = 10: only near 1
    assert ratio("rnn", 25, 1.1) > 0.8 and ratio("lstm", 25, 1.5) < 0.2
    near, far = [ratio("lstm", 50, g) for g in (0.9, 1.1)], [ratio("lstm", 50, g) for g in (0.5, 1.5)]
    assert max(near) < 0.4 and min(far) > 0.8, (near, far)                     # LSTM, T = 50: only near 1
    assert max(ratio("gru", 50, g) for g in (0.5, 1.5)) < 0.2


def test_the_playground_shows_the_exploding_preset_diverge_with_its_banner():
    """What a lecturer sees after ?preset=exploding and Train: the run ends 'diverged' and the page says
    so in its banner, with the step and the cause."""
    import time

    from tests.conftest import open_page, run_of

    at = open_page("app_pages/playground.py", {"preset": "exploding"})
    assert at.selectbox(key="pg.t.clip").value == "off"
    at.button(key="pg.btn.train").click().run()
    deadline = time.monotonic() + 120
    while run_of(at).status not in ("completed", "stopped", "diverged"):
        assert time.monotonic() < deadline, run_of(at).status
        time.sleep(0.2)
        at.run()
    at.run()
    assert run_of(at).status == "diverged"
    banner = " ".join(e.value for e in at.error)
    assert "The run diverged at step" in banner and "turn on gradient clipping" in banner, banner
    captions = " ".join(c.value for c in at.caption)            # under the gradient-through-time chart
    assert "before its next probe: the solid line is the profile at initialisation" in captions, captions
    assert re.search(r"At initialisation, ‖∂L/∂hₜ‖ gains [23]\.\d decades from the last timestep back", captions), \
        captions
    assert not at.exception


def test_every_playground_preset_has_a_last_frame_test():
    """Each preset's sentence is checked against its last frame, on five seeds, in test_preset_frames.py
    (the stateful presets in test_stateful_presets.py, over seeds as well)."""
    here = Path(__file__).parent
    frames = (here / "test_preset_frames.py").read_text()
    stateful = (here / "test_stateful_presets.py").read_text()
    for key in PRESETS:
        if key.startswith("stateful"):
            assert f'"{key}"' in stateful and '@pytest.mark.parametrize("seed", SEEDS)' in stateful, key
        else:
            assert re.search(rf"def test_{key}_\w+\(seed", frames), key
