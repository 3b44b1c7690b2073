"""`ui.live.session_watcher()`: the LiveRun watcher that asks Streamlit whether a browser tab is still
connected (the real-server case is `test_browser_keepalive.py`; here the runtime is stood in for); and
`ui.live.in_layout`: a part of the live view whose containers are gone redraws the whole page; and a
closed-loop forecast that finished after the page said it was being computed asks for one more redraw."""

import types

import streamlit.runtime as runtime
import streamlit.runtime.scriptrunner as scriptrunner

from ui.live import session_watcher


class FakeRuntime:
    def __init__(self, active: set[str]):
        self.active = active

    def is_active_session(self, session_id: str) -> bool:
        return session_id in self.active


def _serve(monkeypatch, server, session_id="tab-1"):
    monkeypatch.setattr(runtime, "exists", lambda: True)
    monkeypatch.setattr(runtime, "get_instance", lambda: server)
    monkeypatch.setattr(scriptrunner, "get_script_run_ctx",
                        lambda suppress_warning=False: types.SimpleNamespace(session_id=session_id))


def test_no_server_no_watcher():
    assert session_watcher() is None          # a bare script: runs rely on their idle timer


def test_the_watcher_follows_the_session(monkeypatch):
    server = FakeRuntime({"tab-1"})
    _serve(monkeypatch, server)
    watcher = session_watcher()
    assert watcher() is True
    server.active.clear()                     # the tab was closed
    assert watcher() is False


def test_a_runtime_without_the_api_gives_no_watcher(monkeypatch):
    _serve(monkeypatch, object())             # a Streamlit release that moved is_active_session
    assert session_watcher() is None


def _lost_layout_page():
    import streamlit as st
    from streamlit.errors import StreamlitInvalidLayoutContextError

    from ui.live import in_layout

    st.session_state.runs = st.session_state.get("runs", 0) + 1

    def draw(snap, ctx):
        if st.session_state.runs == 1:    # the first time, its containers are gone (a full run cut short)
            raise StreamlitInvalidLayoutContextError("no stable position")
        st.write("drawn")

    in_layout(draw, None, None)


def test_a_part_whose_layout_is_gone_redraws_the_whole_page():
    from streamlit.testing.v1 import AppTest

    at = AppTest.from_function(_lost_layout_page).run()
    assert not at.exception
    assert at.session_state.runs == 2 and [m.value for m in at.markdown] == ["drawn"]


def _closed_loop_page():
    from concurrent.futures import Future

    import streamlit as st

    from ui.live import closed_loop_pending
    from ui.state import slot

    job = Future()
    job.set_result(({"steps": 3}, None))          # done between the draw that said so and the question
    slot("t").evaluation = {"evaluation": {}, "closed": None, "closed_note": None, "closed_job": job,
                            "version": 1, "step": 5, "shown_pending": True}
    st.session_state.answers = [closed_loop_pending("t"), closed_loop_pending("t")]
    st.session_state.closed = slot("t").evaluation["closed"]


def test_a_closed_loop_ready_after_the_page_said_it_was_pending_is_drawn_once_more():
    from streamlit.testing.v1 import AppTest

    at = AppTest.from_function(_closed_loop_page).run()
    assert not at.exception
    assert at.session_state.answers == [True, False] and at.session_state.closed == {"steps": 3}
