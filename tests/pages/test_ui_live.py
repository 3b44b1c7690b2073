"""`ui.live.session_watcher()`: the LiveRun watcher that asks Streamlit whether a browser tab is still
connected (the real-server case is `test_browser_keepalive.py`; here the runtime is stood in for)."""

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
