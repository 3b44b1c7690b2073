"""Shared links that used to crash the Playground open it with one sentence; values outside a
control's range are moved into it and the sentence says what was changed. The Playground and the
Gradient Lab read and write links by one rule (`ui.links`): a preset with the page's own params over it."""

from __future__ import annotations

import re
from types import SimpleNamespace

import pytest

from rnn_core.lessons.lab import LAB_PRESETS, LAB_SETTINGS
from rnn_core.readable import readable
from tests.conftest import PAGE_DIR, open_page
from ui.links import LAB, PLAYGROUND, follow, link_params, read_link

PAGE = f"{PAGE_DIR}/playground.py"
LAB_PAGE = f"{PAGE_DIR}/gradient_lab.py"
SMALL_LAB = {"lab.hidden_size": "4", "lab.seeds": "1"}      # a quick Lab page


def _note(at) -> str:
    """The warnings as a reader sees them (the Markdown escapes of user text removed)."""
    return re.sub(r"\\(.)", r"\1", " ".join(w.value for w in at.warning))


@pytest.mark.parametrize("query,says,key,expected", [
    ({"d.timesteps": "1e400"}, "does not parse", None, None),
    ({"t.epochs": "abc"}, "The link's value 'abc' for Epochs (t.epochs) does not parse: it takes a whole number",
     None, None),
    ({"m.forget_bias": "100"}, "Forget-gate bias 100", "pg.m.forget_bias", 6.0),
    ({"m.cell": "lstm", "m.forget_bias": "-10"}, "Forget-gate bias −10", "pg.m.forget_bias", -3.0),
    ({"d.dataset": "djia", "d.params.start": "2099-01-01"}, "2099-01-01", None, None),
    ({"d.dataset": "yahoo", "d.params.start": "1900-01-01"}, "1900-01-01", "pg.dp.yahoo.start", "1970-01-01"),
    ({"t.clip_value": "1e9"}, "Clipping threshold 1 × 10⁹", "pg.t.clip_value", 1e6),
    ({"d.params.length": "999999999"}, "999999999", "pg.dp.sine.length", 100_000),
    ({"t.seed": "99999999999999999999999"}, "Seed", "pg.t.seed", 2**31 - 1),
])
def test_links_out_of_range_open_the_page_with_a_sentence(query, says, key, expected):
    at = open_page(PAGE, query)                       # asserts: no exception on the page
    assert says in _note(at), _note(at)
    if key is not None:
        value = at.session_state[key]
        assert (value.isoformat() if hasattr(value, "isoformat") else value) == expected


def _qp(at) -> dict:
    return {k: (v[-1] if isinstance(v, list) else v) for k, v in at.query_params.items()}


def _open_lab(query: dict):
    """The Lab opened from a deep link (`open_page` would let the Playground, the default page, rewrite
    the address first)."""
    from streamlit.testing.v1 import AppTest

    from tests.conftest import APP

    at = AppTest.from_file(APP, default_timeout=90)
    at.run()
    at.query_params.update({**SMALL_LAB, **query})
    at.switch_page(LAB_PAGE)
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def test_a_lab_link_with_a_preset_and_an_override_behaves_like_a_playground_one():
    """The preset first, the link's own values over it; the address then holds every value that
    differs from the defaults (the settings no longer equal the preset)."""
    pg = open_page(PAGE, {"preset": "lstm_remembers", "m.hidden_size": "7"})
    lab = _open_lab({"preset": "vanishing", "lab.timesteps": "50"})
    assert (pg.session_state["pg.m.cell"], pg.session_state["pg.m.hidden_size"]) == ("lstm", 7)
    vanishing = LAB_PRESETS["vanishing"]["config"]
    assert (lab.session_state["lab.gain"], lab.session_state["lab.init"]) == (vanishing.gain, vanishing.init)
    assert lab.session_state["lab.timesteps"] == 50 and lab.session_state["lab.hidden_size"] == 4
    for at in (pg, lab):
        assert "preset" not in _qp(at), _qp(at)
    assert _qp(pg)["m.hidden_size"] == "7" and _qp(pg)["m.cell"] == "lstm"
    assert _qp(lab)["lab.timesteps"] == "50" and _qp(lab)["lab.gain"] == str(vanishing.gain)


@pytest.mark.parametrize("page", [PAGE, LAB_PAGE])
def test_an_unknown_preset_is_the_same_sentence_on_both_pages(page):
    at = _open_lab({"preset": "nonsense"}) if page == LAB_PAGE else open_page(page, {"preset": "nonsense"})
    assert "Unknown preset 'nonsense' in the link" in _note(at), _note(at)
    assert "The page opened with the default settings." in _note(at)


def test_a_lab_value_outside_its_slider_is_moved_in_with_a_sentence():
    hi = LAB_SETTINGS["gain"].hi
    at = _open_lab({"lab.gain": "100"})
    assert "The link held values outside the controls' range:" in _note(at)
    assert f"Gain 100 is outside {readable(LAB_SETTINGS['gain'].lo)}–{readable(hi)}; set to {readable(hi)}." in \
        _note(at), _note(at)
    assert at.session_state["lab.gain"] == hi


@pytest.mark.parametrize("codec", [PLAYGROUND, LAB], ids=["playground", "lab"])
def test_every_preset_link_reads_back_as_itself(codec):
    """`?preset=k` opens the preset's settings, which are written back as `?preset=k`; one changed value
    writes the values instead."""
    for preset in codec.presets():
        if preset == "stock_nflx":          # asks Yahoo whether NFLX is there (tests/pages/test_playground_page)
            continue
        link = read_link(codec, {"preset": preset})
        assert link.note is None and link.preset == preset, (preset, link.note)
        assert link_params(codec, link.settings, preset) == {"preset": preset}
        other = read_link(codec, {"preset": preset, **_one_change(codec)}).settings
        assert "preset" not in link_params(codec, other, preset)


def _one_change(codec) -> dict[str, str]:
    return {"m.hidden_size": "5"} if codec is PLAYGROUND else {"lab.hidden_size": "5"}


def test_a_link_is_followed_on_the_first_visit_and_when_it_names_a_new_preset():
    state = SimpleNamespace(url_loaded=False, link_preset=None)
    assert follow(LAB, state, {"lab.gain": "0.5"}).settings.gain == 0.5      # first visit
    assert follow(LAB, state, {"lab.gain": "0.5"}) is None                   # later: the widgets rule
    assert follow(LAB, state, {"preset": "edge"}).preset == "edge"           # a new preset: followed
    assert follow(LAB, state, {"preset": "edge"}) is None                    # …once
    state.link_preset = None                                                 # the page wrote no preset
    assert follow(LAB, state, {"preset": "edge"}).preset == "edge"           # (a Learn button again)
    assert follow(LAB, SimpleNamespace(url_loaded=False, link_preset=None), {"presenter": "1"}) is None


def test_a_preset_sentence_shows_only_while_the_settings_are_the_preset():
    """A preset's sentence describes its own settings: a link that changes one of them (or a changed
    control) gets a sentence saying the setup started from it, on both pages."""
    from rnn_core.lessons.presets import PRESETS
    from ui.links import changed_preset_sentence

    said = PRESETS["lstm_remembers"].description
    pg = open_page(PAGE, {"preset": "lstm_remembers"})
    assert any(said in c.value for c in pg.caption)
    pg = open_page(PAGE, {"preset": "lstm_remembers", "m.hidden_size": "7"})
    captions = " ".join(c.value for c in pg.caption)
    assert said not in captions and changed_preset_sentence(PRESETS["lstm_remembers"].title) in captions
    lab_said = LAB_PRESETS["exploding"]["note"]
    lab = open_page(LAB_PAGE, {"preset": "exploding"})
    assert any(lab_said in i.value for i in lab.info)
    lab = _open_lab({"preset": "exploding", "lab.timesteps": "80"})
    infos = " ".join(i.value for i in lab.info)
    assert lab_said not in infos and changed_preset_sentence(LAB_PRESETS["exploding"]["title"]) in infos
