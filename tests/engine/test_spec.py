"""`plots.spec`: a chart written as one dict is the figure Plotly's own calls make."""

import plotly.graph_objects as go
import pytest

from plots.spec import figure, hline, scatter


@pytest.mark.parametrize("position", ["top left", "bottom left", "top right"])
def test_hline_is_the_line_and_label_add_hline_draws(position):
    line = {"color": "#123456", "dash": "dash"}
    made = go.Figure()
    made.add_hline(y=0.7, line=line, annotation_text="1/γ = 1", annotation_position=position)
    shape, label = hline(0.7, line, "1/γ = 1", position)
    assert go.Figure({"layout": {"shapes": [shape], "annotations": [label]}}).to_plotly_json() == made.to_plotly_json()


def _app_figures() -> list:
    """Figures as the app builds them: the Lab's (lines, a heatmap, bars; validated or not), a chart written as
    one dict, and Plotly's own calls with the values that `to_dict()` treats apart (int64 arrays, 2-D arrays,
    tuples, an axis range given as an array, a named colour scale)."""
    import numpy as np

    import plots.lab as lab_plots
    from rnn_core.lessons import lab
    from rnn_core.lessons.lab import LabConfig

    cfg = LabConfig(cell="lstm", timesteps=12, hidden_size=4, seeds=2)
    figs = [lab_plots.lab_gradient_figure(lab.profile_stats(cfg), height=400),
            lab_plots.overlay_figure(lab.overlay(cfg), height=400),
            lab_plots.phase_figure(lab.phase_diagram(cfg, gains=(0.5, 1.0, 1.5)), height=420),
            lab_plots.singular_values_figure(lab.singular_values(cfg), height=330)]
    x = np.arange(30)
    figs.append(figure([scatter(x, 1.5 ** -x, name="train", mode="lines+markers")], "Loss", "step", "MSE",
                       log_y=True, shapes=[hline(0.1, {"dash": "dash"})[0]]))
    odd = go.Figure(go.Heatmap(z=np.arange(12, dtype=np.int64).reshape(3, 4) * 3_000_000_000, colorscale="RdBu_r",
                               x=(1, 2, 3, 4)))
    odd.add_trace(go.Bar(x=[1, 2, 3], y=np.array([3, 1, 2], dtype=np.uint64), name="σ"))
    odd.update_layout(xaxis={"range": np.array([0.0, 5.0])}, title="odd")
    return [*figs, odd]


def test_figure_dict_is_to_dict_without_changing_the_figure():
    """What the chart element sends (`ui.charts` themes `figure_dict(fig)`) is what `to_dict()` gives, value for
    value, and making it leaves the figure as it was (its values are shared, not copied)."""
    from plots.spec import figure_dict, to_json_bytes

    typed = 0
    for fig in _app_figures():
        before = to_json_bytes(fig.to_dict())
        made = figure_dict(fig)
        assert to_json_bytes(made) == before
        assert to_json_bytes(fig.to_dict()) == before
        assert made["data"] is not fig._data and all(a is not b for a, b in zip(made["data"], fig._data))
        typed += b'"bdata"' in before
    assert typed >= 2                                   # numpy arrays travel as typed arrays, as to_dict() gives


def test_figure_dict_of_a_frozen_figure_is_its_kept_dict():
    from plots.spec import figure_dict, freeze

    fig = freeze(figure([scatter([1, 2], [3, 4], name="a")], "t", "x", "y"))
    assert figure_dict(fig) == fig.to_dict()
    assert figure_dict(fig)["data"] is fig.to_dict()["data"]       # computed once, shared
