"""Our own chart element: one <div> per chart that stays on the page and is redrawn in place (`Plotly.react`).

    available() -> bool                          whether Plotly.js is in place to be served (else `ui.charts`
                                                 draws with `st.plotly_chart`, as before)
    draw(figure_json, config, key, where=None, fill=False)
                                                 the figure (its JSON bytes: {"data", "layout"}) in element `key`
    figure_of(payload) -> dict                   the figure an element was given (tests, `bench.st_client`)
    put_bundle(folder) -> bool                   Plotly.js copied into `folder` (atomic; done once per process)

    python -m ui.chart_element [FOLDER]          put Plotly.js in FOLDER (default: static/ beside app.py), as an
                                                 image build does where the app's user cannot write (deploy/)

Why: Streamlit's `st.plotly_chart` mounts a chart whose data changed as a *new* element (its id hashes the
spec) and draws it twice; while a run trains, its charts redraw twice a second, and one watching browser then
spent most of a core on them (`bench.browser_watch`). Here the element's identity is its key: the same <div>
takes each new figure with `Plotly.react`, once; a figure that is the one already drawn is not drawn again;
and one that arrives while the last is still being drawn replaces any that waited, so a busy browser skips
frames instead of queueing them. Its mode bar's last button shows it full screen (Streamlit's element has
such a button; ours is a mode bar button the keyboard reaches, Enter or Space).

The figure travels as JSON bytes made once per figure (`ui.charts.figure_json`: a room watching one run sends
the same bytes to every session). Plotly.js is Plotly's own bundle (the `plotly` package's `plotly.min.js`,
the one the HTML report inlines), served by Streamlit's static file serving (`server.enableStaticServing` in
.streamlit/config.toml: the `static/` folder beside the main script, at `<base>/app/static/`), copied there
once per process and loaded once per page. No network beyond the app's own server.

Leaves to others: the figure and its theme (`ui.charts`, `plots.theme`), the text alternative and the data
table around it (`ui.charts`), the presenter's height (`ui.presenter`).
"""

from __future__ import annotations

import json
import logging
import os
import tempfile
from pathlib import Path
from typing import Any

import streamlit as st
from streamlit.runtime.scriptrunner import get_script_run_ctx

from plots.spec import PLOTLY_JS

BUNDLE = "plotly.min.js"                                   # in static/, served at <base>/app/static/
SOURCE = PLOTLY_JS                                        # the plotly package's own bundle
NAME = "rnn_playground_chart"
_LOG = logging.getLogger(__name__)

# The element's script, run by Streamlit at every draw of the element with the bytes it was given.
_JS = """
function plotly(url) {                       // Plotly.js, loaded once per page
  if (!window.__rnnPlotly) {
    window.__rnnPlotly = new Promise((ok, fail) => {
      const s = document.createElement("script");
      s.src = url;
      s.onload = () => ok(window.Plotly);
      s.onerror = () => { window.__rnnPlotly = null; fail(new Error("Plotly.js did not load from " + url)); };
      document.head.appendChild(s);
    });
  }
  return window.__rnnPlotly;
}

// Full screen, as Streamlit's own chart element offers: a button of the chart's mode bar (reachable by keyboard)
const FULL = {width: 24, height: 24,
              path: "M3 3h7v2H5v5H3zm11 0h7v7h-2V5h-5zM3 14h2v5h5v2H3zm16 0h2v7h-7v-2h5z"};

function isFull(gd) { return document.fullscreenElement === gd.__box; }

function fullScreenButton(gd) {
  return {name: "fullscreen", title: "Full screen (Esc leaves it)", icon: FULL,
          click: () => (isFull(gd) ? document.exitFullscreen() : gd.__box.requestFullscreen())};
}

function reachable(gd) {                     // Plotly's mode bar buttons are links without href: give ours a key
  const button = gd.querySelector('.modebar-btn[data-title^="Full screen"]');
  if (!button || button.__keyed) return;
  button.__keyed = true;
  button.setAttribute("role", "button");
  button.setAttribute("tabindex", "0");
  button.setAttribute("aria-label", "Show this chart full screen");
  button.addEventListener("keydown", e => {
    if (e.key === "Enter" || e.key === " ") { e.preventDefault(); button.click(); }
  });
}

function screenSize(gd) {                    // full screen: the screen, less the box's padding
  const css = getComputedStyle(gd.__box), box = gd.__box;
  return {width: box.clientWidth - parseFloat(css.paddingLeft) - parseFloat(css.paddingRight),
          height: box.clientHeight - parseFloat(css.paddingTop) - parseFloat(css.paddingBottom)};
}

function layoutOf(gd, spec) {
  return isFull(gd) ? Object.assign({}, spec.figure.layout, screenSize(gd)) : spec.figure.layout;
}

async function draw(gd) {                    // the newest figure only: one that waited meanwhile is skipped
  gd.__busy = true;
  try {
    while (gd.__want !== undefined) {
      const text = gd.__want;
      gd.__want = undefined;
      if (text === gd.__drawn) continue;
      const spec = JSON.parse(text);
      const Plotly = await plotly(spec.bundle);
      gd.__fill = spec.fill;
      gd.style.height = spec.fill ? "100%" : "";
      gd.__drawn = text;                     // the figure drawn, from here on
      gd.__spec = spec;
      gd.__height = spec.figure.layout.height;   // (Plotly keeps the layout it is given, and changes it)
      const configText = JSON.stringify(spec.config);
      if (configText !== gd.__configText) {   // the same config object while it is the same: Plotly.react
        gd.__configText = configText;         // draws a figure anew when its config changed
        gd.__config = Object.assign({}, spec.config, {modeBarButtonsToAdd: [fullScreenButton(gd)]});
      }
      await Plotly.react(gd, spec.figure.data, layoutOf(gd, spec), gd.__config);
      reachable(gd);
    }
  } catch (err) {
    gd.__drawn = undefined;
    if (window.Plotly) window.Plotly.purge(gd);          // the next figure starts from an empty <div>
    gd.textContent = "This chart could not be drawn: " + err.message;
  } finally {
    gd.__busy = false;
  }
}

export default function (component) {
  const { data, parentElement } = component;
  let gd = parentElement.querySelector(".rnn-chart");
  if (!gd) {
    gd = document.createElement("div");
    gd.className = "rnn-chart";
    parentElement.appendChild(gd);
    // its width follows its column's (a sidebar opened or closed resizes no window), and a filling chart's
    // height its container's; a chart's own height is its figure's
    gd.__resize = new ResizeObserver(entries => {
      const box = entries[entries.length - 1].contentRect;
      const size = Math.round(box.width) + (gd.__fill ? "x" + Math.round(box.height) : "");
      if (size === gd.__size || isFull(gd)) return;
      gd.__size = size;
      if (gd.__drawn && window.Plotly) window.Plotly.Plots.resize(gd);
    });
    gd.__resize.observe(parentElement);
    gd.__box = parentElement;
    gd.__full = () => {                      // into or out of full screen: the chart's height follows
      if (!gd.__spec || !window.Plotly) return;
      const button = gd.querySelector('.modebar-btn[data-title^="Full screen"]');
      if (button) button.setAttribute("aria-label", isFull(gd) ? "Leave full screen" : "Show this chart full screen");
      window.Plotly.relayout(gd, isFull(gd) ? screenSize(gd) : {width: null, height: gd.__height});
    };
    document.addEventListener("fullscreenchange", gd.__full);
  }
  gd.__want = new TextDecoder().decode(data);
  if (!gd.__busy) draw(gd);
  return () => {
    gd.__resize.disconnect();
    document.removeEventListener("fullscreenchange", gd.__full);
    if (window.Plotly) window.Plotly.purge(gd);
  };
}
"""

# Full screen: the chart on the page's background, with a margin
_CSS = """
:fullscreen:has(> .rnn-chart) { background: #ffffff; padding: 1.5rem; box-sizing: border-box; }
"""

_ELEMENT = st.components.v2.component(NAME, js=_JS, css=_CSS, isolate_styles=False)
_READY: dict[str, bool] = {}          # main script → whether Plotly.js is in its static folder (checked once)


def _main_script() -> str | None:
    ctx = get_script_run_ctx()
    return getattr(ctx, "main_script_path", None) if ctx is not None else None


def put_bundle(folder: Path) -> bool:
    """Copy Plotly's bundle into `folder` unless the same file is there (atomic: replicas may share it)."""
    target, tmp = folder / BUNDLE, None
    try:
        bundle = SOURCE.read_bytes()
        if target.is_file() and target.read_bytes() == bundle:
            return True
        folder.mkdir(exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=folder, prefix=".plotly-")
        with os.fdopen(fd, "wb") as out:
            out.write(bundle)
        os.chmod(tmp, 0o644)
        os.replace(tmp, target)
        return True
    except OSError as err:
        if tmp is not None:
            Path(tmp).unlink(missing_ok=True)
        _LOG.warning("charts fall back to st.plotly_chart: Plotly.js could not be put in %s (%s)", folder, err)
        return False


def available() -> bool:
    """Whether our element can draw here: static serving is on and Plotly.js is in the folder Streamlit serves
    at <base>/app/static/ (`static/` beside the main script)."""
    if not st.get_option("server.enableStaticServing"):
        return False
    main = _main_script()
    if main is None:
        return False
    if main not in _READY:
        _READY[main] = put_bundle(Path(main).resolve().parent / "static")
    return _READY[main]


def bundle_url() -> str:
    """Where the page loads Plotly.js from: <base>/app/static/plotly.min.js."""
    base = (st.get_option("server.baseUrlPath") or "").strip("/")
    return "/" + (f"{base}/" if base else "") + "app/static/" + BUNDLE


def payload(figure_json: bytes, config: dict, fill: bool = False) -> bytes:
    """What the element is given: {"bundle", "config", "fill", "figure"} as JSON bytes, the figure's own
    bytes spliced in unparsed."""
    head = json.dumps({"bundle": bundle_url(), "config": config, "fill": fill})
    return b'%s,"figure":%s}' % (head[:-1].encode(), figure_json)


def figure_of(data: bytes) -> dict:
    """The figure ({"data", "layout"}) in an element's payload."""
    return json.loads(data)["figure"]


def draw(figure_json: bytes, config: dict, key: str, where: Any = None, fill: bool = False) -> None:
    """The figure in the element `key` (in `where`: a column, a container; the main area if None), as wide as
    its column; `fill`: as tall as its container (the figure has no height of its own)."""
    data = payload(figure_json, config, fill)
    height = "stretch" if fill else "content"
    if where is None or where is st:
        _ELEMENT(key=key, data=data, width="stretch", height=height)
        return
    with where:
        _ELEMENT(key=key, data=data, width="stretch", height=height)


if __name__ == "__main__":
    import sys

    where = Path(sys.argv[1]) if len(sys.argv) > 1 else Path(__file__).resolve().parents[1] / "static"
    if not put_bundle(where):
        sys.exit(f"Plotly.js could not be put in {where}")
    print(f"Plotly.js is in {where / BUNDLE}")
