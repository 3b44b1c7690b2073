"""Streamlit glue of the Gradient Lab: its controls, presets and URL sync, and cached computations.

Widget keys are `lab.<LabConfig field>`. Where the settings come from, first match wins:
a new `?preset=<key>` in the URL (`rnn_core.lab.LAB_PRESETS`), the settings this session last used
(kept outside the widget keys, which Streamlit drops on a page switch), the `lab.*` URL params, the
defaults. The URL is rewritten to `?preset=<key>` while the settings equal that preset, else to the
`lab.*` values that differ from the defaults (plus `presenter=1` when presenter mode is on).
Holds `load_lab_state()`, `lab_controls(container)`, `sync_lab_url(cfg)` and the `cached_*` functions.
Leaves to others: the computations (`rnn_core.lab`), the figures (`plots.lab`).
"""

from __future__ import annotations

from dataclasses import asdict

import streamlit as st

from rnn_core import lab
from rnn_core.config import CELL_SPECS, CELLS, INITS, ConfigError
from rnn_core.lab import LAB_PRESETS, LAB_SETTINGS, LabConfig, clamp_lab
from ui.presenter import url_params

LAB_PRESET_APPLIED = "lab.preset_applied"   # the ?preset= value already applied in this session
_SAVED = "lab.saved"                        # the last LabConfig as a dict (survives page switches)
_PICK = "lab.preset_pick"                   # the sidebar preset menu


def _slider(box, name: str, **kwargs) -> None:
    """The slider of one Lab setting, with the label, tooltip, range and step of `LAB_SETTINGS`."""
    f = LAB_SETTINGS[name]
    box.slider(f.widget_label, min_value=f.lo, max_value=f.hi, step=f.step, key=key(name), help=f.help, **kwargs)


def _select(box, name: str, options: dict[str, str]) -> None:
    f = LAB_SETTINGS[name]
    box.selectbox(f.widget_label, list(options), format_func=options.get, key=key(name), help=f.help)


def key(name: str) -> str:
    return f"lab.{name}"


def _seed_widgets(cfg: LabConfig, overwrite: bool = True) -> None:
    for name, value in asdict(clamp_lab(cfg)).items():
        if overwrite or key(name) not in st.session_state:
            st.session_state[key(name)] = value


def _apply_pick() -> None:
    """Sidebar preset menu callback: apply the preset, then reset the menu."""
    pick = st.session_state.get(_PICK)
    if pick in LAB_PRESETS:
        _seed_widgets(LAB_PRESETS[pick]["config"])
        # The address bar still names the preset applied before (a deep link's, or the last pick's)
        # until this run rewrites it: name the pick there now, so `load_lab_state` does not take the
        # stale one for a newly followed link and put it back.
        st.query_params["preset"] = pick
        st.session_state[LAB_PRESET_APPLIED] = pick
        st.session_state["lab.note"] = pick
    st.session_state[_PICK] = None


def load_lab_state() -> str | None:
    """Fill the widget keys before the controls are drawn. Returns a sentence to show, or None."""
    query = st.query_params.to_dict()
    preset = query.get("preset")
    if preset and preset != st.session_state.get(LAB_PRESET_APPLIED):
        st.session_state[LAB_PRESET_APPLIED] = preset
        if preset not in LAB_PRESETS:
            return f"Unknown Gradient Lab preset '{preset}': choose one of {', '.join(LAB_PRESETS)}."
        _seed_widgets(LAB_PRESETS[preset]["config"])
        st.session_state["lab.note"] = preset
        return None
    if _SAVED in st.session_state:
        _seed_widgets(LabConfig(**st.session_state[_SAVED]), overwrite=False)
        return None
    try:
        cfg = LabConfig.from_query(query).validate()
    except ConfigError as exc:
        _seed_widgets(LabConfig(), overwrite=False)
        return f"{exc} The defaults are shown instead."
    _seed_widgets(cfg, overwrite=False)
    return None


def lab_controls(box, preset_box=None) -> LabConfig:
    """Draw the Lab's controls into `box` (the sidebar, or an expander in presenter mode); the preset
    menu into `preset_box` when given (presenter mode puts it in the presenter bar)."""
    (preset_box or box).selectbox(
        "Preset", list(LAB_PRESETS), index=None, key=_PICK, on_change=_apply_pick,
        format_func=lambda k: LAB_PRESETS[k]["title"], placeholder="Choose a preset…",
        label_visibility="collapsed" if preset_box is not None else "visible",
        help="Sets several controls at once to show one effect.")
    _select(box, "cell", CELLS)
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
    ss[_SAVED] = asdict(cfg)
    return cfg


def current_preset(cfg: LabConfig) -> str | None:
    """The preset whose settings `cfg` equals, if any."""
    for name, p in LAB_PRESETS.items():
        if p["config"] == cfg:
            return name
    return None


def sync_lab_url(cfg: LabConfig) -> None:
    """Write the settings into the address bar (see the module docstring)."""
    preset = current_preset(cfg)
    wanted = {"preset": preset} if preset else cfg.to_query()
    wanted.update(url_params())
    if st.query_params.to_dict() != wanted:
        st.query_params.from_dict(wanted)


# ------------------------------------------------------------------------ cached computations
# Plain dict arguments so st.cache_data can hash them; fields that do not matter are pinned so
# that, e.g., changing the gain does not recompute the phase diagram.
@st.cache_data(show_spinner=False, max_entries=64)
def cached_profile(cfg: dict, normalise: bool) -> dict:
    return lab.profile_stats(LabConfig(**cfg), normalise=normalise)


@st.cache_data(show_spinner=False, max_entries=32)
def cached_overlay(cfg: dict) -> dict:
    return lab.overlay(LabConfig(**{**cfg, "cell": "rnn"}), normalise=True)


@st.cache_data(show_spinner=False, max_entries=32)
def cached_phase(cfg: dict) -> dict:
    pinned = {"gain": 1.0} if "forget" in CELL_SPECS[cfg["cell"]].gates else {"gain": 1.0, "forget_bias": 0.0}
    return lab.phase_diagram(LabConfig(**{**cfg, **pinned}))


@st.cache_data(show_spinner=False, max_entries=64)
def cached_singular_values(cfg: dict) -> list[dict]:
    return lab.singular_values(LabConfig(**{**cfg, "timesteps": 2, "input_scale": 0.5}))


@st.cache_data(show_spinner=False, max_entries=64)
def cached_jacobians(cfg: dict) -> dict:
    return lab.jacobian_stats(LabConfig(**cfg))
