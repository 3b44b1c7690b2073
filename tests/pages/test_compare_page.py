"""Compare page through AppTest: a tiny race runs to the end and fills the table; a tiny sweep adds
one point per cell and window length; a tiny trainability map draws its heatmap, and a sweep's CSV
uploaded back draws it again. The sweeps run on the engine's inline backend here (the worker-process
and Ray backends give the same records: tests/engine/test_sweep.py)."""

import time

import pytest
from streamlit.testing.v1 import AppTest

from rnn_core.sweep.records import records_csv
from tests.conftest import APP, charts, run_of

TINY = {"cmp.m.cells": ["rnn", "lstm"], "cmp.m.hidden_size": 8, "cmp.d.timesteps": 8,
        "cmp.dp.adding.n_samples": 200, "cmp.t.epochs": 2, "cmp.t.batch_size": 32,
        "cmp.sweep.timesteps": [5, 10], "cmp.sweep.epochs": 1, "cmp.sweep.n_samples": 150,
        "cmp.map.gains": [0.5, 1.5], "cmp.map.timesteps": [5], "cmp.map.epochs": 1, "cmp.map.n_samples": 150}


@pytest.fixture(autouse=True)
def _inline_sweeps(monkeypatch):
    monkeypatch.setenv("RNN_PLAYGROUND_SWEEP_BACKEND", "inline")


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
    figures = list(charts(at).values())
    assert len(figures) >= 2
    # the loss chart's axis names the race task's loss (a text race reads "bits per character")
    from rnn_core.nn.tasks import TASKS

    titles = [f["layout"]["yaxis"].get("title", {}).get("text") for f in figures]
    assert TASKS["sequence"].loss_label in titles, titles
    # Reset forgets the runs
    _button(at, "Reset").click().run()
    assert _race_table(at) is None


def test_race_needs_two_cells():
    at = _compare_app()
    at.multiselect(key="cmp.m.cells").set_value(["gru"]).run()
    _button(at, "Start race").click().run()
    assert any("at least two cells" in e.value for e in at.error)
    assert not at.exception


def _chart(at: AppTest, key: str) -> dict:
    return next(f for i, f in charts(at).items() if i.endswith(key) or key in i)


def test_tiny_sweep_adds_one_row_per_cell_and_length():
    at = _compare_app()
    _button(at, "Run sweep").click().run()
    sweep = run_of(at, "cmp.sweep")
    _wait(at, lambda a: sweep.status not in ("running", "queued"))
    at.run()                                            # draw what the finished sweep holds
    snap = sweep.snapshot()
    assert snap["status"] == "completed", snap["error"]
    assert sorted((r["cell"], r["timesteps"]) for r in snap["records"]) == [
        ("lstm", 5), ("lstm", 10), ("rnn", 5), ("rnn", 10)]
    assert all(r["val_loss"] is not None and r["baseline_mse"] is not None for r in snap["records"])
    lines = _chart(at, "cmp_sweep")["data"]
    assert [t["x"] for t in lines if t["name"] in ("Elman RNN (tanh)", "LSTM")] == [[5, 10], [5, 10]]
    assert any(b.label == "Download the runs (CSV)" for b in at.get("download_button"))


def test_tiny_trainability_map_draws_a_heatmap_per_cell_and_redraws_from_its_csv():
    at = _compare_app()
    _button(at, "Run map").click().run()
    run = run_of(at, "cmp.map")
    _wait(at, lambda a: run.status not in ("running", "queued"))
    at.run()
    snap = run.snapshot()
    assert snap["status"] == "completed", snap["error"]
    assert sorted((r["cell"], r["gain"]) for r in snap["records"]) == [
        ("lstm", 0.5), ("lstm", 1.5), ("rnn", 0.5), ("rnn", 1.5)]
    spec = _chart(at, "cmp_map")
    heat = [t for t in spec["data"] if t["type"] == "heatmap"]
    assert [t["name"] for t in heat] == ["Elman RNN (tanh)", "LSTM"]
    # one band of equal height per gain, labelled with that gain
    assert heat[0]["y"] == [0, 1] and heat[0]["x"] == ["5"] and heat[0]["text"][0] == ["0.5"]
    # each square: log10(final validation loss ÷ the constant guess) of that run
    by = {(r["cell"], r["gain"]): r for r in snap["records"]}
    for t, cell in zip(heat, ("rnn", "lstm")):
        for row, gain in zip(t["z"], (0.5, 1.5)):
            expected = by[(cell, gain)]["val_loss"] / by[(cell, gain)]["baseline_mse"]
            assert 10 ** row[0] == pytest.approx(expected, rel=1e-9)
    # the σ_max·γ = 1 border: orthogonal × gain puts it at gain 1, drawn once (the tanh RNN, not the LSTM),
    # halfway between the bands of gain 0.5 and 1.5
    lines = [s for s in spec["layout"].get("shapes", []) if s["type"] == "line"]
    assert len(lines) == 1 and lines[0]["y0"] == pytest.approx(0.5, abs=1e-6)

    # the CSV the page offers, uploaded back, draws the same map
    uploader = at.file_uploader(key="cmp.map.upload")
    uploader.set_value(("bad.csv", b"a,b\n1,2\n", "text/csv")).run()
    assert any("bad" in e.value and "lacks the column" in e.value for e in at.error), [e.value for e in at.error]
    assert _chart(at, "cmp_map")["data"][0]["z"] == heat[0]["z"]       # a bad file loses nothing
    at.file_uploader(key="cmp.map.upload").set_value(("map.csv", records_csv(snap["records"]), "text/csv")).run()
    assert not at.error, [e.value for e in at.error]
    again = [t for t in _chart(at, "cmp_map")["data"] if t["type"] == "heatmap"]
    assert [t["z"] for t in again] == [t["z"] for t in heat]
    assert any("map" in c.value and "4 runs" in c.value for c in at.caption)


def test_a_map_too_large_for_the_app_is_one_sentence():
    at = _compare_app()
    at.multiselect(key="cmp.map.gains").set_value([0.25, 0.5, 0.75, 0.9, 1.0, 1.1, 1.25, 1.5, 2.0, 3.0])
    at.multiselect(key="cmp.map.timesteps").set_value([5, 10, 15, 20, 25, 30, 40, 50, 60, 75, 100, 150, 200])
    at.number_input(key="cmp.map.seeds").set_value(2).run()
    _button(at, "Run map").click().run()
    assert any("at most 240" in e.value for e in at.error), [e.value for e in at.error]
    assert "cmp.map" not in at.session_state


def test_cancel_stops_the_sweep_and_keeps_what_finished():
    at = _compare_app()
    at.multiselect(key="cmp.sweep.timesteps").set_value([60, 75, 100])
    at.number_input(key="cmp.sweep.epochs").set_value(50).run()
    _button(at, "Run sweep").click().run()
    sweep = run_of(at, "cmp.sweep")
    assert sweep.status == "running"
    cancel = next(b for b in at.button if b.key == "cmp.sweep.cancel")
    assert cancel.disabled is False                      # clickable while the sweep runs
    cancel.click().run()
    sweep.join(timeout=60)
    snap = sweep.snapshot()
    assert snap["status"] == "stopped" and snap["done"] < snap["total"] == 6
    at.run()
    assert any("stopped" in p.proto.text for p in at.get("progress")), "the progress line says stopped"


def test_a_race_with_jordan_in_a_stack_is_refused_in_one_sentence():
    at = _compare_app()
    at.multiselect(key="cmp.m.cells").set_value(["rnn", "jordan"]).run()
    at.number_input(key="cmp.m.num_layers").set_value(2).run()
    _button(at, "Start race").click().run()
    assert not at.exception
    shown = [e.value.replace("\\", "") for e in at.error]               # st.error text is Markdown-escaped
    assert any(m.startswith("A Jordan network feeds its own output back") and m.endswith("got 2.")
               for m in shown)
