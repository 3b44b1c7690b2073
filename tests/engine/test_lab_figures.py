"""The Gradient Lab's five charts, built without Plotly's validators (`plots.lab.LAB`), are the figures a
validated build gives: the same JSON the browser gets, the same text alternative, the same lines told apart."""

import json

import plotly.io as pio
import pytest

import plots.lab as lab_plots
from plots.describe import describe
from plots.style import tell_apart
from rnn_core.lessons import lab
from rnn_core.lessons.lab import LabConfig
from rnn_core.nn.cells import CELLS

CASES = [LabConfig(cell=cell, timesteps=12, hidden_size=4, seeds=2, init=init, gain=1.4)
         for cell in CELLS for init in ("orthogonal", "default")] + [LabConfig(timesteps=9, hidden_size=3, seeds=1,
                                                                               num_layers=2)]


def _figures(cfg: LabConfig) -> list:
    return [lab_plots.lab_gradient_figure(lab.profile_stats(cfg), height=400),
            lab_plots.lab_gradient_figure(lab.profile_stats(cfg, normalise=True), height=400),
            lab_plots.overlay_figure(lab.overlay(cfg), height=400),
            lab_plots.phase_figure(lab.phase_diagram(cfg, gains=(0.5, 1.0, 1.5)), height=420),
            lab_plots.singular_values_figure(lab.singular_values(cfg), height=330),
            lab_plots.jacobian_figure(lab.jacobian_stats(cfg), height=330)]


def _seen(fig) -> tuple[dict, str, dict]:
    """What the browser and a screen reader get of a figure: its JSON, its description, and the JSON once its
    lines are told apart (`ui.charts` does that before drawing)."""
    before = json.loads(pio.to_json(fig, validate=False))
    text = describe(fig)
    return before, text, json.loads(pio.to_json(tell_apart(fig), validate=False))


@pytest.mark.parametrize("cfg", CASES, ids=lambda c: f"{c.cell}-{c.init}-L{c.num_layers}")
def test_lab_figures_built_without_validation_are_the_validated_figures(cfg, monkeypatch):
    fast = [_seen(f) for f in _figures(cfg)]
    monkeypatch.setattr(lab_plots, "LAB", {"validated": True})
    validated = [_seen(f) for f in _figures(cfg)]
    assert len(fast) == len(validated) == 6
    for a, b in zip(fast, validated):
        assert a == b, a[0]["layout"]["title"]["text"]
    assert fast[3][0]["data"][0]["colorscale"] == validated[3][0]["data"][0]["colorscale"] != "RdBu_r"
