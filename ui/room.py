"""A room's share of one server: how often every page watching a run redraws, and whose turn it is.

A Streamlit server is one Python process: every session's script shares one interpreter lock, so a room
of sixty-four pages watching runs shares about one core of Python. Each page measuring only its own
redraw cannot see the room (at K = 64 on one preset, 64 pages polling twice a second asked the server for
about three cores: clicks waited minutes, most pages never saw their status line). Three things keep a
room answering:

    note_redraw(page, cpu, least) a watching page's redraw cost `cpu` seconds of its script thread's CPU
                                 (`page`: a key, or a (page, part) pair); `room_pages(least)`: how many
                                 pages watch runs now
    room_floor(least) -> float   the shortest redraw interval any watching page may use now: `least`
                                 while the room's redraws fit in ROOM_BUSY of a core, longer as the room
                                 grows: every watching page's measured redraw cost, summed (`RoomPace`)
    timed_redraw(clicked())      at most TIMED_REDRAWS timed redraws draw at once; the others wait their
                                 turn without holding the interpreter, so a click's rerun meets at most
                                 that many redraws, not the room's (a wait ends at once when its own page
                                 is clicked: the click is never queued behind the room)
    set_interval(seconds)        change the timer of the fragment being run, in place: the browser's
                                 timer for it is replaced (Streamlit's AutoRerun message), no full rerun
                                 (a full rerun of the page costs several redraws)
Leaves to others: the live area that asks them (`ui/live.py`).
"""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Callable, Iterator

ROOM_BUSY = 0.6          # the share of one core the room's redraws may take together
OVERHEAD = 1.5           # a redraw's cost to the server ÷ its script thread's CPU (the messages' sending)
SATURATED = 0.85         # the server's CPU (of one core) above which the room's floor grows regardless
UPDATE_SECONDS = 1.0     # how often the server's CPU is read
ROOM_MAX_SECONDS = 10.0  # the longest interval the room imposes: a page still sees its run move
TIMED_REDRAWS = 2        # timed redraws drawing at once (the others wait their turn)


class RoomPace:
    """The room's redraw floor from what its pages' redraws cost: every watching page tells what each of
    its redraws cost (CPU seconds of its script thread, which another thread's load does not inflate);
    the floor is the interval at which every page redrawing once costs ROOM_BUSY of a core:

        floor = Σ_pages cost_page · OVERHEAD / ROOM_BUSY,   between `least` and ROOM_MAX_SECONDS

    A page that has not redrawn for `forget` seconds (or three floors, if longer) left the room. And,
    should that estimate fall short (a server's other work, Streamlit's own), the server process's CPU
    seconds per second, read every UPDATE_SECONDS: above SATURATED the floor grows by half at every
    reading; below ROOM_BUSY that extra shrinks back by a fifth at every reading."""

    def __init__(self, least: float, *, clock: Callable[[], float] = time.monotonic,
                 cpu: Callable[[], float] = time.process_time, busy: float = ROOM_BUSY,
                 most: float = ROOM_MAX_SECONDS, forget: float = 6.0):
        self.least, self.most, self.target, self.forget = least, most, busy, forget
        self._clock, self._cpu = clock, cpu
        self._lock = threading.Lock()
        self._pages: dict[object, tuple[float, float]] = {}     # page → (smoothed cost, last redraw)
        self._extra = 1.0                        # the CPU reading's factor on the estimate (≥ 1)
        self._read_at, self._used = clock(), cpu()
        self.busy = 0.0                          # the server's CPU seconds per second, last read

    def note(self, page: object, cpu_seconds: float) -> None:
        """A redraw of `page` (any hashable: a session's slot) cost `cpu_seconds`."""
        now = self._clock()
        with self._lock:
            old = self._pages.get(page)
            cost = cpu_seconds if old is None else 0.7 * old[0] + 0.3 * cpu_seconds
            self._pages[page] = (cost, now)

    def floor(self) -> float:
        now = self._clock()
        with self._lock:
            self._read_cpu(now)
            stale = now - max(self.forget, 3 * self._floor())
            for page in [p for p, (_, at) in self._pages.items() if at < stale]:
                del self._pages[page]
            return self._floor()

    def _floor(self) -> float:
        # floor = Σ cost · OVERHEAD / ROOM_BUSY, times the CPU reading's extra
        demand = sum(cost for cost, _ in self._pages.values()) * OVERHEAD / self.target
        return min(self.most, max(self.least, max(demand, self.least) * self._extra))

    def _read_cpu(self, now: float) -> None:
        if now - self._read_at < UPDATE_SECONDS:
            return
        used = self._cpu()
        self.busy = max(0.0, used - self._used) / (now - self._read_at)
        self._read_at, self._used = now, used
        # saturated: extra · 1.5 per reading; below ROOM_BUSY: extra ÷ 1.25 (never below 1); between: held
        step = 1.5 if self.busy > SATURATED else 1 / 1.25 if self.busy < self.target else 1.0
        self._extra = min(self.most / self.least, max(1.0, self._extra * step))

    @property
    def pages(self) -> int:
        """The pages in the room: distinct first items of the keys noted (a page's parts count once)."""
        with self._lock:
            return len({p[0] if isinstance(p, tuple) else p for p in self._pages})


_PACE: RoomPace | None = None
_PACE_LOCK = threading.Lock()
_TURNS = threading.BoundedSemaphore(TIMED_REDRAWS)


def _pace(least: float) -> RoomPace:
    """The process's one room (its floor's lower bound from the first page that asks)."""
    global _PACE
    with _PACE_LOCK:
        if _PACE is None:
            _PACE = RoomPace(least)
        return _PACE


def room_floor(least: float) -> float:
    """The shortest redraw interval a watching page whose own shortest is `least` may use now (`RoomPace`
    of this process)."""
    return max(least, _pace(least).floor())


def room_pages(least: float) -> int:
    """How many pages watch runs on this server now."""
    return _pace(least).pages


def note_redraw(page: object, cpu_seconds: float, least: float) -> None:
    """Tell the room a redraw of `page` cost `cpu_seconds` of its thread's CPU."""
    _pace(least).note(page, cpu_seconds)


@contextlib.contextmanager
def timed_redraw(asked_to_stop: Callable[[], bool]) -> Iterator[None]:
    """Draw when it is this redraw's turn (at most TIMED_REDRAWS at once); a redraw whose page was
    clicked meanwhile (`asked_to_stop()`) goes on at once: its first element ends it and the click's
    rerun follows."""
    turn = False
    while not turn and not asked_to_stop():
        turn = _TURNS.acquire(timeout=0.05)
    try:
        yield
    finally:
        if turn:
            _TURNS.release()


def clicked() -> Callable[[], bool]:
    """For `timed_redraw`: a function that tells whether this page asked for a run that cuts the current one
    short (a click: a full rerun; a stop), not merely its timer's next tick (which waits for this redraw
    anyway, and which a busy room's pages always have pending)."""
    try:       # runtime internals: should a Streamlit release move them, redraws wait their turn
        from streamlit.runtime.scriptrunner import get_script_run_ctx
        from streamlit.runtime.scriptrunner_utils.script_requests import ScriptRequestType

        ctx = get_script_run_ctx(suppress_warning=True)
        requests = ctx.script_requests if ctx is not None else None
    except (ImportError, AttributeError):
        requests = None
    if requests is None:
        return lambda: False

    def asked() -> bool:
        state = getattr(requests, "_state", None)
        if state == ScriptRequestType.STOP:
            return True
        if state != ScriptRequestType.RERUN:
            return False
        data = getattr(requests, "_rerun_data", None)
        return not (getattr(data, "fragment_id_queue", None) and not getattr(data, "is_fragment_scoped_rerun", False))

    return asked


def set_interval(seconds: float) -> bool:
    """Replace the timer of the fragment this script run is running with one every `seconds` (the
    browser keeps one timer per fragment and swaps it for a new interval); False outside a fragment
    (nothing was sent)."""
    try:       # runtime internals: should a Streamlit release move them, the caller reruns the page
        from streamlit.proto.ForwardMsg_pb2 import ForwardMsg
        from streamlit.runtime.scriptrunner import get_script_run_ctx
        from streamlit.runtime.scriptrunner_utils.script_run_context import ThreadState

        ctx = get_script_run_ctx(suppress_warning=True)
        fragment_id = ThreadState.get().fragment_id if ctx is not None else None
    except (ImportError, AttributeError, RuntimeError):
        return False
    if not fragment_id:
        return False
    msg = ForwardMsg()
    msg.auto_rerun.interval = float(seconds)
    msg.auto_rerun.fragment_id = fragment_id
    ctx.enqueue(msg)
    return True
