"""Gradient Lab page through AppTest: renders for every cell, reads presets and settings from the
URL, writes them back, and says in one sentence what is wrong with a bad link or what is over the memory
budget (in place of the chart it refuses)."""

import re

import pytest
from streamlit.testing.v1 import AppTest

from rnn_core.data.budget import BudgetError
from rnn_core.lessons.lab import LabConfig
from rnn_core.lessons.lab_probes import check_lab_probe
from rnn_core.nn.cells import CELLS, layers_error
from tests.conftest import APP, charts

TINY = {"lab.timesteps": 12, "lab.hidden_size": 6, "lab.seeds": 2}


def _lab_app(query: dict | None = None, state: dict | None = None) -> AppTest:
    at = AppTest.from_file(APP, default_timeout=60)
    for k, v in (state or {}).items():
        at.session_state[k] = v
    at.run()
    for k, v in (query or {}).items():
        at.query_params[k] = v
    at.switch_page("app_pages/gradient_lab.py")
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def _qp(at: AppTest) -> dict:
    return {k: (v[-1] if isinstance(v, list) else v) for k, v in at.query_params.items()}


def _figures(at: AppTest) -> dict[str, dict]:
    return charts(at)


def _titles(at: AppTest) -> list[str]:
    return [f["layout"]["title"]["text"] for f in _figures(at).values()]


def test_lab_renders_for_every_cell():
    at = _lab_app(state={**TINY, "lab.view": "Jacobian product"})       # the tab with the bound's caption
    for cell in CELLS:
        at.selectbox(key="lab.cell").set_value(cell).run()
        assert not at.exception, (cell, [e.value for e in at.exception])
        assert not at.error, (cell, [e.value for e in at.error])
        figs = list(_figures(at).values())
        assert len(figs) == 3, cell                  # the two at the top, and the open tab's
        assert all(f["data"] for f in figs), f"{cell}: a chart without traces"
        titles = " ".join(f["layout"]["title"]["text"] for f in figs)
        assert CELLS[cell].label in titles
        assert [m.label for m in at.metric][:2] == ["σ_max", "σ_max·γ"]
        gated = not CELLS[cell].bounded
        # the tile says what the gradient did; the bound's verdict sits beside σ_max·γ, in words
        assert at.metric[3].label == "What happened"
        assert re.fullmatch(r"(loses|gains) \d+\.\d decades|flat \(0\.0 decades\)|(blocked|underflow) before t = \d+",
                            at.metric[3].value), at.metric[3].value
        delta = at.metric[1].delta
        assert delta.startswith("the bound: ") and (delta == "the bound: gates decide") == gated, delta
        captions = " ".join(c.value for c in at.caption)
        assert ("no σ_max bound" in captions) == gated and ("upper bound" in captions) == (not gated)


@pytest.mark.slow
def test_a_stack_leaves_out_a_cell_that_cannot_stack_and_choosing_it_is_one_sentence():
    one_layer = [c for c in CELLS.values() if c.max_layers == 1]
    assert one_layer                                  # the registry has such a cell (its own test: its refusal)
    at = _lab_app(state={**TINY, "lab.num_layers": 2, "lab.seeds": 1})
    overlay = next(f for f in _figures(at).values() if f["layout"]["title"]["text"].startswith("All cells"))
    assert not {c.label for c in one_layer} & {t.get("name") for t in overlay["data"]}
    captions = " ".join(c.value for c in at.caption)
    assert all(layers_error(c.name, 2) in captions for c in one_layer)
    assert next(m.label for m in at.metric) == "σ_max (top layer)"
    at.selectbox(key="lab.cell").set_value(one_layer[0].name).run()
    assert not at.exception
    shown = [e.value.replace("\\", "") for e in at.error]            # st.error text is Markdown-escaped
    assert shown == [layers_error(one_layer[0].name, 2)]


def test_the_deeper_views_are_tabs_and_only_the_open_one_is_computed_and_drawn(monkeypatch):
    import plots.lab

    def not_shown(*args, **kwargs):
        raise AssertionError("a hidden tab's chart was built")

    for hidden in ("singular_values_figure", "jacobian_figure"):    # the page imports them at every run
        monkeypatch.setattr(plots.lab, hidden, not_shown)
    at = _lab_app(state={**TINY, "lab.timesteps": 13})
    assert [t.label for t in at.tabs] == ["Phase diagram", "Singular values of W_hh", "Jacobian product"]
    monkeypatch.undo()
    top = ["‖∂L/∂hₜ‖ at initialisation", "All cells, same settings"]
    for view, title in (("Phase diagram", "Phase diagram"), ("Singular values of W_hh", "Singular values"),
                        ("Jacobian product", "Norm of the product of Jacobians")):
        if view != "Phase diagram":                  # the first tab is open when the page opens
            at.session_state["lab.view"] = view
            at.run()
        assert not at.exception, [e.value for e in at.exception]
        titles = _titles(at)
        assert len(titles) == 3 and all(any(t in x for x in titles) for t in top), (view, titles)
        assert titles[2].startswith(title), (view, titles)


def test_overlay_holds_every_cell_and_phase_diagram_marks_the_border():
    at = _lab_app(state=TINY)
    figs = list(_figures(at).values())
    overlay = next(f for f in figs if f["layout"]["title"]["text"].startswith("All cells"))
    names = {t.get("name") for t in overlay["data"] if t.get("showlegend") is not False}
    assert {c.label for c in CELLS.values()} <= names
    phase = next(f for f in figs if f["layout"]["title"]["text"].startswith("Phase diagram"))
    assert phase["data"][0]["type"] == "heatmap"
    texts = [a.get("text", "") for a in phase["layout"].get("annotations", [])]
    assert any("σ_max·γ = 1" in t for t in texts)


def test_preset_in_the_url_sets_the_controls_and_the_url_follows_changes():
    at = _lab_app(query={"preset": "vanishing"})
    assert at.session_state["lab.gain"] == 0.8 and at.session_state["lab.init"] == "orthogonal"
    assert any("Vanishing" in i.value for i in at.info)
    assert _qp(at) == {"preset": "vanishing"}
    at.slider(key="lab.gain").set_value(0.6).run()
    assert not at.exception
    q = _qp(at)
    assert "preset" not in q and q["lab.gain"] == "0.6"


def test_settings_in_the_url_set_the_controls():
    at = _lab_app(query={"lab.cell": "gru", "lab.timesteps": "15", "lab.hidden_size": "4", "lab.seeds": "1"})
    assert at.session_state["lab.cell"] == "gru"
    assert at.session_state["lab.timesteps"] == 15
    assert at.session_state["lab.hidden_size"] == 4
    assert _qp(at)["lab.cell"] == "gru"


@pytest.mark.parametrize("query, words", [                      # the Playground's sentences (ui.links)
    ({"preset": "nonsense"}, "Unknown preset"),
    ({"lab.timesteps": "many"}, "does not parse"),
])
def test_a_bad_link_is_one_sentence_not_a_traceback(query, words):
    at = _lab_app(query=query, state={"lab.hidden_size": 4, "lab.seeds": 1, "lab.timesteps": 10})
    assert any(words in w.value for w in at.warning), [w.value for w in at.warning]


def test_sidebar_preset_menu_applies_a_preset():
    at = _lab_app(state=TINY)
    at.selectbox(key="lab.preset_pick").set_value("exploding").run()
    assert not at.exception
    assert at.session_state["lab.gain"] == 1.5 and at.session_state["lab.input_scale"] == 0.1
    assert at.session_state["lab.timesteps"] == 60
    assert at.selectbox(key="lab.preset_pick").value == "exploding"    # the menu shows what was applied
    assert _qp(at) == {"preset": "exploding"}


def test_preset_menu_applies_every_pick_after_a_deep_link():
    """A stale ?preset= in the address bar must not put the old preset back over a new pick."""
    at = _lab_app(query={"preset": "vanishing"})
    assert at.session_state["lab.gain"] == 0.8
    assert at.selectbox(key="lab.preset_pick").value == "vanishing"      # the link's preset, shown
    for pick, gain, timesteps in (("exploding", 1.5, 60), ("edge", 1.0, 200), ("vanishing", 0.8, 100)):
        at.selectbox(key="lab.preset_pick").set_value(pick).run()
        assert not at.exception, [e.value for e in at.exception]
        at.run()                                     # and it stays applied on the next rerun
        assert (at.session_state["lab.gain"], at.session_state["lab.timesteps"]) == (gain, timesteps), pick
        assert _qp(at).get("preset") == pick


def test_presenter_view_draws_only_the_chosen_chart():
    at = _lab_app(query={"preset": "vanishing", "presenter": "1", "chart": "overlay"},
                  state={"presenter_mode": True})      # (the browser test opens it from the URL alone)
    drawn = list(charts(at).values())
    assert len(drawn) == 1
    spec = drawn[0]
    assert "All cells" in spec["layout"]["title"]["text"]
    assert spec["layout"]["xaxis"]["tickfont"]["size"] >= 18
    assert _qp(at)["chart"] == "overlay" and _qp(at)["presenter"] == "1"
    # the status line says what the gradient did, and beside it what the bound says
    assert any(re.search(r"it \*\*loses \d+\.\d decades\*\* \(the bound: must vanish\)", m.value) for m in at.markdown)


def _refusal(settings: dict, cell: str) -> str:
    """The budget's sentence refusing the probe of `cell` at the Lab settings `settings`."""
    with pytest.raises(BudgetError) as err:
        check_lab_probe(LabConfig(**settings), cell)
    return str(err.value)


HEAVY = {"cell": "lstm", "hidden_size": 256, "num_layers": 4, "timesteps": 500, "seeds": 1}


@pytest.mark.parametrize("way", ["link", "sliders"])
def test_a_lab_setting_over_the_memory_budget_is_one_sentence_in_place_of_the_charts(way):
    if way == "link":
        at = _lab_app(query={f"lab.{k}": str(v) for k, v in HEAVY.items()})
    else:
        at = _lab_app(state={f"lab.{k}": v for k, v in HEAVY.items()})
    shown = [e.value.replace("\\", "") for e in at.error]            # st.error text is Markdown-escaped
    assert shown == [_refusal(HEAVY, "lstm")], shown
    assert "500 MB" in shown[0] and shown[0].endswith("T ≤ 184, H ≤ 94 or 1 layer would fit.")
    assert not charts(at) and not at.metric


def test_only_the_overlay_is_refused_where_only_its_lstm_is_over_the_budget():
    settings = {"cell": "rnn", "hidden_size": 256, "num_layers": 4, "timesteps": 200, "seeds": 1}
    at = _lab_app(state={f"lab.{k}": v for k, v in settings.items()})
    assert [e.value.replace("\\", "") for e in at.error] == [_refusal(settings, "lstm")]
    titles = _titles(at)                             # the gradient and the open tab's: the overlay refused
    assert len(titles) == 2 and not any(t.startswith("All cells") for t in titles), titles


def test_the_first_chart_is_drawn_before_the_others_are_computed_and_a_rerun_ends_them(monkeypatch):
    """A slider step draws the headline numbers and the chosen cell's chart first; every other chart's probes are
    computed where that chart goes, so the browser draws the first while the server computes the rest. A rerun
    asked meanwhile (the next arrow key, a closed tab) ends those probes within a chunk: the page stops, with
    the first chart drawn and no traceback."""
    import rnn_core.lessons.lab as lab
    import ui.charts
    import ui.live

    asked, events = {"stop": False}, []
    monkeypatch.setattr(ui.live, "script_interrupt", lambda: lambda: asked["stop"])
    plot, overlay = ui.charts.plot, lab.overlay

    def plotted(fig, key, *args, **kwargs):
        if key.startswith("lab_"):                       # (the app opens on the Playground first)
            events.append(key)
        return plot(fig, key, *args, **kwargs)

    def overlay_asked_to_stop(cfg, **kwargs):          # the next key press comes while the overlay is computed
        events.append("overlay computed")
        asked["stop"] = True
        return overlay(cfg, **kwargs)

    monkeypatch.setattr(ui.charts, "plot", plotted)
    monkeypatch.setattr(lab, "overlay", overlay_asked_to_stop)
    at = _lab_app(state={"lab.timesteps": 23, "lab.hidden_size": 7, "lab.seeds": 2})
    assert events == ["lab_gradient", "overlay computed"], events     # drawn first; nothing drawn after the stop
    assert list(charts(at)) and all(k.endswith("lab_gradient") for k in charts(at))
    assert not at.error


def test_a_slider_step_has_the_next_step_probed_while_the_user_reads_the_page():
    """After a step of a slider, the page asks for the step after it (same slider, same direction) to be probed in
    the background: the probes of the chosen cell's chart and of "All cells compared" there are kept when the run
    ends, for the next press to find (`rnn_core.lessons.lab_ahead`). A first visit asks for nothing."""
    from rnn_core.lessons import lab_ahead, lab_probes
    from rnn_core.lessons.lab_probes import probe_key

    lab_probes.forget_probes()
    at = _lab_app(state=TINY)
    assert lab_ahead.wait_idle(60.0)
    assert not [k for k in lab_probes._kept if k[5] in (1.05, 1.1)]       # a first visit: nothing probed ahead
    at.slider(key="lab.gain").set_value(1.05).run()
    assert not at.exception
    assert lab_ahead.wait_idle(60.0)
    ahead = LabConfig(timesteps=12, hidden_size=6, seeds=2, gain=1.1)
    wanted = [probe_key(ahead, cell, seed) for cell in CELLS if not layers_error(cell, 1) for seed in range(2)]
    assert all(k in lab_probes._kept for k in wanted)
