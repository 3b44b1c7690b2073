"""Key moments of a run, found and named from its records: the steps a lecturer stops on and scrubs to.

    key_moments(records, baseline=None, task="forecast") -> list[Moment]     sorted by step, then KINDS
    Moment(kind, name, step, epoch, record, detail)
    KINDS = {kind: what it marks}               the moments there can be, in their order at one step
    NAMES = {kind: its name}                    one short phrase ("{}": the task's baseline, the end's status)
    timeline(records) -> list[int]              every step the records hold, ascending (0 = initialisation)
    frame_at(records, step) -> Frame            what each chart shows at that step: the latest step, epoch
                                                and probe records at or before it, the end record at the end
    parse_at(text) -> int | str                 a link's `at=`: a step number or a moment's kind (ValueError)
    locate(at, moments, steps) -> (step, note)  that `at` as a step of this run's timeline, with a sentence
                                                when the run has no such moment or step
    next_moment(moments, step, direction=1)     the first key moment after (direction −1: before) `step`

A moment points to one record: `record` says which kind ("step": the step record of `step`; "epoch": the
epoch record of `epoch`; "end": the end record), `step` is where it sits on the run's timeline (the
optimiser steps taken, 0 = initialisation; an epoch record sits at the step that closed its epoch).
Records are the plain dicts of `train.py`; any record holding a "probe" dict counts as a probe (the epoch
records', and any probe the trainer records between them). A list thinned by a long live run (every 2nd,
4th… step kept) gives the moments among the records it holds.

The baseline rule is the verdict's (`verdict.run_verdict`, ±`AT_BASELINE`), applied to each epoch record
alone: its validation loss, else its training loss, against `baseline`, the loss of the naive guess on the
split the verdict judges (`ui.views.baseline_mse`). A gradient spike: ‖g‖ above `SPIKE` × the median ‖g‖
of the `SPIKE_WINDOW` steps before it (at least `SPIKE_MIN_BEFORE` of them). The decades a profile gains
or loses are `reach(grad_h[-1], cut).decades` (`measure/reach.py`: the top layer, over the part that
is not 0 — the number the caption under the gradient chart tells). A text with known memory (brackets) is
judged as its verdict judges it, by the closers right: "beats" is the first epoch it remembers the opener
(`below_baseline`, named so), "partial" is no baseline moment.

Pure: no torch, no Streamlit; the Playground's scrubber (`ui/scrub.py`), the HTML report and the
presenter's remote read the same moments. Leaves to others: the records (`train.py`), drawing a moment.
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Sequence
from dataclasses import dataclass
from itertools import pairwise

from rnn_core.measure.reach import reach
from rnn_core.measure.verdict import run_verdict
from rnn_core.nn.tasks import TASKS
from rnn_core.readable import readable

SPIKE = 10.0             # ‖g‖ this many times the median of the steps before it is a spike
SPIKE_WINDOW = 50        # steps before it whose median counts
SPIKE_MIN_BEFORE = 5     # steps needed before one can be called a spike
SIGMA_JUMP = 2.0         # σ_max growing this many times over one epoch is a jump

# Every kind of moment, in the order moments at the same step are listed. A kind is also what a link
# names (`?at=diverged`), so it never changes once released.
KINDS: dict[str, str] = {
    "start": "the network at initialisation, before any step",
    "reaches_baseline": "the first epoch whose loss is at the naive guess (within the verdict's ±10%)",
    "below_baseline": "the first epoch whose loss falls below the naive guess, from at or above it",
    "above_baseline": "the first epoch whose loss rises above the naive guess, from at or below it",
    "first_spike": f"the first step whose ‖g‖ is over {readable(SPIKE)}× the median of the steps before it",
    "first_clip": "the first step whose gradient was clipped",
    "max_grad_norm": "the step with the largest gradient norm ‖g‖",
    "sigma_jump": f"the epoch over which σ_max of a recurrent matrix grew most, when it grew {readable(SIGMA_JUMP)}× "
                  "or more",
    "grows_most": "the probe where ‖∂L/∂hₜ‖ grows most from the last timestep back to the first",
    "fades_most": "the probe where ‖∂L/∂hₜ‖ fades most from the last timestep back to the first",
    "best_val": "the epoch with the lowest validation loss, below the one at initialisation, when the run "
                "ends more than 10% above it",
    "diverged": "the step whose loss or gradient overflowed (its update refused)",
    "end": "the run's last step, completed or stopped",
}
# A moment's name, one short phrase ({} = the task's baseline in the verdict's words, e.g. "the constant guess")
NAMES: dict[str, str] = {
    "start": "initialisation", "reaches_baseline": "loss reaches {}", "below_baseline": "loss falls below {}",
    "above_baseline": "loss rises above {}", "first_spike": "first gradient spike", "first_clip": "first clipped step",
    "max_grad_norm": "largest gradient norm", "sigma_jump": "σ_max jumps", "grows_most": "gradient grows most",
    "fades_most": "gradient fades most", "best_val": "lowest validation loss", "diverged": "diverges",
    "end": "run {}",
}
_BASELINE_KIND = {"at_baseline": "reaches_baseline", "beats": "below_baseline", "worse": "above_baseline"}


@dataclass(frozen=True)
class Moment:
    kind: str          # a key of KINDS
    name: str          # one short phrase: "first clipped step", "loss rises above the constant guess"
    step: int          # its place on the timeline: optimiser steps taken (0 = initialisation)
    epoch: int         # the epoch that step belongs to
    record: str        # the record it points to: "step" (of `step`), "epoch" (of `epoch`) or "end"
    detail: str        # one sentence in numbers


@dataclass(frozen=True)
class Frame:
    """What each chart shows at one step of a run."""

    step: int                    # the step, on the timeline
    epoch: int                   # the epoch it belongs to (0 = initialisation)
    step_record: dict | None     # the latest step record at or before `step` (None at initialisation)
    epoch_record: dict | None    # the latest epoch record at or before it: losses, spectra, norms, text
    probe_record: dict | None    # the latest record with a probe at or before it: profile, gates
    end: dict | None             # the end record, when `step` is the run's last
    last: bool                   # whether `step` is the last one the records hold


# ----------------------------------------------------------------------------------------- moments
def key_moments(records: Sequence[dict], baseline: float | None = None, task: str = "forecast") -> list[Moment]:
    """The key moments of a run (any run: finished, stopped, diverged, paused or still training), sorted
    by step and, at one step, in the order of `KINDS`."""
    steps = [r for r in records if r.get("kind") == "step"]
    epochs = [r for r in records if r.get("kind") == "epoch"]
    end = next((r for r in reversed(records) if r.get("kind") == "end"), None)
    found = [*_start(epochs), *_baseline_moments(epochs, baseline, task), *_spike(steps), *_first_clip(steps),
             *_max_grad_norm(steps), *_sigma_jump(epochs), *_profile_moments(records), *_best_val(epochs), *_end(end)]
    order = list(KINDS)
    return sorted(found, key=lambda m: (m.step, order.index(m.kind)))


def _start(epochs: list[dict]) -> list[Moment]:
    first = next((r for r in epochs if r.get("epoch") == 0), None)
    if first is None:
        return []
    return [Moment("start", NAMES["start"], 0, 0, "epoch", "The network before its first optimiser step.")]


def _baseline_moments(epochs: list[dict], baseline: float | None, task: str) -> list[Moment]:
    """Where the verdict of one epoch's loss against the baseline changes: the first time of each kind."""
    out: dict[str, Moment] = {}
    before = None
    for rec in epochs:
        v = run_verdict([rec], None, baseline, task)
        if v is None:
            continue
        kind = _BASELINE_KIND.get(v.kind)
        if before is not None and kind is not None and v.kind != before and kind not in out:
            if (rec.get("text") or {}).get("memory_accuracy") is not None:     # judged by the closers right
                name, detail = "remembers the opener", f"After epoch {rec['epoch']} the run {v.text}."
            else:                                              # the verdict's text names the split
                baseline_name = TASKS[task].verdict_name if task in TASKS else "the baseline"
                name = NAMES[kind].format(baseline_name)
                detail = f"After epoch {rec['epoch']} the loss is {_as_clause(v.text)}."
            out[kind] = Moment(kind, name, int(rec["step"]), int(rec["epoch"]), "epoch", detail)
        before = v.kind
    return list(out.values())


def _as_clause(verdict_text: str) -> str:
    """A verdict's text after "the loss is": "beats the constant guess: loss 0.006 is …" → "below …"."""
    if verdict_text.startswith("beats "):
        return "below " + verdict_text[len("beats "):].split(":", 1)[0] + ":" + verdict_text.split(":", 1)[1]
    return verdict_text


def _spike(steps: list[dict]) -> list[Moment]:
    norms = [r.get("grad_norm") for r in steps]
    for i, rec in enumerate(steps):
        before = [g for g in norms[max(0, i - SPIKE_WINDOW):i] if g is not None and math.isfinite(g)]
        g = norms[i]
        if len(before) < SPIKE_MIN_BEFORE or g is None or not math.isfinite(g):
            continue
        median = statistics.median(before)
        if median > 0 and g > SPIKE * median:
            return [Moment("first_spike", NAMES["first_spike"], int(rec["step"]), int(rec["epoch"]), "step",
                           f"‖g‖ = {readable(g)}, {readable(g / median)}× the median of the {len(before)} "
                           "steps before it.")]
    return []


def _first_clip(steps: list[dict]) -> list[Moment]:
    clipped = [r for r in steps if r.get("clipped")]
    if not clipped:
        return []
    rec = clipped[0]
    return [Moment("first_clip", NAMES["first_clip"], int(rec["step"]), int(rec["epoch"]), "step",
                   f"‖g‖ = {readable(rec['grad_norm'])} before clipping; {len(clipped)} of the {len(steps)} "
                   "steps recorded were clipped.")]


def _max_grad_norm(steps: list[dict]) -> list[Moment]:
    finite = [r for r in steps if r.get("grad_norm") is not None and math.isfinite(r["grad_norm"])]
    if not finite:
        return []
    rec = max(finite, key=lambda r: r["grad_norm"])
    median = statistics.median(r["grad_norm"] for r in finite)
    times = f", {readable(rec['grad_norm'] / median)}× the run's median" if median > 0 else ""
    return [Moment("max_grad_norm", NAMES["max_grad_norm"], int(rec["step"]), int(rec["epoch"]), "step",
                   f"‖g‖ = {readable(rec['grad_norm'])}{times}.")]


def _sigma_jump(epochs: list[dict]) -> list[Moment]:
    """The epoch over which σ_max of some layer's recurrent matrix grew by the largest factor (≥ SIGMA_JUMP)."""
    best = None
    for before, rec in pairwise(epochs):
        for l, (a, b) in enumerate(zip(before.get("spectra") or [], rec.get("spectra") or [])):
            s0, s1 = a.get("sigma_max"), b.get("sigma_max")
            if s0 and s1 and math.isfinite(s0) and math.isfinite(s1) and s0 > 0 and s1 >= SIGMA_JUMP * s0 \
                    and (best is None or s1 / s0 > best[0]):
                best = (s1 / s0, l, s0, s1, before, rec)
    if best is None:
        return []
    _, l, s0, s1, before, rec = best
    layer = f" of layer {l + 1}" if len(rec["spectra"]) > 1 else ""
    return [Moment("sigma_jump", NAMES["sigma_jump"], int(rec["step"]), int(rec["epoch"]), "epoch",
                   f"σ_max{layer} goes from {readable(s0)} after epoch {before['epoch']} to {readable(s1)} after "
                   f"epoch {rec['epoch']}.")]


def _profile_moments(records: Sequence[dict]) -> list[Moment]:
    """The probes where the top layer's ‖∂L/∂hₜ‖ grows most and fades most back through time."""
    measured = [(d, r) for r in records if isinstance(r.get("probe"), dict)
                for d in [_decades(r["probe"])] if d is not None]
    out = []
    grows = [(d, r) for d, r in measured if d > 0]
    if grows:
        d, r = max(grows, key=lambda x: x[0])
        out.append(_profile_moment("grows_most", d, r))
    fades = [(d, r) for d, r in measured if d < 0]
    if fades:
        d, r = min(fades, key=lambda x: x[0])
        out.append(_profile_moment("fades_most", d, r))
    return out


def _decades(probe: dict) -> float | None:
    """The decades the top layer's ‖∂L/∂hₜ‖ gains (> 0) or loses (< 0) back through time, over the part that
    is not 0 (`reach`); None without a profile, with one timestep only, or with no gradient at the last one."""
    grad_h = probe.get("grad_h") or []
    found = reach(grad_h[-1], int(probe.get("cut") or 0)) if grad_h else None
    return found.decades if found else None


def _profile_moment(kind: str, decades: float, rec: dict) -> Moment:
    where = "at initialisation" if rec.get("step") == 0 else f"at step {rec['step']}"
    r = reach(rec["probe"]["grad_h"][-1], int(rec["probe"].get("cut") or 0))
    return Moment(kind, NAMES[kind], int(rec["step"]), int(rec.get("epoch", 0)), str(rec.get("kind", "epoch")),
                  f"‖∂L/∂hₜ‖ {r.phrase()}, {where}.")


def _best_val(epochs: list[dict], worse_by: float = 0.10) -> list[Moment]:
    """The lowest validation loss after training began, when it is below the one at initialisation and the
    last one is more than `worse_by` above it."""
    measured = [r for r in epochs if r.get("val_loss") is not None and math.isfinite(r["val_loss"])]
    trained = [r for r in measured if r.get("epoch", 0) > 0]
    if len(measured) < 2 or not trained:
        return []
    best = min(trained, key=lambda r: r["val_loss"])
    first, last = measured[0], measured[-1]
    # training made it better than it started, then clearly worse again
    if best is last or best["val_loss"] >= first["val_loss"] or last["val_loss"] <= (1 + worse_by) * best["val_loss"]:
        return []
    return [Moment("best_val", NAMES["best_val"], int(best["step"]), int(best["epoch"]), "epoch",
                   f"Validation loss {readable(best['val_loss'])} after epoch {best['epoch']}; it ends at "
                   f"{readable(last['val_loss'])}.")]


def _end(end: dict | None) -> list[Moment]:
    if end is None:
        return []
    status = end.get("status")
    kind = "diverged" if status == "diverged" else "end"
    return [Moment(kind, NAMES[kind].format(status), int(end.get("step", 0)), int(end.get("epoch", 0)), "end",
                   str(end.get("reason", "")))]


# ---------------------------------------------------------------------------------------- timeline
def timeline(records: Sequence[dict]) -> list[int]:
    """Every step the records hold (step, epoch, probe and end records), ascending, without repeats."""
    return sorted({int(r["step"]) for r in records if r.get("step") is not None})


def frame_at(records: Sequence[dict], step: int) -> Frame:
    """What the charts show at `step`: the latest records at or before it (a step between two recorded
    ones shows the earlier)."""
    steps = timeline(records)
    last = steps[-1] if steps else 0
    step = max(0, min(int(step), last))
    step_rec = epoch_rec = probe_rec = end = None
    for r in records:
        s = r.get("step")
        if s is None or s > step:
            continue
        kind = r.get("kind")
        if kind == "step" and (step_rec is None or s >= step_rec["step"]):
            step_rec = r
        elif kind == "epoch" and (epoch_rec is None or s >= epoch_rec["step"]):
            epoch_rec = r
        elif kind == "end":
            end = r
        if isinstance(r.get("probe"), dict) and (probe_rec is None or s >= probe_rec["step"]):
            probe_rec = r
    end = end if step == last else None
    # the epoch the step belongs to: the end's, else the step record's, else initialisation's (0)
    epoch = next(int(r["epoch"]) for r in (end, step_rec, epoch_rec, {"epoch": 0}) if r is not None)
    return Frame(step, epoch, step_rec, epoch_rec, probe_rec, end, step == last)


# ------------------------------------------------------------------------------------------- links
def parse_at(text: str) -> int | str:
    """A link's `at=` value: a step number ("56") or a moment's kind ("diverged"). Raises ValueError with
    the sentence to show otherwise."""
    text = str(text).strip()
    if text.isdigit():
        return int(text)
    if text in KINDS:
        return text
    raise ValueError(f"The link's moment '{text}' is neither a step number nor one of the key moments "
                     f"({', '.join(KINDS)}).")


def locate(at: int | str, moments: Sequence[Moment], steps: Sequence[int]) -> tuple[int, str | None]:
    """The step of the timeline `steps` that `at` (a step or a kind, `parse_at`) names, and a sentence
    when it names what this run does not have (then the run's last step)."""
    last = steps[-1] if steps else 0
    if isinstance(at, str):
        found = next((m for m in moments if m.kind == at), None)
        if found is None:
            return last, f"This run has no moment '{at}' ({KINDS.get(at, at)}): it is shown at its last step."
        return found.step, None
    if at > last:
        return last, f"This run has no step {at}: it ends at step {last}, shown here."
    return max((s for s in steps if s <= at), default=0), None


def next_moment(moments: Sequence[Moment], step: int, direction: int = 1) -> Moment | None:
    """The first key moment after `step` (direction −1: the last one before it), or None."""
    if direction >= 0:
        return next((m for m in moments if m.step > step), None)
    return next((m for m in reversed(moments) if m.step < step), None)
