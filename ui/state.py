"""Session state and URL sync for the control panels: configs ↔ widget keys ↔ `st.query_params`.

Every control panel (see `ui/controls.py`) stores its widgets under a *prefix* (the Playground uses
"pg", another page its own), one key per config field, named like the URL parameter it maps to:

    ModelConfig.hidden_size  →  widget key "pg.m.hidden_size"   →  URL  ?m.hidden_size=64
    DataConfig.timesteps     →  "pg.d.timesteps"                →  ?d.timesteps=100
    DataConfig.params[noise] →  "pg.dp.<dataset>.noise"         →  ?d.params.noise=0.1
    TrainConfig.lr           →  "pg.t.lr"                       →  ?t.lr=0.001
    a preset                 →  (applied to the widgets)        →  ?preset=vanishing (read only)

The URL holds only values that differ from the defaults (`config.to_query`), is read once per browser
session (first load: `?preset=` first, then the individual parameters over it) and is rewritten
whenever the controls change, so a teacher can copy the address bar and share the exact setup.
Nothing read from the URL is used as a path: it is parsed into the config dataclasses and validated.

Public:
    key(prefix, section, name) -> str
    seed_widgets(prefix, model, data, train, overwrite=False)   # put configs into the widget keys
    apply_preset(prefix, preset_key)        # every control from a preset (in a callback)
    request_seed(prefix, model, data, train)  # set the widgets on the next run (then st.rerun())
    restore_widgets(prefix)                 # start of a page: pending seeds, and widgets back after a
                                            # page switch from the last configs
    remember(prefix, model, data, train)    # keep the configs of this run (survives page switches)
    load_url_once(prefix) -> str | None     # first load: ?preset= and the config params; returns a note
    sync_url(model, data, train)            # write the configs into the address bar when they changed
    configs_from_query(query) -> (ModelConfig, DataConfig, TrainConfig, preset_key | None)
Leaves to others: which widgets exist (`ui/controls.py`), what presets hold (`rnn_core/presets.py`).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping
from dataclasses import asdict, fields
from typing import Any

import streamlit as st

from rnn_core.config import (
    ConfigError,
    DataConfig,
    ModelConfig,
    TrainConfig,
    clamp_to_limits,
    from_query,
    replace,
    to_query,
)

SECTIONS = {"m": ModelConfig, "d": DataConfig, "t": TrainConfig}
EARLIEST_DATE = dt.date(1970, 1, 1)     # the date pickers' range: 1970-01-01 … today
# Fields not shown as widgets (set from the data, or dicts handled separately).
_NOT_WIDGETS = {"m": {"input_size", "output_size"}, "d": {"params", "features"}, "t": {"device"}}


def memo(slot: str, name: str, key: tuple, build: Callable[[], Any], store: str = "figs") -> Any:
    """`build()`'s value, rebuilt only when `key` changed since the last call for (slot, name), kept in
    this session (a Plotly figure or a text table costs ~0.1 s; most change once per epoch, not on
    every redraw)."""
    kept = st.session_state.setdefault(f"{slot}.{store}", {})
    hit = kept.get(name)
    if hit is not None and hit[0] == key:
        return hit[1]
    value = build()
    kept[name] = (key, value)
    return value


def key(prefix: str, section: str, name: str) -> str:
    """The session-state key of one control: e.g. key("pg", "m", "cell") == "pg.m.cell"."""
    return f"{prefix}.{section}.{name}"


def param_key(prefix: str, dataset: str, name: str) -> str:
    """The session-state key of one dataset parameter (each dataset keeps its own values)."""
    return f"{prefix}.dp.{dataset}.{name}"


def _widget_value(value: Any) -> Any:
    """Config value → what the widget holds (ISO date strings become dates for st.date_input)."""
    if isinstance(value, str) and len(value) == 10 and value[4] == "-" and value[7] == "-":
        try:
            return dt.date.fromisoformat(value)
        except ValueError:
            return value
    return value


def seed_widgets(prefix: str, model: ModelConfig, data: DataConfig, train: TrainConfig,
                 overwrite: bool = False) -> None:
    """Write config values into the widget keys (only missing keys unless `overwrite`).

    Call before the widgets are drawn (or from a button callback)."""
    for section, cfg in (("m", model), ("d", data), ("t", train)):
        for f in fields(cfg):
            if f.name in _NOT_WIDGETS[section]:
                continue
            k = key(prefix, section, f.name)
            if overwrite or k not in st.session_state:
                st.session_state[k] = getattr(cfg, f.name)
    for name, value in (data.params or {}).items():
        k = param_key(prefix, data.dataset, name)
        if overwrite or k not in st.session_state:
            st.session_state[k] = _widget_value(value)
    k = key(prefix, "d", "features")
    if data.features and (overwrite or k not in st.session_state):
        st.session_state[k] = list(data.features)


def remember(prefix: str, model: ModelConfig, data: DataConfig, train: TrainConfig) -> None:
    """Keep this run's configs outside the widget keys, which Streamlit drops on a page switch."""
    st.session_state[f"{prefix}.configs"] = (asdict(model), asdict(data), asdict(train))


def request_seed(prefix: str, model: ModelConfig, data: DataConfig, train: TrainConfig) -> None:
    """Ask for the widgets to take these configs at the start of the next run (for code that runs
    after the widgets were drawn, e.g. loading a saved run); follow it with st.rerun()."""
    st.session_state[f"{prefix}.pending"] = (model, data, train)


def _clear_data_widgets(prefix: str) -> None:
    """Forget dataset parameters and column choices so a preset's dataset starts from its defaults."""
    for k in [k for k in st.session_state if isinstance(k, str) and k.startswith(f"{prefix}.dp.")]:
        del st.session_state[k]
    for name in ("features", "target"):
        st.session_state.pop(key(prefix, "d", name), None)


def apply_preset(prefix: str, preset: str) -> None:
    """Set every control from a preset (call from a widget callback or before the widgets are drawn)."""
    from rnn_core.presets import preset_configs

    model, data, train = preset_configs(preset)
    _clear_data_widgets(prefix)
    seed_widgets(prefix, model, data, train, overwrite=True)
    st.session_state[f"{prefix}.preset"] = preset


def restore_widgets(prefix: str) -> None:
    """Start of a page run: apply a pending `request_seed`, then refill widget keys that a page switch
    removed, from the configs `remember` kept."""
    pending = st.session_state.pop(f"{prefix}.pending", None)
    if pending:
        _clear_data_widgets(prefix)
        seed_widgets(prefix, *pending, overwrite=True)
    saved = st.session_state.get(f"{prefix}.configs")
    if saved:
        m, d, t = saved
        seed_widgets(prefix, ModelConfig(**m), DataConfig(**d), TrainConfig(**t), overwrite=False)
    preset = st.session_state.get(f"{prefix}.preset")
    if preset and f"{prefix}.preset_choice" not in st.session_state:     # the preset box, dropped likewise
        st.session_state[f"{prefix}.preset_choice"] = preset


def configs_from_query(query: Mapping[str, str]) -> tuple[ModelConfig, DataConfig, TrainConfig, str | None]:
    """Configs from URL params: the preset named by ?preset= (if any) with the m./d./t. params over it.

    Raises ConfigError (one sentence) for an unknown preset or a value that does not parse."""
    from rnn_core.presets import PRESETS, preset_configs

    query = {k: (v[-1] if isinstance(v, list) else v) for k, v in query.items()}
    preset = query.get("preset") or None
    base: dict[str, str] = {}
    if preset:
        if preset not in PRESETS:
            raise ConfigError(f"Unknown preset '{preset}' in the link: choose one of {', '.join(PRESETS)}.")
        base = to_query(*preset_configs(preset))
    merged = {**base, **{k: v for k, v in query.items() if k[:2] in ("m.", "d.", "t.")}}
    try:
        model, data, train = (from_query(cls, merged) for cls in (ModelConfig, DataConfig, TrainConfig))
    except (TypeError, ValueError, OverflowError) as e:
        raise ConfigError(f"The link holds a setting that does not parse ({e}).") from e
    return model, data, train, preset


def load_url_once(prefix: str) -> str | None:
    """On a session's first load (or when the URL names a preset), set the widgets from the URL.
    Returns the sentence to show about a link that could not be used (kept for the session, so it
    survives reruns), or None."""
    flag = f"{prefix}.url_loaded"
    query = st.query_params.to_dict()
    # `sync_url` never writes ?preset=, so one in the address bar was just followed (a shared link, or
    # a Learn button's st.switch_page): apply it even later in the session.
    if st.session_state.get(flag) and "preset" not in query:
        return st.session_state.get(f"{prefix}.url_note")
    st.session_state[flag] = True
    st.session_state.pop(f"{prefix}.url_note", None)
    from ui.live import get_run

    if RUN_PARAM in query and get_run(prefix) is None:
        # the page showed a run (`sync_url` marks it) and this new session has none: a reload, a server
        # restart, or a link copied from a page with a run
        st.session_state[f"{prefix}.url_note"] = RUN_GONE
    if not any(k == "preset" or k[:2] in ("m.", "d.", "t.") for k in query):
        return st.session_state.get(f"{prefix}.url_note")
    try:
        model, data, train, preset = configs_from_query(query)
        from rnn_core.datasets import DATASETS

        if data.dataset not in DATASETS:
            raise ConfigError(f"Unknown dataset '{data.dataset}' in the link: choose one of "
                              f"{', '.join(DATASETS)}.")
        (model, m_notes), (data, d_notes), (train, t_notes) = map(clamp_to_limits, (model, data, train))
        data, p_notes = clamp_params(data)
        model.validate(), data.validate(), train.validate()
    except ConfigError as e:
        st.session_state[f"{prefix}.url_note"] = f"{e} The page opened with the default settings."
        return st.session_state[f"{prefix}.url_note"]
    _clear_data_widgets(prefix)
    seed_widgets(prefix, model, data, train, overwrite=True)
    st.session_state[f"{prefix}.preset"] = preset
    if preset:
        st.session_state[f"{prefix}.preset_choice"] = preset
    notes = [*m_notes, *d_notes, *t_notes, *p_notes]
    if notes:
        gone = st.session_state.get(f"{prefix}.url_note")
        st.session_state[f"{prefix}.url_note"] = " ".join(
            [*([gone] if gone else []), "The link held values outside the controls' range:", *notes])
    return st.session_state.get(f"{prefix}.url_note")


def clamp_params(data: DataConfig) -> tuple[DataConfig, list[str]]:
    """The dataset parameters of `data` moved into their widgets' ranges (numbers: the Param's min–max;
    dates: EARLIEST_DATE … today), with one sentence per change."""
    from rnn_core.datasets import DATASETS

    params, notes = dict(data.params or {}), []
    for p in DATASETS[data.dataset].params:
        if p.name not in params:
            continue
        value, new = params[p.name], params[p.name]
        if isinstance(p.default, str) and isinstance(_widget_value(p.default), dt.date):
            day = _widget_value(str(value)[:10])
            if not isinstance(day, dt.date):
                new = p.default
            else:
                new = min(max(day, EARLIEST_DATE), dt.date.today()).isoformat()
        elif isinstance(p.default, int | float) and not isinstance(p.default, bool):
            if not isinstance(value, int | float) or value != value or value in (float("inf"), float("-inf")):
                new = p.default
            else:
                lo = -float("inf") if p.min is None else p.min
                hi = float("inf") if p.max is None else p.max
                new = type(p.default)(min(max(value, lo), hi))
        if new != value:
            params[p.name] = new
            notes.append(f"{p.label} {value} is outside the control's range; set to {new}.")
    return (replace(data, params=params) if notes else data), notes


RUN_PARAM = "run"      # in the address bar while the page shows a run: a new session can tell it is gone
RUN_GONE = ("The run this page showed is gone: runs live only as long as their browser session, so a "
            "reload or a server restart ends them (and a copied link never carries one). Its settings are "
            "restored below: press Train to run it again, or open its zip if you downloaded it.")


def sync_url(model: ModelConfig, data: DataConfig, train: TrainConfig, has_run: bool = False) -> None:
    """Write the configs into the address bar (only the values that differ from the defaults), and
    `run=1` while the page shows a run."""
    from rnn_core.datasets import DATASETS

    model_q = {k: v for k, v in to_query(model).items() if k not in ("m.input_size", "m.output_size")}
    ds = DATASETS.get(data.dataset)
    defaults = ds.defaults() if ds else {}
    params = {k: v for k, v in (data.params or {}).items() if k not in defaults or v != defaults[k]}
    wanted = {**model_q, **to_query(replace(data, params=params)), **to_query(train)}
    current = st.query_params.to_dict()
    from ui.presenter import url_params

    wanted.update(url_params())           # presenter mode's own params (ui/presenter.py) stay
    if has_run:
        wanted[RUN_PARAM] = "1"
    if current != wanted:
        st.query_params.from_dict(wanted)
