"""`plots.spec`: a chart written as one dict is the figure Plotly's own calls make."""

import plotly.graph_objects as go
import pytest

from plots.spec import hline


@pytest.mark.parametrize("position", ["top left", "bottom left", "top right"])
def test_hline_is_the_line_and_label_add_hline_draws(position):
    line = {"color": "#123456", "dash": "dash"}
    made = go.Figure()
    made.add_hline(y=0.7, line=line, annotation_text="1/γ = 1", annotation_position=position)
    shape, label = hline(0.7, line, "1/γ = 1", position)
    assert go.Figure({"layout": {"shapes": [shape], "annotations": [label]}}).to_plotly_json() == made.to_plotly_json()
