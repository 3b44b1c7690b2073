"""One typed `SlotState` per slot (`ui.state`): clearing a run forgets everything that belongs to it in
one place, a ghost is held by its slot, and importing the UI starts no thread (the torch warm-up is
started by app.py through `rnn_core.serve.warm_up.start_warm_up`, once per process)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from streamlit.testing.v1 import AppTest

from ui.state import SlotState

ROOT = Path(__file__).resolve().parents[2]


class FakeRun:
    def __init__(self, status: str):
        self.status, self.stopped = status, False

    def stop(self) -> None:
        self.stopped = True


def test_clearing_a_run_forgets_what_belongs_to_it_and_keeps_the_settings():
    running, ghost_run = FakeRun("running"), FakeRun("paused")
    state = SlotState(run=running, ctx=object(), evaluation={"version": 3}, memos={"figs": {"loss": ((1,), 0)}},
                      upload_note="saved data gone", race={"cells": ["rnn"]}, configs=({}, {}, {}),
                      preset="gru_echo", url_note="a link sentence", upload_id="file-1")
    state.ghost = SlotState(run=ghost_run, ctx=object(), base=7)
    state.clear_run()
    assert running.stopped and ghost_run.stopped
    assert (state.run, state.ctx, state.evaluation, state.upload_note, state.race, state.memos) == \
        (None, None, None, None, None, {})
    assert (state.ghost.run, state.ghost.ctx, state.ghost.base) == (None, None, None)
    # the settings, the link and the uploader's marker are not the run's
    assert (state.configs, state.preset, state.url_note, state.upload_id) == (({}, {}, {}), "gru_echo",
                                                                               "a link sentence", "file-1")


def test_a_finished_run_is_not_stopped_again():
    done = FakeRun("completed")
    SlotState(run=done).clear_run()
    assert not done.stopped


def test_slots_live_under_one_session_key_and_a_ghost_under_its_slot():
    def script():
        import streamlit as st

        from ui.state import SLOTS, memo, slot

        slot("pg").error = "kept"
        ghost = slot("pg.ghost")
        st.text(str(ghost is slot("pg").ghost and ghost is slot("pg.ghost")))
        st.text(str(sorted(st.session_state[SLOTS])))
        built = [memo("pg", "loss", (1,), lambda: "fig") for _ in range(2)]
        slot("pg").clear_run()
        st.text(str((built, memo("pg", "loss", (1,), lambda: "rebuilt"), slot("pg").error)))

    at = AppTest.from_function(script)
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    assert [t.value for t in at.text] == ["True", "['pg']", "(['fig', 'fig'], 'rebuilt', 'kept')"]


def test_importing_the_ui_starts_no_thread_and_the_warm_up_starts_once():
    code = ("import threading\n"
            "import ui.compare, ui.controls, ui.lab, ui.learn, ui.live, ui.state, ui.sweep, ui.views\n"
            "assert threading.active_count() == 1, [t.name for t in threading.enumerate()]\n"
            "from rnn_core.serve.warm_up import THREAD_NAME, start_warm_up\n"
            "first = start_warm_up()\n"
            "assert first is start_warm_up() and first.name == THREAD_NAME\n"
            "first.join(120)\n"
            "print('ok')\n")
    proc = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0 and proc.stdout.strip() == "ok", proc.stderr[-2000:]
