"""Colours a colour-blind student can tell apart, checked by simulation (colorspacious, Machado et al.
2009 at full severity): any two cells' line colours stay clearly apart under deuteranopia, protanopia and
tritanopia, the heatmap's scale still reads dark to light, the diverging maps keep their two sides apart,
and the text views' "expected / not expected" backgrounds too. Distances are CAM02-UCS ΔE′ (about 1 is a
just-noticeable difference between two large patches; lines need far more)."""

import itertools

import numpy as np
import plotly.colors as pc
import pytest
from colorspacious import cspace_convert

from plots.style import COLORS, DIVERGING, MAGMA, cell_color
from plots.text import probability_background
from rnn_core.nn.cells import CELLS as REGISTRY  # the cell registry: every cell, in the app's order

VISIONS = {"normal": None, "deuteranopia": "deuteranomaly", "protanopia": "protanomaly", "tritanopia": "tritanomaly"}
CLEARLY = 15.0           # ΔE′ between two cells' lines: clearly visible, for every vision
FROM_INK = 12.0          # ΔE′ from the ink (actual values, borders) and the grey (baselines) they are drawn with


def _rgb(color: str) -> np.ndarray:
    """'#3b5bdb', 'rgb(1, 2, 3)' or 'rgba(1, 2, 3, 0.5)' (on white) → sRGB in 0…1."""
    if color.startswith("#"):
        return np.array([int(color[i:i + 2], 16) for i in (1, 3, 5)]) / 255
    parts = [float(v) for v in color[color.index("(") + 1:-1].split(",")]
    rgb, alpha = np.array(parts[:3]) / 255, (parts[3] if len(parts) == 4 else 1.0)
    return alpha * rgb + (1 - alpha) * np.ones(3)


def seen(color: str, vision: str) -> np.ndarray:
    """The colour in CAM02-UCS as a reader with `vision` sees it."""
    rgb = _rgb(color)
    if VISIONS[vision]:
        cvd = {"name": "sRGB1+CVD", "cvd_type": VISIONS[vision], "severity": 100}
        rgb = np.clip(cspace_convert(rgb, cvd, "sRGB1"), 0, 1)
    return cspace_convert(rgb, "sRGB1", "CAM02-UCS")


def apart(a: str, b: str, vision: str) -> float:
    return float(np.linalg.norm(seen(a, vision) - seen(b, vision)))


@pytest.mark.parametrize("vision", VISIONS)
def test_any_two_cells_stay_clearly_apart(vision):
    cells = list(REGISTRY)
    assert len(cells) >= 5
    close = [(a, b, round(apart(cell_color(a), cell_color(b), vision), 1))
             for a, b in itertools.combinations(cells, 2) if apart(cell_color(a), cell_color(b), vision) < CLEARLY]
    assert not close, f"{vision}: cells whose colours look alike: {close}"


@pytest.mark.parametrize("vision", VISIONS)
def test_cells_stand_apart_from_the_ink_and_the_baseline_grey(vision):
    for cell in REGISTRY:
        for other in (COLORS["actual"], COLORS["baseline"]):
            assert apart(cell_color(cell), other, vision) >= FROM_INK, (vision, cell, other)


def test_a_tell_tale_pair_fails_the_check():
    """The check can fail: the old tanh RNN blue and Jordan violet (11.6 apart in normal vision) were one
    colour to a deuteranope or a protanope."""
    old_rnn, old_jordan = "#3b5bdb", "#7048e8"
    assert apart(old_rnn, old_jordan, "deuteranopia") < 3 and apart(old_rnn, old_jordan, "protanopia") < 3
    assert apart(old_rnn, old_jordan, "normal") > 10


@pytest.mark.parametrize("vision", VISIONS)
def test_the_heatmap_scale_reads_dark_to_light_for_every_vision(vision):
    """Magma: lightness J′ rises at every stop, and its ends are far apart, whatever the colour vision."""
    J = [seen(color, vision)[0] for _, color in MAGMA]
    assert all(b > a for a, b in itertools.pairwise(J)), (vision, np.round(J, 1))
    assert apart(MAGMA[0][1], MAGMA[-1][1], vision) > 60


@pytest.mark.parametrize("vision", VISIONS)
def test_diverging_maps_keep_their_two_sides_apart(vision):
    """RdBu_r (the Lab's phase diagram, the trainability map): below 0, at 0 and above 0 stay apart."""
    scale = pc.get_colorscale(DIVERGING)
    low, mid, high = scale[0][1], scale[len(scale) // 2][1], scale[-1][1]
    assert apart(low, high, vision) >= CLEARLY
    assert apart(low, mid, vision) >= 3 * CLEARLY and apart(high, mid, vision) >= 3 * CLEARLY


@pytest.mark.parametrize("vision", VISIONS)
def test_expected_and_surprising_characters_look_different(vision):
    """The text view's backgrounds: a character the model expected (p = 0.95) and one it did not
    (p = 0.05) are apart for every vision (and the surprising one is also underlined)."""
    assert apart(probability_background(0.95), probability_background(0.05), vision) >= CLEARLY
