"""Sessions replaying the same run share its figures (`ui.shared_charts`), and still each sees its own: a
session's live view, drawn with figures another session built, is the view a session of a run that shares
nothing draws at the same moment with the same chart options — never another session's options, never
another moment of the run."""

import json

import pytest
from streamlit.testing.v1 import AppTest

from tests.conftest import charts, slot_of, small_live_run
from ui import shared_charts

EPOCH_CHARTS = ("grad_time", "heatmap", "param_norms", "spectra")      # and "gates": a tanh RNN's placeholder


@pytest.fixture(scope="module")
def run():
    """A small run's context, records and network (`tests.conftest.small_live_run`)."""
    return small_live_run()


@pytest.fixture(autouse=True)
def nothing_shared_yet(monkeypatch):
    monkeypatch.setenv("RNN_PLAYGROUND_WORKERS", "0")       # a paused run's closed loop: on a thread here
    shared_charts.forget()
    yield
    shared_charts.forget()


def _page():
    """The Playground's live view (`ui.views.run_parts`, both parts) of a run at record `shown`: a replay
    of the run keyed `key` (None: a run of this session's own, which shares nothing)."""
    import threading
    from types import SimpleNamespace

    import streamlit as st

    from rnn_core.serve.history import History, Snapshot
    from ui.live import get_context, get_run, set_run
    from ui.views import run_parts

    class Replay:
        def __init__(self, ctx, records, key, model):
            self.records, self.total, self.model, self.lock = records, ctx.train_cfg.epochs, model, threading.Lock()
            self.source = SimpleNamespace(key=key)

        @property
        def status(self) -> str:
            return st.session_state.status

        def snapshot(self, max_points: int = 1500) -> Snapshot:
            h = History()
            for r in self.records[:st.session_state.shown]:
                h.add(r)
            return Snapshot(status=self.status, steps=h.recent_steps(max_points), epochs=list(h.epochs), end=None,
                            epoch=h.epoch, step=h.step, total_epochs=self.total, steps_per_epoch=7,
                            elapsed=1.0, version=h.version)

        def stop(self) -> None:
            """Nothing runs."""

    if "started" not in st.session_state:
        st.session_state.started = True
        ss = st.session_state
        set_run("pg", Replay(ss.ctx, ss.records, ss.key, ss.model), ss.ctx)
    each_step, each_epoch = run_parts("pg", get_context("pg"))
    snap = get_run("pg").snapshot()
    each_step(snap, get_context("pg"))
    each_epoch(snap, get_context("pg"))


def _charts(at: AppTest) -> dict:
    """Every chart's spec by its element id (but the predictions': a paused run's closed loop comes when it
    comes, and that chart is each session's own)."""
    assert not at.exception, [e.value for e in at.exception]
    return {i: f for i, f in charts(at).items() if "predictions" not in i}


def _session(run, shown: int, key: str | None, status: str = "running", log_loss: bool = True) -> AppTest:
    ctx, records, model = run
    at = AppTest.from_function(_page, default_timeout=60)
    at.session_state.ctx, at.session_state.records, at.session_state.shown = ctx, records, shown
    at.session_state.model = model
    at.session_state.key, at.session_state.status = key, status
    at.run()
    if not log_loss:
        at.toggle(key="pg.opt.log_loss").set_value(False).run()
    return at


def _figure(at: AppTest, name: str):
    return slot_of(at).memos["figs"][name][1]


@pytest.mark.parametrize("status", ["running", "paused"])
def test_sessions_replaying_one_run_share_figures_but_not_options_or_moments(run, status):
    a = _session(run, 9, "run-1", status)                    # builds for everyone
    b = _session(run, 9, "run-1", status)                    # the same moment, the same options
    assert _charts(b) == _charts(_session(run, 9, None, status))
    shared = [n for n in ("loss", "grad_norm", "gates", *EPOCH_CHARTS) if _figure(a, n) is _figure(b, n)]
    assert set(shared) == {"loss", "grad_norm", "gates", *EPOCH_CHARTS}, shared      # built once for both

    c = _session(run, 9, "run-1", status, log_loss=False)    # another option: its own loss chart
    assert _charts(c) == _charts(_session(run, 9, None, status, log_loss=False))
    assert _figure(c, "loss") is not _figure(a, "loss")
    assert json.dumps(_charts(a)) == json.dumps(_charts(_session(run, 9, None, status)))   # a kept its own

    for shown in (10, 17, 31, len(run[1])):                  # b moves on: a step, an epoch, the last record
        b.session_state.shown = shown
        b.run()
        assert _charts(b) == _charts(_session(run, shown, None, status)), shown
        a.run()                                              # a, still at record 9, sees nothing of b's
        assert _charts(a) == _charts(_session(run, 9, None, status)), shown
    d = _session(run, len(run[1]), "run-2", status)          # another run at the same moment: its own figures
    assert all(_figure(d, n) is not _figure(b, n) for n in ("loss", "grad_norm", *EPOCH_CHARTS))


def test_a_running_session_updates_its_own_step_charts_in_place(run):
    """While a replay runs, each session stands at its own step: its step-level charts are its own, updated
    in place from poll to poll (a figure built for everyone is never updated in place)."""
    a = _session(run, 3, "run-1")
    first = _figure(a, "loss")
    assert shared_charts.is_shared(first)                    # the first point: built for everyone
    for shown in (4, 5):
        a.session_state.shown = shown
        a.run()
        assert _charts(a) == _charts(_session(run, shown, None)), shown
    own = _figure(a, "loss")
    assert own is not first and not shared_charts.is_shared(own)
    later = _session(run, 3, "run-1")                        # the shared figure still shows record 3
    assert _figure(later, "loss") is first
    assert _charts(later) == _charts(_session(run, 3, None))


def test_an_option_toggled_back_updates_the_figure_it_drew_with_that_value(run):
    """A session keeps its own figure per value of a chart option: toggled back, the option's figure is
    updated in place to the run's moment now (no new build), and it is what a new session draws."""
    a = _session(run, 9, None)                                # a run of this session's own
    log = _figure(a, "loss")
    a.toggle(key="pg.opt.log_loss").set_value(False).run()
    assert _figure(a, "loss") is not log
    a.session_state.shown = 10
    a.toggle(key="pg.opt.log_loss").set_value(True).run()
    assert _figure(a, "loss") is log
    assert _charts(a) == _charts(_session(run, 10, None))
