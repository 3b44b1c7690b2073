"""Streamlit glue of the Gradient Lab: its controls, presets and URL sync, and cached computations.

Widget keys are `lab.<LabConfig field>`. Where the settings come from, first match wins:
a new `?preset=<key>` in the URL (`rnn_core.lab.LAB_PRESETS`), the settings this session last used
(kept outside the widget keys, which Streamlit drops on a page switch), the `lab.*` URL params, the
defaults. The URL is rewritten to `?preset=<key>` while the settings equal that preset, else to the
`lab.*` values that differ from the defaults (plus `presenter=1` when presenter mode is on).
Holds `load_lab_state()`, `lab_controls(container)`, `sync_lab_url(cfg)` and the `cached_*` functions.
Leaves to others: the computations (`rnn_core.lab`), the figures (`rnn_core.lab_figures`).
"""

from __future__ import annotations

from dataclasses import asdict

import streamlit as st

from rnn_core import lab
from rnn_core.config import CELLS, INITS, ConfigError
from rnn_core.lab import LAB_PRESETS, LabConfig
from ui.presenter import url_params

LAB_PRESET_APPLIED = "lab.preset_applied"   # the ?preset= value already applied in this session
_SAVED = "lab.saved"                        # the last LabConfig as a dict (survives page switches)
_PICK = "lab.preset_pick"                   # the sidebar preset menu
# (min, max, step) of each slider; values from a URL are clamped into them.
RANGES = {"timesteps": (2, 500, 1), "hidden_size": (1, 256, 1), "num_layers": (1, 4, 1),
          "gain": (0.0, 3.0, 0.05), "forget_bias": (-2.0, 6.0, 0.25), "input_scale": (0.0, 2.0, 0.05),
          "seeds": (1, 10, 1)}


def _range(name: str) -> dict:
    lo, hi, step = RANGES[name]
    return {"min_value": lo, "max_value": hi, "step": step}


def key(name: str) -> str:
    return f"lab.{name}"


def _clamp(name: str, value):
    if name not in RANGES:
        return value
    lo, hi, step = RANGES[name]
    value = min(max(value, lo), hi)
    return int(value) if isinstance(step, int) else float(value)


def _seed_widgets(cfg: LabConfig, overwrite: bool = True) -> None:
    for name, value in asdict(cfg).items():
        if overwrite or key(name) not in st.session_state:
            st.session_state[key(name)] = _clamp(name, value)


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
    box.selectbox("Cell", list(CELLS), format_func=CELLS.get, key=key("cell"),
                  help="Elman tanh / ReLU, Jordan, LSTM or GRU; the overlay chart shows all five anyway.")
    box.slider("Timesteps T", **_range("timesteps"), key=key("timesteps"),
               help="Sequence length: how far back the gradient has to travel.")
    c1, c2 = box.columns(2)
    c1.slider("Hidden size H", **_range("hidden_size"), key=key("hidden_size"),
              help="Units per layer: the size of W_hh (H × H).")
    c2.slider("Layers", **_range("num_layers"), key=key("num_layers"),
              help="Stacked recurrent layers (a Jordan network has one).")
    box.selectbox("W_hh init", list(INITS), format_func=INITS.get, key=key("init"),
                  help="Orthogonal × gain and identity × gain set σ_max(W_hh) = gain exactly (Jordan: of "
                       "its output loop W_yh·W_out).")
    box.slider("Gain", **_range("gain"), key=key("gain"),
               disabled=st.session_state.get(key("init")) == "default",
               help="Scales W_hh. For Elman and Jordan cells σ_max·γ < 1 forces the gradient to vanish and "
                    "> 1 allows it to grow (it need not); for LSTM / GRU it scales every gate block and "
                    "forces nothing. No effect with the PyTorch default init.")
    box.slider("Forget-gate bias (LSTM)", **_range("forget_bias"), key=key("forget_bias"),
               help="Added to b_f: f_t = σ(… + b_f) near 1 keeps c_t, and its gradient, alive.")
    box.slider("Input scale", **_range("input_scale"), key=key("input_scale"),
               help="Standard deviation of the random inputs x_t. Small inputs keep tanh in its "
                    "linear part, where the upper bound (σ_max·γ)^k is tight.")
    box.slider("Seeds", **_range("seeds"), key=key("seeds"),
               help="Networks drawn with different seeds; lines are their geometric mean, bands min–max.")
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
    pinned = {"gain": 1.0} if cfg["cell"] == "lstm" else {"gain": 1.0, "forget_bias": 0.0}
    return lab.phase_diagram(LabConfig(**{**cfg, **pinned}))


@st.cache_data(show_spinner=False, max_entries=64)
def cached_singular_values(cfg: dict) -> list[dict]:
    return lab.singular_values(LabConfig(**{**cfg, "timesteps": 2, "input_scale": 0.5}))


@st.cache_data(show_spinner=False, max_entries=64)
def cached_jacobians(cfg: dict) -> dict:
    return lab.jacobian_stats(LabConfig(**cfg))
