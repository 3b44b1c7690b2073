"""One look for every chart (`plots/style.py`): each builder's placeholder is the same empty figure, a cell
is drawn in its registry colour on every page's charts, and no builder pins a template of its own."""

import plotly.graph_objects as go
import pytest

from plots import gradients, lab, predictions, series, style, sweep, text
from rnn_core.nn.cells import CELLS

EMPTIES = {
    "loss": lambda: series.loss_figure([], []),
    "grad_norm": lambda: series.grad_norm_figure([]),
    "param_norms": lambda: series.param_norms_figure([]),
    "spectra": lambda: series.spectra_figure([]),
    "gradient_time": lambda: gradients.gradient_time_figure(None),
    "heatmap": lambda: gradients.gradient_heatmap_figure([]),
    "gates": lambda: gradients.gates_figure(None, "rnn"),
    "predictions": lambda: predictions.predictions_figure({}),
    "overlay": lambda: lab.overlay_figure({}),
    "singular_values": lambda: lab.singular_values_figure([]),
    "jacobian": lambda: lab.jacobian_figure({"k": []}),
    "compare_loss": lambda: lab.compare_loss_figure({}),
    "compare_gradient": lambda: lab.compare_gradient_figure({}),
    "sweep": lambda: sweep.sweep_figure([]),
    "trainability": lambda: sweep.trainability_figure([]),
    "connectivity": lambda: text.connectivity_figure({}),
}


@pytest.mark.parametrize("name", EMPTIES)
def test_every_placeholder_is_the_one_empty_figure(name):
    fig = EMPTIES[name]()
    reference = style.empty(fig.layout.title.text, fig.layout.annotations[0].text, fig.layout.height)
    assert not style.drawn(fig)
    assert fig.to_plotly_json() == reference.to_plotly_json(), name
    assert fig.layout.title.font.size == style.TITLE_SIZE


def test_a_cell_has_its_table_colour_on_every_page():
    cells = list(CELLS)
    curves = {c: {"t": [0, 1], "mean": [0.5, 1.0], "lo": [0.4, 1.0], "hi": [0.6, 1.0]} for c in cells}
    epochs = [{"epoch": 1, "train_loss": 0.5, "val_loss": 0.6}]
    records = [{"cell": c, "gain": 1.0, "timesteps": T, "seed": 0, "val_loss": 0.5, "baseline_mse": 1.0}
               for c in cells for T in (5, 10)]
    for fig in (lab.overlay_figure(curves), lab.compare_loss_figure({c: {"epochs": epochs} for c in cells}),
                sweep.sweep_figure(records)):
        drawn = {t.legendgroup or t.name: t.line.color for t in fig.data if t.showlegend is not False}
        colors = [drawn.get(c, drawn.get(CELLS[c].label)) for c in cells]
        assert colors == [CELLS[c].color for c in cells], fig.layout.title.text


def test_no_builder_pins_a_template():
    """Inside the app every chart takes Streamlit's chart theme: a builder leaves the template alone."""
    default = go.Figure().layout.template
    figures = [build() for build in EMPTIES.values()]
    figures += [lab.overlay_figure({"rnn": {"t": [0, 1], "mean": [0.5, 1.0], "lo": [0.4, 1.0], "hi": [0.6, 1.0]}}),
                sweep.trainability_figure([{"cell": "rnn", "gain": 1.0, "timesteps": 5, "val_loss": 0.5,
                                             "baseline_mse": 1.0}])]
    assert all(fig.layout.template == default for fig in figures)


def test_a_linear_axis_writes_thousands_not_powers():
    """A stock's 8,000 reads "8,000" on a linear axis (Plotly's "power" format wrote 0.8×10⁴); a log axis
    keeps 10ⁿ."""
    from plots.series import loss_figure
    from plots.style import layout

    fig = layout(go.Figure(go.Scatter(x=[0, 1], y=[8000.0, 14000.0])), "DJIA", "day", "points", log_y=False)
    assert fig.layout.yaxis.exponentformat == "none" and fig.layout.yaxis.separatethousands
    steps = [{"step": 1, "loss": 0.5}, {"step": 2, "loss": 0.1}]
    assert loss_figure(steps, [], None, log_y=True).layout.yaxis.exponentformat == "power"


def test_a_text_verdict_names_its_baseline():
    from rnn_core.measure.verdict import run_verdict

    v = run_verdict([{"epoch": 3, "train_loss": 1.2, "val_loss": 1.5}], None, 2.16, "text")
    assert v.text.startswith("beats the unigram baseline: validation loss 1.5")
