"""The Playground's live view redrawn poll after poll is the view a new session draws of the same moment:
every chart (each updated in place where only its values changed, `plots.spec.reusing`), every text
alternative and caption — nothing a redraw skipped or kept is stale."""


import pytest
from streamlit.testing.v1 import AppTest

from plots.spec import edition
from tests.conftest import charts, slot_of, small_live_run


@pytest.fixture(scope="module")
def run():
    """A small run's context and records (`tests.conftest.small_live_run`)."""
    ctx, records, _ = small_live_run()
    return ctx, records


def _page():
    """The Playground's live view (`ui.views.run_parts`, both parts) of a run that has reached record `shown`."""
    import streamlit as st

    from rnn_core.serve.history import History, Snapshot
    from ui.live import get_context, get_run, set_run
    from ui.views import run_parts

    class Running:
        status = "running"

        def __init__(self, ctx, records):
            self.records, self.total = records, ctx.train_cfg.epochs

        def snapshot(self, max_points: int = 1500) -> Snapshot:
            h = History()
            for r in self.records[:st.session_state.shown]:
                h.add(r)
            return Snapshot(status="running", steps=h.recent_steps(max_points), epochs=list(h.epochs), end=None,
                            epoch=h.epoch, step=h.step, total_epochs=self.total, steps_per_epoch=7,
                            elapsed=1.0, version=h.version)

        def stop(self) -> None:
            """Nothing runs."""

    if "started" not in st.session_state:
        st.session_state.started = True
        set_run("pg", Running(st.session_state.ctx, st.session_state.records), st.session_state.ctx)
    each_step, each_epoch = run_parts("pg", get_context("pg"))
    snap = get_run("pg").snapshot()
    each_step(snap, get_context("pg"))
    each_epoch(snap, get_context("pg"))


def _drawn(at) -> tuple[dict, list[str]]:
    """Every chart's spec by its id, and every text on the page."""
    assert not at.exception, [e.value for e in at.exception]
    drawn = charts(at)
    texts = [m.value for m in (*at.markdown, *at.caption)]
    return drawn, texts


def _session(run, shown: int) -> AppTest:
    ctx, records = run
    at = AppTest.from_function(_page, default_timeout=60)
    at.session_state.ctx, at.session_state.records, at.session_state.shown = ctx, records, shown
    return at.run()


def test_a_redraw_after_new_steps_draws_what_a_new_session_draws(run):
    live = _session(run, 3)
    for shown in (4, 9, 10, 17, 30, 31, len(run[1])):      # a few steps, an epoch, a probe, the last record
        live.session_state.shown = shown
        live.run()
        assert _drawn(live) == _drawn(_session(run, shown)), shown
    figs = slot_of(live).memos["figs"]
    updated = {name for name, kept in figs.items() if edition(kept[1]) > 1}
    # the charts that change were updated in place, not rebuilt (what this test holds to a new session's)
    assert {"loss", "grad_norm", "grad_time", "heatmap", "param_norms", "spectra"} <= updated, updated
