"""A chart as one plain dict, made into a Plotly figure once: the cheapest form Plotly accepts.

Building a figure trace by trace and option by option (`add_trace`, `update_layout`, `update_yaxes`,
`add_hline`) runs Plotly's validation and update machinery at every call: 10–25 ms per chart, most of a
live redraw's server time. The same chart written as {"data": [trace dicts], "layout": {…}} and handed
to `go.Figure` once is validated once: about a tenth of that. The figure is the same, key for key.

    figure(traces, title, x_title, y_title, log_y=False, height=HEIGHT, legend="right", *,
           shapes=(), annotations=(), layout=None, told_apart=False, validated=True) -> go.Figure
                       what `style.layout` makes of a figure, from dicts: title, axis titles, height,
                       legend placement (a long legend under the plot), unified hover, a log y axis
                       labelled at powers of ten; `layout` merged over it (nested dicts key by key);
                       `validated=False`: built without Plotly's validators (a third of the time), for a
                       builder whose figures a test holds equal, JSON and text alternative, to validated ones
    scatter(x, y, **props) -> dict          one scatter trace
    hline(y, line, text=None, position="top left") -> (shape, annotation | None)   (or "bottom left", "top right")
                       the line `fig.add_hline` draws across the plot at y, and its label
    merge(base, extra) -> dict              `extra` over `base`, nested dicts merged (as Plotly's update)
    with reusing(previous): figure(…)       a live chart at its next poll: `previous` updated in place where
                                            only values changed (no new validation of every trace, layout
                                            and template); edition(fig) counts its updates
    freeze(fig) -> fig; frozen(fig) -> bool a figure that several sessions draw (`ui.shared_charts`): never
                                            updated in place by `reusing` again, and its `to_dict()` (what
                                            `st.plotly_chart` sends: Plotly's deep copy) computed once
    figure_dict(fig) -> dict                what `fig.to_dict()` gives (arrays as Plotly.js typed arrays), without
                                            its deep copy of every trace and of the layout: the figure's values shared
    to_json_bytes(spec) -> bytes            a figure's dict as the JSON Plotly.js reads (Plotly's own encoder:
                                            arrays, NaN as null), what the app's chart element is given
    PLOTLY_JS                               the Plotly.js bundle the plotly package ships (the app serves it,
                                            the HTML report inlines it)
Leaves to others: the look (`plots/style.py`: colours, margins, legend rules), log axes
(`plots/axes.py`: which ticks), what a chart shows (the builders).
"""

from __future__ import annotations

import threading
import weakref
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Literal

import numpy as np
import plotly
import plotly.graph_objects as go
from _plotly_utils.basevalidators import is_homogeneous_array
from _plotly_utils.utils import is_skipped_key, to_typed_array_spec
from plotly.io.json import to_json_plotly

from plots.axes import decade_axis, log10_range
from plots.style import (
    HEIGHT,
    LEGEND_RIGHT,
    MARGIN,
    MARGIN_ABOVE,
    born_told_apart,
    chart_title,
    legend_below,
    legend_over,
    told_apart_changes,
)


def merge(base: dict, extra: dict) -> dict:
    """A new dict: `extra`'s keys over `base`'s, nested dicts merged key by key (Plotly's `update`)."""
    out = dict(base)
    for key, value in extra.items():
        out[key] = merge(out[key], value) if isinstance(value, dict) and isinstance(out.get(key), dict) else value
    return out


def scatter(x: Any, y: Any, **props: Any) -> dict:
    """One scatter trace as a dict (x, y: numpy arrays travel as Plotly's typed arrays)."""
    return {"type": "scatter", "x": x, "y": y, **props}


def hline(y: float, line: dict, text: str | None = None,
          position: Literal["top left", "bottom left", "top right"] = "top left") -> tuple[dict, dict | None]:
    """The shape `fig.add_hline(y, line=…)` draws across the whole plot, and the label
    `annotation_text=…, annotation_position=position` puts at its left end (above or below it) or right end."""
    shape = {"type": "line", "xref": "x domain", "x0": 0, "x1": 1, "yref": "y", "y0": y, "y1": y, "line": line}
    if text is None:
        return shape, None
    right = position.endswith("right")
    label = {"showarrow": False, "text": text, "x": 1 if right else 0, "xanchor": "right" if right else "left",
             "xref": "x domain", "y": y, "yanchor": "top" if position == "bottom left" else "bottom", "yref": "y"}
    return shape, label


def names(traces: Iterable[dict]) -> list[str]:
    """The names the legend shows."""
    return [t["name"] for t in traces if t.get("name") and t.get("showlegend") is not False]


def figure(traces: Sequence[dict], title: str, x_title: str, y_title: str, log_y: bool = False,
           height: int = HEIGHT, legend: Literal["right", "above"] = "right", *, shapes: Sequence[dict] = (),
           annotations: Sequence[dict] = (), layout: dict | None = None, told_apart: bool = False,
           validated: bool = True) -> go.Figure:
    """The figure `style.layout(fig, title, x_title, y_title, log_y, height, legend)` gives a figure with
    these traces, shapes and annotations, built once; `layout` is merged over the result. `told_apart`:
    with its lines told apart already (`style.tell_apart`, done on the dicts: a chart rebuilt at every
    poll is then not updated trace by trace through Plotly when it is drawn). `validated=False`: Plotly's
    validators skipped (`_validate`, Plotly's own switch): every value must already be in the form they give it
    (a named colour scale written out, `plotly.colors.get_colorscale`); not for a live chart updated in place."""
    if told_apart:
        traces = list(traces)
        for i, update in told_apart_changes(traces):
            traces[i] = merge(traces[i], update)
    above = legend == "above"
    spec: dict = {"title": chart_title(title), "height": height,
                  "margin": dict(MARGIN_ABOVE if above else MARGIN),
                  "legend": legend_over(height) if above else dict(LEGEND_RIGHT), "hovermode": "x unified",
                  "xaxis": {"title": {"text": x_title}},
                  # log axes: 10ⁿ; linear ones: 12,000 (Plotly's "power" wrote a stock's 8,000 as 0.8×10⁴)
                  "yaxis": {"title": {"text": y_title}, "type": "log" if log_y else "linear",
                            "exponentformat": "power" if log_y else "none", "separatethousands": not log_y}}
    if shapes:
        spec["shapes"] = list(shapes)
    if annotations:
        spec["annotations"] = list(annotations)
    if not above:
        spec = merge(spec, legend_below(names(traces), 0, height, False) or {})
    if log_y:
        lines = [{"y": [s["y0"]]} for s in shapes if s.get("yref") == "y" and s.get("y0") == s.get("y1")]
        spec = merge(spec, {"yaxis": decade_axis(log10_range(list(traces) + lines)) or {}})
    if layout:
        spec = merge(spec, layout)
    whole = {"data": list(traces), "layout": spec}
    live, previous = getattr(_REUSE, "live", False), getattr(_REUSE, "fig", None)
    _REUSE.live, _REUSE.fig = False, None                # one figure per `reusing` block
    fig = _patched(previous, whole) if previous is not None else None
    if fig is None:
        fig = go.Figure(whole) if validated or live else go.Figure(whole, _validate=False)
    if live:
        _keep_built(fig, whole)
    return born_told_apart(fig) if told_apart else fig


# ------------------------------------------------------------------ a live chart updated, not rebuilt
_REUSE = threading.local()           # the figure the next `figure()` call of this thread may update
_BUILT: dict[int, tuple[weakref.ref, dict, int]] = {}  # id(figure) → (the figure, the dict it was built from,
                                                        # edition), while the figure lives (a session keeps it)


def _keep_built(fig: go.Figure, whole: dict) -> None:
    """Remember what a live chart was built from, for as long as the figure itself lives."""
    n = edition(fig)
    if n == 0:
        weakref.finalize(fig, _BUILT.pop, id(fig), None)
    _BUILT[id(fig)] = (weakref.ref(fig), whole, n + 1)


@contextmanager
def reusing(previous: go.Figure | None) -> Iterator[None]:
    """Inside: the first `figure()` call is a live chart's (kept, to be updated at the next poll); it updates
    `previous` in place (and returns it) where the new figure has
    the same structure as the one `previous` was built from — the same traces, keys, shapes and labels,
    only values changed (a live chart at the next poll: its arrays, its axis range) — setting only the
    values that changed, each through Plotly's own validation as a build would: the figure is then the
    one `figure()` would build, value for value (tests/engine/test_live_figures.py). `previous` must not
    have been changed since it was built (its caller draws it as built), nor be drawn elsewhere."""
    _REUSE.live, _REUSE.fig = True, previous
    try:
        yield
    finally:
        _REUSE.live, _REUSE.fig = False, None


def edition(fig: Any) -> int:
    """How many times this figure object was built or updated by `figure()` (0: never): a cache keyed on
    the object (`ui.charts`) keys on its edition too."""
    kept = _BUILT.get(id(fig))
    return kept[2] if kept is not None and kept[0]() is fig else 0


class _Frozen(go.Figure):
    """A figure that is drawn as it is, by several sessions, and changed by none: `to_dict()`, Plotly's deep
    copy of every trace and of the layout (what `st.plotly_chart` serialises at every draw), is computed once."""

    def to_dict(self) -> dict:
        kept = self.__dict__.get("_as_dict")
        if kept is None:
            kept = self._as_dict = super().to_dict()
        return dict(kept)            # its parts are shared: read them, never change them


def freeze(fig: Any) -> Any:
    """Mark `fig` as drawn as it is by several sessions, changed by none: `reusing(fig)` then builds a new
    figure instead of updating it in place, and its `to_dict()` is computed once (the mark lives with the
    figure)."""
    if type(fig) is go.Figure:
        fig.__class__ = _Frozen
    fig._frozen = True
    return fig


def frozen(fig: Any) -> bool:
    """Whether `fig` was frozen (`freeze`)."""
    return bool(getattr(fig, "_frozen", False))


def _patched(fig: go.Figure | None, whole: dict) -> go.Figure | None:
    """`fig` updated to `whole`'s values, or None where it cannot be (not built by `figure()`, another
    structure, or frozen)."""
    kept = _BUILT.get(id(fig)) if fig is not None and not frozen(fig) else None
    if kept is None or kept[0]() is not fig:
        return None
    changes: list[tuple[tuple, Any]] = []
    if not _diff(kept[1], whole, (), changes):
        return None
    for path, value in changes:
        target: Any = fig
        for step in path[:-1]:
            target = target[step]
        target[path[-1]] = value
    return fig


_LISTS_OF_PARTS = ("data", "shapes", "annotations")     # lists whose items are compared key by key


def _diff(old: Any, new: Any, path: tuple, changes: list) -> bool:
    """Collect (path, new value) where `new` differs from `old`; False where their structure differs."""
    if isinstance(old, dict) or isinstance(new, dict):
        # the same keys (in any order: Plotly takes a trace's "type" out and puts it back at the end)
        if (not (isinstance(old, dict) and isinstance(new, dict)) or old.keys() != new.keys()
                or old.get("type") != new.get("type")):
            return False
        return all(_diff(old[k], new[k], (*path, k), changes) for k in new)
    if path and path[-1] in _LISTS_OF_PARTS and isinstance(new, (list, tuple)):
        if not isinstance(old, (list, tuple)) or len(old) != len(new):
            return False
        return all(_diff(a, b, (*path, i), changes) for i, (a, b) in enumerate(zip(old, new)))
    if not _same(old, new):
        changes.append((path, new))
    return True


def _same(a: Any, b: Any) -> bool:
    """Equal values of the same type (arrays: same dtype, shape and values, NaN equal to NaN)."""
    if isinstance(a, np.ndarray) or isinstance(b, np.ndarray):
        return (isinstance(a, np.ndarray) and isinstance(b, np.ndarray) and a.dtype == b.dtype
                and a.shape == b.shape and bool(np.array_equal(a, b, equal_nan=a.dtype.kind == "f")))
    if type(a) is not type(b):
        return False
    try:
        return bool(a == b)
    except (TypeError, ValueError):
        return False


PLOTLY_JS = Path(plotly.__file__).parent / "package_data" / "plotly.min.js"


def figure_dict(fig: Any) -> dict:
    """What `fig.to_dict()` gives — {"data": [trace dicts], "layout": {…}}, every numeric array as a Plotly.js
    typed array (Plotly's own `convert_to_base64` rule) — without its deep copy of every trace and of the
    layout, most of `to_dict()`'s time: the containers are new, the figure's own values are shared (read them,
    never change them). A frozen figure's `to_dict()` is kept already (`freeze`); a figure with frames (none
    of the app's) takes `to_dict()`. `tests/engine/test_spec.py` holds it equal to `to_dict()`."""
    if frozen(fig) or fig._frame_objs:
        return fig.to_dict()
    return {"data": [_typed(trace) for trace in fig._data], "layout": _typed(fig._layout)}


def _typed(value: Any) -> Any:
    """`value` with every container new and every homogeneous array under a dict key (but a skipped one, such
    as an axis range) a typed-array spec: what `convert_to_base64` does to `deepcopy(value)`."""
    if isinstance(value, dict):
        return {k: v if is_skipped_key(k) else to_typed_array_spec(v) if is_homogeneous_array(v) else _typed(v)
                for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return type(value)(_typed(v) for v in value)
    return value


def to_json_bytes(spec: dict) -> bytes:
    """`spec` ({"data", "layout"}) as JSON bytes, written by Plotly's own encoder (what `st.plotly_chart` and
    `plotly.io.to_json` write: numpy arrays, dates, NaN as null)."""
    return to_json_plotly(spec).encode()
