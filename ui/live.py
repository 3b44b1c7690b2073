"""The live-run panel: one `LiveRun` per browser session and slot, its button bar and its poller.

A *slot* names one run ("pg" for the Playground; Compare can use "cmp.lstm", "cmp.gru", …). The run
object (a `rnn_core.serve.replay.ReplayRun` from `begin_run`: the stored run of its settings replayed, or
the one computation of them that every session pressing the same Train shares, in a worker process —
`rnn_core.serve.shared`; or a `StaticRun` for an uploaded saved run) lives in the slot's
`ui.state.SlotState` with the `RunContext` it was started with, so the training outlives reruns and a
chart option change never stops it. The training never calls `st.*`.

Public:
    RunContext(model_cfg, data_cfg, train_cfg, windows)    # what a run was started with
    StaticRun(loaded: runs.LoadedRun)        # a finished run read from a zip; reads like a LiveRun
    get_run(slot) / get_context(slot) / set_run(slot, run, ctx) / clear_run(slot)
    run_bar(slot, make_context, container=None) -> column
        draws **Train** **Pause** **Step** **Stop** **Reset**; `make_context()` builds a RunContext from
        the current controls (may raise ConfigError / DataError / ValueError: shown as one sentence);
        returns the row's spare last column (the Playground puts its ghost run there)
    live_area(slot, draw, interval=0.5, watch=(), slow=None) -> None
        a fragment that redraws `draw(snapshot, ctx)` while the run (or a watched one) is running and
        not at all otherwise (a full rerun switches polling on/off when the status changes); the
        interval follows the redraw's cost and the room's share of the server (`redraw_interval`,
        `ui.room`), changed in place; `slow` draws the
        epoch-level part in its own fragment, redrawn at most every SLOW_SECONDS
    fragment_rerun() -> bool                 # whether this script run redraws fragments only
    ghost_bar(slot, make_context, container=None)   # train another cell on the same setup (slot
                                             # "<slot>.ghost"); in `container` (a popover): one under another
    ghost_of(slot) -> (run, ctx) | None      # that ghost, while the run it copied is the one shown
    begin_run(slot, ctx) -> LiveRun          # the run a Train starts (a replay, or a shared computation)
    progress(snap) -> None                   # status line, progress bar (epoch and step), elapsed time,
                                             # and "replay of a stored run" where it is one
    progress_text(snap) -> str               # that status line alone (the scrubber's label after a run)
    pace_control(slot, snap)                 # a replay's pace: as computed, 2×, 4×, at once
    ask(slot)                                # on_change of a widget in the live area: its rerun draws at once
    weights_pending(slot) -> bool            # a paused replay's weights are being computed again
    run_key(run) -> str | None               # the key of the run a replay replays (shared by its sessions)
    evaluation_for(slot) -> dict | None      # evaluate + closed loop, computed once per paused/ended
                                             # snapshot version, never on a redraw while running
    session_watcher() -> Callable | None     # LiveRun(watcher=…): "is this browser tab still connected?"
                                             # so a run trains on while its tab reads another page, and
                                             # stops about a second after the tab is closed
Leaves to others: the trainer and its thread (`rnn_core/serve/live.py`), charts (`ui/views.py`).
"""

from __future__ import annotations

import contextlib
import copy
import math
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

import streamlit as st
from streamlit.errors import StreamlitInvalidLayoutContextError

from rnn_core.config import ConfigError, DataConfig, TrainConfig
from rnn_core.interrupt import Interrupted, interruptible
from rnn_core.nn.cells import CELLS, label_of
from rnn_core.nn.model_config import ModelConfig
from rnn_core.nn.stateful import streams_read
from rnn_core.readable import count, seconds
from rnn_core.serve.admission import describe_wait
from rnn_core.serve.history import downsample
from rnn_core.serve.live import LiveRun, Snapshot
from rnn_core.serve.shared import start_run
from rnn_core.serve.workers import run_closed_loop, workers_enabled
from ui.markdown import md
from ui.room import clicked, note_redraw, room_floor, room_pages, set_interval, timed_redraw
from ui.state import slot as slot_state
from ui.state import slots, widget_key

FINISHED = ("completed", "stopped", "diverged")
ACTIVE = ("running", "queued")          # the run wants to compute (queued: waiting for a slot): poll it
STATUS_ICON = {"idle": ":material/radio_button_unchecked:", "running": ":material/play_circle:",
               "queued": ":material/hourglass_top:",
               "paused": ":material/pause_circle:", "completed": ":material/check_circle:",
               "stopped": ":material/stop_circle:", "diverged": ":material/error:"}
POLL_SECONDS = 0.5       # shortest redraw interval while a run trains
SLOW_SECONDS = 2.0       # shortest redraw interval of what changes once an epoch (`live_area(slow=…)`)
MAX_POLL_SECONDS = 5.0   # longest: a slow laptop still sees the run move
REDRAW_SHARE = 0.4       # a redraw may take at most this share of the interval (the rest is for the user)
FIRST_POINT_WAIT = 0.5   # seconds a Train of a replay waits for its first step before drawing the page
QUEUED_POLL_SECONDS = 2.0   # shortest redraw interval while a page's runs all wait in the queue: its place
                            # in the queue moves slowly, and a room waiting for slots must not take the
                            # server's time from the runs that train (K = 32: 30 pages polling twice a second)


@dataclass
class RunContext:
    model_cfg: ModelConfig
    data_cfg: DataConfig
    train_cfg: TrainConfig
    windows: Any              # rnn_core.data.windows.Windows


class StaticRun:
    """A finished run restored from a saved zip: the same read API as LiveRun, nothing to control."""

    def __init__(self, loaded: Any):
        self.model = loaded.model
        self.lock = threading.Lock()
        self.records = list(loaded.records)
        self.train_cfg = loaded.train_cfg
        end = next((r for r in reversed(self.records) if r.get("kind") == "end"), None)
        self.status = end["status"] if end else "completed"

    def snapshot(self, max_points: int = 1500) -> Snapshot:
        steps = [r for r in self.records if r.get("kind") == "step"]
        epochs = [r for r in self.records if r.get("kind") == "epoch"]
        end = next((r for r in reversed(self.records) if r.get("kind") == "end"), None)
        steps = downsample(steps, max_points)           # as a LiveRun's snapshot thins them
        last = self.records[-1] if self.records else {}
        per_epoch = max((sum(1 for r in self.records if r.get("kind") == "step" and r.get("epoch") == 1), 1))
        return Snapshot(status=self.status, steps=steps, epochs=epochs, end=end,
                        epoch=int(last.get("epoch", 0) or 0), step=int(last.get("step", 0) or 0),
                        total_epochs=self.train_cfg.epochs, steps_per_epoch=per_epoch,
                        elapsed=float((end or {}).get("seconds", 0.0) or 0.0), version=len(self.records))

    def stop(self) -> None:
        """Nothing runs."""


# ------------------------------------------------------------------------------------------- state
def get_run(slot: str) -> LiveRun | StaticRun | None:
    return slot_state(slot).run


def get_context(slot: str) -> RunContext | None:
    return slot_state(slot).ctx


def set_run(slot: str, run: LiveRun | StaticRun, ctx: RunContext) -> None:
    """Install a run in the slot, stopping the one it replaces."""
    state = slot_state(slot)
    state.clear_run()
    state.run, state.ctx = run, ctx


def clear_run(slot: str) -> None:
    """Stop and forget the slot's run and everything that belongs to it (`SlotState.clear_run`)."""
    slot_state(slot).clear_run()


# ------------------------------------------------------------------------------------------ buttons
def _request(slot: str, action: str) -> None:
    slot_state(slot).action = action


def _new_run(slot: str, make_context: Callable[[], RunContext]) -> LiveRun | None:
    refused = one_at_a_time("pg" if slot == "pg" else "cmp")
    if refused:
        slot_state(slot).error = refused
        return None
    try:
        ctx = make_context()
        run = begin_run(slot, ctx)
    except (ConfigError, ValueError) as e:        # DataError is a ValueError
        slot_state(slot).error = str(e)
        return None
    set_run(slot, run, ctx)
    return run


def begin_run(slot: str, ctx: RunContext) -> LiveRun:
    """The run a Train starts for `ctx` (not started yet): a replay of the stored run of its settings, or
    of the one computation of them every session shares (`rnn_core.serve.shared.start_run`); at the pace
    this tab chose for replays."""
    run = start_run(ctx.model_cfg, ctx.data_cfg, ctx.train_cfg, ctx.windows, watcher=session_watcher())
    run.set_speed(PACES.get(st.session_state.get(pace_key(slot)), 1.0))
    return run


def _wait_for_step(run: LiveRun, before: int, timeout: float = 3.0, starting: float = 30.0) -> None:
    """After Step: wait (briefly) until the step shows in the snapshot, so this rerun draws it. While the
    trainer has sent nothing yet (a worker process starting, epoch 0 being evaluated) wait up to
    `starting` seconds instead."""
    begun = time.monotonic()
    while True:
        snap = run.snapshot()
        if snap.step > before or snap.status in FINISHED:
            return
        waited = time.monotonic() - begun
        if waited > (starting if snap.version == 0 else timeout):
            return
        time.sleep(0.02)


def _replaceable(run: LiveRun | StaticRun | None) -> bool:
    """Train or Step on this slot starts a new run: there is none, it has ended, or it was uploaded."""
    return run is None or isinstance(run, StaticRun) or run.status in FINISHED


def _train(slot: str, make_context: Callable[[], RunContext]) -> None:
    """Train: a new run, or the slot's paused / idle one goes on."""
    run = get_run(slot)
    if _replaceable(run):
        run = _new_run(slot, make_context)
        if run is not None:
            run.start()
            if len(getattr(getattr(run, "source", None), "records", ())) > 1:
                # a replay of records already computed: its first step is a moment away, and this rerun
                # draws it (a room pressing Train at once needs no extra redraw each for its first
                # point); a new computation (a worker starting: seconds) is not waited for
                _wait_for_step(run, 0, timeout=FIRST_POINT_WAIT, starting=FIRST_POINT_WAIT)
    elif run.status == "paused":
        run.resume()
    elif run.status == "idle":
        run.start()


def _pause(slot: str, make_context: Callable[[], RunContext]) -> None:
    """Pause: the run stops before its next step; this rerun waits (briefly) until it has, so the page
    draws every step taken, those in flight included (a worker sends its records in batches), and the
    status line, the charts and the next Step all count from the same step."""
    run = get_run(slot)
    if run is not None and run.status in ACTIVE:
        run.pause()
        _wait_parked(run)


def _wait_parked(run: LiveRun, timeout: float = 5.0) -> None:
    """Wait until the paused run's trainer waits before its next step (its records all in), it ended, or
    `timeout` seconds (a worker still starting has no step in flight)."""
    begun = time.monotonic()
    while not (run.parked or run.status in FINISHED or not run.alive) and time.monotonic() - begun < timeout:
        run.wait_parked(0.05)


def _step(slot: str, make_context: Callable[[], RunContext]) -> None:
    """Step: one optimiser step (on a new, paused run when there is none to step), drawn by this rerun."""
    run = get_run(slot)
    if _replaceable(run):
        run = _new_run(slot, make_context)
        if run is None:
            return
    before = run.snapshot().step
    slot_state(slot).at = None               # the charts follow the run to its new step (not a scrubbed one)
    run.step()
    _wait_for_step(run, before)


def _stop(slot: str, make_context: Callable[[], RunContext]) -> None:
    run = get_run(slot)
    if run is None:
        return
    run.stop()
    if isinstance(run, LiveRun):
        run.join(timeout=5)


def _reset(slot: str, make_context: Callable[[], RunContext]) -> None:
    clear_run(slot)
    slot_state(slot).at_link = None          # a link's moment no longer waits for a run


ACTIONS = {"train": _train, "pause": _pause, "step": _step, "stop": _stop, "reset": _reset}


def _do(slot: str, action: str, make_context: Callable[[], RunContext]) -> None:
    """Carry out a button's action (requested by its on_click) at the top of the next rerun."""
    handler = ACTIONS.get(action)
    if handler is not None:
        handler(slot, make_context)


def run_bar(slot: str, make_context: Callable[[], RunContext], container: Any = None) -> Any:
    """The Train / Pause / Step / Stop / Reset buttons of one slot, with any start error below them;
    returns the row's spare last column."""
    state = slot_state(slot)
    action, state.action = state.action, None
    if action:
        state.error = None
        _do(slot, action, make_context)
    box = container if container is not None else st.container(key=f"{slot}-runbar")   # one row on a phone
    run = get_run(slot)
    status = getattr(run, "status", None)
    live = isinstance(run, LiveRun)
    cols = box.columns([1, 1, 1, 1, 1, 1.5])
    cols[0].button("Train", key=f"{slot}.btn.train", type="primary", icon=":material/play_arrow:",
                   on_click=_request, args=(slot, "train"), disabled=status in ACTIVE,
                   help="Start a new run with the settings in the sidebar (or resume a paused one).",
                   width="stretch")
    cols[1].button("Pause", key=f"{slot}.btn.pause", icon=":material/pause:", on_click=_request,
                   args=(slot, "pause"), disabled=not (live and status in ACTIVE),
                   help="Pause after the current step; the charts and predictions refresh.", width="stretch")
    cols[2].button("Step", key=f"{slot}.btn.step", icon=":material/skip_next:", on_click=_request,
                   args=(slot, "step"), disabled=status in ACTIVE,
                   help="Take exactly one optimiser step (starts a paused run if there is none).",
                   width="stretch")
    cols[3].button("Stop", key=f"{slot}.btn.stop", icon=":material/stop:", on_click=_request,
                   args=(slot, "stop"), disabled=not (live and status in (*ACTIVE, "paused", "idle")),
                   help="End the run here; its history and model stay for inspection and download.",
                   width="stretch")
    cols[4].button("Reset", key=f"{slot}.btn.reset", icon=":material/restart_alt:", on_click=_request,
                   args=(slot, "reset"), disabled=run is None,
                   help="Stop and forget the run, clearing the charts.", width="stretch")
    error, state.error = state.error, None     # shown once; the next rerun clears it
    if error:
        box.error(md(error), icon=":material/error:")
    return cols[5]


# ------------------------------------------------------------------------------------------ poller
def progress_text(snap: Snapshot) -> str:
    """The status line: "✓ **completed** · epoch 10/10 · step 830/830 · 98.2 s elapsed" (and, for a replay,
    what it is)."""
    total_steps = max(1, snap.total_epochs * max(1, snap.steps_per_epoch))
    replay = f" · {snap.replay}" if snap.replay else ""
    return (f"{STATUS_ICON.get(snap.status, '')} **{snap.status}** · epoch {snap.epoch}/{snap.total_epochs} · "
            f"step {snap.step}/{total_steps} · {seconds(snap.elapsed)} elapsed{replay}")


def progress(snap: Snapshot | None) -> None:
    """Status, epoch/step progress bar and elapsed time of a snapshot (and, for a replay, what it is)."""
    if snap is None:
        st.caption("No run yet — press **Train** (or **Step** to go one optimiser step at a time).")
        return
    total_steps = max(1, snap.total_epochs * max(1, snap.steps_per_epoch))
    st.progress(min(1.0, snap.step / total_steps), text=progress_text(snap))
    if snap.status == "queued":
        st.info(describe_wait(snap.ahead, snap.wait) + " Pause, Stop and Reset work while you wait.",
                icon=":material/hourglass_top:")


# A replay's pace: as computed, faster, or every record at once (`ReplayRun.set_speed`).
PACES = {"as computed": 1.0, "2×": 2.0, "4×": 4.0, "at once": math.inf}


def _warm_labels() -> None:
    """Streamlit looks for a leading emoji in every label of a segmented control that is not ASCII (the pace's
    "2×"), and its first look imports its table of every emoji and compiles one large pattern: ≈ 0.4 s of
    CPU with the interpreter lock held, in the first Train of a room. Done here, when the app is first loaded."""
    with contextlib.suppress(ImportError, AttributeError):   # runtime internals: a later release may move it
        from streamlit.string_util import extract_leading_emoji

        extract_leading_emoji(next(label for label in PACES if not label.isascii()))


_warm_labels()


def pace_key(slot: str) -> str:
    return f"{slot}.replay.pace"


def pace_control(slot: str, snap: Snapshot | None) -> None:
    """For a replay that has not ended: how fast it shows its records (this tab's choice, kept for the
    next replay too)."""
    run = get_run(slot)
    if snap is None or not snap.replay or snap.end is not None or not hasattr(run, "set_speed"):
        return
    key = pace_key(slot)
    st.segmented_control("Replay pace", list(PACES), key=key, default="as computed", label_visibility="collapsed",
                         on_change=ask, args=(slot,),
                         help="This run was computed once and is replayed, its records exactly as computed: "
                              "show them at the pace they were computed, faster, or all at once.")
    run.set_speed(PACES.get(st.session_state.get(key), 1.0))


def ask(slot: str) -> None:
    """`on_change` of a widget drawn in the slot's live area (a chart option, the replay's pace): the rerun of
    the live area it brings is a click's, drawn at once, not a timer's redraw that waits its turn in the room
    (`ui.room.timed_redraw`: with a room of sixty-four pages, a toggle waited behind their redraws)."""
    slot_state(slot).asked = True


def weights_pending(slot: str) -> bool:
    """Whether a paused replay's weights at the step it shows are still being computed (exactly, by
    training a private run to that step): the page polls until they are there."""
    run = get_run(slot)
    ready = getattr(run, "model_ready", None)
    return ready is not None and run.status not in ACTIVE and not ready()


def poll_interval(redraw_seconds: float, floor: float = POLL_SECONDS) -> float:
    """The redraw interval for a redraw that costs `redraw_seconds`: at least `floor`, long enough that
    redrawing takes at most `REDRAW_SHARE` of the time, at most `MAX_POLL_SECONDS`."""
    return round(min(MAX_POLL_SECONDS, max(floor, redraw_seconds / REDRAW_SHARE)), 2)


def _status(slot: str) -> str | None:
    return getattr(get_run(slot), "status", None)


def poll_floor(slots: tuple[str, ...], interval: float) -> float:
    """The shortest redraw interval for these slots' runs: `interval`, or QUEUED_POLL_SECONDS while none of
    them trains and one waits in the queue (it leaves the queue: the next redraw sees it and polls faster)."""
    statuses = [_status(s) for s in slots]
    if "queued" in statuses and "running" not in statuses:
        return max(interval, QUEUED_POLL_SECONDS)
    return interval


def _phase(slot: str) -> str | None:
    """The slot's status as the page's layout sees it: queued and running are both "active" (the same
    buttons, the same polling), so a run leaving the queue needs no full rerun."""
    status = _status(slot)
    return "active" if status in ACTIVE else status


def live_area(slot: str, draw: Callable[[Snapshot | None, RunContext | None], None],
              interval: float = POLL_SECONDS, watch: tuple[str, ...] = (),
              slow: Callable[[Snapshot | None, RunContext | None], None] | None = None) -> None:
    """Draw the slot's run with `draw(snapshot, ctx)` in a fragment that redraws while the run (or a run
    of the `watch` slots, e.g. a ghost run) is running, and never when there is nothing to wait for.
    `slow` (optional) draws what changes once an epoch in a second fragment that redraws at most every
    SLOW_SECONDS while the run runs: only the part of the page that changed is built and sent again (a
    status change or a finished computation still redraws the whole page once).

    The interval (`redraw_interval`) follows what a redraw costs: the CPU time the script spends drawing,
    or the time the browser took beyond the interval before asking again (its timer fires late while it
    is still busy drawing Plotly charts on a slow, loaded laptop), whichever is larger, smoothed; and the
    room's share of the server (`ui.room`). It changes in place, without a full rerun of the page; timed
    redraws take turns (`ui.room.timed_redraw`) so a click never waits behind a whole room's."""
    slots = (slot, *watch)
    statuses = tuple(_phase(s) for s in slots)
    pending = closed_loop_pending(slot) or weights_pending(slot)   # computed in the background
    state = slot_state(slot)
    state.redraw_at = None                   # a full rerun: the gap since the last redraw says nothing
    waiting = "active" in statuses or pending
    every = state.every = redraw_interval(slots, state.redraw_cost, interval) if waiting else None
    slow_every = state.slow_every = None if every is None or slow is None else max(SLOW_SECONDS, every)

    @st.fragment(run_every=every)
    def _area() -> None:
        start = time.monotonic()
        timed = every is not None and fragment_rerun()
        if timed and tuple(_phase(s) for s in slots) != statuses:
            # paused, resumed or ended: the full rerun draws it, not this timed redraw, whose evaluation of
            # the final weights the next tick would cut short (the page said "completed" for seconds
            # before its predictions came)
            st.rerun()
        asked, state.asked = state.asked, False       # a click on one of its widgets: no turn to wait
        with timed_redraw(clicked()) if timed and not asked else contextlib.nullcontext():
            cpu = time.thread_time()
            current = get_run(slot)
            snap = current.snapshot() if current is not None else None
            with st.container(key=f"{slot}-live"):     # a phone shows it right under the run buttons (ui/a11y.py)
                in_layout(draw, snap, get_context(slot))
            room_note(every, interval, slots)
            drawn = time.thread_time() - cpu
        if every is None:
            # started (or cut short) by this draw: a full rerun polls for it (with `slow`, the evaluation
            # is that part's: asked here, the rerun would come before it could try again, for ever)
            if closed_loop_pending(slot) or weights_pending(slot) or (state.evaluate_again and slow is None):
                st.rerun()
            return
        note_redraw((id(state), "step"), drawn, interval)      # the room's share: what this page's redraws cost
        last, now_every = state.redraw_at, state.every or every
        late = start - last - now_every if last is not None else 0.0
        cost = max(drawn, late)
        smooth = 0.7 * (cost if state.redraw_cost is None else state.redraw_cost) + 0.3 * cost
        state.redraw_cost, state.redraw_at = smooth, start
        if not fragment_rerun():
            # drawn as part of a full run: let it finish (a full run cut short by st.rerun() left the
            # browser holding the widgets' defaults, e.g. a link's settings lost when the link started a
            # run); the next timed redraw, a moment later, asks for the full rerun if still needed
            return
        now_pending = closed_loop_pending(slot) or weights_pending(slot)
        if tuple(_phase(s) for s in slots) != statuses or now_pending != pending:
            st.rerun()                       # paused, resumed or ended: one full rerun sets the polling and the buttons
        wanted = redraw_interval(slots, smooth, interval)
        if not 0.8 * now_every <= wanted <= 1.25 * now_every:
            if not set_interval(wanted):     # the browser's timer for this fragment, swapped in place
                st.rerun()
            state.every = wanted

    @st.fragment(run_every=slow_every)
    def _slow_area() -> None:
        timed = slow_every is not None and fragment_rerun()
        with timed_redraw(clicked()) if timed else contextlib.nullcontext():
            cpu = time.thread_time()
            current = get_run(slot)
            in_layout(slow, current.snapshot() if current is not None else None, get_context(slot))
        if slow_every is not None:
            note_redraw((id(state), "slow"), time.thread_time() - cpu, interval)
        if every is None and (closed_loop_pending(slot) or weights_pending(slot) or state.evaluate_again):
            st.rerun()                       # started (or cut short) by this draw: a full rerun polls for it
        if timed and state.every is not None:
            wanted = max(SLOW_SECONDS, state.every)     # the step-level part's interval moved: follow it
            if wanted != state.slow_every and set_interval(wanted):
                state.slow_every = wanted

    _area()
    if slow is not None:
        _slow_area()


def redraw_interval(slots: tuple[str, ...], redraw_cost: float | None, interval: float = POLL_SECONDS) -> float:
    """The live area's redraw interval now: what its own redraw costs (`poll_interval`, the queue's
    `poll_floor`), and the room's floor (`ui.room.room_floor`) once its run has drawn a point (until then
    it polls at the page's shortest interval, so the first point of a run shows as soon as it is there)."""
    own = poll_interval(redraw_cost or 0.0, poll_floor(slots, interval))
    return max(own, room_floor(interval)) if _has_steps(slots) else own


ROOM_NOTE_SECONDS = 2.0   # a live view slowed to this interval by the room says so


def room_note(every: float | None, interval: float, slots: tuple[str, ...]) -> None:
    """While the room's share slows this page's live charts to ROOM_NOTE_SECONDS or more, one caption says
    so (a lecture's live demo that moves in steps of a few seconds is not broken)."""
    if every is None or not _has_steps(slots):
        return
    floor = room_floor(interval)
    if floor >= ROOM_NOTE_SECONDS:
        every_s, pages = count(round(floor)), count(room_pages(interval))
        st.caption(f"Live charts redraw every {every_s} s: {pages} pages are watching runs on this server and "
                   "share it.", help="Every watching page redraws at the interval at which the whole room's "
                   "redraws fit in the server; the run itself goes on at its own pace.")


def _has_steps(slots: tuple[str, ...]) -> bool:
    """Whether any of these slots' runs has shown a step (a record reached its page)."""
    return any(getattr(getattr(get_run(s), "history", None), "step", 0) > 0 for s in slots)


def in_layout(draw: Callable[[Snapshot | None, RunContext | None], None], snap: Snapshot | None,
              ctx: RunContext | None) -> None:
    """`draw(snap, ctx)` in a fragment whose parts sit in containers laid out by the page's full run
    (`ui.views.run_parts`). A full run cut short (a click, a closed tab) before the fragment drew leaves
    Streamlit no place for them: the page is then drawn again in full, never a traceback."""
    try:
        draw(snap, ctx)
    except StreamlitInvalidLayoutContextError:
        st.rerun(scope="app")


def fragment_rerun() -> bool:
    """Whether this script run reruns fragments only (a timed redraw), not the whole page."""
    from streamlit.runtime.scriptrunner import get_script_run_ctx

    ctx = get_script_run_ctx(suppress_warning=True)
    return bool(ctx is not None and ctx.fragment_ids_this_run)


def ghost_of(slot: str) -> tuple[LiveRun | StaticRun, RunContext] | None:
    """The slot's ghost run and its context, while the run it copied is still the one shown."""
    ghost = f"{slot}.ghost"
    run, ctx, shown = get_run(ghost), get_context(ghost), get_context(slot)
    if run is None or ctx is None or shown is None or slot_state(ghost).base != id(shown):
        return None
    return run, ctx


GHOST_CELL = "lstm"          # the ghost's cell until one is chosen: the gated answer to a plain RNN


def ghost_bar(slot: str, make_context: Callable[[], RunContext], container: Any = None) -> None:
    """The ghost run of a slot (slot `<slot>.ghost`): the same setup as the run shown — same windows,
    seed and training settings — with another cell, trained beside it and overlaid on its charts
    (only while that run is the one shown: after Reset or a new Train it is no longer its ghost).
    In `container` (e.g. a popover) the picker and the buttons stand one under another."""
    from rnn_core.config import replace

    ghost = f"{slot}.ghost"
    state, cell_key = slot_state(ghost), widget_key(ghost, "cell")
    action, state.action = state.action, None
    if action == "train":
        try:
            base = get_context(slot) or make_context()
            cell = st.session_state.get(cell_key) or GHOST_CELL
            ctx = RunContext(replace(base.model_cfg, cell=cell), base.data_cfg, base.train_cfg, base.windows)
            run = begin_run(ghost, ctx)
        except (ConfigError, ValueError) as e:
            state.error = str(e)
        else:
            set_run(ghost, run, ctx)
            state.base = id(base)      # the run it is the ghost of
            run.start()
    elif action == "clear":
        clear_run(ghost)
    shown = get_context(slot)
    options = [c for c in CELLS if shown is None or c != shown.model_cfg.cell]
    if cell_key in st.session_state and st.session_state[cell_key] not in options:
        del st.session_state[cell_key]        # the cell shown now: back to the default below
    # the default as `index`, not written into the session: a picker in a closed popover is drawn by the
    # browser only when opened, and one drawn late takes its default, not a value the session set
    default = options.index(GHOST_CELL) if GHOST_CELL in options else 0
    if container is not None:
        c1 = c2 = c3 = container
    else:
        c1, c2, c3, _ = st.columns([2.2, 1.3, 1.1, 2.4], vertical_alignment="bottom")
    c1.selectbox("Ghost run: the same setup with", options, index=default, format_func=label_of, key=cell_key,
                 help="Trains another cell on the same windows, seed and settings, and draws its loss and "
                      "gradient through time (purple, dashed) over this run's, without leaving the page.")
    c2.button("Train ghost", key=f"{ghost}.btn.train", icon=":material/group:", width="stretch",
              on_click=_request, args=(ghost, "train"), disabled=shown is None or _status(ghost) in ACTIVE,
              help="Train a run first: the ghost copies its setup.")
    c3.button("Clear ghost", key=f"{ghost}.btn.clear", icon=":material/clear:", width="stretch",
              on_click=_request, args=(ghost, "clear"), disabled=get_run(ghost) is None)
    error, state.error = state.error, None
    if error:
        st.error(error, icon=":material/error:")     # on the page, not in a closed popover


def session_watcher() -> Callable[[], bool] | None:
    """For `LiveRun(watcher=…)`: a function that tells, from any thread, whether this script run's
    browser session is still connected (its tab open, on whatever page). None where no Streamlit
    server runs (AppTest, bare scripts): the run then relies on its idle timer alone.

    Why not a timer fragment that touches the run from every page: a fragment's timed rerun that
    lands while a page switch is pending makes Streamlit rerun the old page, so sidebar clicks got lost."""
    try:           # runtime internals: should a Streamlit release move them, runs fall back to the timer
        from streamlit import runtime
        from streamlit.runtime.scriptrunner import get_script_run_ctx

        ctx = get_script_run_ctx(suppress_warning=True)
        if ctx is None or not runtime.exists():
            return None
        server, session_id = runtime.get_instance(), ctx.session_id
        is_active = server.is_active_session
    except (ImportError, AttributeError, RuntimeError):
        return None
    return lambda: is_active(session_id)


def script_interrupt() -> Callable[[], bool]:
    """For `rnn_core.interrupt.interruptible` around heavy work in a page's own script run (the Lab's
    probes, an evaluation): True once the tab is closed or Streamlit asked this script run to stop or
    rerun (the user changed a control), so the work ends within a chunk instead of running on unseen.
    Asks at most every 0.2 s."""
    watcher = session_watcher()
    requests, go_on = None, None
    try:           # runtime internals: should a Streamlit release move them, only the tab check is left
        from streamlit.runtime.scriptrunner import get_script_run_ctx
        from streamlit.runtime.scriptrunner_utils.script_requests import ScriptRequestType

        ctx = get_script_run_ctx(suppress_warning=True)
        requests, go_on = (ctx.script_requests if ctx else None), ScriptRequestType.CONTINUE
    except (ImportError, AttributeError):
        pass
    last = {"asked": 0.0, "answer": False}

    def check() -> bool:
        now = time.monotonic()
        if last["answer"] or now - last["asked"] < 0.2:
            return last["answer"]
        last["asked"] = now
        asked_to_stop = requests is not None and getattr(requests, "_state", go_on) != go_on
        last["answer"] = asked_to_stop or (watcher is not None and not watcher())
        return last["answer"]

    return check


# Bound per tab (browser session): one training activity at a time — a Playground run, a Compare race
# (up to its 5 cells) or a sweep — so one tab cannot occupy the shared server with several at once.
ACTIVITIES = {"pg": "a Playground run", "cmp": "a Compare race", "sweep": "a sweep"}


def busy_with(other_than: str, besides: str = "") -> str | None:
    """What this tab is training besides activity `other_than` ("pg", "cmp" or "sweep") — or, for a
    sweep, besides the one under session key `besides` — as a phrase from ACTIVITIES, or None."""
    for k, state in list(slots().items()):
        v = state.run
        if k in ("cmp.sweep", "cmp.map"):
            kind = "sweep" if k != besides else None
        elif k == "pg":
            kind = "pg"
        elif k.startswith("cmp."):
            kind = "cmp"
        else:
            kind = None
        if kind is None or (kind == other_than and kind != "sweep"):
            continue
        if getattr(v, "status", None) in ACTIVE and not isinstance(v, StaticRun):
            return ACTIVITIES[kind]
    return None


def one_at_a_time(activity: str, besides: str = "") -> str | None:
    """The sentence refusing to start `activity` while another one of this tab trains, or None."""
    other = busy_with(activity, besides)
    if other is None:
        return None
    return (f"This tab is already training {other}; one tab trains one thing at a time (a Playground run, "
            f"a Compare race or a sweep) so a shared server stays fast for everyone — stop it first.")


# ------------------------------------------------------------------------------------- evaluation
# The closed-loop forecast re-runs a full window per generated step (a few seconds for ~2,000 steps):
# it runs in the background — in a worker process, or on this thread pool with workers switched off —
# on a copy of the model, while the page already shows the one-step predictions.
_CLOSED_LOOPS = ThreadPoolExecutor(max_workers=2, thread_name_prefix="closed-loop")


def evaluation_for(slot: str, closed_loop_steps: int | None = None) -> dict | None:
    """{"evaluation", "closed", "closed_note", "closed_job", "version", "step"} for the slot's model
    ("shown_pending" too once a page said the closed loop is being computed),
    recomputed only when the run is not running and its snapshot version changed; while it runs, the
    last result. The one-step evaluation is computed here; the closed-loop forecast (forecast tasks) on a
    background thread: "closed" stays None and "closed_job" holds it until it is done
    (`closed_loop_pending`)."""
    from rnn_core.measure.closed_loop import closed_loop_plan
    from rnn_core.measure.evaluate import evaluate

    run, ctx = get_run(slot), get_context(slot)
    if run is None or ctx is None:
        return None
    cached = slot_state(slot).evaluation
    if cached:
        _collect_closed_loop(cached)
    if run.status in ACTIVE:
        return cached
    snap = run.snapshot(max_points=10)
    if cached and cached["version"] == snap.version:
        return cached
    if snap.step == 0 and isinstance(run, LiveRun) and snap.status == "idle":
        return cached
    if not getattr(run, "model_ready", lambda: True)():     # a replay's weights, still being computed
        return cached
    w = ctx.windows

    def compute() -> tuple[dict, Any]:
        evaluation = evaluate(run.model, w, stateful_streams=streams_read(ctx.train_cfg))
        job = None
        if w.task == "forecast":
            frozen = copy.deepcopy(run.model)                  # the weights of now
            n, start = closed_loop_plan(w)
            job = _CLOSED_LOOPS.submit(closed_loop_job, ctx.model_cfg, frozen, w, closed_loop_steps or n, start,
                                       streams_read(ctx.train_cfg))
        return evaluation, job

    key = replay_key(run, snap.step, closed_loop_steps)
    try:
        with run.lock, interruptible(script_interrupt()):     # a closed tab / a click ends it early
            evaluation, job = compute() if key is None else shared_evaluation(key, compute)
    except Interrupted:
        slot_state(slot).evaluate_again = True     # a rerun asked for meanwhile: `live_area` tries again
        return cached
    slot_state(slot).evaluate_again = False
    result = {"evaluation": evaluation, "closed": None, "closed_note": None, "closed_job": job,
              "version": snap.version, "step": snap.step}
    slot_state(slot).evaluation = result
    return result


# A room replaying one run: its evaluation at a step is the same for every session (the same weights on the
# same data), so it is computed once (a K = 16 room spent 43 % of the server's time evaluating it 16 times)
SHARED_EVALUATIONS = 16          # the evaluations (and closed-loop jobs) kept, least recently used first out
_EVALUATIONS: OrderedDict[tuple, tuple[dict, Any]] = OrderedDict()
_EVALUATING: dict[tuple, threading.Event] = {}
_EVALUATIONS_LOCK = threading.Lock()


def run_key(run: Any) -> str | None:
    """The key of the run a replay replays (a computation or a stored run: settings, data, seed, code), the
    same for every session replaying it; None for any other run."""
    source = getattr(run, "source", None)
    return getattr(source, "key", None) or getattr(getattr(source, "stored", None), "key", None)


def replay_key(run: Any, step: int, closed_loop_steps: int | None = None) -> tuple | None:
    """What decides a replay's evaluation at `step`: the key of the run it replays (`run_key`), the step and
    the closed loop's length; None for any other run."""
    key = run_key(run)
    return None if key is None else (key, int(step), closed_loop_steps)


def shared_evaluation(key: tuple, compute: Callable[[], tuple[dict, Any]]) -> tuple[dict, Any]:
    """`compute()` once per key for every session asking (read-only results): the others wait for it (a
    click or a closed tab ends their wait, `rnn_core.interrupt`), and take it from the last
    SHARED_EVALUATIONS kept."""
    from rnn_core.interrupt import checkpoint

    while True:
        with _EVALUATIONS_LOCK:
            if key in _EVALUATIONS:
                _EVALUATIONS.move_to_end(key)
                return _EVALUATIONS[key]
            event, mine = _EVALUATING.get(key), False
            if event is None:
                event, mine = _EVALUATING.setdefault(key, threading.Event()), True
        if not mine:
            while not event.wait(0.1):
                checkpoint()
            continue                               # kept now, or its computation was cut short: try again
        try:
            value = compute()
            with _EVALUATIONS_LOCK:
                _EVALUATIONS[key] = value
                while len(_EVALUATIONS) > SHARED_EVALUATIONS:
                    _EVALUATIONS.popitem(last=False)
            return value
        finally:
            with _EVALUATIONS_LOCK:
                _EVALUATING.pop(key, None)
            event.set()


def forget_evaluations() -> None:
    """Drop every kept evaluation (tests; a server keeps the last SHARED_EVALUATIONS)."""
    with _EVALUATIONS_LOCK:
        _EVALUATIONS.clear()


def closed_loop_job(model_cfg, model, windows, n_steps: int, start: str,
                    stateful_streams: int = 0) -> tuple[dict | None, str | None]:
    """The closed-loop forecast, as the page's background thread runs it: (result, None) or (None, a
    sentence); `stateful_streams` as `closed_loop`'s."""
    """(closed-loop result, note) on a background thread, computed in a worker process unless workers
    are switched off; a failure is a note, never a traceback."""
    from rnn_core.measure.closed_loop import closed_loop
    from rnn_core.measure.evaluate import EvaluationError

    try:
        if workers_enabled():
            return run_closed_loop(model_cfg, model, windows, n_steps, start, stateful_streams=stateful_streams)
        closed = closed_loop(model, windows, n_steps, start=start, stateful_streams=stateful_streams)
        return closed, closed.get("stopped")
    except EvaluationError as e:
        return None, str(e)
    except Exception as e:
        return None, f"The closed-loop forecast could not be computed: {e}"


def _collect_closed_loop(result: dict) -> None:
    """Move a finished background closed loop into `result`."""
    job = result.get("closed_job")
    if job is not None and job.done():
        result["closed"], result["closed_note"] = job.result()
        result["closed_job"] = None


def closed_loop_pending(slot: str) -> bool:
    """Whether the slot's closed-loop forecast is still being computed in the background, or was when
    the page last said so (`result["shown_pending"]`) and is ready now: True once more then, so that the
    page draws it (it may finish between the draw and this question)."""
    result = slot_state(slot).evaluation
    if not result:
        return False
    _collect_closed_loop(result)
    if result.get("closed_job") is None:
        return bool(result.pop("shown_pending", False))
    return True
