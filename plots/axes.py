"""Axes that read well: a log axis labelled at powers of ten only, and a loose reference line kept from
flattening the measured ones.

    decade_ticks(fig)              label a log y axis at 10ⁿ only (1, 2, 5, 10, … decades apart)
    relog(fig)                     label it again after traces were added (bands, another probe)
    keep_measured_readable(fig)    the y axis shows the measured lines and ≤ 4 decades more
    decade_axis(lo_hi), measured_axis(traces)   the same two rules as y-axis settings (dicts), for
                                   figures built as one dict (`plots/spec.py`)
    log10_range(traces), nice_step(span)
Leaves to others: the look (`plots/style.py`), the traces (the builders).
"""

from __future__ import annotations

import itertools
import math

import numpy as np
import plotly.graph_objects as go

THEORY_SPARE_DECADES = 4.0  # powers of ten a theory line may stretch the log axis beyond the measured lines
REFERENCE_LINES = ("theory", "gate path")   # trace names that are references, not measured gradients


def decade_ticks(fig: go.Figure, max_labels: int = 8) -> go.Figure:
    """Label a log y axis at powers of ten only — never Plotly's crowded "2" and "5" between them —
    every 1, 2, 5, 10, 20, … decades so that at most about `max_labels` labels show. Values spanning
    less than two powers of ten would get one label or none: the axis then widens to the powers of ten
    around them."""
    axis = decade_axis(log10_range(list(fig.data) + _hline_traces(fig)), max_labels)
    if axis:
        fig.update_yaxes(**axis)
    return fig


def decade_axis(lo_hi: tuple[float, float] | None, max_labels: int = 8) -> dict | None:
    """`decade_ticks`' y-axis settings for values spanning 10^lo … 10^hi (None: no values, nothing to set)."""
    if lo_hi is None:
        return None
    lo, hi = lo_hi
    if math.floor(hi) - math.ceil(lo) >= 1:                    # two powers of ten or more inside
        return {"tick0": 0, "dtick": nice_step(hi - lo, max_labels)}     # 1, 2, 5, 10, 20, … decades
    a, b = math.floor(lo), max(math.ceil(hi), math.floor(lo) + 1)
    return {"tick0": 0, "dtick": 1, "range": [a - 0.05, b + 0.05]}      # range in log10 units


def relog(fig: go.Figure) -> go.Figure:
    """After traces were added to a log-y figure (bands, another probe): label it again from scratch —
    decades only (`decade_ticks`), and a loose theory line kept from flattening the measured ones."""
    fig.update_yaxes(range=None, dtick=None)
    decade_ticks(fig)
    keep_measured_readable(fig)
    return fig


def keep_measured_readable(fig: go.Figure, spare_decades: float = THEORY_SPARE_DECADES) -> None:
    """A loose bound (σ_max·γ = 2.2 gives 10³⁰ over 100 steps) must not flatten the measured lines:
    the log y axis shows the measured range and at most `spare_decades` more on either side; the
    reference lines (bound, gate path) run off the chart beyond that."""
    axis = measured_axis(fig.data, spare_decades)
    if axis:
        fig.update_yaxes(**axis)


def measured_axis(traces, spare_decades: float = THEORY_SPARE_DECADES) -> dict | None:
    """`keep_measured_readable`'s y-axis settings for these traces (None: nothing to change)."""
    measured = [t for t in traces if not (_field(t, "name") or "").startswith(REFERENCE_LINES)]
    lo_hi = log10_range(measured)
    everything = log10_range(traces)
    if lo_hi is None or everything is None:
        return None
    lo, hi = max(everything[0], lo_hi[0] - spare_decades), min(everything[1], lo_hi[1] + spare_decades)
    if (lo, hi) == everything:
        return None
    return {"range": [lo - 0.2, hi + 0.2], "dtick": max(1, math.ceil((hi - lo) / 8))}


def _field(trace, name: str):
    """A property of a trace, whether a Plotly trace object or a plain dict."""
    return trace.get(name) if isinstance(trace, dict) else getattr(trace, name, None)


def log10_range(traces) -> tuple[float, float] | None:
    """(log10 min, log10 max) of the traces' positive finite y values, or None when there are none
    (traces: Plotly trace objects or dicts)."""
    ys = [np.asarray(_field(t, "y"), dtype=float) for t in traces if _field(t, "y") is not None]
    ys = [y[np.isfinite(y) & (y > 0)] for y in ys]
    ys = [y for y in ys if y.size]
    if not ys:
        return None
    return float(np.log10(min(y.min() for y in ys))), float(np.log10(max(y.max() for y in ys)))


def _hline_traces(fig: go.Figure) -> list:
    """Horizontal lines (`add_hline`, e.g. a baseline) as stand-in traces, so they count in the range."""
    ys = [sh.y0 for sh in fig.layout.shapes or () if sh.yref == "y" and sh.y0 is not None and sh.y0 == sh.y1]
    return [go.Scatter(y=[float(y) for y in ys])] if ys else []


def nice_step(span: float, max_labels: int = 8) -> int:
    """The smallest of 1, 2, 5, 10, 20, 50, … that puts at most about `max_labels` labels on `span`."""
    for k in itertools.count():
        for m in (1, 2, 5):
            if m * 10**k * max_labels >= span:
                return m * 10**k
    raise AssertionError("unreachable")

