"""The scrubber: after a run (finished, stopped, diverged or paused) pick any step it recorded, or jump to
one of its key moments (`rnn_core.measure.moments`), and every chart draws that moment; the moment goes into the
link (`?at=<step>` or `?at=<key moment>`, `ui/links.py`).

    Scrub(frame, moment, chosen)                 where the charts stand: the frame at the chosen step
                                                 (`moments.frame_at`), the key moment there, and whether
                                                 someone chose it (else it is the run's latest step)
    scrubber(slot, snap, ctx, baseline, label, compact=False) -> Scrub | None
        the timeline (a select slider over every recorded step, labelled `label`: the status line) and
        the key moments, as one-click pills, or (compact: presenter view) between an earlier- and a
        later-moment button. None while the run trains or has nothing to scrub: the charts follow it live.
    jump(slot, direction) -> bool                the next (+1) / previous (−1) key moment (a remote's
                                                 PageDown / PageUp; a paused run's latest step after its
                                                 last moment); False when there is none to go to
    Presenter view's buttons: `<slot>.scrub.back`, and `<slot>.scrub.next` (a finished run) or
    `<slot>.scrub.later` (a paused run), the keys `ui.keys.KEYMAP` presses
    link_note(slot, snap) -> str | None          the sentence while a link's run trains to land on its moment
    moments_of(slot) -> list[Moment]             the key moments of the run shown, as last found
    moment_caption(at)                           the chosen key moment's sentence in numbers

Where it stands lives in the slot (`SlotState.at`: a step or a key moment's kind; None: the latest
step), so a link, the pills, the slider and the remote agree; a followed link's moment waits in
`SlotState.at_link` until its run ends (`ui.state.load_url_once` trains it when this session lacks it).
Leaves to others: the moments and frames (`rnn_core/measure/moments.py`), the marks (`plots/marks.py`), which
chart draws what (`ui/views.py`).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

import streamlit as st

from rnn_core.measure.moments import NAMES, Frame, Moment, frame_at, key_moments, locate, next_moment, timeline
from ui.links import write_at
from ui.live import FINISHED, RunContext, Snapshot, get_run
from ui.run_files import run_records
from ui.state import memo
from ui.state import slot as slot_state

SCRUBBABLE = (*FINISHED, "paused")


@dataclass(frozen=True)
class Scrub:
    frame: Frame               # what each chart shows at the chosen step
    moment: Moment | None      # the key moment at that step (the one picked, where several share it)
    chosen: bool               # someone chose it (a click, a link, the remote); else the latest step

    @property
    def label(self) -> str:
        """"step 56 · diverges", "step 300": the mark on the charts."""
        return f"step {self.frame.step}" + (f" · {self.moment.name}" if self.moment else "")


def _keys(slot: str) -> tuple[str, str]:
    return f"{slot}.scrub.step", f"{slot}.scrub.moment"


def _found(slot: str, snap: Snapshot, ctx: RunContext | None, baseline: float | None) -> tuple[list, list, list]:
    """(records, timeline, key moments) of the slot's run, found once per snapshot version."""
    def build() -> tuple[list, list, list]:
        records = run_records(get_run(slot))
        task = ctx.windows.task if ctx is not None and ctx.windows is not None else "forecast"
        return records, timeline(records), key_moments(records, baseline, task)

    return memo(slot, "found", (id(ctx), snap.version, baseline), build, store="scrub")


def moments_of(slot: str) -> list[Moment]:
    """The key moments of the slot's run as the scrubber last found them ([] before)."""
    kept = slot_state(slot).memos.get("scrub", {}).get("found")
    return list(kept[1][2]) if kept else []


def _moment_at(moments: list[Moment], step: int, at: int | str | None) -> Moment | None:
    """The key moment shown at `step`: the one named by `at`, else the first one there."""
    named = next((m for m in moments if m.kind == at and m.step == step), None)
    return named or next((m for m in moments if m.step == step), None)


def _moved(slot: str) -> None:
    state, (step_key, _) = slot_state(slot), _keys(slot)
    state.at, state.at_link = int(st.session_state[step_key]), None


def _picked(slot: str) -> None:
    kind = st.session_state[_keys(slot)[1]]
    if kind is not None:          # a click on the pill already chosen unselects it: stay where it is
        state = slot_state(slot)
        state.at, state.at_link = kind, None


def jump(slot: str, direction: int) -> bool:
    """Move the slot's scrubber to the next (direction +1) or previous (−1) key moment; False when the run
    shown has no scrubber yet or no key moment that way. Call it from a widget callback (or before the
    page draws): the charts draw the moment on the script run that follows."""
    state = slot_state(slot)
    kept = state.memos.get("scrub", {}).get("found")
    run = state.run
    if not kept or run is None or getattr(run, "status", None) not in SCRUBBABLE:
        return False
    _, steps, moments = kept[1]
    if not steps:
        return False
    step = locate(state.at, moments, steps)[0] if state.at is not None else steps[-1]
    target = next_moment(moments, step, direction)
    if target is not None:
        state.at, state.at_link = target.kind, None
        return True
    if direction > 0 and step < steps[-1]:       # a paused run: past its last key moment, its latest step
        state.at, state.at_link = steps[-1], None
        return True
    return False


def link_note(slot: str, snap: Snapshot | None) -> str | None:
    """While a followed link's run trains: what the page is doing and where it will land."""
    at = slot_state(slot).at_link
    if at is None or snap is None or snap.status in SCRUBBABLE:
        return None
    where = f"step {at}" if isinstance(at, int) else f"“{NAMES[at].format('the baseline').removeprefix('run ')}”"
    return (f"This link opens the run at {where}: it trains now (the same settings and seed give the same "
            "numbers), and the charts land there when it ends.")


def scrubber(slot: str, snap: Snapshot | None, ctx: RunContext | None, baseline: float | None,
             label: str = "Scrub through the run", compact: bool = False) -> Scrub | None:
    """The timeline and the key moments of the slot's run (see the module docstring)."""
    state = slot_state(slot)
    if snap is None or snap.status not in SCRUBBABLE or get_run(slot) is None:
        if state.at_link is None:
            state.at = None                   # no run, or training again: the charts follow the run
        write_at(state.at_link)
        return None
    records, steps, moments = _found(slot, snap, ctx, baseline)
    if len(steps) < 2:
        return None
    if state.at_link is not None and snap.status in FINISHED:     # a link's run has ended: land on it
        state.at, state.at_link = state.at_link, None
    step, note = locate(state.at, moments, steps) if state.at is not None else (steps[-1], None)
    moment = _moment_at(moments, step, state.at)
    step_key, moment_key = _keys(slot)
    st.session_state[step_key] = step
    st.session_state[moment_key] = moment.kind if moment else None
    write_at(state.at)

    def step_label(s: int) -> str:
        here = _moment_at(moments, s, state.at if s == step else None)
        return f"step {s}" + (f" · {here.name}" if here else "")

    # the label is the range input's aria-label too, read out as typed: plain words, no icon, no bold
    label = plain_label(label)
    help_text = ("Every step this run recorded: drag (or use the arrow keys) and every chart shows that "
                 "moment; the address bar keeps it (at=…), so a link opens the run there.")
    if compact:
        c1, c2, c3 = st.columns([1.5, 5, 1.5], vertical_alignment="center")
        c1.button("Earlier moment", key=f"{slot}.scrub.back", icon=":material/skip_previous:", width="stretch",
                  on_click=jump, args=(slot, -1), disabled=next_moment(moments, step, -1) is None,
                  help="The previous key moment of the run.")
        c2.select_slider(label, steps, key=step_key, format_func=step_label, on_change=_moved, args=(slot,),
                         label_visibility="collapsed", help=help_text)
        # a finished run's button owns the remote's PageDown even at its end (no new step starts there);
        # a paused run's, once at its latest step, leaves PageDown to Step (`ui/keys.py`)
        later = f"{slot}.scrub.next" if snap.status in FINISHED else f"{slot}.scrub.later"
        c3.button("Later moment", key=later, icon=":material/skip_next:", width="stretch",
                  on_click=jump, args=(slot, 1), disabled=next_moment(moments, step, 1) is None and step == steps[-1],
                  help="The next key moment of the run (a paused run: then its latest step).")
    else:
        st.select_slider(label, steps, key=step_key, format_func=step_label, on_change=_moved, args=(slot,),
                         help=help_text)
        # the slider's two ends are the start and the end: the pills hold the moments in between
        by_kind = {m.kind: m for m in moments if m.kind not in ("start", "end")}
        if by_kind:
            if st.session_state[moment_key] not in by_kind:
                st.session_state[moment_key] = None
            st.pills("Key moments", list(by_kind), key=moment_key, format_func=lambda k: by_kind[k].name,
                     on_change=_picked, args=(slot,), label_visibility="collapsed",
                     help="Key moments found in this run's records: one click shows it on every chart.")
    if note:
        st.caption(note)
    return Scrub(frame_at(records, step), moment, state.at is not None)


def moment_caption(at: Scrub | None) -> None:
    """The chosen key moment in one sentence of numbers, under the charts that show it."""
    if at is not None and at.chosen and at.moment is not None:
        m = at.moment
        st.caption(f":material/location_on: **{m.name}** (step {m.step}, epoch {m.epoch}): {m.detail}")


def scrub_key(at: Scrub | None) -> Any:
    """What a figure drawn at `at` depends on (for `ui.state.memo` keys)."""
    return None if at is None or not at.chosen else (at.frame.step, at.moment.kind if at.moment else None)


def plain_label(label: str) -> str:
    """A status line without its Markdown ("✓ **completed** · …" → "completed · …"): Streamlit gives a
    slider's label to screen readers as the raw string, so ":material/check_circle: **completed**" was read
    out character by character."""
    return " ".join(re.sub(r":material/[a-z_]+:", "", label).replace("**", "").split())
