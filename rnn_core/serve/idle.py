"""Whether anybody still watches a run, so that abandoned runs stop instead of burning a shared server.

A run is watched while its page polls it (`seen()`) or its `watcher` says so: the app passes one that
asks Streamlit whether the browser tab's connection is still open, so a run trains on while its tab
reads another page, and stops about `idle_timeout` s after the tab was closed (a short network drop that
Streamlit reconnects does not end it). The watcher is asked at most every WATCH_EVERY s (or a third of
the timeout if that is shorter); a failing watcher counts as "nobody watches", never as an error.
The default timeout is DEFAULT_IDLE_TIMEOUT; RNN_PLAYGROUND_IDLE_TIMEOUT (seconds) overrides it.
Not thread-safe by itself: its run holds a lock. Used by live runs (`live.py`) and sweeps.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable

DEFAULT_IDLE_TIMEOUT = 30.0      # seconds with no poll and no "watched" before a run stops itself
IDLE_TIMEOUT_ENV = "RNN_PLAYGROUND_IDLE_TIMEOUT"
WATCH_EVERY = 1.0                # seconds between two questions to a run's watcher


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

    @property
    def active(self) -> bool:
        return bool(self.idle_timeout and self.idle_timeout > 0)

    def seen(self) -> None:
        """Someone looked at the run (a page polled it)."""
        self.last_seen = time.monotonic()

    def too_long(self) -> bool:
        """Nobody has been seen for idle_timeout s: no poll, and the watcher has not said "watched"."""
        if not self.active:
            return False
        now = time.monotonic()
        if self.watcher is not None and now - self._last_asked >= min(WATCH_EVERY, self.idle_timeout / 3):
            self._last_asked = now
            if self._watched():
                self.last_seen = now
        return now - self.last_seen > self.idle_timeout

    def wait_seconds(self) -> float:
        """How long a waiting thread may sleep before it should ask `too_long()` again (at most 1 s)."""
        if not self.active:
            return 1.0
        left = self.idle_timeout - (time.monotonic() - self.last_seen)
        return min(1.0, max(0.01, left + 0.01))

    def _watched(self) -> bool:
        try:
            return bool(self.watcher())
        except Exception:          # a failing watcher must not kill the run; the timer decides
            return False
