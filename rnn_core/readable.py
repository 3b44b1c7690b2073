"""Numbers as a lecturer writes them on a slide, not as Python prints them: 1,060 (not 1.06e+03),
9.8 × 10⁴ (not 9.77e+04), 1.6 × 10⁻¹⁰ (not 1.6e-10). The one place every sentence, table, label and
command-line line gets its numbers from; a minus sign is "−", not "-".

    power_of_ten(k) -> "10⁻³"
    times_ten(x, digits=2) -> "1.6 × 10⁻¹⁰"       always in powers of ten
    readable(x, digits=3) -> str                   plain from 10⁻⁴ to below 10⁶ ("0.0448", "1,060"),
                                                   in powers of ten outside ("9.3 × 10⁻⁶")
    fixed(x, places=3) -> "2.104"                  a fixed number of decimals, for numbers read side by side
                                                   (bits per character, σ_max·γ, decades); powers of ten
                                                   outside the plain range
    signed(x, places=3) -> "+0.287"                the same with its sign (a skill score)
    percent(fraction, places=0) -> "36%"           0.36 → "36%"
    count(n) -> "1,234"                            a whole number
    seconds(s) -> "0.4 s", "12 s"                  a duration
    megabytes(n_bytes) -> "1.5 MB"

Charts and tables drawn in the browser format their own hover and column numbers; their format strings
are here too: `D3` (Plotly's hovertemplate, d3-format) and `COLUMN` (Streamlit's NumberColumn, printf).
"""

from __future__ import annotations

import math
import numbers

SUPERSCRIPT = str.maketrans("-0123456789", "⁻⁰¹²³⁴⁵⁶⁷⁸⁹")
PLAIN_BELOW = 1e6        # from here on, powers of ten: 1,234,567 is harder to read than 1.2 × 10⁶
PLAIN_FROM = 1e-4        # below this, powers of ten: 0.0000093 hides its exponent in its zeros

# The browser's number formats: Plotly hovertemplates (d3-format) and Streamlit table columns (printf).
D3 = {"value": ".4~g",      # a loss, a norm: 4 significant digits, no trailing zeros
      "ratio": ".2f",       # σ_max·γ, an exponent of ten: 2 decimals
      "tiny": ".2e"}        # a gradient that spans many decades
COLUMN = {"fixed": "%.3f",  # bits per character, a loss ratio: 3 decimals, read side by side
          "value": "%.4g",  # a dataset's values, a parameter typed in
          "input": "%g"}    # a learning rate or a threshold typed in: as many digits as it has


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
    separated: "1,060", "0.0448"), else in powers of ten ("9.3 × 10⁻⁶", "1.2 × 10⁸"). A whole number
    (an int) below 10⁶ is written exactly: a range's 1,024 is not 1,020."""
    if isinstance(x, numbers.Integral) and not isinstance(x, bool) and abs(x) < PLAIN_BELOW:
        return count(x)
    if x == 0 or not math.isfinite(x):
        return _minus(f"{x:g}")
    size = abs(x)
    if not PLAIN_FROM <= size < PLAIN_BELOW:
        return times_ten(x, digits)
    if size >= 10 ** digits:                           # more integer digits than significant ones
        return _minus(f"{round(x, -math.floor(math.log10(size)) + digits - 1):,.0f}")
    return _minus(f"{x:.{digits}g}")


def fixed(x: float, places: int = 3) -> str:
    """x with `places` decimals ("2.104", "0.800"), for numbers a reader compares digit by digit; in
    powers of ten where plain would not read ("−1.81 × 10¹⁸", not −1809553615734506708.000)."""
    if not math.isfinite(x) or (x != 0 and not PLAIN_FROM <= abs(x) < PLAIN_BELOW):
        return readable(x)
    return _minus(f"{x:,.{places}f}")


def signed(x: float, places: int = 3) -> str:
    """`fixed` with its sign always written: "+0.287", "−0.120"."""
    text = fixed(x, places)
    return text if text.startswith(("−", "+")) or not math.isfinite(x) else "+" + text


def percent(fraction: float, places: int = 0) -> str:
    """A fraction as a percentage: 0.36 → "36%", 0.5123 with places=1 → "51.2%"."""
    return fixed(100 * fraction, places) + "%" if math.isfinite(fraction) else readable(fraction)


def count(n: int) -> str:
    """A whole number, thousands separated: 1234 → "1,234"."""
    return _minus(f"{int(n):,}")


def seconds(s: float) -> str:
    """A duration: "0.4 s" below ten seconds, "12 s" from there."""
    return f"{fixed(s, 1)} s" if s < 10 else f"{count(round(s))} s"


def megabytes(n_bytes: float) -> str:
    """A size in megabytes (10⁶ bytes): "1.5 MB", "200 MB"."""
    return f"{readable(n_bytes / 1e6, 2 if n_bytes < 1e7 else 3)} MB"


def _minus(text: str) -> str:
    return text.replace("-", "−")
