"""Pictures of a character model: connectivity as coloured characters (HTML) and as a chart (Plotly).

    connectivity_html(chars, grads, target, p_target) -> str   each earlier character on a background as
                                                                dark as ‖∂ log p(next)/∂x_t‖ (log scale)
    probability_html(rows) -> str                               a held-out line, each character coloured by
                                                                the probability the model gave it
    connectivity_figure(results, span) -> go.Figure             ‖∂ log p/∂x_t‖ against steps back, one line
                                                                per cell, the known memory span marked
Every character goes through `html.escape` and visible stand-ins for blanks (␣ ↵ →): whatever the
text holds, it is shown as characters, never read as HTML or markdown.
Leaves to others: the numbers (`rnn_core/measure/text_eval.py`), placing them on a page (`ui/text_views.py`).
"""

from __future__ import annotations

import html
import math
from collections.abc import Sequence

import plotly.graph_objects as go

from plots.style import BLUE, COLORS, LAYER_COLORS, empty, layout
from rnn_core.readable import fixed, readable, times_ten

DECADES = 4.0                   # the colour scale spans the strongest gradient down to 10⁻⁴ of it
VISIBLE = {" ": "␣", "\n": "↵", "\t": "→"}
_BOX = ("font-family:ui-monospace,Menlo,Consolas,monospace;font-size:1.05rem;line-height:1.9;"
        "white-space:pre-wrap;word-break:break-all")


def shown(ch: str) -> str:
    """One character as it is drawn: blanks made visible, everything escaped."""
    return html.escape(VISIBLE.get(ch, ch), quote=True)


def strength(grads: Sequence[float], decades: float = DECADES) -> list[float]:
    """0…1 per value: log10(g / max g) mapped from −decades … 0 onto 0 … 1 (0 where g = 0)."""
    top = max((g for g in grads if g > 0 and math.isfinite(g)), default=0.0)
    if top <= 0:
        return [0.0] * len(grads)
    return [0.0 if not (g > 0 and math.isfinite(g)) else max(0.0, 1.0 + math.log10(g / top) / decades)
            for g in grads]


def connectivity_html(chars: Sequence[str], grads: Sequence[float], target: str, p_target: float) -> str:
    """The window's characters (oldest first; "" = before the text began) on an orange background whose
    strength is the gradient's size on a log scale, then the predicted character boxed."""
    spans = []
    n = len(chars)
    for t, (ch, s, g) in enumerate(zip(chars, strength(grads), grads)):
        if not ch:
            continue
        tip = html.escape(f"{n - t} back: ‖∂ log p/∂x‖ = {times_ten(g)}", quote=True)
        spans.append(f'<span title="{tip}" style="background:rgba(230,90,0,{round(float(s), 3)});'
                     f'color:{"#fff" if s > 0.6 else "#111"};padding:0 1px">{shown(ch)}</span>')
    box = (f'<span title="predicted next" style="outline:2px solid {BLUE};padding:0 2px;margin-left:2px">'
           f'{shown(target)}</span>')
    return (f'<div style="{_BOX}">{"".join(spans)}{box}</div>'
            f'<div style="font-size:0.8rem;color:#666">p(<code>{shown(target)}</code>) = {fixed(p_target)} · '
            f"darker = the prediction depends more on that character (log scale, {readable(DECADES)} decades)</div>")


EXPECTED, SURPRISED = "33, 102, 204", "230, 120, 20"   # blue and orange: apart for every colour vision
SURPRISE_BELOW = 0.1      # a character the model gave less than this is also underlined (not colour alone)


def probability_background(p: float) -> str:
    """The background of a character the model gave probability p: blue the surer it expected it, orange
    the less (p < ½), white at ½."""
    rgb, strength = (EXPECTED, p - 0.5) if p >= 0.5 else (SURPRISED, 0.5 - p)
    return f"rgba({rgb},{round(0.9 * strength, 2)})"      # a CSS alpha, not a number for reading


def probability_html(rows: Sequence[dict]) -> str:
    """Each actual character on a background from orange (the model gave it little probability) to blue
    (it expected it); below `SURPRISE_BELOW` also underlined."""
    spans = []
    for r in rows:
        p = max(0.0, min(1.0, float(r["p_actual"])))
        guess = ", ".join(f"{VISIBLE.get(c, c)} {fixed(q, 2)}" for c, q in r["top"])
        tip = html.escape(f"p = {fixed(p)}; top guesses: {guess}", quote=True)
        mark = ";text-decoration:underline wavy" if p < SURPRISE_BELOW else ""
        spans.append(f'<span title="{tip}" style="background:{probability_background(p)};padding:0 1px{mark}">'
                     f"{shown(r['actual'])}</span>")
    return f'<div style="{_BOX}">{"".join(spans)}</div>'


def connectivity_figure(results: dict[str, dict], span: int | None = None, height: int = 330) -> go.Figure:
    """‖∂ log₂ p(next)/∂x_t‖ against k = steps back (1 = the last character read), one line per label."""
    title = "Which earlier characters the prediction feels"
    if not results:
        return empty(title, "Train: the connectivity appears here.", height)
    fig = go.Figure()
    for i, (label, c) in enumerate(results.items()):
        g = c["grad_x"]
        T = len(g)
        ks = [T - t for t in range(T) if c["chars"][t]]
        ys = [g[t] if g[t] > 0 else None for t in range(T) if c["chars"][t]]
        fig.add_trace(go.Scatter(x=ks, y=ys, mode="lines+markers", name=label,
                                 line={"color": LAYER_COLORS[i % len(LAYER_COLORS)], "width": 2}))
    if span:
        fig.add_vline(x=span + 1, line={"color": COLORS["baseline"], "dash": "dot"},
                      annotation_text=f"the opener: {span + 1} back", annotation_position="top")
    fig = layout(fig, title, "characters back (1 = the last one read)", "‖∂ log₂ p(next)/∂xₜ‖", log_y=True,
                  height=height)
    fig.update_xaxes(autorange="reversed")
    return fig
