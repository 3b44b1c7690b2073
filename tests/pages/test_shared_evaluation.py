"""A room replaying one run evaluates it once (`ui.live.shared_evaluation`): sessions asking for the same
replay's evaluation at the same step wait for the one computing it and take its result; another step or
another run computes its own; the kept results are bounded. And two sessions training the same settings
in the app end with the very same evaluation object (one computation, one evaluation)."""

from __future__ import annotations

import threading
import time
import types

import ui.live as live
from tests.conftest import open_page, run_of, slot_of


def test_one_key_is_computed_once_however_many_sessions_ask_at_once():
    live.forget_evaluations()
    calls, results = [], []

    def compute():
        calls.append(1)
        time.sleep(0.2)                          # the others arrive while it computes
        return {"rmse": 1.0}, None

    threads = [threading.Thread(target=lambda: results.append(live.shared_evaluation(("run", 5, None), compute)))
               for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(calls) == 1 and len(results) == 8 and all(r is results[0] for r in results)
    live.shared_evaluation(("run", 6, None), compute)             # another step: its own evaluation
    assert len(calls) == 2


def test_the_kept_evaluations_are_bounded():
    live.forget_evaluations()
    calls = []

    def compute():
        calls.append(1)
        return {}, None

    for step in range(live.SHARED_EVALUATIONS + 1):
        live.shared_evaluation(("run", step, None), compute)
    live.shared_evaluation(("run", live.SHARED_EVALUATIONS, None), compute)     # the latest: kept
    assert len(calls) == live.SHARED_EVALUATIONS + 1
    live.shared_evaluation(("run", 0, None), compute)                          # the oldest: gone, computed again
    assert len(calls) == live.SHARED_EVALUATIONS + 2


def test_only_a_replay_has_a_key():
    computation = types.SimpleNamespace(source=types.SimpleNamespace(key="abc"))
    stored = types.SimpleNamespace(source=types.SimpleNamespace(stored=types.SimpleNamespace(key="def")))
    assert live.replay_key(computation, 7) == ("abc", 7, None)
    assert live.replay_key(stored, 7, 120) == ("def", 7, 120)
    assert live.replay_key(types.SimpleNamespace(), 7) is None


def _finished(at) -> None:
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        at.run()
        run = run_of(at)
        if run is not None and run.status in ("completed", "diverged", "stopped"):
            at.run()
            return
        time.sleep(0.2)
    raise AssertionError("the run did not end")


def test_two_sessions_training_the_same_settings_share_one_evaluation():
    link = {"d.dataset": "sine", "m.hidden_size": "4", "d.timesteps": "10", "d.params.length": "200",
            "t.epochs": "1", "t.seed": "4242"}
    pages = [open_page("app_pages/playground.py", query=link) for _ in range(2)]
    for at in pages:
        at.button(key="pg.btn.train").click().run()
    for at in pages:
        _finished(at)
    first, second = (slot_of(at).evaluation["evaluation"] for at in pages)
    assert first and first is second
