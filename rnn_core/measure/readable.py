"""Numbers as a lecturer writes them on a slide, not as Python prints them: 1,060 (not 1.06e+03),
9.8 × 10⁴ (not 9.77e+04), 1.6 × 10⁻¹⁰ (not 1.6e-10). One place for every sentence, table and label.

    power_of_ten(k) -> "10⁻³"
    times_ten(x, digits=2) -> "1.6 × 10⁻¹⁰"       always in powers of ten
    readable(x, digits=3) -> str                   plain from 10⁻⁴ to below 10⁶ ("0.0448", "1,060"),
                                                   in powers of ten outside ("9.3 × 10⁻⁶")
"""

from __future__ import annotations

import math

SUPERSCRIPT = str.maketrans("-0123456789", "⁻⁰¹²³⁴⁵⁶⁷⁸⁹")
PLAIN_BELOW = 1e6        # from here on, powers of ten: 1,234,567 is harder to read than 1.2 × 10⁶
PLAIN_FROM = 1e-4        # below this, powers of ten: 0.0000093 hides its exponent in its zeros


def power_of_ten(k: int) -> str:
    """10 to the integer power k, with a superscript exponent: -3 → "10⁻³"."""
    return "10" + str(int(k)).translate(SUPERSCRIPT)


def times_ten(x: float, digits: int = 2) -> str:
    """x as m × 10ᵏ with `digits` significant digits: 1.6e-10 → "1.6 × 10⁻¹⁰", -1.8e18 → "−1.8 × 10¹⁸"."""
    if x == 0 or not math.isfinite(x):
        return _minus(f"{x:g}")
    mantissa, exponent = f"{x:.{max(1, digits) - 1}e}".split("e")
    if int(exponent) == 0:
        return _minus(mantissa)
    return _minus(f"{float(mantissa):.{max(1, digits)}g} × {power_of_ten(int(exponent))}")


def readable(x: float, digits: int = 3) -> str:
    """x with `digits` significant digits, plain where plain reads well (10⁻⁴ ≤ |x| < 10⁶, thousands
    separated: "1,060", "0.0448"), else in powers of ten ("9.3 × 10⁻⁶", "1.2 × 10⁸")."""
    if x == 0 or not math.isfinite(x):
        return _minus(f"{x:g}")
    size = abs(x)
    if not PLAIN_FROM <= size < PLAIN_BELOW:
        return times_ten(x, digits)
    if size >= 10 ** digits:                           # more integer digits than significant ones
        return _minus(f"{round(x, -math.floor(math.log10(size)) + digits - 1):,.0f}")
    return _minus(f"{x:.{digits}g}")


def _minus(text: str) -> str:
    return text.replace("-", "−")
