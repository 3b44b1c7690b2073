"""How far back a gradient profile reaches, and why it stops: `reach(profile, cut)`.

A profile is one layer's ‖∂L/∂h_t‖ for t = 0 … T−1 (the probe's `grad_h[l]`, float64). Three different
things make it exactly 0 before some timestep, and a reader must not take one for another:

    cut off    truncated BPTT: training stops the gradient k steps back by design (t < cut)
    blocked    every path back passes a unit whose derivative is exactly 0 — a switched-off ReLU
               (ReLU′ = 0), or a tanh saturated to ±1 in float64 (1 − tanh² = 0): the gradient drops
               from an ordinary number straight to 0, nothing was lost gradually
    underflow  the gradient faded below the smallest number float64 holds (≈ 10⁻³⁰⁸) on the way

Decades are counted over the part that is not zero only: log10(‖∂L/∂h_first‖ / ‖∂L/∂h_{T−1}‖), where
`first` is the earliest timestep from which every later value is positive. > 0: the gradient grows back
through time; < 0: it fades.

Used by the caption under the Playground's gradient chart (`verdict.gradient_story`), the key moments,
the CLI's `gradients` and the Gradient Lab. Pure Python: no torch.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

from rnn_core.readable import fixed

# Float64's smallest normal number is 2.2 × 10⁻³⁰⁸ (subnormals reach 4.9 × 10⁻³²⁴). A gradient that fades
# into 0 passes through values near it; one whose last value before the zeros is above this was blocked.
UNDERFLOW_BELOW = 1e-290

ZERO_REASONS = {
    "cut off": "cut off by truncated BPTT (no gradient is sent further back)",
    "blocked": ("blocked: every path back passes a unit whose derivative is exactly 0 (a switched-off ReLU, "
                "or a tanh saturated at ±1)"),
    "underflow": "underflow: it faded below the smallest number float64 holds (≈ 10⁻³⁰⁸)",
}


def change_words(decades: float | None) -> str:
    """"gains 2.2 decades", "loses 19.7 decades": a profile's change in decades, in words."""
    if decades is None:
        return "has no gradient at the last timestep"
    return f"gains {fixed(decades, 1)} decades" if decades >= 0 else f"loses {fixed(-decades, 1)} decades"


@dataclass(frozen=True)
class Reach:
    """What one gradient profile does from the last timestep back to the first."""

    timesteps: int            # T
    first: int                # earliest t from which every later ‖∂L/∂h_t‖ is > 0
    decades: float | None     # log10(g[first] / g[T−1]): > 0 grows back through time, < 0 fades
    zeros: str | None         # why t < first gets exactly 0: None, "cut off", "blocked" or "underflow"
    cut: int = 0              # first timestep truncated BPTT reaches (0: full BPTT)

    def change(self) -> str:
        """"gains 2.2 decades", "loses 19.7 decades" (over the non-zero part)."""
        return change_words(self.decades)

    def span(self) -> str:
        """The change and the stretch it is measured over: "loses 19.7 decades from the last timestep back
        to the first", "… back to t = 11", "… over the last 5 timesteps" (truncated BPTT)."""
        if self.decades is None:
            return self.change()
        if self.first == 0:
            return f"{self.change()} from the last timestep back to the first"
        if self.zeros == "cut off":
            return f"{self.change()} over the last {self.timesteps - self.first} timesteps"
        return f"{self.change()} from the last timestep back to t = {self.first}"

    def zeros_clause(self) -> str:
        """"before t = 11 it is exactly 0 — blocked: …" for a profile blocked or underflowed on the way
        ("" when nothing is 0, or only what truncated BPTT cut off)."""
        if self.zeros in (None, "cut off"):
            return ""
        return f"before t = {self.first} it is exactly 0 — {ZERO_REASONS[self.zeros]}"

    def phrase(self) -> str:
        """`span` and `zeros_clause` in one: what the profile does, and why the rest of it is 0."""
        clause = self.zeros_clause()
        return f"{self.span()}; {clause}" if clause else self.span()


def reach(profile: Sequence[float] | None, cut: int = 0) -> Reach | None:
    """The `Reach` of one profile (None when it is empty, too short or not finite at the last step)."""
    g = list(profile or [])
    T = len(g)
    if T < 2 or not _finite(g[-1]) or any(not _finite(v) for v in g):
        return None
    cut = max(0, min(int(cut or 0), T - 1))
    if g[-1] <= 0:
        return Reach(T, T - 1, None, None, cut)
    first = T - 1
    while first > 0 and g[first - 1] > 0:
        first -= 1
    decades = math.log10(g[first]) - math.log10(g[-1])
    if first == 0:
        zeros = None
    elif first <= cut:
        zeros = "cut off"
    else:
        zeros = "underflow" if g[first] < UNDERFLOW_BELOW else "blocked"
    return Reach(T, first, decades, zeros, cut)


def _finite(v) -> bool:
    return v is not None and isinstance(v, (int, float)) and math.isfinite(v)
