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

    "at the constant guess (loss 0.045 = baseline)"
    "36% worse than tomorrow = today (loss 0.061, baseline 0.045)", "4.2× worse than …" past double
    "beats the constant guess: loss 0.0061 is 86% below the baseline 0.045"
    "beats the constant guess: loss 0.000202 is 222× smaller than the baseline 0.0448"   (below a tenth)
    "diverged at step 15: lower the learning rate or clip"

Leaves to others: measuring the baseline (`ui.views` / `rnn_core.data.windows`), drawing it (`ui.views`).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

from rnn_core.nn.tasks import TASKS
from rnn_core.readable import fixed, percent, readable

AT_BASELINE = 0.10        # a loss within ±10 % of the baseline is "at" it: nothing useful learned


def judge(ratio: float) -> str:
    """The one rule every front end judges an error against a baseline by (error ÷ the baseline's error):
    "beats" below 1 − AT_BASELINE, "worse" above 1 + AT_BASELINE, "at_baseline" in between, edges included
    (1.1 is at the baseline, though 1.1 − 1 is 0.10000000000000009 in floating point)."""
    if round(abs(ratio - 1.0), 12) <= AT_BASELINE:
        return "at_baseline"
    return "worse" if ratio > 1.0 else "beats"


@dataclass(frozen=True)
class Verdict:
    kind: str             # "diverged" | "at_baseline" | "worse" | "beats"
    text: str             # one line, words and numbers
    ratio: float | None   # loss ÷ baseline (None when diverged)
    loss: float | None = None   # the loss judged (None when diverged)


def _latest_loss(epochs: Sequence[dict]) -> float | None:
    """The last epoch's validation loss, else its training loss (None before the first epoch)."""
    for rec in reversed(epochs):
        for name in ("val_loss", "train_loss"):
            v = rec.get(name)
            if v is not None and math.isfinite(v):
                return float(v)
    return None


def run_verdict(epochs: Sequence[dict], end: dict | None, baseline: float | None, task: str = "forecast",
                clip: str = "off", loss: float | None = None) -> Verdict | None:
    """The verdict of a run so far (None when there is nothing to judge yet). `loss`: the loss to judge
    when it is known better than the records say (a finished run without validation windows: its
    training loss at the final weights); else the last epoch's validation loss, or its training loss."""
    if end is not None and end.get("status") == "diverged":
        fix = "lower the learning rate or clip" if clip == "off" else "lower the learning rate"
        # "refused": the progress line beside it stops one step earlier, at the last update applied
        return Verdict("diverged", f"diverged at step {end.get('step', '?')} (its update refused): {fix}", None)
    loss = _latest_loss(epochs) if loss is None or not math.isfinite(loss) else loss
    if loss is None or baseline is None or not math.isfinite(baseline) or baseline <= 0:
        return None
    name = TASKS[task].verdict_name if task in TASKS else "the baseline"
    ratio = loss / baseline
    kind = judge(ratio)
    if kind == "at_baseline":
        sign = "=" if abs(ratio - 1.0) < 0.005 else "≈"
        return Verdict("at_baseline", f"at {name} (loss {readable(loss)} {sign} baseline {readable(baseline)})",
                       ratio, loss)
    if kind == "worse":
        how = percent(ratio - 1) if ratio < 2.0 else f"{readable(ratio)}×"     # "36% worse", "4.2× worse"
        return Verdict("worse", f"{how} worse than {name} (loss {readable(loss)}, baseline {readable(baseline)})",
                       ratio, loss)
    # "86% below"; from ten times smaller on, "222× smaller", "1,060× smaller" (a percentage would read
    # "100% below": zero)
    how = f"{percent(1 - ratio)} below" if ratio >= 0.1 else f"{readable(1 / ratio)}× smaller than"
    return Verdict("beats", f"beats {name}: loss {readable(loss)} is {how} the baseline {readable(baseline)}",
                   ratio, loss)


def _decades(grad_h: Sequence[Sequence[float]], start: int = 0) -> float | None:
    """log10(‖∂L/∂h_start‖ / ‖∂L/∂h_T‖) of the top layer: > 0 grows back through time, < 0 fades,
    −inf when it underflowed to 0 on the way. `start`: the first timestep truncated BPTT reaches."""
    g = grad_h[-1][start:] if grad_h else []
    if len(g) < 2 or not (math.isfinite(g[0]) and math.isfinite(g[-1])) or g[-1] <= 0 or g[0] < 0:
        return None
    return -math.inf if g[0] == 0 else math.log10(g[0]) - math.log10(g[-1])


def _change(decades: float) -> str:
    if decades == -math.inf:
        return "falls all the way to 0 (below what float64 holds)"
    return f"gains {fixed(decades, 1)} decades" if decades >= 0 else f"loses {fixed(-decades, 1)} decades"


def profile_decades(probe: dict | None) -> float | None:
    """How many decades ‖∂L/∂hₜ‖ of the top layer gains (> 0) or loses (< 0) from the last timestep back
    to the first one that gets a gradient (`probe["cut"]`): the number `gradient_story` tells; None
    where it cannot be told (no profile, a zero or non-finite last value)."""
    if not probe:
        return None
    return _decades(probe.get("grad_h") or [], int(probe.get("cut") or 0))


def decades_phrase(decades: float) -> str:
    """`profile_decades` in the words `gradient_story` uses: "gains 2.2 decades", "loses 19.7 decades"."""
    return _change(decades)


def gradient_story(first: tuple[int, dict] | None, latest: tuple[int, dict] | None, end: dict | None) -> str:
    """One or two sentences under the gradient-through-time chart (empty when there is no profile):
    (epoch, probe) of the first profile (initialisation) and of the latest one, the run's end record."""
    if latest is None:
        return ""
    epoch, probe = latest
    cut = int(probe.get("cut") or 0)              # truncated BPTT: no gradient before t = cut, by design
    now = _decades(probe.get("grad_h") or [], cut)
    if now is None:
        return ""
    when = "at initialisation" if epoch == 0 else f"at epoch {epoch}"
    which = " of the top layer" if len(probe["grad_h"]) > 1 else ""
    if cut > 0:
        kept = len(probe["grad_h"][-1]) - cut
        text = (f"Truncated BPTT: only the last {kept} timesteps get a gradient (before t = {cut} it is "
                f"exactly 0: cut off, not vanished). Over those {kept}, ‖∂L/∂hₜ‖{which} {_change(now)} {when}")
    else:
        text = f"From the last timestep back to the first, ‖∂L/∂hₜ‖{which} {_change(now)} {when}"
    start = _decades(first[1].get("grad_h") or [], int(first[1].get("cut") or 0)) \
        if first is not None and first[0] != epoch else None
    text += f" (at initialisation it {_change(start)})." if start is not None else "."
    if end is not None and end.get("status") == "diverged":
        text += (f" The run diverged at step {end.get('step', '?')}: the solid line is the last profile "
                 "before that, at the weights the runaway steps left.")
        sigma = (probe.get("sigma_max") or [None])[-1]
        if sigma is not None and math.isfinite(sigma):
            rate = sigma * probe.get("gamma", 1.0)
            text += f" There σ_max·γ = {readable(rate)}."
    return text
