"""A browser tab without the browser: Streamlit's websocket protocol, spoken from Python, for the load test.

One `Session` is one tab as the server sees it. It opens `/_stcore/stream` (subprotocol "streamlit"),
sends BackMsg.rerun_script with the page's query string, and keeps what the frontend keeps: the
elements by delta path, the query string the page wrote back (page_info_changed), the app's pages
(navigation), whether a script runs. It also does what the frontend does unasked: a fragment with
`run_every` (ForwardMsg.auto_rerun) is rerun on a timer until a full run's new_session, a
stop_auto_rerun or a page change cancels it. A click is a rerun_script with the widget's state — a
button's trigger, a toggle's bool — scoped to the widget's fragment when it lives in one, as in the
browser; values set once are sent with every later rerun on the page, as the frontend sends the values
it holds. Nothing is drawn: a time taken here is when the delta arrived, before any browser would parse
and paint it.

    async with Session(base_url) as s:
        await s.open("d.dataset=sine&t.epochs=3", timeout=60)     # the first full script run
        s.listen(lambda s, at: ...)                               # after every ForwardMsg, arrival time
        t = await s.click("Train")                                # send time (time.monotonic())
        await s.upload("CSV file", "prices.csv", data)           # file_urls_request, HTTP PUT, rerun
        at = await s.until(lambda s: s.status() == "running", timeout=60)

Written against Streamlit 1.67 (`streamlit.proto`, the `websockets` client Streamlit depends on).
Leaves to others: what a student does and what is measured (`bench/load_test.py`).
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import json
import re
import time
import urllib.request
from collections.abc import Callable

import numpy as np
from streamlit.proto.BackMsg_pb2 import BackMsg
from streamlit.proto.ForwardMsg_pb2 import ForwardMsg
from websockets.asyncio.client import connect

from ui.chart_element import NAME as CHART_ELEMENT

STATUS = re.compile(r"\b(idle|queued|running|paused|completed|stopped|diverged)\b")
FINISHED = ("completed", "stopped", "diverged")
SCRUB_KEY = "scrub.step"   # the widget key of a run's timeline (ui/scrub.py): its id ends with it


def loss_view(spec: str | bytes) -> dict | None:
    """The Playground's loss chart in a Plotly spec (JSON; or the payload of the app's chart element,
    `ui.chart_element`, whose "figure" it is): its y axis type and its per-step points (None: another chart).
    The same facts the browser mode reads from the drawn chart."""
    fig = json.loads(spec)
    fig = fig.get("figure", fig)
    layout = fig.get("layout", {})
    title = layout.get("title", {})
    text = title.get("text", "") if isinstance(title, dict) else str(title)
    if re.sub(r"<[^>]+>", "", text or "") != "Loss":
        return None
    trace = next((t for t in fig.get("data", []) if t.get("name") == "train (per step)"), None)
    return {"axis": layout.get("yaxis", {}).get("type"), "points": array_length((trace or {}).get("x"))}


def array_length(values) -> int:
    """Entries of a Plotly data array: a JSON list, or plotly.py's typed array {"dtype", "bdata"} (base64)."""
    if isinstance(values, dict) and "bdata" in values:
        return len(base64.b64decode(values["bdata"])) // np.dtype(values.get("dtype", "f8")).itemsize
    return len(values or [])


class Session:
    """One Streamlit session over one websocket; see the module docstring."""

    def __init__(self, base_url: str):
        self.url = base_url.replace("http", "ws", 1) + "/_stcore/stream"
        self.query = ""                     # the query string, as the page last wrote it
        self.pages: dict[str, str] = {}     # page name → page script hash
        self.page_hash = ""                 # the page shown ("" until st.navigation names it)
        self.elements: dict[tuple, object] = {}       # delta path → Element proto
        self.widgets: dict[str, tuple[str, str]] = {}  # label → (widget id, fragment id)
        self.held: dict[str, object] = {}   # widget id → WidgetState sent with every rerun
        self.loss: dict | None = None       # loss_view() of the last loss chart delta
        self.last_status = ""               # STATUS word of the last progress bar delta
        self.last_progress = ""             # the whole text of the last progress bar delta
        self.script_runs = 0                # script_finished messages seen
        self.runs_by_fragment: dict[tuple, int] = {}   # script runs begun, by the fragments they rerun (() = full)
        self.running = False
        self._chart_kind: dict[str, bool] = {}         # plotly element id → is the loss chart
        self._timers: dict[str, tuple[float, asyncio.Task]] = {}
        self._listeners: list[Callable[[Session, float], None]] = []
        self.session_id = ""                # the server's id of this session (new_session.initialize)
        self._file_urls: dict[str, object] = {}        # request id → FileURLsResponse
        self._ws = None
        self._reader: asyncio.Task | None = None
        self.closed = asyncio.Event()

    # ------------------------------------------------------------------------------------- wire
    async def __aenter__(self) -> Session:
        self._ws = await connect(self.url, subprotocols=["streamlit"], max_size=None, open_timeout=60)
        self._reader = asyncio.create_task(self._read())
        return self

    async def __aexit__(self, *exc) -> None:
        """Leave: the tab closes (timers stop, the socket closes)."""
        self._cancel_timers()
        with contextlib.suppress(Exception):
            await self._ws.close()
        if self._reader is not None:
            self._reader.cancel()
            await asyncio.gather(self._reader, return_exceptions=True)

    async def _read(self) -> None:
        try:
            async for data in self._ws:
                at = time.monotonic()
                msg = ForwardMsg()
                msg.ParseFromString(data)
                self._apply(msg)
                for fn in list(self._listeners):
                    fn(self, at)
        finally:
            self.closed.set()
            for fn in list(self._listeners):
                fn(self, time.monotonic())

    async def _rerun(self, *, fragment_id: str = "", auto: bool = False, page_hash: str | None = None,
                     triggers: tuple = ()) -> float:
        msg = BackMsg()
        rerun = msg.rerun_script
        rerun.query_string = self.query
        rerun.page_script_hash = self.page_hash if page_hash is None else page_hash
        rerun.fragment_id = fragment_id
        rerun.is_auto_rerun = auto
        for state in (*self.held.values(), *triggers):
            rerun.widget_states.widgets.add().CopyFrom(state)
        at = time.monotonic()
        await self._ws.send(msg.SerializeToString())
        return at

    # ------------------------------------------------------------------- what the frontend keeps
    def _apply(self, msg: ForwardMsg) -> None:
        kind = msg.WhichOneof("type")
        if kind == "delta":
            self._delta(msg)
        elif kind == "new_session":
            self._new_session(msg)
        elif kind == "script_finished":
            self.script_runs += 1
        elif kind == "session_status_changed":
            self.running = msg.session_status_changed.script_is_running
        elif kind == "page_info_changed":
            self.query = msg.page_info_changed.query_string
        elif kind == "navigation":
            self._navigation(msg.navigation)
        elif kind == "auto_rerun":
            self._auto_rerun(msg.auto_rerun.fragment_id, msg.auto_rerun.interval)
        elif kind == "stop_auto_rerun":
            for fid in msg.stop_auto_rerun.fragment_ids:
                self._cancel_timers(fid)
        elif kind == "file_urls_response":
            self._file_urls[msg.file_urls_response.response_id] = msg.file_urls_response

    def _new_session(self, msg: ForwardMsg) -> None:
        if msg.new_session.initialize.session_id:
            self.session_id = msg.new_session.initialize.session_id
        fragments = tuple(msg.metadata.run.fragment_ids)
        self.runs_by_fragment[fragments] = self.runs_by_fragment.get(fragments, 0) + 1
        if not fragments:                             # a full run: the frontend drops every timer
            self._cancel_timers()

    def _navigation(self, nav) -> None:
        """st.navigation's pages, and the page this run shows (another page: its elements replace these)."""
        self.pages = {p.page_name: p.page_script_hash for p in nav.app_pages}
        if nav.page_script_hash != self.page_hash:
            self.elements.clear()
            self.widgets.clear()
            self.loss, self.last_status = None, ""
            self.page_hash = nav.page_script_hash

    def _delta(self, msg: ForwardMsg) -> None:
        delta = msg.delta
        if delta.WhichOneof("type") != "new_element":
            return
        element = delta.new_element
        self.elements[tuple(msg.metadata.delta_path)] = element
        kind = element.WhichOneof("type")
        inner = getattr(element, kind)
        label = getattr(inner, "label", "")
        if label and getattr(inner, "id", ""):
            self.widgets[label] = (inner.id, delta.fragment_id)
        if kind == "progress":
            m = STATUS.search(inner.text)
            self.last_status = m.group(1) if m else self.last_status
            self.last_progress = inner.text
        elif kind == "slider" and SCRUB_KEY in inner.id:   # a paused or ended run's status line is its
            m = STATUS.search(inner.label)                  # timeline's label (ui/scrub.py)
            self.last_status = m.group(1) if m else self.last_status
            self.last_progress = inner.label
        elif kind == "plotly_chart":
            self._chart(inner.id, inner.spec)
        elif kind == "bidi_component" and inner.component_name == CHART_ELEMENT:
            self._chart(inner.id, inner.bytes)

    def _chart(self, chart_id: str, spec: str | bytes) -> None:
        known = self._chart_kind.get(chart_id)
        if known is False:
            return
        view = loss_view(spec)                        # parsed only until the loss chart is known
        self._chart_kind[chart_id] = view is not None
        if view is not None:
            self.loss = view

    def _auto_rerun(self, fragment_id: str, interval: float) -> None:
        """As the frontend: one timer per fragment; the same interval again keeps the running countdown."""
        old = self._timers.get(fragment_id)
        if old is not None and old[0] == interval:
            return
        self._cancel_timers(fragment_id)
        self._timers[fragment_id] = (interval, asyncio.create_task(self._tick(fragment_id, interval)))

    async def _tick(self, fragment_id: str, interval: float) -> None:
        with contextlib.suppress(Exception):            # the socket closed: the timer ends with it
            while True:
                await asyncio.sleep(interval)
                await self._rerun(fragment_id=fragment_id, auto=True)

    def _cancel_timers(self, fragment_id: str | None = None) -> None:
        for fid in [fragment_id] if fragment_id is not None else list(self._timers):
            timer = self._timers.pop(fid, None)
            if timer is not None:
                timer[1].cancel()

    # ------------------------------------------------------------------------------ what a user does
    def listen(self, fn: Callable[[Session, float], None]) -> None:
        """Call `fn(session, arrival_time)` after every ForwardMsg (and once when the socket closes)."""
        self._listeners.append(fn)

    async def until(self, done: Callable[[Session], bool], timeout: float) -> float | None:
        """The arrival time of the first message after which `done(self)` holds (now, if it already
        does); None after `timeout` s or when the socket closed first."""
        if done(self):
            return time.monotonic()
        got: asyncio.Future = asyncio.get_running_loop().create_future()

        def check(s: Session, at: float) -> None:
            if not got.done() and (done(s) or s.closed.is_set()):
                got.set_result(at if done(s) else None)

        self._listeners.append(check)
        try:
            return await asyncio.wait_for(got, timeout)
        except TimeoutError:
            return None
        finally:
            self._listeners.remove(check)

    async def open(self, query: str, timeout: float) -> float | None:
        """Load the default page with `query`, as a browser's first visit does; seconds until the
        script finished (None: not within `timeout`)."""
        self.query = query
        t0 = await self._rerun()
        at = await self.until(lambda s: s.script_runs > 0, timeout)
        return None if at is None else at - t0

    def status(self) -> str:
        """The run's status word as the page's progress bar last showed it ("" before a run)."""
        return self.last_status

    async def click(self, label: str) -> float:
        """Press the button labelled `label` (a trigger, sent once); the send time."""
        wid, fragment = self.widgets[label]
        trigger = self._state(wid)
        trigger.trigger_value = True
        return await self._rerun(fragment_id=fragment, triggers=(trigger,))

    async def set_bool(self, label: str, value: bool) -> float:
        """Set the toggle or checkbox labelled `label`; the send time."""
        wid, fragment = self.widgets[label]
        state = self._state(wid)
        state.bool_value = value
        self.held[wid] = state
        return await self._rerun(fragment_id=fragment)

    async def switch_page(self, name: str) -> float:
        """Open another page of the app from its sidebar link; the send time. As the frontend: the
        timers stop, the held values are dropped and the query string is cleared."""
        self._cancel_timers()
        self.held.clear()
        self.query = ""
        return await self._rerun(page_hash=self.pages[name])

    async def upload(self, label: str, name: str, data: bytes, timeout: float = 60) -> float:
        """Put a file into the uploader labelled `label`, as the frontend does: ask the session for an
        upload URL (BackMsg.file_urls_request), PUT the file there (multipart, with the XSRF cookie and
        header), then rerun with the uploader's state naming the file; the send time of that rerun."""
        wid, fragment = self.widgets[label]
        request = BackMsg()
        request_id = f"{id(self)}-{time.monotonic_ns()}"
        request.file_urls_request.request_id = request_id
        request.file_urls_request.file_names.append(name)
        request.file_urls_request.session_id = self.session_id
        await self._ws.send(request.SerializeToString())
        if await self.until(lambda s: request_id in s._file_urls, timeout) is None:
            raise TimeoutError("the server gave no upload URL")
        urls = self._file_urls.pop(request_id).file_urls[0]
        await asyncio.to_thread(self._put, urls.upload_url, name, data)
        state = self._state(wid)
        info = state.file_uploader_state_value.uploaded_file_info.add()
        info.name, info.size, info.file_id = name, len(data), urls.file_id
        info.file_urls.CopyFrom(urls)
        self.held[wid] = state
        return await self._rerun(fragment_id=fragment)

    def _put(self, url: str, name: str, data: bytes) -> None:
        """The HTTP PUT of one upload (a thread: urllib blocks)."""
        base = self.url.replace("ws", "http", 1).rsplit("/_stcore/", 1)[0]
        with urllib.request.urlopen(base + "/_stcore/health", timeout=30) as r:
            cookies = r.headers.get_all("Set-Cookie") or []
        cookie = next((c.split(";")[0] for c in cookies if "_streamlit_xsrf" in c), "")
        boundary = f"----bench{time.monotonic_ns()}"
        body = (f"--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"{name}\"\r\n"
                "Content-Type: application/octet-stream\r\n\r\n").encode() + data + f"\r\n--{boundary}--\r\n".encode()
        headers = {"Content-Type": f"multipart/form-data; boundary={boundary}"}
        if cookie:
            headers.update({"Cookie": cookie, "X-Xsrftoken": cookie.split("=", 1)[1]})
        req = urllib.request.Request(url if url.startswith("http") else base + url, data=body, method="PUT",
                                     headers=headers)
        with urllib.request.urlopen(req, timeout=60) as r:
            r.read()

    def exceptions(self) -> list[str]:
        """The exceptions the page shows (a script that raised), as "Type: message"."""
        return [f"{e.exception.type}: {e.exception.message}" for e in self.elements.values()
                if e.WhichOneof("type") == "exception"]

    def heading(self, text: str) -> bool:
        """Whether a heading on the page starts with `text`."""
        return any(e.WhichOneof("type") == "heading" and e.heading.body.startswith(text)
                   for e in self.elements.values())

    @staticmethod
    def _state(wid: str):
        from streamlit.proto.WidgetStates_pb2 import WidgetState

        return WidgetState(id=wid)
