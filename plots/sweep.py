"""Figures of a sweep's records (`rnn_core.sweep.trials`): records in, `go.Figure` out.

Holds `sweep_figure` (final validation loss against timesteps per cell, mean over seeds with the
min–max spread as error bars, the naive guess dashed) and `trainability_figure` (the trainability
map: log10 of the final validation loss over the task's baseline, mean over seeds, as a gain ×
timesteps heatmap per cell, with the gain where σ_max·γ = 1 drawn for the cells where that is the
Pascanu bound's border (`Cell.bounded`); for a gated cell the gates add paths it does not bound,
so no line), and `trainability_table` (the map's numbers, to read back or show).
Leaves to others: the runs (`rnn_core/sweep/trials.py`), the Lab's phase diagram at initialisation (`plots/lab.py`).
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Sequence

import plotly.graph_objects as go
from plotly.subplots import make_subplots

from plots.points import positive_list
from plots.style import COLORS, DIVERGING, MARGIN, cell_color, chart_title, empty, layout
from rnn_core.nn.cells import CELLS, cell_of, label_of
from rnn_core.readable import D3, fixed, readable
from rnn_core.sweep.records import summarise

RATIO_SPAN = 2.0     # the colour scale covers 10^−2 … 10^+2 of the baseline


def _cells(records: Sequence[dict]) -> list[str]:
    return [c for c in CELLS if any(r.get("cell") == c for r in records)]


def sweep_figure(records: Sequence[dict], height: int = 380) -> go.Figure:
    """Final validation loss against window length, one line per cell (and gain, when the records hold
    several), the mean over seeds with bars from the lowest to the highest seed; the naive guess
    (constant guess / persistence) dashed grey."""
    title = "Final validation loss against timesteps"
    rows = summarise(records, "val_loss", ("cell", "gain", "timesteps"))
    if not any(r["mean"] is not None for r in rows):
        return empty(title, "Run the sweep; each finished run adds a point.", height)
    fig = go.Figure()
    gains = sorted({r["gain"] for r in rows if r.get("gain") is not None})
    dashes = ["solid", "dot", "dash", "longdash", "dashdot"]
    value = D3["value"]
    for cell in _cells(records):
        for k, gain in enumerate(g for g in gains or [None] if any(r["cell"] == cell and r["gain"] == g for r in rows)):
            pts = sorted((r for r in rows if r["cell"] == cell and r["gain"] == gain and r["mean"] is not None),
                         key=lambda r: r["timesteps"])
            seeds = max((r["n"] for r in pts), default=1)
            name = label_of(cell) + (f", gain {readable(gain)}" if len(gains) > 1 else "")
            fig.add_trace(go.Scatter(
                x=[r["timesteps"] for r in pts], y=positive_list([r["mean"] for r in pts]), mode="lines+markers",
                name=name + (f" (mean of {seeds} seeds)" if seeds > 1 else ""),
                line={"color": cell_color(cell), "width": 2.5, "dash": dashes[k % len(dashes)]},
                marker={"size": 8},
                error_y={"type": "data", "symmetric": False, "array": [r["hi"] - r["mean"] for r in pts],
                         "arrayminus": [r["mean"] - r["lo"] for r in pts], "visible": seeds > 1,
                         "color": cell_color(cell)},
                customdata=[[r["lo"], r["hi"], r["n"]] for r in pts],
                hovertemplate=f"T = %{{x}}: %{{y:{value}}} (seeds: %{{customdata[0]:{value}}} … "
                              f"%{{customdata[1]:{value}}}, n = %{{customdata[2]}})<extra></extra>"))
    base = sorted({(r["timesteps"], r["baseline_mse"]) for r in rows if r.get("baseline_mse")})
    if base:
        fig.add_trace(go.Scatter(x=[b[0] for b in base], y=[b[1] for b in base], mode="lines",
                                 name="naive guess", line={"color": COLORS["baseline"], "dash": "dash", "width": 2}))
    fig = layout(fig, title, "timesteps T (window length)", "validation MSE", log_y=True, height=height,
                 legend="above")
    fig.update_layout(hovermode="closest")
    return fig


def trainability_table(records: Sequence[dict]) -> list[dict]:
    """Per cell × gain × timesteps: the mean over seeds of log10(val_loss / baseline_mse) ("z"), its
    spread, the runs that diverged, and the mean σ_max·γ at initialisation."""
    cells = {}
    for r in records:
        ratio = r.get("loss_ratio")
        if ratio is None and r.get("val_loss") is not None and r.get("baseline_mse"):
            ratio = r["val_loss"] / r["baseline_mse"]
        z = math.log10(ratio) if ratio is not None and ratio > 0 and math.isfinite(ratio) else None
        cells.setdefault((r["cell"], r["gain"], r["timesteps"]), []).append((z, r))
    out = []
    for (cell, gain, T), pairs in sorted(cells.items(), key=lambda kv: (list(CELLS).index(kv[0][0]), kv[0][1:])):
        zs = [z for z, _ in pairs if z is not None]
        sg = [r["sigma_gamma"] for _, r in pairs if r.get("sigma_gamma") is not None]
        out.append({"cell": cell, "gain": gain, "timesteps": T, "z": sum(zs) / len(zs) if zs else None,
                    "z_lo": min(zs) if zs else None, "z_hi": max(zs) if zs else None, "runs": len(pairs),
                    "diverged": sum(bool(r.get("diverged")) for _, r in pairs),
                    "sigma_gamma": sum(sg) / len(sg) if sg else None})
    return out


def border_gain(table: Sequence[dict], cell: str) -> float | None:
    """The gain where the mean σ_max·γ at initialisation crosses 1 (interpolated), for a cell whose
    Pascanu bound it is the border of; None for gated cells or when it does not cross."""
    if cell not in CELLS or not cell_of(cell).bounded:
        return None
    per_gain: dict[float, list[float]] = {}
    for r in table:
        if r["cell"] == cell and r["sigma_gamma"] is not None:
            per_gain.setdefault(r["gain"], []).append(r["sigma_gamma"])
    gains = sorted(per_gain)
    sg = [sum(per_gain[g]) / len(per_gain[g]) for g in gains]
    for (g0, s0), (g1, s1) in zip(zip(gains, sg), zip(gains[1:], sg[1:])):
        if (s0 - 1.0) * (s1 - 1.0) <= 0 and s1 != s0:
            return g0 + (1.0 - s0) * (g1 - g0) / (s1 - s0)
    return None


def trainability_figure(records: Sequence[dict], height: int = 420) -> go.Figure:
    """One heatmap per cell: gain (rows) × timesteps (columns), colour = log10(final validation loss ÷
    the naive guess's), mean over seeds. Blue learned (below the baseline), white = the baseline, red
    worse; a cell with no finished value is blank. The dashed line: σ_max·γ = 1 (the cells it bounds)."""
    title = "Trainability map: final validation loss ÷ naive guess"
    table = trainability_table(records)
    cells = _cells(records)
    if not cells or not any(r["z"] is not None for r in table):
        return empty(title, "Run the map (or upload a sweep's CSV); each finished run fills a square.", height)
    gains = sorted({r["gain"] for r in table})
    steps = sorted({r["timesteps"] for r in table})
    rows = list(range(len(gains)))      # one band of equal height per gain, labelled with exactly that gain
    fig = make_subplots(rows=1, cols=len(cells), shared_yaxes=True, horizontal_spacing=0.04,
                        subplot_titles=[label_of(c) for c in cells])
    for i, cell in enumerate(cells, start=1):
        at = {(r["gain"], r["timesteps"]): r for r in table if r["cell"] == cell}
        z = [[at.get((g, T), {}).get("z") for T in steps] for g in gains]
        custom = [[_hover(at.get((g, T))) for T in steps] for g in gains]
        fig.add_trace(go.Heatmap(
            z=[[None if v is None else max(-RATIO_SPAN, min(RATIO_SPAN, v)) for v in row] for row in z],
            x=[str(T) for T in steps], y=rows, name=label_of(cell), colorscale=DIVERGING, zmid=0.0,
            zmin=-RATIO_SPAN, zmax=RATIO_SPAN, showscale=i == 1, customdata=custom,
            text=[[readable(g)] * len(steps) for g in gains],
            colorbar={"title": {"text": "log₁₀ ÷ naive"}, "tickvals": [-2, -1, 0, 1, 2],
                      "ticktext": ["0.01", "0.1", "1", "10", "100"]},
            hovertemplate=f"{label_of(cell)}, gain %{{text}}, T = %{{x}}: %{{customdata}}<extra></extra>"),
            row=1, col=i)
        border = border_gain(table, cell)
        if border is not None:
            fig.add_hline(y=_band_position(gains, border), line={"color": COLORS["border"], "dash": "dash", "width": 2},
                          row=1, col=i, annotation_text=f"σ_max·γ = 1 (gain ≈ {fixed(border, 2)})",
                          annotation_position="top left", annotation_font={"color": COLORS["border"], "size": 11})
        fig.update_xaxes(title_text="timesteps T", type="category", row=1, col=i)
    fig.update_yaxes(tickmode="array", tickvals=rows, ticktext=[readable(g) for g in gains])
    fig.update_yaxes(title_text="gain of W_hh", row=1, col=1)
    fig.update_layout(title=chart_title(title), height=height, margin={**MARGIN, "t": 80},
                      hovermode="closest")
    return fig


def _band_position(gains: Sequence[float], gain: float) -> float:
    """Where `gain` sits on the map's axis of equal bands (band i is gains[i]): linear between the two
    gains around it, so σ_max·γ = 1 at gain 1.0 between bands 0.9 and 1.1 lies halfway between them."""
    for i, (g0, g1) in enumerate(itertools.pairwise(gains)):
        if g0 <= gain <= g1:
            return i + (gain - g0) / (g1 - g0)
    return 0.0 if gain < gains[0] else float(len(gains) - 1)


def _hover(r: dict | None) -> str:
    if r is None:
        return "not run"
    if r["z"] is None:
        return f"no finite loss ({r['diverged']} of {r['runs']} runs diverged)"
    text = f"{readable(10 ** r['z'])}× the naive guess"
    if r["runs"] > 1:
        text += f" (seeds {readable(10 ** r['z_lo'])} … {readable(10 ** r['z_hi'])})"
    if r["sigma_gamma"] is not None:
        text += f"<br>σ_max·γ at init = {fixed(r['sigma_gamma'], 2)}"
    return text
