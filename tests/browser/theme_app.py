"""A page for tests/browser/test_browser_theme.py: the same figures drawn by Streamlit's own chart theme and
by the app's way (`ui.charts.chart`: `plots.theme` written into the figure, Streamlit's theme off)."""

import sys
from pathlib import Path

import plotly.graph_objects as go
import streamlit as st

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
from plots import spec
from ui.charts import chart


def figures() -> dict[str, go.Figure]:
    x = list(range(30))
    lines = spec.figure([spec.scatter(x, [1.5 ** -i for i in x], name="train", mode="lines+markers"),
                         spec.scatter(x, [2.0 ** -i for i in x], name="validation")],
                        "Loss, on a log axis", "optimiser step", "MSE", log_y=True)
    heat = go.Figure(go.Heatmap(z=[[1, 2, 3], [4, 5, 6]], colorscale="RdBu_r", colorbar={"title": {"text": "z"}}))
    heat.update_layout(title="A heatmap", xaxis_title="t", yaxis_title="epoch", height=300)
    bars = go.Figure(go.Bar(x=[1, 2, 3], y=[3, 1, 2], name="σ"))
    bars.update_layout(title="Bars", height=300)
    return {"lines": lines, "heat": heat, "bars": bars}


for name, fig in figures().items():
    st.plotly_chart(go.Figure(fig), key=f"streamlit-{name}", theme="streamlit")
    chart(go.Figure(fig), f"app-{name}")
