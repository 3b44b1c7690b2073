"""One moment of a run marked on its charts: where the scrubber (`ui/scrub.py`) stands.

    mark_x(fig, x, label)         a vertical line at x with its label inside the plot's top edge: the
                                  optimiser step on the loss and gradient-norm charts, the epoch on the
                                  per-parameter norm and σ_max charts
    mark_row(fig, y, rows, label) a frame around one row of a heatmap (the epoch of the probe shown)
Each returns the figure it was given (a copy made by the caller, where the unmarked one is kept).
Leaves to others: which moment (`rnn_core/measure/moments.py`), the charts themselves (`series`, `gradients`).
"""

from __future__ import annotations

from collections.abc import Sequence
from itertools import pairwise

import plotly.graph_objects as go

from plots.style import COLORS, drawn

MOMENT = COLORS["moment"]


def mark_x(fig: go.Figure, x: float, label: str = "") -> go.Figure:
    """A vertical line at `x` across the plot, labelled at its top (inside the plot: no title or legend
    is covered)."""
    if not drawn(fig):
        return fig
    fig.add_vline(x=x, line={"color": MOMENT, "width": 2, "dash": "dot"})
    if label:
        fig.add_annotation(x=x, y=1.0, xref="x", yref="paper", yanchor="top", xanchor="left", text=label,
                           showarrow=False, font={"color": MOMENT, "size": 12},
                           bgcolor="rgba(255,255,255,0.85)")
    return fig


def mark_row(fig: go.Figure, y: float, rows: Sequence[float], label: str = "") -> go.Figure:
    """A frame around heatmap row `y` (rows: the y of every row, to size the frame like the row)."""
    if not drawn(fig):
        return fig
    ys = sorted(set(rows))
    gaps = [b - a for a, b in pairwise(ys)]
    half = (min(gaps) if gaps else 1.0) / 2
    fig.add_shape(type="rect", xref="x domain", yref="y", x0=0, x1=1, y0=y - half, y1=y + half,
                  line={"color": COLORS["moment_on_dark"], "width": 3})
    if label:
        fig.add_annotation(x=1.0, y=y + half, xref="x domain", yref="y", xanchor="right", yanchor="bottom",
                           text=label, showarrow=False, font={"color": MOMENT, "size": 12},
                           bgcolor="rgba(255,255,255,0.85)")
    return fig
