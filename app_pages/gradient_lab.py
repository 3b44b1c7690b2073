"""Gradient Lab: see vanishing and exploding gradients instantly, at initialisation, no training.

Reads the Lab's controls (`ui.lab`), computes through `rnn_core.lessons.lab` (cached; `lab_verdict` reads the
headline numbers) and draws the `plots.lab` charts. `?preset=<key>` and the `lab.*` URL params set
the controls. A computation the memory budget refuses (`lab_probes.check_lab_probe`, whether the sliders or
a link set it) shows its one sentence in place of its chart (the probe of the chosen cell: of every chart).
"""

from dataclasses import asdict

import streamlit as st

from plots.lab import (
    jacobian_figure,
    lab_gradient_figure,
    overlay_figure,
    phase_figure,
    singular_values_figure,
)
from rnn_core.config import ConfigError
from rnn_core.data.budget import BudgetError
from rnn_core.interrupt import Interrupted, interruptible
from rnn_core.lessons.lab import LAB_PRESETS, lab_verdict, overlay_left_out
from rnn_core.lessons.lab_ahead import look_ahead
from rnn_core.nn.cells import cell_of, labels_where
from rnn_core.nn.probe import reference_note
from rnn_core.readable import readable
from ui import charts
from ui.lab import (
    cached_jacobians,
    cached_overlay,
    cached_phase,
    cached_profile,
    cached_singular_values,
    current_preset,
    key,
    lab_chart,
    lab_controls,
    load_lab_state,
    previous_settings,
    sync_lab_url,
    take_preset_note,
)
from ui.links import LAB, changed_preset_sentence, holds_preset
from ui.live import script_interrupt
from ui.markdown import md
from ui.presenter import presenter_bar, presenter_mode, show_chart, status_line

CHARTS = {"gradient": "Gradient through time", "overlay": "All cells compared", "phase": "Phase diagram",
          "singular": "Singular values of W_hh", "jacobian": "Jacobian product"}

presenter = presenter_mode()
note = load_lab_state()
chart, bar = presenter_bar("lab", CHARTS, "gradient") if presenter else (None, None)
if presenter:
    area = st.container()           # the status line and the chosen chart, drawn once the settings are read
    box = st.expander("Settings", expanded=False, icon=":material/tune:")
else:
    st.title("Gradient Lab")
    st.caption("How much of the loss's gradient reaches each earlier timestep of a freshly initialised "
               "network — no training needed. Every chart is exact (float64 autograd through the "
               "written-out cell equations) and averaged over a few random networks.")
    area, box = st.container(), st.sidebar
    box.header("Gradient Lab settings")
before = previous_settings()
cfg = lab_controls(box, preset_box=bar)
sync_lab_url(cfg)
if note:
    area.warning(md(note))
shown = take_preset_note()
if shown in LAB_PRESETS and not presenter:     # its sentence only while the settings are the preset's
    title = LAB_PRESETS[shown]["title"]
    st.info(f"**{title}** — {LAB_PRESETS[shown]['note']}" if holds_preset(LAB, cfg, shown)
            else changed_preset_sentence(title))

# a closed tab or a changed slider ends the computations within a chunk (not minutes later)
stop_asked = script_interrupt()
try:
    cfg.validate()
    c = asdict(cfg)
    # the chosen cell's probes first: the headline numbers and the first chart are drawn (and sent, and drawn by
    # the browser) while the other charts' probes are computed, each where its chart goes (`_chart`)
    with st.spinner("Probing fresh networks…"), interruptible(stop_asked):
        normalise = st.session_state.get(key("normalise"), False)
        stats = cached_profile(c, normalise)
except (ConfigError, BudgetError) as exc:
    st.error(md(exc))
    st.stop()
except Interrupted:
    st.stop()

# ---- headline numbers and what they say
v = lab_verdict(stats)
gated = not v.bounded
top = " (top layer)" if cfg.num_layers > 1 else ""
cell = cell_of(cfg.cell)
bounded_cells = labels_where(lambda c: c.bounded)


def _figure(name: str, height: int):
    """One of the Lab's charts (its data computed, and cached, only when it is drawn)."""
    if name == "gradient":
        return lab_gradient_figure(stats, height=height)
    if name == "overlay":         # its LSTM may be over the budget where the chosen cell is not: its sentence
        return overlay_figure(cached_overlay(c), height=height)
    if name == "phase":
        return phase_figure(cached_phase(c), height=height)
    if name == "singular":
        return singular_values_figure(cached_singular_values(c), height=height)
    return jacobian_figure(cached_jacobians(c), height=height)


def _chart(name: str, height: int, summary: str = "", present: bool = False) -> None:
    """One of the Lab's charts, or in its place the memory budget's sentence refusing its computation."""
    try:        # built again only when its numbers change (`ui.lab.lab_chart`)
        with st.spinner("Probing fresh networks…"), interruptible(stop_asked):
            # presenter mode draws it at the lecture's height (`show_chart` changes the figure): its own build
            figure = lab_chart(name, c, lambda: _figure(name, height), height, present,
                               normalise if name == "gradient" else None)
    except BudgetError as exc:
        st.error(md(exc), icon=":material/memory:")
        return
    except Interrupted:
        st.stop()
    if present:
        show_chart(figure, f"lab_{name}", summary=summary)
    else:
        charts.chart(figure, f"lab_{name}", summary)


# the Lab's verdict in one sentence: the gradient chart's text alternative begins with it
lab_sentence = (f"{cell.label}, T = {cfg.timesteps}: σ_max·γ = {readable(v.rate)}, reaching t = 0: {v.reach}, "
                f"{v.verdict}.")

if presenter:                       # one line of numbers and the chosen chart, nothing else
    preset = current_preset(cfg)
    lead = f"**{LAB_PRESETS[preset]['title']}** · " if preset else ""
    with area:
        status_line(f"{lead}{cell.label}, T = {cfg.timesteps} · σ_max·γ = **{readable(v.rate)}** · reaching "
                    f"t = 0: **{v.reach}** · it **{v.outcome}** (the bound: {v.verdict})")
        _chart(chart, 400, lab_sentence if chart == "gradient" else "", present=True)
        if preset:
            st.caption(LAB_PRESETS[preset]["note"])
    look_ahead(cfg, before, ("gradient", chart))      # the next step of the slider just moved, probed meanwhile
    st.stop()

m1, m2, m3, m4 = st.columns(4)
m1.metric(f"σ_max{top}", readable(v.sigma_max), help=f"Largest singular value of {cell.spectrum_of}, "
          "mean over seeds.")
m2.metric("σ_max·γ", readable(v.rate), delta=f"the bound: {v.verdict}", delta_color="off", delta_arrow="off",
          help=f"γ = sup φ' = 1 for tanh and ReLU. Below 1 the gradient of the top layer of a {bounded_cells} must "
               f"vanish geometrically (Pascanu et al., 2013); for a gated cell it forces nothing. {v.why}")
m3.metric("Reaching t = 0", v.reach,
          help=f"‖∂L/∂h₀‖ / ‖∂L/∂h_T‖: the fraction of the last step's gradient (t = {cfg.timesteps - 1}) "
               "that reaches the first input, geometric mean over seeds.")
m4.metric("What happened", v.outcome,
          help=f"From the last timestep (t = {cfg.timesteps - 1}) back to t = 0, first layer, geometric mean over "
               "seeds: what the measured gradient did. An exact 0 is 'blocked' (a switched-off ReLU or a saturated "
               "tanh on every path) or an underflow below float64 — the bound beside it says what it allows.")

# ---- one cell, and all cells
left, right = st.columns(2)
with left:
    _chart("gradient", 400, lab_sentence)
    if not presenter:
        st.checkbox("Divide by ‖∂L/∂h_T‖ (fraction of the last step's gradient)", key=key("normalise"))
        st.caption(f"Solid: the measured gradient, geometric mean over {cfg.seeds} seed(s), with the seeds' "
                   "min–max band. " + reference_note(cfg.cell))
with right:
    _chart("overlay", 400)
    if not presenter:
        st.caption("The same settings for every cell, each divided by its own last-step gradient. "
                   f"The {labels_where(lambda c: c.gates)} keep more of it when their gates are open (try the "
                   "forget bias). "
                   + " ".join(overlay_left_out(cfg)))

# ---- the deeper views, one at a time: only the open tab is computed and drawn, so a slider step redraws
# three charts rather than five (bench/lab_slider.py)
DEEPER = ("phase", "singular", "jacobian")


def _phase_view() -> None:
    _chart("phase", 420)
    init_note = " (the default init ignores the gain, so orthogonal × gain is used)" if cfg.init == "default" else ""
    st.caption(f"{cell.label}, T = {cfg.timesteps}, H = {cfg.hidden_size}{init_note}. Blue: the "
               "gradient has vanished by that timestep; red: it has grown. The dashed line marks "
               f"σ_max·γ = 1, the border Pascanu et al. derive, which holds for the {bounded_cells}"
               + ("; for a gated cell the gain scales every gate block and the line is no border." if gated
                  else "."))


def _singular_view() -> None:
    _chart("singular", 330)
    st.caption(f"All singular values of {cell.spectrum_of} for seed 0"
               + (" (rank = output size: one)" if cell.output_feedback else "")
               + ". Orthogonal × gain puts them all at the gain; PyTorch's default init spreads them "
               "from 0 up to σ_max ≈ 1.1, with a spectral radius of only ≈ 0.6.")


def _jacobian_view() -> None:
    _chart("jacobian", 330)
    st.caption("‖∂h_T/∂h_{T−k}‖₂, the spectral norm of the product of k step Jacobians along one "
               "input sequence" + (", against its upper bound (σ_max·γ)^k (each Jacobian is "
               f"diag(φ'(a_j))·{cell.spectrum_of.split(' ')[0]})." if not gated else
               ", of the full state (h, and c where the cell has one). No σ_max bound applies; dash-dotted: "
               f"the product of the {cell.gate_path[0] if cell.gate_path else ''} gates along the additive "
               "path alone."))


VIEWS = {"phase": _phase_view, "singular": _singular_view, "jacobian": _jacobian_view}
tabs = st.tabs([CHARTS[name] for name in DEEPER], key=key("view"), on_change="rerun")
for name, tab in zip(DEEPER, tabs, strict=True):
    if tab.open:
        with tab:
            VIEWS[name]()

# while the user reads the charts, the next step of the slider just moved (same direction) is probed in the
# background: a next press finds its probes kept (`rnn_core.lessons.lab_ahead`)
look_ahead(cfg, before, ("gradient", "overlay", *(name for name, tab in zip(DEEPER, tabs, strict=True) if tab.open)))
