"""Whether anybody still watches a run, so that abandoned runs stop instead of burning a shared server.

A run is watched while its page polls it (`seen()`) or its `watcher` says so: the app passes one that
asks Streamlit whether the browser tab's connection is still open, so a run trains on while its tab
reads another page or sits in the background. Once the watcher has said "closed" for CLOSED_FOR s in a
row (the browser's websocket closed with the tab; a connection Streamlit gets back within that time
keeps the run), the run stops: about a second after the tab was closed. Without a watcher (AppTest, a
notebook) or while it fails, a run stops `idle_timeout` s after its last poll. The watcher is asked at
most every WATCH_EVERY s; a failing watcher counts as "nobody watches", never as an error.
The default timeout is DEFAULT_IDLE_TIMEOUT; RNN_PLAYGROUND_IDLE_TIMEOUT (seconds) overrides it.
Not thread-safe by itself: its run holds a lock. Used by live runs (`live.py`) and sweeps.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable

from rnn_core.readable import seconds

DEFAULT_IDLE_TIMEOUT = 30.0      # seconds with no poll and no "watched" before a run stops itself
IDLE_TIMEOUT_ENV = "RNN_PLAYGROUND_IDLE_TIMEOUT"
WATCH_EVERY = 0.25               # seconds between two questions to a run's watcher (a dict lookup)
CLOSED_FOR = 1.0                 # seconds the watcher must say "closed" before the run stops


def default_idle_timeout() -> float:
    """$RNN_PLAYGROUND_IDLE_TIMEOUT seconds when it is a positive number, else DEFAULT_IDLE_TIMEOUT."""
    try:
        seconds = float(os.environ.get(IDLE_TIMEOUT_ENV, ""))
    except ValueError:
        return DEFAULT_IDLE_TIMEOUT
    return seconds if 0 < seconds < float("inf") else DEFAULT_IDLE_TIMEOUT


class IdleWatch:
    """`idle_timeout` None or ≤ 0: never idle (the CLI, notebooks)."""

    def __init__(self, idle_timeout: float | None, watcher: Callable[[], bool] | None = None):
        self.idle_timeout = idle_timeout
        self.watcher = watcher
        self.last_seen = time.monotonic()       # last time someone was seen watching
        self._last_asked = 0.0                  # last time the watcher was asked
        self._closed_since: float | None = None   # since when the watcher has said "closed", in a row

    @property
    def active(self) -> bool:
        return bool(self.idle_timeout and self.idle_timeout > 0)

    def seen(self) -> None:
        """Someone looked at the run (a page polled it)."""
        self.last_seen = time.monotonic()
        self._closed_since = None

    def too_long(self) -> bool:
        """The tab was closed (the watcher said so for CLOSED_FOR s), or nobody has been seen for
        idle_timeout s: no poll, and the watcher has not said "watched"."""
        if not self.active:
            return False
        now = time.monotonic()
        if self.watcher is not None and now - self._last_asked >= min(WATCH_EVERY, self.idle_timeout / 3):
            self._last_asked = now
            answer = self._answer()
            if answer:
                self.seen()
            elif answer is False and self._closed_since is None:
                self._closed_since = now
        return self.closed() or now - self.last_seen > self.idle_timeout

    def closed(self) -> bool:
        """The watcher has said "the tab is closed" for CLOSED_FOR s in a row."""
        return self._closed_since is not None and time.monotonic() - self._closed_since >= CLOSED_FOR

    def reason(self) -> str:
        """Why `too_long()` said so, to end a sentence: "because its browser tab was closed"."""
        if self.closed():
            return "because its browser tab was closed"
        return f"because nobody had looked at the run for {seconds(self.idle_timeout)} (the browser tab was closed)"

    def wait_seconds(self) -> float:
        """How long a waiting thread may sleep before it should ask `too_long()` again (at most 1 s)."""
        if not self.active:
            return 1.0
        left = self.idle_timeout - (time.monotonic() - self.last_seen)
        if self.watcher is not None:
            left = min(left, WATCH_EVERY)
        return min(1.0, max(0.01, left + 0.01))

    def _answer(self) -> bool | None:
        """The watcher's answer; None when it failed (the timer decides then)."""
        try:
            return bool(self.watcher())
        except Exception:          # a failing watcher must not kill the run
            return None
