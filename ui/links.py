"""One URL codec for every page: how a link's preset plus overrides is read, clamped and written.

The rule, the same for the Playground and the Gradient Lab (one `Codec` each):
- read: `?preset=<key>` first, then the page's own params over it (`m.` / `d.` / `t.` on the
  Playground, `lab.` on the Lab); other params are ignored. A value outside a control's range is moved
  into it, with one sentence per change (`config.clamp_to_limits`, `clamp_params`, `clamp_lab_noting`);
  an unknown preset, a value that does not parse or settings that do not validate are one sentence, and
  the page opens with its default settings.
- when: on a session's first visit to the page (`SlotState.url_loaded`), and whenever the address bar
  names a preset that this session did not write there itself (`SlotState.link_preset`): a shared link,
  a Learn button (`preset_page_params`).
- write: `?preset=<key>` while the settings equal the preset last applied, else every value that
  differs from the defaults; plus what the page shows beside its settings (`write_address`):
  `presenter=1&chart=…` (`ui.presenter.url_params`), `run=1` while the Playground shows a run
  (`RUN_PARAM`), `at=` where its scrubber stands (`AT_PARAM`), `step=` on Learn.
- a moment (`?at=<step>` or `?at=<key moment>`, e.g. `?preset=exploding&at=diverged`): read with the
  settings, on the same occasions; the Playground then trains the run if this session does not show it
  and lands on that moment when the run ends (`ui/scrub.py`). A value that is neither is one sentence.
Nothing read from the URL is used as a path: it is parsed into the config dataclasses and validated.

Public:
    Codec(prefixes, presets, preset_params, decode, encode);  PLAYGROUND, LAB
    Link(settings, preset, note)
    read_link(codec, query) -> Link                # never raises: a bad link is a note, settings None
    follow(codec, state, query) -> Link | None     # the link to apply now (per "when" above)
    link_params(codec, settings, preset=None) -> dict      # the settings part of the address
    write_address(params, state=None)              # + presenter params; only when it changed
    preset_page_params(preset) -> dict             # `st.switch_page` params that open a preset
    read_at(query) -> (at | None, note | None)     # a link's moment: a step or a key moment's kind
    write_at(at)                                   # just the `at=` of the address bar (a scrubber's move)
    clamp_params(data) -> (DataConfig, notes);  clamp_lab_noting(cfg) -> (LabConfig, notes)
    EARLIEST_DATE, RUN_PARAM, RUN_GONE, AT_PARAM
Leaves to others: applying settings to widgets (`ui/state.py`, `ui/lab.py`), the session markers'
home (`ui.state.SlotState`), the presenter params (`ui/presenter.py`).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass
from typing import Any

import streamlit as st

from rnn_core.config import (
    FIELDS,
    ConfigError,
    DataConfig,
    TrainConfig,
    clamp_to_limits,
    from_dict,
    from_query,
    quoted,
    replace,
)
from rnn_core.lessons.share import AT_PARAM as AT_PARAM  # the scrubber's moment: a step or a key moment
from rnn_core.lessons.share import changed_preset_sentence as changed_preset_sentence  # the pages read it here
from rnn_core.lessons.share import preset_query, settings_query
from rnn_core.nn.model_config import ModelConfig
from rnn_core.readable import readable

EARLIEST_DATE = dt.date(1970, 1, 1)     # the date pickers' range: 1970-01-01 … today
RUN_PARAM = "run"      # in the address bar while the page shows a run: a new session can tell it is gone
RUN_GONE = ("The run this page showed is gone: runs live only as long as their browser session, so a "
            "reload or a server restart ends them (and a copied link never carries one). Its settings are "
            "restored below: press Train to run it again, or open its zip if you downloaded it.")
DEFAULTS_SHOWN = "The page opened with the default settings."
OUT_OF_RANGE = "The link held values outside the controls' range:"


@dataclass(frozen=True)
class Codec:
    """One page's settings in a link."""

    prefixes: tuple[str, ...]                       # the params that are settings, e.g. ("lab.",)
    presets: Callable[[], Collection[str]]          # the preset keys
    preset_params: Callable[[str], dict[str, str]]  # a preset as settings params (its `encode`)
    decode: Callable[[dict[str, str]], tuple[Any, list[str]]]   # params → (settings, clamp notes);
                                                                # raises ConfigError / ValueError / TypeError
    encode: Callable[[Any], dict[str, str]]         # settings → the params that differ from the defaults


@dataclass(frozen=True)
class Link:
    settings: Any | None      # None: nothing to apply (no settings in the link, or a bad link)
    preset: str | None        # the ?preset= it named (None when none, or unknown)
    note: str | None          # the sentence to show about it, or None


def _plain(query: Mapping[str, Any]) -> dict[str, str]:
    """Query params with one value each (a repeated param: its last value)."""
    return {k: (v[-1] if isinstance(v, list) else v) for k, v in query.items()}


def _own(codec: Codec, query: Mapping[str, str]) -> dict[str, str]:
    return {k: v for k, v in query.items() if k.startswith(codec.prefixes)}


def read_link(codec: Codec, query: Mapping[str, Any]) -> Link:
    """The settings a link names: its preset with its own params over it, clamped into range."""
    query = _plain(query)
    preset = query.get("preset") or None
    if preset is not None and preset not in codec.presets():
        return Link(None, None, f"Unknown preset {quoted(preset)} in the link: choose one of "
                                f"{', '.join(codec.presets())}. {DEFAULTS_SHOWN}")
    merged = {**(codec.preset_params(preset) if preset else {}), **_own(codec, query)}
    try:
        settings, notes = codec.decode(merged)
    except ConfigError as e:
        return Link(None, preset, f"{e} {DEFAULTS_SHOWN}")
    except (TypeError, ValueError, OverflowError) as e:
        return Link(None, preset, f"{_what_does_not_parse(codec, merged, e)} {DEFAULTS_SHOWN}")
    return Link(settings, preset, " ".join([OUT_OF_RANGE, *notes]) if notes else None)


def _what_does_not_parse(codec: Codec, merged: dict[str, str], error: Exception) -> str:
    """The sentence for a link value that is not a value at all ("t.epochs=abc"): which setting, what it
    holds and what it takes. The culprit is the setting without which the link decodes."""
    for key, value in merged.items():
        try:
            codec.decode({k: v for k, v in merged.items() if k != key})
        except (TypeError, ValueError, OverflowError):
            continue
        except Exception:        # without this key it fails otherwise: this key is the one
            pass
        field = FIELDS.get(key.rsplit(".", 1)[-1])
        if field is not None and field.lo is not None:
            kind = "a whole number" if isinstance(field.step, int) else "a finite number"
            return f"The link's value {quoted(value)} for {field.label} ({key}) does not parse: it takes {kind}."
        return f"The link's value {quoted(value)} for {key} does not parse."
    return f"The link holds a setting that does not parse ({error})."


def follow(codec: Codec, state: Any, query: Mapping[str, Any]) -> Link | None:
    """The link to apply now, or None: on the session's first visit when the address holds settings,
    and whenever it names a preset this session did not write (`state` is the page's SlotState)."""
    query = _plain(query)
    first, state.url_loaded = not state.url_loaded, True
    preset = query.get("preset") or None
    if preset is not None and preset != state.link_preset:
        state.link_preset = preset
        return read_link(codec, query)
    if first and _own(codec, query):
        return read_link(codec, query)
    return None


def holds_preset(codec: Codec, settings: Any, preset: str | None) -> bool:
    """Whether `settings` are exactly preset `preset`'s (so its sentence describes them)."""
    return bool(preset) and preset in codec.presets() and codec.preset_params(preset) == codec.encode(settings)


def link_params(codec: Codec, settings: Any, preset: str | None = None) -> dict[str, str]:
    """`{"preset": key}` while `settings` equal preset `preset`, else the values that differ from the
    defaults."""
    if holds_preset(codec, settings, preset):
        return {"preset": preset}
    return codec.encode(settings)


def write_address(params: Mapping[str, str], state: Any = None) -> None:
    """Put `params` and the presenter view's own into the address bar, if that changes it; `state` (the
    page's SlotState) remembers the preset written, so that it is not followed again as a new link."""
    from ui.presenter import url_params

    wanted = {**params, **url_params()}
    if state is not None:
        state.link_preset = wanted.get("preset")
    if st.query_params.to_dict() != wanted:
        st.query_params.from_dict(wanted)


def read_at(query: Mapping[str, Any]) -> tuple[int | str | None, str | None]:
    """The moment a link names (`?at=56`, `?at=diverged`: `rnn_core.measure.moments.parse_at`) and None, or None
    and the sentence saying why its value is not one (None, None without `at=`)."""
    from rnn_core.measure.moments import parse_at

    value = _plain(query).get(AT_PARAM)
    if value is None or value == "":
        return None, None
    try:
        return parse_at(value), None
    except ValueError as e:
        return None, str(e)


def write_at(at: int | str | None) -> None:
    """Put the scrubber's moment into the address bar (or take it out), leaving every other param as it is:
    for a move that reruns only the charts' fragment, where the page's full `write_address` does not run."""
    current = st.query_params.get(AT_PARAM)
    if at is None:
        if current is not None:
            del st.query_params[AT_PARAM]
    elif current != str(at):
        st.query_params[AT_PARAM] = str(at)


def preset_page_params(preset: str) -> dict[str, str]:
    """The query params of `st.switch_page` that open a page on `preset` (presenter mode kept)."""
    from ui.presenter import presenter_query

    return {"preset": preset, **presenter_query()}


# ------------------------------------------------------------------------------------ the Playground
def _date(value: Any) -> dt.date | None:
    try:
        return dt.date.fromisoformat(str(value)[:10])
    except ValueError:
        return None


def _is_date_param(default: Any) -> bool:
    return isinstance(default, str) and len(default) == 10 and _date(default) is not None


def clamp_params(data: DataConfig) -> tuple[DataConfig, list[str]]:
    """The dataset parameters of `data` moved into their widgets' ranges (numbers: the Param's min–max;
    dates: EARLIEST_DATE … today), with one sentence per change."""
    from rnn_core.data.registry import DATASETS

    params, notes = dict(data.params or {}), []
    for p in DATASETS[data.dataset].params:
        if p.name not in params:
            continue
        value, new = params[p.name], params[p.name]
        if _is_date_param(p.default):
            day = _date(value)
            new = p.default if day is None else min(max(day, EARLIEST_DATE), dt.date.today()).isoformat()
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


def _decode_playground(params: dict[str, str]) -> tuple[tuple[ModelConfig, DataConfig, TrainConfig], list[str]]:
    from rnn_core.data.registry import DATASETS

    model, data, train = (from_query(cls, params) for cls in (ModelConfig, DataConfig, TrainConfig))
    if data.dataset not in DATASETS:
        raise ConfigError(f"Unknown dataset {quoted(data.dataset)} in the link: choose one of {', '.join(DATASETS)}.")
    (model, m_notes), (data, d_notes), (train, t_notes) = map(clamp_to_limits, (model, data, train))
    data, p_notes = clamp_params(data)
    model.validate(), data.validate(), train.validate()
    return (model, data, train), [*m_notes, *d_notes, *t_notes, *p_notes]


def _encode_playground(settings: tuple[ModelConfig, DataConfig, TrainConfig]) -> dict[str, str]:
    """The values that differ from the defaults: `rnn_core.lessons.share.settings_query`, the format the
    HTML page of a run writes its link in too."""
    return settings_query(*settings)


def _playground_presets() -> Collection[str]:
    from rnn_core.lessons.presets import PRESETS

    return PRESETS


def _playground_preset(key: str) -> dict[str, str]:
    return preset_query(key)


PLAYGROUND = Codec(("m.", "d.", "t."), _playground_presets, _playground_preset, _decode_playground,
                   _encode_playground)


# --------------------------------------------------------------------------------- the Gradient Lab
def clamp_lab_noting(cfg: Any) -> tuple[Any, list[str]]:
    """`rnn_core.lessons.lab.clamp_lab(cfg)` and one sentence per setting it moved."""
    from rnn_core.lessons.lab import LAB_LIMITS, LAB_SETTINGS, clamp_lab

    new = clamp_lab(cfg)
    notes = [f"{LAB_SETTINGS[name].label} {readable(getattr(cfg, name))} is outside {readable(lo)}–{readable(hi)}; "
             f"set to {readable(getattr(new, name))}."
             for name, (lo, hi) in LAB_LIMITS.items() if getattr(new, name) != getattr(cfg, name)]
    return new, notes


def _decode_lab(params: dict[str, str]) -> tuple[Any, list[str]]:
    from rnn_core.lessons.lab import LabConfig

    cfg, notes = clamp_lab_noting(from_dict(LabConfig, {k[len("lab."):]: v for k, v in params.items()}))
    return cfg.validate(), notes


def _encode_lab(cfg: Any) -> dict[str, str]:
    return cfg.to_query()


def _lab_presets() -> Collection[str]:
    from rnn_core.lessons.lab import LAB_PRESETS

    return LAB_PRESETS


def _lab_preset(key: str) -> dict[str, str]:
    from rnn_core.lessons.lab import LAB_PRESETS

    return _encode_lab(LAB_PRESETS[key]["config"])


LAB = Codec(("lab.",), _lab_presets, _lab_preset, _decode_lab, _encode_lab)

