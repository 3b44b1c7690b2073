"""Session state: one typed `SlotState` per slot, and the control panels' widget keys ↔ configs.

A *slot* names one thing a page keeps across reruns and page switches: "pg" (the Playground's run and
controls), "pg.ghost" (its ghost run), "cmp" (the Compare race), "cmp.<cell>" (one racer), "cmp.sweep",
"cmp.map", "lab" (the Gradient Lab's settings). `slot(name)` gives its `SlotState`: the run, its context,
the cached evaluation and figures, the ghost, the button request and the messages, the settings last
used and the address-bar markers. `SlotState.clear_run()` forgets everything that belongs to a run in
one place; no module keeps run data under keys of its own.

Widget keys (the `key=` Streamlit needs) stay session-state keys, all named here: every control panel
(see `ui/controls.py`) stores its widgets under a *prefix* (the slot: "pg", "cmp"), one key per config
field, named like the URL parameter it maps to (the URL itself is `ui/links.py`'s):

    ModelConfig.hidden_size  →  widget key "pg.m.hidden_size"   →  URL  ?m.hidden_size=64
    DataConfig.timesteps     →  "pg.d.timesteps"                →  ?d.timesteps=100
    DataConfig.params[noise] →  "pg.dp.<dataset>.noise"         →  ?d.params.noise=0.1
    TrainConfig.lr           →  "pg.t.lr"                       →  ?t.lr=0.001
    any other widget         →  widget_key(slot, name), e.g. "pg.btn.train", "pg.ghost.cell"

Public:
    SlotState; slot(name) -> SlotState; slots() -> {name: SlotState} (the top-level ones)
    memo(slot, name, key, build, store="figs")   # a value rebuilt only when its key changed
    key(prefix, section, name) / param_key(prefix, dataset, name) / widget_key(slot, name) -> str
    seed_widgets(prefix, model, data, train, overwrite=False)   # put configs into the widget keys
    apply_preset(prefix, preset_key)        # every control from a preset (in a callback)
    request_seed(prefix, model, data, train)  # set the widgets on the next run (then st.rerun())
    restore_widgets(prefix)                 # start of a page: pending seeds (a followed link's, again on
                                            # the next two full runs), and widgets back after a page
                                            # switch from the last configs
    remember(prefix, model, data, train)    # keep the configs of this run (survives page switches)
    saved_configs(prefix) -> (ModelConfig, DataConfig, TrainConfig) | None
    load_url_once(prefix) -> str | None     # a followed link's settings into the widgets (and its moment:
                                            # the run trained if needed, `ui/scrub.py`); returns a note
    sync_url(model, data, train, has_run)   # write the configs into the address bar (`ui/links.py`)
    settings_changed(ctx, model, data, train) -> bool   # differ from what the run shown started with
Leaves to others: which widgets exist (`ui/controls.py`), what presets hold (`rnn_core/lessons/presets.py`),
how a link is read and written (`ui/links.py`), the runs themselves (`ui/live.py`).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import asdict, dataclass, field, fields
from typing import Any

import streamlit as st

from rnn_core.config import DataConfig, TrainConfig, replace
from rnn_core.nn.model_config import ModelConfig
from ui.links import AT_PARAM, PLAYGROUND, RUN_GONE, RUN_PARAM, follow, link_params, read_at, write_address

SECTIONS = {"m": ModelConfig, "d": DataConfig, "t": TrainConfig}
# Fields not shown as widgets (set from the data, or dicts handled separately).
_NOT_WIDGETS = {"m": {"input_size", "output_size"}, "d": {"params", "features"}, "t": {"device"}}
SLOTS = "slots"             # the session-state key of every slot's SlotState
GHOST = ".ghost"            # "<slot>.ghost": the ghost run of a slot, held by that slot


@dataclass
class SlotState:
    """What one slot keeps across reruns and page switches (see the module docstring)."""

    # the run and what belongs to it: `clear_run` forgets all of these at once
    run: Any = None                     # serve.live.LiveRun | ui.live.StaticRun | sweep.SweepRun
    ctx: Any = None                     # ui.live.RunContext: what the run was started with
    evaluation: dict | None = None      # ui.live.evaluation_for's result for the run's last version
    memos: dict = field(default_factory=dict)    # memo(): {store: {name: (key, value)}}, figures and tables
    ghost: SlotState | None = None      # "<slot>.ghost": the same setup with another cell
    base: int | None = None             # a ghost: id() of the context of the run it copied
    upload_note: str | None = None      # what an uploaded run lacks here (its data, its device)
    race: dict | None = None            # Compare: the race's shared facts (cells, baseline, task…)
    uploaded: dict | None = None        # Compare's map: a sweep CSV drawn again {"name", "records"}
    handover: dict | None = None        # a CSV another page gave this slot's data panel (`hand_over_csv`)
    fetched: tuple | None = None        # the Data page's last Yahoo fetch: (params, frame, note, error)
    parsed: dict = field(default_factory=dict)   # an upload read once: {what: (key, value, error)}
    # requests and messages
    action: str | None = None           # a button's request, carried out on the next script run
    error: str | None = None            # a sentence about the last request
    note: str | None = None             # a sentence (or a preset key) to show once
    upload_id: str | None = None        # the file id of the upload read last (read once per file)
    upload_error: str | None = None     # why that upload could not be read
    redraw_cost: float | None = None    # the live area's smoothed redraw cost (s)
    redraw_at: float | None = None      # when its last timed redraw started (time.monotonic)
    asked: bool = False                 # a widget of its live area was changed: that rerun is a click's (`ui.live.ask`)
    every: float | None = None          # the live area's redraw interval now (set in place, `ui.room`)
    slow_every: float | None = None     # and its epoch-level part's
    evaluate_again: bool = False        # its evaluation was cut short (a click, a timer): the page tries again
    # the scrubber (`ui/scrub.py`): where the charts stand in the run shown, and a link's moment to land on
    at: int | str | None = None         # a step or a key moment's kind; None: the run's latest step
    at_link: int | str | None = None    # a followed link's `at=`, waiting for its run to end
    # the settings and the address bar
    configs: Any = None                 # the settings last used (plain dicts: survives page switches)
    pending: tuple | None = None        # configs for the widgets at the start of the next run
    reseed: tuple | None = None         # a followed link's configs and preset, set again on the next
    reseed_runs: int = 0                # this many full runs (see `restore_widgets`)
    preset: str | None = None           # the preset last applied
    url_loaded: bool = False            # the page has read the address bar once in this session
    url_note: str | None = None         # the sentence about the link followed, kept for the session
    link_preset: str | None = None      # the ?preset= this session applied or wrote (not a new link)

    def clear_run(self) -> None:
        """Stop the run if it computes, and forget it with everything that belongs to it."""
        run = self.run
        if run is not None and getattr(run, "status", None) not in ("completed", "stopped", "diverged"):
            run.stop()
        if self.ghost is not None:
            self.ghost.clear_run()
        self.run = self.ctx = self.evaluation = self.base = self.upload_note = self.race = self.at = None
        self.memos = {}


def slots() -> dict[str, SlotState]:
    """Every top-level slot of this session, by name (ghosts are held by their slot)."""
    return st.session_state.setdefault(SLOTS, {})


def slot(name: str) -> SlotState:
    """The SlotState of `name` (created empty the first time); "<slot>.ghost" is that slot's ghost."""
    if name.endswith(GHOST):
        parent = slot(name[: -len(GHOST)])
        if parent.ghost is None:
            parent.ghost = SlotState()
        return parent.ghost
    return slots().setdefault(name, SlotState())


def memo(slot_name: str, name: str, key: tuple, build: Callable[[], Any], store: str = "figs") -> Any:
    """`build()`'s value, rebuilt only when `key` changed since the last call for (slot, name), kept in
    the slot (a Plotly figure or a text table costs ~0.1 s; most change once per epoch, not on every
    redraw); forgotten with the run."""
    kept = slot(slot_name).memos.setdefault(store, {})
    hit = kept.get(name)
    if hit is not None and hit[0] == key:
        return hit[1]
    value = build()
    kept[name] = (key, value)
    return value


def memo_value(slot_name: str, name: str, store: str = "figs") -> Any:
    """What `memo` keeps for (slot, name) now (None: nothing yet)."""
    hit = slot(slot_name).memos.get(store, {}).get(name)
    return None if hit is None else hit[1]


def key(prefix: str, section: str, name: str) -> str:
    """The session-state key of one control: e.g. key("pg", "m", "cell") == "pg.m.cell"."""
    return f"{prefix}.{section}.{name}"


def param_key(prefix: str, dataset: str, name: str) -> str:
    """The session-state key of one dataset parameter (each dataset keeps its own values)."""
    return f"{prefix}.dp.{dataset}.{name}"


def widget_key(slot_name: str, name: str) -> str:
    """The `key=` of any other widget of a slot: e.g. widget_key("pg", "btn.train") == "pg.btn.train"."""
    return f"{slot_name}.{name}"


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


def _widget_values(prefix: str, model: ModelConfig, data: DataConfig, train: TrainConfig) -> dict[str, Any]:
    """{widget key: the value these configs put there} (what `seed_widgets` writes)."""
    values = {key(prefix, section, f.name): getattr(cfg, f.name)
              for section, cfg in (("m", model), ("d", data), ("t", train))
              for f in fields(cfg) if f.name not in _NOT_WIDGETS[section]}
    values.update({param_key(prefix, data.dataset, name): _widget_value(value)
                   for name, value in (data.params or {}).items()})
    return values


def remember(prefix: str, model: ModelConfig, data: DataConfig, train: TrainConfig) -> None:
    """Keep this run's configs outside the widget keys, which Streamlit drops on a page switch."""
    slot(prefix).configs = (asdict(model), asdict(data), asdict(train))


def saved_configs(prefix: str) -> tuple[ModelConfig, DataConfig, TrainConfig] | None:
    """The configs `remember` kept for `prefix`, or None."""
    saved = slot(prefix).configs
    if not saved:
        return None
    m, d, t = saved
    return ModelConfig(**m), DataConfig(**d), TrainConfig(**t)


def request_seed(prefix: str, model: ModelConfig, data: DataConfig, train: TrainConfig) -> None:
    """Ask for the widgets to take these configs at the start of the next run (for code that runs
    after the widgets were drawn, e.g. loading a saved run); follow it with st.rerun()."""
    slot(prefix).pending = (model, data, train)


def _clear_data_widgets(prefix: str) -> None:
    """Forget dataset parameters and column choices so a preset's dataset starts from its defaults."""
    for k in [k for k in st.session_state if isinstance(k, str) and k.startswith(f"{prefix}.dp.")]:
        del st.session_state[k]
    for name in ("features", "target"):
        st.session_state.pop(key(prefix, "d", name), None)


def _set_widgets(prefix: str, model: ModelConfig, data: DataConfig, train: TrainConfig) -> None:
    _clear_data_widgets(prefix)
    seed_widgets(prefix, model, data, train, overwrite=True)


def apply_preset(prefix: str, preset: str) -> None:
    """Set every control from a preset (call from a widget callback or before the widgets are drawn)."""
    from rnn_core.lessons.presets import preset_configs

    _set_widgets(prefix, *preset_configs(preset))
    slot(prefix).preset = preset


def restore_widgets(prefix: str) -> None:
    """Start of a page run: apply a pending `request_seed`, then refill widget keys that a page switch
    removed, from the configs `remember` kept."""
    state = slot(prefix)
    pending, state.pending = state.pending, None
    if pending:
        _set_widgets(prefix, *pending)
    if state.reseed is not None and state.reseed_runs > 0 and not pending:
        _reseed(prefix, state)
    saved = saved_configs(prefix)
    if saved:
        seed_widgets(prefix, *saved, overwrite=False)
    choice = widget_key(prefix, "preset_choice")
    if state.preset and choice not in st.session_state:     # the preset box, dropped likewise
        st.session_state[choice] = state.preset


def _reseed(prefix: str, state: SlotState) -> None:
    """A browser that had not drawn a followed link's widgets yet when the next full run came drew them
    from that run's defaults (their minima) and sent those back: seen when a link's run started at once.
    On the full runs while a link's run trains to its moment (`at_link`) and the two after, set them again
    when several differ from the link at once (one control differing is a person's change: then they are
    left alone from here on)."""
    *configs, preset = state.reseed
    wanted = _widget_values(prefix, *configs)
    differ = sum(1 for k, v in wanted.items() if k in st.session_state and st.session_state[k] != _widget_value(v))
    if differ == 1:
        state.reseed_runs = 0
        return
    if state.at_link is None:       # not counted while a link's run trains: the full run that draws its end
        state.reseed_runs -= 1      # came back with the minima on a busy machine
    if differ:
        _set_widgets(prefix, *configs)
        if preset:
            st.session_state[widget_key(prefix, "preset_choice")] = preset


def load_url_once(prefix: str) -> str | None:
    """Set the widgets from a link when `ui.links.follow` says one is to be followed now. Returns the
    sentence to show about the link (kept for the session, so it survives reruns), or None."""
    state = slot(prefix)
    first = not state.url_loaded
    query = st.query_params.to_dict()
    link = follow(PLAYGROUND, state, query)
    at, at_note = read_at(query) if first or link is not None else (None, None)
    # the page showed a run (`sync_url` marks it) and this new session has none: a reload, a server
    # restart, or a link copied from a page with a run (a link to a moment trains it again instead)
    gone = RUN_GONE if first and RUN_PARAM in query and state.run is None and at is None else None
    if first or link is not None:
        state.url_note = " ".join(s for s in (gone, at_note) if s) or None
    if link is not None:
        state.url_note = " ".join(s for s in (state.url_note, link.note) if s) or None
        if link.settings is not None:
            _set_widgets(prefix, *link.settings)
            state.preset = link.preset
            if link.preset:
                st.session_state[widget_key(prefix, "preset_choice")] = link.preset
            state.reseed, state.reseed_runs = (*link.settings, link.preset), 3     # this run and two more
    if at is not None:
        _land_on(state, at, link.settings if link is not None else None)
    return state.url_note


def settings_changed(ctx: Any, model_cfg: ModelConfig, data_cfg: DataConfig, train_cfg: TrainConfig) -> bool:
    """Whether these settings differ from what the run of context `ctx` (a `ui.live.RunContext`, or
    None) was started with."""
    if ctx is None:
        return False
    sizes = {"input_size": ctx.model_cfg.input_size, "output_size": ctx.model_cfg.output_size}
    return (replace(model_cfg, **sizes) != ctx.model_cfg or data_cfg != ctx.data_cfg
            or train_cfg != ctx.train_cfg)


def _land_on(state: SlotState, at: int | str, settings: tuple | None) -> None:
    """A link to a moment of a run: show it on the run of this session when that is the link's run, else
    train the link's run (the Train button's request) and land on the moment when it ends."""
    state.at_link, state.at = at, None
    if state.run is None or (settings is not None and settings_changed(state.ctx, *settings)):
        state.action = "train"


def sync_url(prefix: str, model: ModelConfig, data: DataConfig, train: TrainConfig, has_run: bool = False) -> None:
    """Write the settings into the address bar (`ui.links`: the preset while they equal it, else the
    values that differ from the defaults), `run=1` while the page shows a run, and `at=` while its
    scrubber stands at a chosen moment (or a link's moment waits for its run)."""
    state = slot(prefix)
    params = link_params(PLAYGROUND, (model, data, train), state.preset)
    if has_run:
        params[RUN_PARAM] = "1"
    at = state.at_link if state.at_link is not None else state.at
    if at is not None:
        params[AT_PARAM] = str(at)
    write_address(params, state)
