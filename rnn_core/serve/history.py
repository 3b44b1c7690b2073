"""A run's history, bounded whatever the run's length: the step and epoch records a page redraws from.

Every step record is kept until there are `max_step_records` of them; then every other one is dropped
and from then on only every 2nd (4th, 8th…) step is kept, so memory stays flat; the latest step record
is always kept. Epoch records are all kept; when their probe profiles would exceed PROBE_FLOAT_BUDGET
floats, every other probe (never epoch 0's nor the latest) is replaced by None. Stored records are
never mutated, so snapshots share them: read-only. Not thread-safe by itself: its run holds a lock.
Leaves to others: the run that feeds it (`live.py`, `workers.py`), drawing (`plots/`, `ui/`).
"""

from __future__ import annotations

from dataclasses import dataclass

MAX_STEP_RECORDS = 8192          # step records kept before decimating by 2
PROBE_FLOAT_BUDGET = 500_000     # floats of probe profiles kept per run (≈ 16 MB as Python lists)


@dataclass
class Snapshot:
    """A copy of a run's history for one redraw (the lists are new; the records in them are shared)."""

    status: str                  # idle | queued | running | paused | completed | stopped | diverged
    steps: list[dict]            # step records, evenly downsampled, always ending with the latest
    epochs: list[dict]           # every epoch record (epoch 0 = at initialisation)
    end: dict | None             # the end record once the run has finished
    epoch: int                   # epoch of the latest record
    step: int                    # optimiser steps taken
    total_epochs: int
    steps_per_epoch: int
    elapsed: float               # seconds spent training, paused time not counted
    version: int                 # records received so far: redraw only when it changes
    ahead: int | None = None     # while queued: runs ahead of this one in the queue (0: next in line)
    wait: float | None = None    # while queued: seconds until a slot is likely free (None: no estimate)
    replay: str | None = None    # a replay (`replay.py`): what it replays, in a short phrase


class History:
    """The records of one run as they come: `add` a step or epoch record, `finish` with the end record."""

    def __init__(self, max_step_records: int = MAX_STEP_RECORDS):
        self.max_step_records = max_step_records
        self.steps: list[dict] = []              # kept step records: steps 1, 1+stride, 1+2·stride…
        self.stride = 1
        self.last_step: dict | None = None
        self.epochs: list[dict] = []
        self.end: dict | None = None
        self.version = 0                         # records received so far
        self.epoch = 0                           # epoch and step of the latest record
        self.step = 0
        self._probed: list[int] = []             # indices into epochs whose probe is kept

    def add(self, record: dict) -> None:
        """A step or an epoch record."""
        self.version += 1
        self.epoch, self.step = record["epoch"], record["step"]
        if record["kind"] == "step":
            self._keep_step(record)
        else:
            self._keep_epoch(record)

    def finish(self, end: dict) -> None:
        self.version += 1
        self.end = end

    def recent_steps(self, max_points: int) -> list[dict]:
        """At most `max_points` of the kept step records, evenly spaced, ending with the latest step."""
        steps = list(self.steps)
        if self.last_step is not None and (not steps or steps[-1] is not self.last_step):
            steps.append(self.last_step)
        return downsample(steps, max_points)

    def _keep_step(self, record: dict) -> None:
        self.last_step = record
        if (record["step"] - 1) % self.stride:
            return
        self.steps.append(record)
        if len(self.steps) > self.max_step_records:
            del self.steps[1::2]            # keep steps 1, 1+2·stride, 1+4·stride…
            self.stride *= 2

    def _keep_epoch(self, record: dict) -> None:
        self.epochs.append(record)
        probe = record.get("probe")
        if probe is None:
            return
        self._probed.append(len(self.epochs) - 1)
        keep_at_most = max(16, PROBE_FLOAT_BUDGET // probe_floats(probe))
        if len(self._probed) > keep_at_most:
            dropped = set(self._probed[1:-1:2])        # every other, never the first nor the latest
            for i in dropped:
                self.epochs[i] = {**self.epochs[i], "probe": None}
            self._probed = [i for i in self._probed if i not in dropped]


def downsample(records: list[dict], max_points: int) -> list[dict]:
    """At most `max_points` records, evenly spaced, always the first and the latest."""
    n = len(records)
    if n <= max_points:
        return list(records)
    if max_points <= 1:
        return records[-1:] if max_points == 1 else []
    return [records[i * (n - 1) // (max_points - 1)] for i in range(max_points)]


def probe_floats(probe: dict) -> int:
    """Roughly how many floats one probe dict holds (its per-timestep lists dominate)."""
    T, layers = int(probe.get("timesteps", 1)), len(probe.get("grad_h") or [[]])
    per_layer = 2 + (1 if probe.get("grad_c") else 0) + len((probe.get("gates") or [{}])[0])
    return max(1, T * layers * per_layer)
