"""Learn page through AppTest: the steps render with their equations, the hand-written BPTT matches
autograd on screen, and the preset buttons open the right page with the right settings."""

import re

from streamlit.testing.v1 import AppTest

from tests.conftest import APP, charts
from ui.learn import LAB, STEPS


def _learn_app(step: str | None = None) -> AppTest:
    at = AppTest.from_file(APP, default_timeout=60)
    at.run()
    if step:
        at.query_params["step"] = step
    at.switch_page("app_pages/learn.py")
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def _qp(at: AppTest, name: str) -> str | None:
    value = at.query_params.get(name)
    return value[-1] if isinstance(value, list) else value


def _button(at: AppTest, starts: str):
    return next(b for b in at.button if b.label.startswith(starts))


def test_every_preset_named_by_learn_exists():
    from rnn_core.lessons.lab import LAB_PRESETS
    from rnn_core.lessons.presets import PRESETS

    for step in STEPS:
        for link in step.links:
            assert link.preset in (LAB_PRESETS if link.page == LAB else PRESETS), (step.key, link)


def test_walk_through_every_step_with_next():
    at = _learn_app()
    seen = []
    for _ in STEPS:
        seen.append(at.header[0].value)
        assert at.latex, f"step {seen[-1]!r} shows no equation"
        if len(seen) < len(STEPS):
            _button(at, "Next").click().run()
            assert not at.exception, [e.value for e in at.exception]
    assert seen == [s.title for s in STEPS]
    assert _button(at, "Next").disabled
    assert _qp(at, "step") == STEPS[-1].key


SUPERSCRIPTS = str.maketrans("⁰¹²³⁴⁵⁶⁷⁸⁹", "0123456789")


def _below_a_billionth(written: str) -> bool:
    """A difference as the app writes it ("2.2 × 10⁻¹⁶" or "0") is below 10⁻⁹."""
    m = re.fullmatch(r"\d(?:\.\d)? × 10⁻(\d+)", written.translate(SUPERSCRIPTS))
    return written == "0" or (m is not None and int(m.group(1)) >= 10)


def test_hand_bptt_matches_autograd_and_truncation_cuts():
    at = _learn_app("bptt")
    table = at.dataframe[0].value
    assert len(table) == 5
    assert all(_below_a_billionth(v) for v in table["max |difference|"])    # "2.2 × 10⁻¹⁶", not 2.2e-16
    assert any("they match" in c.value for c in at.caption)
    at.slider(key="learn_truncate").set_value(5).run()
    assert not at.exception
    table = at.dataframe[0].value
    assert all(_below_a_billionth(v) for v in table["max |difference|"])
    figure = next(iter(charts(at).values()))
    assert "the last 5 of 20" in figure["layout"]["title"]["text"]


def test_lab_preset_button_opens_the_lab_with_its_settings():
    at = _learn_app("pascanu")
    _button(at, "Exploding: gain 1.5").click().run()
    assert not at.exception, [e.value for e in at.exception]
    assert at.title[0].value.endswith("Gradient Lab")
    assert at.session_state["lab.gain"] == 1.5
    assert at.session_state["lab.cell"] == "rnn"
    assert _qp(at, "preset") == "exploding"


def test_playground_preset_button_opens_the_playground_with_its_settings():
    at = _learn_app("gates")
    _button(at, "LSTM remembers (Playground)").click().run()
    assert not at.exception, [e.value for e in at.exception]
    assert "Playground" in at.title[0].value
    assert at.session_state["pg.m.cell"] == "lstm"
    assert at.session_state["pg.d.dataset"] == "adding"


def test_presenter_mode_hides_the_step_list_and_survives_the_switch():
    at = _learn_app("pascanu")
    assert at.sidebar.radio, "the step list shows in the sidebar"
    at.toggle(key="_presenter_toggle").set_value(True).run()
    assert not at.sidebar.radio
    assert _qp(at, "presenter") == "1"
    _button(at, "Vanishing: gain 0.8").click().run()
    assert at.session_state["lab.gain"] == 0.8 and at.session_state["lab.init"] == "orthogonal"
    assert _qp(at, "presenter") == "1"
    assert at.expander, "the Lab's controls sit in a collapsed expander in presenter mode"


def test_truncation_step_shows_the_tutorials_update_next_to_the_true_gradient():
    at = _learn_app("truncation")
    article = at.dataframe[-1].value
    assert list(article["parameter"]) == ["U", "W", "V"]
    W = article.set_index("parameter").loc["W"]
    assert W["changes with y"] == "no" and "× 10" in W["tutorial ÷ true"]
    said = " ".join(c.value for c in at.caption)
    assert "times the true ∂L/∂W" in said and "not a gradient" in said
    assert any("keeps the tutorial's data" in m.value for m in at.markdown)
