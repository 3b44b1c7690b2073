"""A run's verdict in one line of words and numbers, for the back row of a lecture hall.

    judge(ratio) -> "beats" | "at_baseline" | "worse"      the one rule: error ÷ baseline error, ±AT_BASELINE
    run_verdict(epochs, end, baseline, task, clip="off") -> Verdict | None
    gradient_story(first, latest, end) -> str
        what the gradient-through-time chart shows, in numbers: how many decades ‖∂L/∂hₜ‖ gains or
        loses from the last timestep back to the first at initialisation and now, and which weights
        the solid line was measured at when the run diverged
    profile_decades(probe) -> float | None;  decades_phrase(decades) -> str
        that count of decades for one probe, and its words (the key moments use them: `measure/moments.py`)

Pure function of the plain records `train.py` yields (epoch records, the end record) and the baseline
MSE in the loss's units (`ui.views.baseline_mse`): the constant guess for sequence tasks, persistence
("tomorrow = today") for forecasts. Examples of `Verdict.text`:

    "at the constant guess (validation loss 0.045 = baseline 0.045)"
    "36% worse than tomorrow = today (validation loss 0.061, baseline 0.045)", "4.2× worse than …"
    "beats the constant guess: validation loss 0.0061 is 86% below the baseline 0.045"
    "beats the constant guess: validation loss 0.000202 is 222× smaller than the baseline 0.0448"
    "diverged at step 15: lower the learning rate or clip"
The baseline is the naive guess on the same split as the loss it is compared with (`windows.naive_loss`).

Leaves to others: measuring the baseline (`ui.views` / `rnn_core.data.windows`), drawing it (`ui.views`).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

from rnn_core.measure.reach import Reach, change_words, reach
from rnn_core.nn.tasks import TASKS
from rnn_core.readable import percent, readable

AT_BASELINE = 0.10        # a loss within ±10 % of the baseline is "at" it: nothing useful learned
REMEMBERS = 0.90          # a memory task (brackets) is remembered from 90 % of its closers right on


def judge(ratio: float) -> str:
    """The one rule every front end judges an error against a baseline by (error ÷ the baseline's error):
    "beats" below 1 − AT_BASELINE, "worse" above 1 + AT_BASELINE, "at_baseline" in between, edges included
    (1.1 is at the baseline, though 1.1 − 1 is 0.10000000000000009 in floating point)."""
    if round(abs(ratio - 1.0), 12) <= AT_BASELINE:
        return "at_baseline"
    return "worse" if ratio > 1.0 else "beats"


@dataclass(frozen=True)
class Verdict:
    kind: str             # "diverged" | "at_baseline" | "worse" | "beats" | "partial" (a memory task half done)
    text: str             # one line, words and numbers
    ratio: float | None   # loss ÷ baseline (None when diverged)
    loss: float | None = None   # the loss judged (None when diverged)


def _latest_loss(epochs: Sequence[dict]) -> tuple[float, str] | None:
    """(the last epoch's validation loss, "validation"), else (its training loss, "training"); None before
    the first epoch."""
    for rec in reversed(epochs):
        for name, split in (("val_loss", "validation"), ("train_loss", "training")):
            v = rec.get(name)
            if v is not None and math.isfinite(v):
                return float(v), split
    return None


def run_verdict(epochs: Sequence[dict], end: dict | None, baseline: float | None, task: str = "forecast",
                clip: str = "off", loss: float | None = None, split: str = "training") -> Verdict | None:
    """The verdict of a run so far (None when there is nothing to judge yet). `baseline`: the naive
    guess's loss on the split the judged loss comes from (`windows.naive_loss`: validation when there is
    one). `loss`: the loss to judge when it is known better than the records say (a finished run without
    validation windows: its training loss at the final weights), from the split `split` names; else the
    last epoch's validation loss, or its training loss. The text names the split."""
    if end is not None and end.get("status") == "diverged":
        fix = "lower the learning rate or clip" if clip == "off" else "lower the learning rate"
        # "refused": the progress line beside it stops one step earlier, at the last update applied
        return Verdict("diverged", f"diverged at step {end.get('step', '?')} (its update refused): {fix}", None)
    memory = _memory_verdict(epochs) if task == "text" else None
    if memory is not None:
        return memory
    judged = (loss, split) if loss is not None and math.isfinite(loss) else _latest_loss(epochs)
    if judged is None or baseline is None or not math.isfinite(baseline) or baseline <= 0:
        return None
    loss, split = judged
    name = TASKS[task].verdict_name if task in TASKS else "the baseline"
    ratio = loss / baseline
    what = f"{split} loss {readable(loss)}"
    kind = judge(ratio)
    if kind == "at_baseline":
        sign = "=" if abs(ratio - 1.0) < 0.005 else "≈"
        return Verdict("at_baseline", f"at {name} ({what} {sign} baseline {readable(baseline)})", ratio, loss)
    if kind == "worse":
        how = percent(ratio - 1) if ratio < 2.0 else f"{readable(ratio)}×"     # "36% worse", "4.2× worse"
        return Verdict("worse", f"{how} worse than {name} ({what}, baseline {readable(baseline)})", ratio, loss)
    # "86% below"; from ten times smaller on, "222× smaller", "1,060× smaller" (a percentage would read
    # "100% below": zero)
    how = f"{percent(1 - ratio)} below" if ratio >= 0.1 else f"{readable(1 / ratio)}× smaller than"
    return Verdict("beats", f"beats {name}: {what} is {how} the baseline {readable(baseline)}", ratio, loss)


def _memory_verdict(epochs: Sequence[dict]) -> Verdict | None:
    """A text with known memory (brackets) is judged by what the task measures, not by bits per
    character: the closers right on the validation windows (the epoch record's text
    "memory_accuracy"), against a guess among the closers (1/3) and remembering (1)."""
    last = next((r for r in reversed(epochs) if (r.get("text") or {}).get("memory_accuracy") is not None), None)
    if last is None:
        return None
    score = float(last["text"]["memory_accuracy"])
    guess = 1.0 / 3.0                                         # one of the three closers ) ] }
    ratio = (1.0 - score) / (1.0 - guess)                     # errors ÷ a guess's errors
    if score >= REMEMBERS:          # the one rule above judges errors against a baseline; this one a score
        return Verdict("beats", f"remembers the opener: {percent(score)} of the closers right on validation "
                                f"(a guess gets {percent(guess)})", ratio, score)
    return Verdict("partial", f"remembers the opener only {percent(score)} of the time (closers right on "
                              f"validation; a guess gets {percent(guess)}, memory 100%)", ratio, score)


def _reach(probe: dict) -> Reach | None:
    """The top layer's `reach` (where truncated BPTT cuts it off: from `probe["cut"]` on)."""
    grad_h = probe.get("grad_h") or []
    return reach(grad_h[-1], int(probe.get("cut") or 0)) if grad_h else None


def profile_decades(probe: dict | None) -> float | None:
    """How many decades ‖∂L/∂hₜ‖ of the top layer gains (> 0) or loses (< 0) from the last timestep back
    to the first one that gets a gradient (`probe["cut"]`): the number `gradient_story` tells; None
    where it cannot be told (no profile, a zero or non-finite last value)."""
    r = _reach(probe) if probe else None
    return r.decades if r is not None else None


def decades_phrase(decades: float) -> str:
    """`profile_decades` in the words `gradient_story` uses: "gains 2.2 decades", "loses 19.7 decades"."""
    return change_words(decades)


def gradient_story(first: tuple[int, dict] | None, latest: tuple[int, dict] | None, end: dict | None) -> str:
    """One or two sentences under the gradient-through-time chart (empty when there is no profile):
    (epoch, probe) of the first profile (initialisation) and of the latest one, the run's end record.
    Decades are counted over the part of the profile that is not 0, and an exact 0 says why it is 0
    (cut off, blocked or underflow: `reach.py`)."""
    if latest is None:
        return ""
    epoch, probe = latest
    now = _reach(probe)
    if now is None or now.decades is None:
        return ""
    when = "At initialisation" if epoch == 0 else f"At epoch {epoch}"
    which = " of the top layer" if len(probe["grad_h"]) > 1 else ""
    text = ""
    if now.cut > 0:
        kept = now.timesteps - now.cut
        text = (f"Truncated BPTT: only the last {kept} timesteps get a gradient (before t = {now.cut} it is "
                f"exactly 0: cut off, not vanished). ")
    text += f"{when}, ‖∂L/∂hₜ‖{which} {now.span()}"
    start = _reach(first[1]) if first is not None and first[0] != epoch else None
    if start is not None and start.decades is not None:
        back = f" back to t = {start.first}" if start.first > start.cut else ""
        text += f" (at initialisation it {start.change()}{back})"
    clause = now.zeros_clause()
    text += f"; {clause}." if clause else "."
    if end is not None and end.get("status") == "diverged":
        text += " " + _diverged_note(epoch, probe, end)
    return text


def _diverged_note(epoch: int, probe: dict, end: dict) -> str:
    """Which weights the solid line was measured at, when the run diverged after it."""
    step = end.get("step", "?")
    if epoch == 0:
        return (f"The run diverged at step {step}, before its next probe: the solid line is the profile at "
                "initialisation, the weights the first step's gradient was computed at.")
    text = (f"The run diverged at step {step}: the solid line is the last profile before that, at the "
            "weights the runaway steps left.")
    sigma = (probe.get("sigma_max") or [None])[-1]
    if sigma is not None and math.isfinite(sigma):
        rate = sigma * probe.get("gamma", 1.0)
        text += f" There σ_max·γ = {readable(rate)}."
    return text
