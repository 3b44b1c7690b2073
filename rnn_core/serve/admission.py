"""Admission control: at most N training runs compute at once in this process; the rest wait in a fair queue.

Holds `Admission` (N slots and a first-come, first-served queue of `Ticket`s), `shared_admission()`
(the one every `LiveRun` of this process uses unless given another), `default_slots()` and
`threads_per_run()`. Never imports Streamlit; knows nothing of training.
Leaves to others: when a run asks for a slot and when it gives it back (`live.py`: a run holds its
slot while it computes and gives it back when it pauses or ends), and how the wait is shown (`ui/`).

Why: a classroom opens the app at once. Without a limit every run is a thread competing for the same
cores, every run slows down in proportion, and the server's own page reruns starve. With N slots the
first N runs train at full speed and the others wait their turn, told how many are ahead of them.

Fair: tickets are admitted strictly in the order they were queued; a ticket that leaves the queue
(Stop, Pause, Reset while waiting) frees its place and those behind it move up. Admission happens in
`enqueue()` (a free slot and nobody ahead) or in `release()` (the freed slot goes to the head of the
queue); the ticket's `wake` callback is then called, outside this module's lock, so a run waiting on
its own condition variable wakes at once.

Waiting time ("about 20 s"), or None ("not known yet") rather than a guess that may be off by more than
a factor of two: each slot becomes free when its run ends, by that run's own estimate of the seconds it
still needs (`Ticket.remaining()`, which says None until the run has trained long enough to know its
speed); each ticket ahead then takes a slot for the typical length of a run here — the median of the
last RECENT_RUNS runs that ended in this process, used only when at least MIN_AGREEING of them lie
within a factor of two of each other (a room running the same preset). A run in a slot that cannot
estimate itself yet, or runs ahead of unknown length, make the estimate None.

Settings (environment): RNN_PLAYGROUND_MAX_RUNS (slots; default: the CPUs this process may use) and
RNN_PLAYGROUND_TORCH_THREADS (torch intra-op threads of each run; default: CPUs ÷ slots, at least 1).
"""

from __future__ import annotations

import heapq
import itertools
import os
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field

MAX_RUNS_ENV = "RNN_PLAYGROUND_MAX_RUNS"
TORCH_THREADS_ENV = "RNN_PLAYGROUND_TORCH_THREADS"
RECENT_RUNS = 20                 # run lengths kept for the waiting-time estimate
MIN_AGREEING = 3                 # recent runs that must agree (within 2×) before their length is used


def cpus() -> int:
    """CPUs this process may run on (its affinity mask on Linux)."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:           # not on Linux
        return os.cpu_count() or 1


def _positive_env(name: str) -> int | None:
    value = os.environ.get(name, "").strip()
    return int(value) if value.isdigit() and int(value) > 0 else None


def default_slots() -> int:
    """$RNN_PLAYGROUND_MAX_RUNS when it is a positive integer, else the number of CPUs."""
    return _positive_env(MAX_RUNS_ENV) or cpus()


def threads_per_run(slots: int | None = None) -> int:
    """Torch intra-op threads for one run: $RNN_PLAYGROUND_TORCH_THREADS, else CPUs ÷ slots (≥ 1), so
    that `slots` runs computing at once use the cores without oversubscribing them."""
    return _positive_env(TORCH_THREADS_ENV) or max(1, cpus() // (slots or default_slots()))


@dataclass(eq=False)
class Ticket:
    """One run's place: "waiting" in the queue, "admitted" to a slot, or "left"."""

    number: int
    wake: Callable[[], None] | None = None           # called (outside the lock) when admitted
    remaining: Callable[[], float | None] | None = None   # seconds this run still needs, once admitted
    state: str = "waiting"
    queued_at: float = field(default_factory=time.monotonic)
    admitted_at: float | None = None

    @property
    def admitted(self) -> bool:
        return self.state == "admitted"


class Admission:
    """N slots and a FIFO queue. Thread-safe; no method blocks (waiting is the caller's business)."""

    def __init__(self, slots: int | None = None):
        self.slots = max(1, int(slots)) if slots else default_slots()
        self._lock = threading.Lock()
        self._waiting: deque[Ticket] = deque()
        self._active: list[Ticket] = []
        self._recent: deque[float] = deque(maxlen=RECENT_RUNS)     # seconds held by runs that ended
        self._numbers = itertools.count(1)
        self.waits: deque[float] = deque(maxlen=RECENT_RUNS)        # seconds queued before admission

    def enqueue(self, wake: Callable[[], None] | None = None,
                remaining: Callable[[], float | None] | None = None) -> Ticket:
        """A new ticket at the back of the queue (admitted at once when a slot is free and nobody waits)."""
        ticket = Ticket(next(self._numbers), wake, remaining)
        with self._lock:
            self._waiting.append(ticket)
            admitted = self._admit()
        _wake(admitted)
        return ticket

    def release(self, ticket: Ticket, finished: bool = False) -> None:
        """Give back the ticket's slot, or its place in the queue; `finished` (the run ended, not paused)
        counts its time in a slot towards the waiting-time estimate. Releasing twice does nothing."""
        with self._lock:
            if ticket.state == "admitted":
                self._active.remove(ticket)
                if finished and ticket.admitted_at is not None:
                    self._recent.append(time.monotonic() - ticket.admitted_at)
            elif ticket.state == "waiting":
                self._waiting.remove(ticket)
            ticket.state = "left"
            admitted = self._admit()
        _wake(admitted)

    def ahead(self, ticket: Ticket) -> int | None:
        """How many queued tickets are ahead of this one (0: next in line); None once not waiting."""
        with self._lock:
            if ticket.state != "waiting":
                return None
            return self._waiting.index(ticket)

    def wait_estimate(self, ticket: Ticket) -> float | None:
        """Seconds until this waiting ticket is likely admitted; None when that is not known yet."""
        with self._lock:
            if ticket.state != "waiting":
                return None
            free_at = []
            for active in self._active:
                left = _call(active.remaining)            # this run's own estimate, never another's
                if left is None:
                    return None
                free_at.append(left)
            free_at += [0.0] * (self.slots - len(free_at))
            heapq.heapify(free_at)
            ahead = self._waiting.index(ticket)
            typical = self._typical() if ahead else None
            for _ in range(ahead):                        # each ticket ahead takes the first free slot
                if typical is None:
                    return None
                heapq.heapreplace(free_at, free_at[0] + typical)
            return free_at[0]

    def _typical(self) -> float | None:
        """The median length of recent runs, when enough of them agree within a factor of two (lock held)."""
        runs = sorted(self._recent)
        if len(runs) < MIN_AGREEING:
            return None
        median = runs[len(runs) // 2]
        agreeing = [r for r in runs if median / 2 <= r <= median * 2]
        return median if len(agreeing) >= max(MIN_AGREEING, len(runs) * 3 // 4) else None

    def counts(self) -> dict:
        """{"slots", "active", "waiting"} now."""
        with self._lock:
            return {"slots": self.slots, "active": len(self._active), "waiting": len(self._waiting)}

    def _admit(self) -> list[Ticket]:
        """Move queue heads into free slots (lock held); returns the tickets admitted."""
        admitted = []
        while self._waiting and len(self._active) < self.slots:
            ticket = self._waiting.popleft()
            ticket.state, ticket.admitted_at = "admitted", time.monotonic()
            self.waits.append(ticket.admitted_at - ticket.queued_at)
            self._active.append(ticket)
            admitted.append(ticket)
        return admitted


def _wake(tickets: list[Ticket]) -> None:
    for ticket in tickets:
        if ticket.wake is not None:
            ticket.wake()


def _call(fn: Callable[[], float | None] | None) -> float | None:
    if fn is None:
        return None
    try:
        value = fn()
    except Exception:            # an estimate must never break admission
        return None
    return None if value is None else max(0.0, float(value))


def describe_wait(ahead: int | None, wait: float | None, slots: int | None = None) -> str:
    """One sentence for a queued run: "Waiting for a free slot: 3 runs ahead of yours, about 20 s." (or
    "…; how long is not known yet." while no estimate is good to a factor of two)."""
    where = ("next in line" if not ahead else f"{ahead} run{'s' if ahead != 1 else ''} ahead of yours")
    when = f", about {_round_seconds(wait)}" if wait is not None else "; how long is not known yet"
    busy = f" (all {slots} slots of this server are training)" if slots else ""
    return f"Waiting for a free slot{busy}: {where}{when}."


def _round_seconds(seconds: float) -> str:
    if seconds < 10:
        return f"{max(1, round(seconds))} s"
    if seconds < 90:
        return f"{round(seconds / 5) * 5} s"
    return f"{round(seconds / 60)} min"


_shared: Admission | None = None
_shared_lock = threading.Lock()


def shared_admission() -> Admission:
    """The process's Admission, made on first use with `default_slots()`."""
    global _shared
    with _shared_lock:
        if _shared is None:
            _shared = Admission()
        return _shared


def run_threads(slots: int | None = None) -> int:
    """Torch intra-op threads for one run: `threads_per_run(slots)`, at most 4 unless the env var
    RNN_PLAYGROUND_TORCH_THREADS says otherwise."""
    return threads_per_run(slots) if os.environ.get(TORCH_THREADS_ENV) else min(4, threads_per_run(slots))


def limit_torch_threads(slots: int | None = None) -> int:
    """Set the calling thread's torch intra-op threads to `run_threads(slots)`; returns the number in
    force. Called by each run's thread."""
    import torch

    wanted = run_threads(slots)
    if torch.get_num_threads() != wanted:
        torch.set_num_threads(wanted)
    return torch.get_num_threads()
