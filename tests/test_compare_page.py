"""Compare page through AppTest: a tiny race runs to the end and fills the table; a tiny sweep adds
one point per cell and window length."""

import time

from streamlit.testing.v1 import AppTest

from tests.conftest import APP

TINY = {"cmp.m.cells": ["rnn", "lstm"], "cmp.m.hidden_size": 8, "cmp.d.timesteps": 8,
        "cmp.dp.adding.n_samples": 200, "cmp.t.epochs": 2, "cmp.t.batch_size": 32,
        "cmp.sweep.timesteps": [5, 10], "cmp.sweep.epochs": 1, "cmp.sweep.n_samples": 150}


def _compare_app() -> AppTest:
    at = AppTest.from_file(APP, default_timeout=60)
    for k, v in TINY.items():
        at.session_state[k] = v
    at.run()
    at.switch_page("app_pages/compare.py")
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def _button(at: AppTest, label: str):
    return next(b for b in at.button if b.label == label)


def _wait(at: AppTest, done, seconds: float = 60.0) -> None:
    """Rerun the page until `done(at)` holds (bounded): the runs train on their own threads."""
    deadline = time.monotonic() + seconds
    while not done(at):
        assert time.monotonic() < deadline, "the runs did not finish in time"
        time.sleep(0.3)
        at.run()
        assert not at.exception, [e.value for e in at.exception]


def _race_table(at: AppTest):
    frames = [d.value for d in at.dataframe if "validation loss" in d.value.columns]
    return frames[0] if frames else None


def test_compare_defaults_to_a_long_memory_task():
    at = _compare_app()
    assert at.session_state["cmp.d.dataset"] in ("adding", "echo")
    assert _button(at, "Start race").disabled is False


def test_tiny_race_runs_to_the_end_and_fills_the_table():
    at = _compare_app()
    _button(at, "Start race").click().run()
    assert not at.error, [e.value for e in at.error]

    def finished(a):
        table = _race_table(a)
        return table is not None and set(table["status"]) <= {"completed"} and len(table) == 2

    _wait(at, finished)
    table = _race_table(at)
    assert list(table["cell"]) == ["Elman RNN (tanh)", "LSTM"]
    assert (table["epochs"] == 2).all()
    assert table["validation loss"].notna().all() and (table["validation loss"] > 0).all()
    # the adding problem's constant guess is known, so the ratio column is filled
    assert table["÷ constant guess"].notna().all()
    charts = [c for c in at.get("plotly_chart")]
    assert len(charts) >= 2
    # Reset forgets the runs
    _button(at, "Reset").click().run()
    assert _race_table(at) is None


def test_race_needs_two_cells():
    at = _compare_app()
    at.multiselect(key="cmp.m.cells").set_value(["gru"]).run()
    _button(at, "Start race").click().run()
    assert any("at least two cells" in e.value for e in at.error)
    assert not at.exception


def test_tiny_sweep_adds_one_row_per_cell_and_length():
    at = _compare_app()
    _button(at, "Run sweep").click().run()
    sweep = at.session_state["cmp.sweep"]
    _wait(at, lambda a: sweep.status != "running")
    snap = sweep.snapshot()
    assert snap["status"] == "completed", snap["error"]
    assert sorted((r["cell"], r["timesteps"]) for r in snap["rows"]) == [
        ("lstm", 5), ("lstm", 10), ("rnn", 5), ("rnn", 10)]
    assert all(r["val_loss"] is not None and r["baseline_mse"] is not None for r in snap["rows"])


def test_a_race_with_jordan_in_a_stack_is_refused_in_one_sentence():
    at = _compare_app()
    at.multiselect(key="cmp.m.cells").set_value(["rnn", "jordan"]).run()
    at.number_input(key="cmp.m.num_layers").set_value(2).run()
    _button(at, "Start race").click().run()
    assert not at.exception
    shown = [e.value.replace("\\", "") for e in at.error]               # st.error text is Markdown-escaped
    assert any(m.startswith("A Jordan network feeds its own output back") and m.endswith("got 2.")
               for m in shown)
