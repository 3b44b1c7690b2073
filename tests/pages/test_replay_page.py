"""A lecture's preset replayed: `python -m rnn_core warm` stores it, the Playground's Train replays it
(its status line says so), bitwise the stored records, at the pace the tab chose; an unknown preset or a
store switched off is one sentence and exit status 2. No duration is asserted."""

from __future__ import annotations

import math
import time

import pytest

from rnn_core.cli.main import main
from rnn_core.serve.shared import STORED_PHRASE
from rnn_core.serve.store import default_store
from tests.conftest import open_page, run_of, status_line

PAGE = "app_pages/playground.py"
FINISHED = ("completed", "stopped", "diverged")


@pytest.fixture
def store_dir(tmp_path, monkeypatch):
    monkeypatch.setenv("RNN_PLAYGROUND_RUN_STORE", str(tmp_path / "runs"))
    monkeypatch.setenv("RNN_PLAYGROUND_WORKERS", "0")           # the app's runs train on threads here
    return tmp_path / "runs"


def test_warm_stores_a_preset_once(store_dir, capsys):
    assert main(["warm", "--presets", "exploding"]) == 0
    out = capsys.readouterr().out
    assert "exploding: stored (" in out and "diverged after" in out
    assert main(["warm", "--presets", "exploding"]) == 0
    assert "exploding: already in the store" in capsys.readouterr().out
    assert len(default_store().entries()) == 1


@pytest.mark.parametrize("argv, sentence", [
    (["warm", "--presets", "nope"], "Unknown preset 'nope'"),
    (["warm", "--presets", "exploding", "--store", "off"], "The run store is switched off"),
])
def test_warm_refuses_with_one_sentence(store_dir, capsys, argv, sentence):
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert sentence in err and "Traceback" not in err and len(err.strip().splitlines()) == 1


def test_train_replays_the_stored_preset_and_says_so(store_dir, capsys):
    assert main(["warm", "--presets", "exploding"]) == 0
    stored = default_store().get(default_store().entries()[0][0])
    at = open_page(PAGE, {"preset": "exploding"})
    assert not [b for b in at.button_group if b.key == "pg.replay.pace"]     # no replay yet: no pace to choose
    at.button(key="pg.btn.step").click().run()     # paused after one step: the replay is not over yet
    run = run_of(at)
    assert run.phrase == STORED_PHRASE and run.status == "paused"
    at.button_group(key="pg.replay.pace").set_value("at once").run()
    assert run.speed == math.inf
    at.button(key="pg.btn.train").click().run()    # on to the end
    deadline = time.monotonic() + 60
    while run.status not in FINISHED and time.monotonic() < deadline:
        time.sleep(0.1)
    at.run()
    status = status_line(at)
    assert "diverged" in status and STORED_PHRASE in status
    snap = run.snapshot(max_points=10**9)
    shown = [*sorted([*snap.steps, *snap.epochs], key=lambda r: (r["step"], r["kind"] == "epoch")), snap.end]
    assert shown == stored.records                               # bitwise, seconds included


def test_train_on_a_stored_run_draws_its_first_step_at_once(store_dir, capsys, monkeypatch):
    """A room pressing Train on a stored preset: the Train's own rerun draws the first step (the replay
    starts at its first record, not after the computation's start-up), so no page needs another redraw
    for its first point. (The wait is widened here: a busy test machine may take longer than 0.5 s.)"""
    monkeypatch.setattr("ui.live.FIRST_POINT_WAIT", 30.0)
    assert main(["warm", "--presets", "exploding"]) == 0
    at = open_page(PAGE, {"preset": "exploding"})
    at.button(key="pg.btn.train").click().run()
    run = run_of(at)
    assert run.phrase == STORED_PHRASE
    assert run.snapshot().step >= 1, run.snapshot().step
    assert "step 0/" not in status_line(at)
    run.stop()


def _room_script(floor: float, pages: int) -> None:
    """A page whose run has shown a step, in a room whose floor is `floor` (`ui.live.room_note`)."""
    from types import SimpleNamespace

    import ui.live as live
    from ui.state import slot

    live.room_floor = lambda least: floor
    live.room_pages = lambda least: pages
    slot("pg").run = SimpleNamespace(history=SimpleNamespace(step=3), status="running")
    live.room_note(0.5, 0.5, ("pg",))


@pytest.mark.parametrize("floor, pages, said", [
    (4.0, 40, ["Live charts redraw every 4 s: 40 pages are watching runs on this server and share it."]),
    (0.5, 3, []),                                   # a room that fits: nothing to say
])
def test_a_page_slowed_by_the_room_says_so(floor, pages, said):
    from streamlit.testing.v1 import AppTest

    import ui.live as live

    kept = live.room_floor, live.room_pages
    try:
        at = AppTest.from_function(_room_script, args=(floor, pages)).run(timeout=30)
    finally:
        live.room_floor, live.room_pages = kept
    assert [c.value for c in at.caption] == said
