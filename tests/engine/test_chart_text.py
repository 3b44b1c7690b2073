"""Charts that speak: the text alternative states what a figure draws, in the numbers it draws; the
table holds every drawn point; no two lines of a legend are told apart by colour alone; and every chart
of every page goes through the one function that gives it all of this (`ui.charts.chart`)."""

import re
from pathlib import Path

import numpy as np
import pytest

from plots.describe import describe, figure_table, title_of
from plots.gradients import gates_figure, gradient_heatmap_figure, gradient_time_figure
from plots.lab import compare_gradient_figure, compare_loss_figure, overlay_figure
from plots.predictions import predictions_figure
from plots.series import add_ghost_loss, loss_figure, param_norms_figure, spectra_figure
from plots.style import empty, legend_names, tell_apart
from plots.text import connectivity_figure
from rnn_core.nn.cells import CELLS
from rnn_core.readable import readable
from tests.engine.test_figures import _probe, _records

ROOT = Path(__file__).resolve().parents[2]


def test_the_loss_chart_is_described_in_its_own_numbers():
    steps, epochs = _records()
    fig = loss_figure(steps, epochs, baseline=0.05, log_y=True)
    text = describe(fig)
    assert text.startswith("Loss: MSE")
    assert "(log axis) against optimiser step" in text
    # the first and last step losses (1/1 and 1/50), as the slide writes them
    assert f"train (per step): {readable(1.0)} at 1 to {readable(1 / 50)} at 50" in text
    assert f"validation (epoch): {readable(1.2 / 2)} at 10 to {readable(1.2 / 5)} at 40" in text
    assert "Line at 0.05: persistence baseline 0.05" in text


def test_a_log_colour_heatmap_is_described_in_gradient_norms_not_their_logarithms():
    _, epochs = _records(T=20)
    fig = gradient_heatmap_figure(epochs)
    text = describe(fig)
    g = epochs[0]["probe"]["grad_h"][0]
    assert f"values from {readable(min(g), 3)}" in text and f"to {readable(max(g))}" in text, text
    table = figure_table(fig)
    assert len(table) == len(epochs) * 20
    assert np.allclose(sorted(table["value"])[:1], [min(g)], rtol=1e-3)


def test_the_table_holds_every_drawn_point_under_the_axes_names():
    steps, epochs = _records()
    fig = loss_figure(steps, epochs, log_y=True)
    table = figure_table(fig)
    assert list(table.columns) == ["series", "optimiser step", "MSE (scaled units)"]
    per_step = table[table["series"] == "train (per step)"]
    assert list(per_step["optimiser step"]) == [s["step"] for s in steps]
    assert np.allclose(per_step["MSE (scaled units)"], [s["loss"] for s in steps])


def test_an_empty_chart_says_what_will_appear():
    assert describe(empty("Loss", "Press Train: the loss appears here.")) == \
        "Loss: no data yet. Press Train: the loss appears here."
    assert title_of(empty("A <b>bold</b> title", "x")) == "A bold title"


def _multi_line_figures():
    """Every figure that draws several lines, with the most lines it draws."""
    steps, epochs = _records(cell="lstm")
    probe = _probe(T=20, layers=2, cell="lstm")
    cells = list(CELLS)
    runs = {c: {"epochs": epochs} for c in cells}
    curves = {c: {"t": list(range(20)), "mean": [0.9 ** (19 - t) for t in range(20)],
                  "lo": [0.8 ** (19 - t) for t in range(20)], "hi": [1.0] * 20} for c in cells}
    ghost = add_ghost_loss(loss_figure(steps, epochs, baseline=0.05), epochs, "ghost: LSTM (epoch)")
    preds = {"splits": {"test": {"index": list(range(30)), "y_true": [[float(i)] for i in range(30)],
                                 "y_pred": [[i + 0.5] for i in range(30)],
                                 "persistence": [[i - 1.0] for i in range(30)]}}}
    conn = {c: {"grad_x": [0.1 * (t + 1) for t in range(12)], "chars": ["a"] * 12} for c in ("rnn", "lstm")}
    return {"loss+ghost": ghost, "gradient": gradient_time_figure(probe, True, True), "gates": gates_figure(probe),
            "param norms": param_norms_figure(epochs), "spectra": spectra_figure(_records(cell="rnn")[1]),
            "compare loss": compare_loss_figure(runs, baseline=0.1), "compare gradient": compare_gradient_figure(runs),
            "lab overlay": overlay_figure(curves), "predictions": predictions_figure(preds, None),
            "connectivity": connectivity_figure(conn)}


def _styles(fig):
    shown = [t for t in fig.data if t.type == "scatter" and "lines" in (t.mode or "lines") and t.showlegend is not False
             and t.fill in (None, "none") and t.line.width != 0]
    return [(t.line.dash or "solid", (t.marker.symbol or "circle") if "markers" in (t.mode or "lines") else None)
            for t in shown]


@pytest.mark.parametrize("name", list(_multi_line_figures()))
def test_no_two_lines_are_told_apart_by_colour_alone(name):
    fig = tell_apart(_multi_line_figures()[name])
    styles = _styles(fig)
    assert len(styles) == len(set(styles)), (name, list(zip(legend_names(fig), styles)))
    assert _styles(tell_apart(fig)) == styles            # applying it again changes nothing


def test_without_it_some_lines_differ_by_colour_only():
    """What `tell_apart` fixes is real: the cells of Compare and the Lab, the gates, the layers."""
    same = [name for name, fig in _multi_line_figures().items() if len(set(_styles(fig))) < len(_styles(fig))]
    assert {"compare gradient", "gates", "connectivity"} <= set(same), same


def test_every_chart_on_every_page_goes_through_ui_charts():
    """The text alternative, the data table and `tell_apart` come from `ui.charts.chart` (and the
    presenter view's `show_chart`, which uses its parts): no page or view draws a Plotly chart itself."""
    direct = []
    for path in [*ROOT.glob("app_pages/*.py"), *ROOT.glob("ui/*.py")]:
        if path.name in ("charts.py", "chart_element.py"):
            continue
        for n, line in enumerate(path.read_text().splitlines(), 1):
            if re.search(r"\.plotly_chart\(|chart_element\.draw\(|_ELEMENT\(", line):
                direct.append(f"{path.relative_to(ROOT)}:{n}")
    assert not direct, direct
    presenter = (ROOT / "ui/presenter.py").read_text()
    assert "tell_apart(" in presenter and "text_alternative(" in presenter and "data_table(" in presenter


class _ReadThroughPlotly:
    """A figure read only through Plotly's own attributes (`fig.layout`, `fig.data`)."""

    def __init__(self, fig):
        self.layout, self.data = fig.layout, fig.data


def _described_figures():
    """Every kind of chart a page describes: lines, markers, a heatmap, reference lines, placeholders."""
    steps, epochs = _records()
    probe = _probe(T=20, layers=2, cell="lstm")
    return {**_multi_line_figures(), "loss log": loss_figure(steps, epochs, baseline=0.05, log_y=True),
            "loss linear": loss_figure(steps, epochs, baseline=0.05, log_y=False),
            "heatmap": gradient_heatmap_figure(_records(cell="lstm")[1]), "gradient 1 layer": gradient_time_figure(
                _probe(T=12, layers=1, cell="rnn"), True, True), "gates lstm": gates_figure(probe),
            "empty": empty("Loss", "Press Train: the loss appears here.")}


@pytest.mark.parametrize("name", list(_described_figures()))
def test_a_figure_is_described_as_plotly_reads_it(name):
    """`describe` reads a figure's values straight from where Plotly keeps them (a live chart is described at
    every poll): the same text as read through Plotly's attributes."""
    fig = _described_figures()[name]
    assert describe(fig) == describe(_ReadThroughPlotly(fig))
