"""Streamlit glue of the Gradient Lab: its controls, presets and URL sync, and cached computations.

Widget keys are `lab.<LabConfig field>`. The link rule is the Playground's (`ui.links`, codec `LAB`):
`?preset=<key>` with `lab.*` params over it, values outside a slider's range moved into it with one
sentence, followed on the session's first visit and whenever the address names a preset this session
did not write; otherwise the settings this session last used (kept in the slot "lab", outside the
widget keys, which Streamlit drops on a page switch), else the defaults. The URL is rewritten to
`?preset=<key>` while the settings equal the preset last applied, else to the `lab.*` values that
differ from the defaults (plus `presenter=1&chart=…` in presenter mode).
Holds `load_lab_state()`, `previous_settings()`, `lab_controls(container)`, `take_preset_note()`, `sync_lab_url(cfg)`,
`current_preset(cfg)`, the `cached_*` functions and `lab_chart(name, cfg, build, *extra)` (a chart's figure,
built again only when the settings that decide its numbers changed).
Leaves to others: the computations (`rnn_core.lessons.lab`), the figures (`plots.lab`).
"""

from __future__ import annotations

from dataclasses import asdict

import streamlit as st

from rnn_core.config import INITS
from rnn_core.lessons import lab
from rnn_core.lessons.lab import LAB_PRESETS, LAB_SETTINGS, LabConfig, clamp_lab
from rnn_core.lessons.lab_probes import what_matters
from rnn_core.nn.cells import CELLS
from ui.controls import cell_select
from ui.links import LAB, follow, link_params, write_address
from ui.state import memo, slot, widget_key

SLOT = "lab"                            # the Lab's SlotState: settings, preset, link markers, note
_PICK = widget_key(SLOT, "preset_pick")    # the sidebar preset menu


def _slider(box, name: str, **kwargs) -> None:
    """The slider of one Lab setting, with the label, tooltip, range and step of `LAB_SETTINGS`."""
    f = LAB_SETTINGS[name]
    box.slider(f.widget_label, min_value=f.lo, max_value=f.hi, step=f.step, key=key(name), help=f.help, **kwargs)


def _select(box, name: str, options: dict[str, str]) -> None:
    f = LAB_SETTINGS[name]
    box.selectbox(f.widget_label, list(options), format_func=options.get, key=key(name), help=f.help)


def key(name: str) -> str:
    return widget_key(SLOT, name)


def _seed_widgets(cfg: LabConfig, overwrite: bool = True) -> None:
    for name, value in asdict(clamp_lab(cfg)).items():
        if overwrite or key(name) not in st.session_state:
            st.session_state[key(name)] = value


def _apply(preset: str, cfg: LabConfig) -> None:
    """Settings from a preset (or a link naming one): into the widgets, remembered for the URL and
    the page's one-line note."""
    _seed_widgets(cfg)
    state = slot(SLOT)
    state.preset = state.note = preset


def _apply_pick() -> None:
    """Preset menu callback: apply the preset (the menu keeps showing it, as the Playground's does)."""
    pick = st.session_state.get(_PICK)
    if pick in LAB_PRESETS:
        _apply(pick, LAB_PRESETS[pick]["config"])


def load_lab_state() -> str | None:
    """Fill the widget keys before the controls are drawn. Returns a sentence to show, or None."""
    state = slot(SLOT)
    link = follow(LAB, state, st.query_params.to_dict())
    if link is not None:
        state.url_note = link.note
        if link.settings is not None:
            _apply(link.preset, link.settings)
            return state.url_note
    saved = LabConfig(**state.configs) if state.configs else LabConfig()
    _seed_widgets(saved, overwrite=False)
    return state.url_note


def previous_settings() -> LabConfig | None:
    """The settings of this session's last Lab run, before `lab_controls` reads this one's (None: its first)."""
    configs = slot(SLOT).configs
    return LabConfig(**configs) if configs else None


def take_preset_note() -> str | None:
    """The preset just applied (to say what it shows, once), or None."""
    state = slot(SLOT)
    note, state.note = state.note, None
    return note


def lab_controls(box, preset_box=None) -> LabConfig:
    """Draw the Lab's controls into `box` (the sidebar, or an expander in presenter mode); the preset
    menu into `preset_box` when given (presenter mode puts it in the presenter bar)."""
    st.session_state[_PICK] = slot(SLOT).preset      # the preset the settings came from (a link, the menu)
    (preset_box or box).selectbox(
        "Preset", list(LAB_PRESETS), index=None, key=_PICK, on_change=_apply_pick,
        format_func=lambda k: LAB_PRESETS[k]["title"], placeholder="Choose a preset…",
        label_visibility="collapsed" if preset_box is not None else "visible",
        help="Sets several controls at once to show one effect.")
    cell_select(box, key("cell"), LAB_SETTINGS["cell"])
    _slider(box, "timesteps")
    c1, c2 = box.columns(2)
    _slider(c1, "hidden_size")
    _slider(c2, "num_layers")
    _select(box, "init", INITS)
    _slider(box, "gain", disabled=st.session_state.get(key("init")) == "default")
    _slider(box, "forget_bias")
    _slider(box, "input_scale")
    _slider(box, "seeds")
    ss = st.session_state
    cfg = LabConfig(cell=ss[key("cell")], timesteps=int(ss[key("timesteps")]),
                    hidden_size=int(ss[key("hidden_size")]), num_layers=int(ss[key("num_layers")]),
                    init=ss[key("init")], gain=float(ss[key("gain")]), forget_bias=float(ss[key("forget_bias")]),
                    seeds=int(ss[key("seeds")]), input_scale=float(ss[key("input_scale")]))
    slot(SLOT).configs = asdict(cfg)
    return cfg


def current_preset(cfg: LabConfig) -> str | None:
    """The preset whose settings `cfg` equals, if any."""
    for name, p in LAB_PRESETS.items():
        if p["config"] == cfg:
            return name
    return None


def sync_lab_url(cfg: LabConfig) -> None:
    """Write the settings into the address bar (`ui.links`: the same rule as the Playground's)."""
    state = slot(SLOT)
    write_address(link_params(LAB, cfg, state.preset), state)


# ------------------------------------------------------------------------ cached computations
# Each takes the settings as a plain dict (as `asdict(cfg)`) and keys its cache by the settings that change
# its numbers (`lab_probes.what_matters` and the pins below): changing the gain under the default init
# recomputes nothing, the forget bias only what has an LSTM in it, the seeds not the phase diagram. The
# probes under them are kept per network (`rnn_core.lessons.lab_probes`): one more seed probes one seed.
def _matters(cfg: dict, cells: tuple[str, ...] | None = None, **pins) -> dict:
    c = LabConfig(**{**cfg, **pins})
    return asdict(what_matters(c, cells or (c.cell,)))


def _chart_settings(name: str, cfg: dict) -> dict:
    """The settings that decide chart `name`'s numbers (the key of its cached computation below)."""
    if name == "overlay":
        return _matters(cfg, tuple(CELLS), cell="rnn")
    if name == "phase":
        return _matters(cfg, gain=1.0, seeds=1)
    if name == "singular":
        return _matters(cfg, timesteps=2, input_scale=0.5, seeds=1)
    return _matters(cfg)                                                 # the chosen cell's gradient, its Jacobians


def lab_chart(name: str, cfg: dict, build, *extra):
    """The figure `build()` gives for chart `name`, kept in this session and built again only when the settings
    that decide its numbers (or `extra`: its height, what it divides by) changed: a slider step that leaves a
    chart as it was (the gain and the phase diagram, the seeds and W_hh's spectrum, the forget bias of a cell
    without a forget gate) neither recomputes nor rebuilds it, and `ui.charts` describes it once."""
    return memo(SLOT, f"chart.{name}", (_chart_settings(name, cfg), *extra), build)


def cached_profile(cfg: dict, normalise: bool) -> dict:
    return _profile(_matters(cfg), normalise)


def cached_overlay(cfg: dict) -> dict:
    return _overlay(_chart_settings("overlay", cfg))


def cached_phase(cfg: dict) -> dict:
    # the phase diagram sweeps the gain itself, on one seed; a gated cell's forget bias still acts
    return _phase(_chart_settings("phase", cfg))


def cached_singular_values(cfg: dict) -> list[dict]:
    # W_hh of seed 0: no input, no timesteps
    return _singular_values(_chart_settings("singular", cfg))


def cached_jacobians(cfg: dict) -> dict:
    return _jacobians(_chart_settings("jacobian", cfg))


@st.cache_data(show_spinner=False, max_entries=64)
def _profile(cfg: dict, normalise: bool) -> dict:
    return lab.profile_stats(LabConfig(**cfg), normalise=normalise)


@st.cache_data(show_spinner=False, max_entries=32)
def _overlay(cfg: dict) -> dict:
    return lab.overlay(LabConfig(**cfg), normalise=True)


@st.cache_data(show_spinner=False, max_entries=32)
def _phase(cfg: dict) -> dict:
    return lab.phase_diagram(LabConfig(**cfg))


@st.cache_data(show_spinner=False, max_entries=64)
def _singular_values(cfg: dict) -> list[dict]:
    return lab.singular_values(LabConfig(**cfg))


@st.cache_data(show_spinner=False, max_entries=64)
def _jacobians(cfg: dict) -> dict:
    return lab.jacobian_stats(LabConfig(**cfg))
