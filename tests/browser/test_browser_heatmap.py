"""Real browser: the epoch × timestep heatmap reads the right way round. After a short vanishing run
(tanh RNN, adding problem, 100 steps) the oldest timesteps, whose gradient has vanished most, must be
drawn dark and the last ones bright — checked on the pixels Chromium renders, through Streamlit's chart
theme (which once turned Magma's black into a pale category colour) — and the colour bar carries a
few power-of-ten labels, not two dozen overlapping ones."""

import io

import pytest

from tests.conftest import wait_idle

pytestmark = pytest.mark.browser

# ~5 optimiser steps: the probe runs at initialisation and after the one epoch (two heatmap rows)
LINK = "/?d.dataset=adding&d.timesteps=100&d.params.n_samples=400&t.epochs=1&t.batch_size=64"
HEATMAP = """() => [...document.querySelectorAll('.js-plotly-plot')].find(gd =>
    ((gd._fullLayout && gd._fullLayout.title && gd._fullLayout.title.text) || '').includes('over training'))"""
STATE = f"""() => {{
  const gd = ({HEATMAP})();
  if (!gd || !gd._fullData || !gd._fullData[0] || !gd._fullData[0].z) return null;
  const box = gd.querySelector('.nsewdrag').getBoundingClientRect(), own = gd.getBoundingClientRect();
  return {{rows: gd._fullData[0].z.length, first_colour: gd._fullData[0].colorscale[0][1],
          z_first: gd._fullData[0].z.map(r => r[0]), z_last: gd._fullData[0].z.map(r => r[r.length - 1]),
          colourbar_labels: [...gd.querySelectorAll('.colorbar .cbaxis text, .colorbar .ytick text')]
                              .map(t => t.textContent),
          plot: [box.x - own.x, box.y - own.y, box.width, box.height]}};
}}"""


def _luminance(pixels) -> float:
    """Mean relative luminance (0 black … 255 white) of RGB(A) pixels."""
    return sum(0.2126 * p[0] + 0.7152 * p[1] + 0.0722 * p[2] for p in pixels) / len(pixels)


def _column(img, x0: int, x1: int, y0: int, y1: int) -> list:
    return [img.getpixel((x, y)) for x in range(x0, x1) for y in range(y0, y1)]


def test_heatmap_draws_the_vanished_oldest_steps_dark(streamlit_server, page):
    from PIL import Image

    page.goto(streamlit_server + LINK)
    wait_idle(page, timeout=120_000)
    page.locator("button", has_text="Train").first.click()
    for _ in range(240):                                   # ≤ 120 s
        page.wait_for_timeout(500)
        state = page.evaluate(STATE)
        if state and state["rows"] >= 2:
            break
    assert state and state["rows"] >= 2, state
    wait_idle(page)
    page.wait_for_timeout(1000)                            # Plotly's last redraw
    state = page.evaluate(STATE)
    # the data really vanished toward t = 0 (so the left must be the dark end of the scale)
    assert all(a < b - 5 for a, b in zip(state["z_first"], state["z_last"])), state

    chart = page.locator(".js-plotly-plot", has_text="over training").first
    chart.scroll_into_view_if_needed()
    img = Image.open(io.BytesIO(chart.screenshot())).convert("RGB")
    x, y, w, h = (round(v) for v in state["plot"])
    scale = img.width / chart.bounding_box()["width"]      # device pixels per CSS pixel
    x, y, w, h = (round(v * scale) for v in (x, y, w, h))
    inset = max(2, w // 100)
    rows = (y + inset, y + h - inset)
    oldest = _luminance(_column(img, x + inset, x + inset + max(2, w // 40), *rows))
    newest = _luminance(_column(img, x + w - inset - max(2, w // 40), x + w - inset, *rows))
    assert oldest < 40, f"the oldest, most-vanished cells render with luminance {oldest:.0f}, not dark"
    assert newest > 150, f"the last timesteps render with luminance {newest:.0f}, not bright"
    # what Plotly was given survived the theme: Magma's black, and a readable colour bar
    assert state["first_colour"] in ("rgb(0, 0, 4)", "#000004"), state["first_colour"]
    labels = [t for t in state["colourbar_labels"] if t.startswith("10")]
    assert 2 <= len(labels) <= 8, labels
