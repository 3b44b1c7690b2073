"""A run's verdict in one line of words and numbers, for the back row of a lecture hall.

    run_verdict(epochs, end, baseline, task, clip="off") -> Verdict | None

Pure function of the plain records `train.py` yields (epoch records, the end record) and the baseline
MSE in the loss's units (`ui.views.baseline_mse`): the constant guess for sequence tasks, persistence
("tomorrow = today") for forecasts. Examples of `Verdict.text`:

    "at the constant guess (loss 0.045 = baseline)"
    "36% worse than tomorrow = today (loss 0.061, baseline 0.045)", "4.2× worse than …" past double
    "beats the constant guess: loss 0.0061 is 86% below the baseline 0.045"
    "beats the constant guess: loss 0.000202 is 222× smaller than the baseline 0.0448"   (below a tenth)
    "diverged at step 15: lower the learning rate or clip"

Leaves to others: measuring the baseline (`ui.views` / `rnn_core.windows`), drawing it (`ui.views`).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

AT_BASELINE = 0.10        # a loss within ±10 % of the baseline is "at" it: nothing useful learned
BASELINE_NAME = {"sequence": "the constant guess", "forecast": "tomorrow = today"}


@dataclass(frozen=True)
class Verdict:
    kind: str             # "diverged" | "at_baseline" | "worse" | "beats"
    text: str             # one line, words and numbers
    ratio: float | None   # loss ÷ baseline (None when diverged)


def _latest_loss(epochs: Sequence[dict]) -> float | None:
    """The last epoch's validation loss, else its training loss (None before the first epoch)."""
    for rec in reversed(epochs):
        for name in ("val_loss", "train_loss"):
            v = rec.get(name)
            if v is not None and math.isfinite(v):
                return float(v)
    return None


def run_verdict(epochs: Sequence[dict], end: dict | None, baseline: float | None, task: str = "forecast",
                clip: str = "off") -> Verdict | None:
    """The verdict of a run so far (None when there is nothing to judge yet)."""
    if end is not None and end.get("status") == "diverged":
        fix = "lower the learning rate or clip" if clip == "off" else "lower the learning rate"
        return Verdict("diverged", f"diverged at step {end.get('step', '?')}: {fix}", None)
    loss = _latest_loss(epochs)
    if loss is None or baseline is None or not math.isfinite(baseline) or baseline <= 0:
        return None
    name = BASELINE_NAME.get(task, "the baseline")
    ratio = loss / baseline
    if abs(ratio - 1.0) <= AT_BASELINE:
        sign = "=" if abs(ratio - 1.0) < 0.005 else "≈"
        return Verdict("at_baseline", f"at {name} (loss {loss:.3g} {sign} baseline {baseline:.3g})", ratio)
    if ratio > 1.0:
        how = f"{(ratio - 1) * 100:.0f}%" if ratio < 2.0 else f"{ratio:.3g}×"     # "36% worse", "4.2× worse"
        return Verdict("worse", f"{how} worse than {name} (loss {loss:.3g}, baseline {baseline:.3g})", ratio)
    # "86% below"; from ten times smaller on, "222× smaller" (a percentage would read "100% below": zero)
    how = f"{(1 - ratio) * 100:.0f}% below" if ratio >= 0.1 else f"{1 / ratio:.3g}× smaller than"
    return Verdict("beats", f"beats {name}: loss {loss:.3g} is {how} the baseline {baseline:.3g}", ratio)
