"""Control panels: widgets in, config dataclasses out. Reusable by every page (prefix keeps them apart).

    model_controls(box, prefix) -> ModelConfig                      cell, hidden size, layers, init, gain,
                                                                    forget-gate bias
    field_range(field) -> {min_value, max_value, step}              a widget's range from config.FIELDS
    cell_select(box, key, field=None) -> cell                       every cell of the registry, with
                                                                    every cell's sentence as its tooltip
    data_controls(box, prefix, datasets=None) -> DataChoice         dataset + its own parameters (ticker
                                                                    and dates for yahoo, upload + columns
                                                                    for csv, lag for echo, noise…),
                                                                    timesteps, split, scaler
    train_controls(box, prefix) -> TrainConfig                      optimiser, learning rate, batch,
                                                                    epochs, clipping, truncated BPTT,
                                                                    stateful streams and resets, seed
    sidebar_controls(prefix) -> (ModelConfig, DataChoice, TrainConfig)   all three in grouped expanders
    load_frame(dataset, params) -> DataFrame                        cached dataset load (DataError raises)
    param_widget(box, prefix, dataset, param) -> value              one dataset Param as a widget
    csv_controls(box, prefix) -> (frame | None, notes, error | None) upload + value/date columns + gaps
    parse_once(prefix, what, key, parse) -> (value, error | None)   an upload read once per file and choice
    text_controls(box, prefix) -> (frame | None, notes, error | None) upload or paste a text (validated)
    hand_over_csv(prefix, name, data, columns)                      another page's upload for this panel

`box` is any Streamlit container (st.sidebar, a column, an expander). Widget keys follow `ui/state.py`
("<prefix>.m.cell", "<prefix>.dp.<dataset>.<param>"…), so the URL sync and presets work for any page
that uses these panels. Each help tooltip says what the setting does to the gradients.
Leaves to others: what a page does with the configs; windowing (`rnn_core/data/windows.py`).
"""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Callable
from dataclasses import dataclass, field
from types import SimpleNamespace
from typing import Any

import pandas as pd
import streamlit as st

from rnn_core.config import (
    CLIPPING,
    FIELDS,
    HELP,
    INITS,
    LIMITS,
    OPTIMIZERS,
    SCALERS,
    STATE_RESETS,
    DataConfig,
    Field,
    TrainConfig,
    listed,
    quoted,
)
from rnn_core.data.csv_upload import MAX_UPLOAD_BYTES, inspect_csv_upload, read_csv_upload
from rnn_core.data.errors import DataError
from rnn_core.data.registry import DATASETS, GROUPS, Param
from rnn_core.data.text_sources import MAX_TEXT_BYTES, read_text_upload
from rnn_core.nn.cells import CELLS, cell_help, cell_of, layers_error
from rnn_core.nn.model_config import ModelConfig
from rnn_core.readable import COLUMN, count, megabytes, readable
from ui.links import EARLIEST_DATE
from ui.state import key, param_key, seed_widgets, slot

UPLOAD_HINT = "Upload a CSV file (in the sidebar's Data section) to train on your own series."

# Each setting's label, tooltip, range and step come from the one table, rnn_core.config.FIELDS
# (HELP, its tooltips, is imported here for the pages and tests that read them from ui.controls).


def _number(box: Any, k: str, name: str, **kwargs) -> Any:
    """A number input for config field `name` with its FIELDS label, range, step and tooltip."""
    f = FIELDS[name]
    return box.number_input(f.widget_label, f.lo, f.hi, step=f.step, key=k, help=f.help, **kwargs)


def _slider(box: Any, k: str, name: str, **kwargs) -> Any:
    """A slider for config field `name` with its FIELDS label, range, step and tooltip."""
    f = FIELDS[name]
    return box.slider(f.widget_label, float(f.lo), float(f.hi), step=f.step, key=k, help=f.help, **kwargs)


def field_range(f: Field) -> dict:
    """A number widget's min, max and step from one row of config.FIELDS."""
    return {"min_value": f.lo, "max_value": f.hi, "step": f.step}


def cell_select(box: Any, k: str, f: Field | None = None) -> str:
    """The cell select box: every cell of the registry; its tooltip the setting's help (`f`, by default
    FIELDS["cell"]) and every cell's sentence."""
    f = f or FIELDS["cell"]
    return box.selectbox(f.widget_label, list(CELLS), format_func=lambda c: CELLS[c].label, key=k,
                         help=cell_help(f.help))


def _select(box: Any, k: str, name: str, options: dict[str, str]) -> Any:
    f = FIELDS[name]
    return box.selectbox(f.widget_label, list(options), format_func=options.get, key=k, help=f.help)


@dataclass
class DataChoice:
    """The data side of a run: the config plus, for an upload, the frame in hand (None otherwise)."""

    config: DataConfig
    frame: pd.DataFrame | None = None                   # the loaded series (forecast sets) or the upload
    notes: list[str] = field(default_factory=list)     # sentences to show (what the reader changed)
    error: str | None = None                             # a sentence: why the data cannot be used now
    hint: str | None = None                              # the error is only "do this first": show it as
                                                         # an instruction, not as an error box


def _init(k: str, value: Any) -> None:
    if k not in st.session_state:
        st.session_state[k] = value


def _valid_choice(k: str, options: list, default: Any) -> None:
    if st.session_state.get(k) not in options:
        st.session_state[k] = default


# ------------------------------------------------------------------------------------------- model
def model_controls(box: Any, prefix: str) -> ModelConfig:
    """Cell, hidden size, layers, recurrent init, gain and forget-gate bias → ModelConfig."""
    d = ModelConfig()
    seed_widgets(prefix, d, DataConfig(), TrainConfig())
    k = lambda name: key(prefix, "m", name)  # noqa: E731
    _valid_choice(k("cell"), list(CELLS), d.cell)
    _valid_choice(k("init"), list(INITS), d.init)
    cell = cell_select(box, k("cell"))
    c1, c2 = box.columns(2)
    hidden = _number(c1, k("hidden_size"), "hidden_size")
    layers = _number(c2, k("num_layers"), "num_layers")
    if message := layers_error(cell, int(layers)):
        box.warning(message)
    init = _select(box, k("init"), "init", INITS)
    gain = _slider(box, k("gain"), "gain", disabled=init == "default")
    forget = _slider(box, k("forget_bias"), "forget_bias", disabled="forget" not in cell_of(cell).gates)
    return ModelConfig(cell=cell, hidden_size=int(hidden), num_layers=int(layers), init=init,
                       gain=float(gain), forget_bias=float(forget))


# -------------------------------------------------------------------------------------------- data
@st.cache_data(max_entries=24, ttl=600, show_spinner="Loading the data…")
def _load_cached(dataset: str, params: tuple[tuple[str, Any], ...]) -> tuple[pd.DataFrame | None, str | None]:
    """(frame, None) or (None, the DataError sentence): failures are cached too, so an unreachable
    Yahoo is asked once per 10 minutes, not on every rerun."""
    try:
        return DATASETS[dataset].load(**dict(params)), None
    except DataError as e:
        return None, str(e)


def load_frame(dataset: str, params: tuple[tuple[str, Any], ...]) -> pd.DataFrame:
    """The dataset's series (cached per dataset and parameters); raises DataError with its sentence."""
    frame, error = _load_cached(dataset, params)
    if error is not None:
        raise DataError(error)
    return frame


def _is_date_param(p: Param) -> bool:
    if not isinstance(p.default, str) or len(p.default) != 10:
        return False
    try:
        dt.date.fromisoformat(p.default)
        return True
    except ValueError:
        return False


def param_widget(box: Any, prefix: str, dataset: str, p: Param) -> Any:
    """One dataset parameter's widget; returns the value in the Param's type (dates as ISO strings)."""
    k = param_key(prefix, dataset, p.name)
    _init(k, p.default)
    value = st.session_state[k]
    if p.options:                                        # several of a fixed list (e.g. yahoo columns)
        if isinstance(value, str):
            st.session_state[k] = [v for v in value.split(",") if v in p.options] or [p.default]
        chosen = box.multiselect(p.label, list(p.options), key=k, help=p.help)
        return ",".join(chosen) if chosen else p.default
    if _is_date_param(p):
        if not isinstance(value, dt.date):
            try:
                st.session_state[k] = dt.date.fromisoformat(str(value)[:10])
            except ValueError:
                st.session_state[k] = dt.date.fromisoformat(p.default)
        return box.date_input(p.label, key=k, help=p.help, min_value=EARLIEST_DATE,
                              max_value=dt.date.today()).isoformat()
    if isinstance(p.default, bool):
        return box.checkbox(p.label, key=k, help=p.help)
    if isinstance(p.default, int):
        st.session_state[k] = int(value) if not isinstance(value, int) else value
        return int(box.number_input(p.label, min_value=None if p.min is None else int(p.min),
                                    max_value=None if p.max is None else int(p.max), step=1, key=k,
                                    help=p.help))
    if isinstance(p.default, float):
        st.session_state[k] = float(value)
        return float(box.number_input(p.label, min_value=None if p.min is None else float(p.min),
                                      max_value=None if p.max is None else float(p.max), step=0.05,
                                      format=COLUMN["value"], key=k, help=p.help))
    return box.text_input(p.label, key=k, help=p.help).strip()


def _dataset_label(name: str) -> str:
    ds = DATASETS[name]
    return f"{ds.group} · {ds.title}"


def hand_over_csv(prefix: str, name: str, data: bytes, columns: dict[str, Any]) -> None:
    """Give an uploaded CSV (its bytes and column choices) to the control panel `prefix`, e.g. the Data
    page's upload to the Playground: its uploader stays empty, so the panel reads this one instead."""
    slot(prefix).handover = {"name": name, "data": data, "columns": dict(columns), "applied": False}


def csv_controls(box: Any, prefix: str) -> tuple[pd.DataFrame | None, list[str], str | None]:
    """Upload + column choice for the CSV dataset → (frame or None, notes, error sentence or None).
    Without an upload, a CSV handed over by another page (`hand_over_csv`) is used."""
    upload = box.file_uploader("CSV file", type=["csv", "txt"], key=f"{prefix}.d.csv_file",
                               help="A header row, one row per time step, numeric columns; optionally a "
                                    f"date column. At most {megabytes(MAX_UPLOAD_BYTES)}.")
    handed = slot(prefix).handover
    if upload is None and handed is None:
        return None, [], UPLOAD_HINT
    if upload is None:
        box.caption(f"Using **{handed['name']}** from the Data page (upload another file to replace it).")
        if not handed.get("applied"):          # the Data page's column choices, once
            handed["applied"] = True
            for k, v in handed["columns"].items():
                if v is not None:
                    st.session_state[f"{prefix}.d.{k}"] = v
        upload = SimpleNamespace(name=handed["name"], getvalue=lambda: handed["data"])
    data = upload.getvalue()
    upload_key = getattr(upload, "file_id", None) or hashlib.sha256(data).hexdigest()
    info, error = parse_once(prefix, "csv.columns", (upload_key,), lambda: inspect_csv_upload(data))
    if error:
        return None, [], error
    if not info.numeric_columns:
        return None, [], (f"No column of {quoted(upload.name)} holds numbers (columns: {listed(info.columns)}); "
                          "upload a file with at least one numeric column.")
    box.caption(f"{info.n_rows} rows · {info.delimiter}-separated · {info.encoding}")
    kv, kd, kf = f"{prefix}.d.csv_values", f"{prefix}.d.csv_date", f"{prefix}.d.csv_fill"
    if not set(st.session_state.get(kv) or []) <= set(info.numeric_columns) or not st.session_state.get(kv):
        st.session_state[kv] = info.numeric_columns[:1]
    date_options = ["(none)", *info.date_columns]
    _valid_choice(kd, date_options, info.date_columns[0] if info.date_columns else "(none)")
    values = box.multiselect("Value columns", info.numeric_columns, key=kv,
                             help="The columns the network reads; the target is chosen below.")
    date_col = box.selectbox("Date column", date_options, key=kd)
    fill = box.selectbox("Empty cells", ["refuse", "interpolate", "drop"], key=kf,
                         help="What to do with gaps in the values: refuse (and say where), interpolate "
                              "linearly, or drop those rows.")
    if not values:
        return None, [], "Choose at least one value column of the CSV."
    date = "" if date_col == "(none)" else date_col
    frame, error = parse_once(prefix, "csv.frame", (upload_key, tuple(values), date, fill),
                              lambda: read_csv_upload(data, values, date, fill=fill))
    if error:
        return None, [], error
    return frame, list(frame.attrs.get("notes", [])), None


def parse_once(prefix: str, what: str, key: tuple, parse: Callable[[], Any]) -> tuple[Any, str | None]:
    """(`parse()`'s value, None) or (None, its DataError sentence), computed once per upload and choice
    and kept in the slot: a rerun (a Seed change, a chart option) never reads the file again."""
    kept = slot(prefix).parsed
    hit = kept.get(what)
    if hit is None or hit[0] != key:
        try:
            hit = (key, parse(), None)
        except DataError as e:
            hit = (key, None, str(e))
        kept[what] = hit
    return hit[1], hit[2]


def text_controls(box: Any, prefix: str) -> tuple[pd.DataFrame | None, list[str], str | None]:
    """Upload or paste a text for the text dataset → (frame or None, notes, error sentence or None)."""
    upload = box.file_uploader("Text file", type=["txt", "md", "py", "rst"], key=f"{prefix}.d.text_file",
                               help="Plain text, UTF-8 (or UTF-16), at most 1 MB.")
    pasted = box.text_area("…or paste text here", key=f"{prefix}.d.text_paste", height=120,
                           max_chars=MAX_TEXT_BYTES, help="At least a few hundred characters; the last part "
                           "is held out to test on.")
    data = upload.getvalue() if upload is not None else pasted
    if not data:
        return None, [], "Paste some text or upload a plain-text file to train on it."
    text_key = (upload.file_id if upload is not None
                else hashlib.sha256(data.encode("utf-8", "surrogatepass")).hexdigest())
    frame, error = parse_once(prefix, "text", (text_key,), lambda: read_text_upload(data))
    if error:
        return None, [], error
    n_chars = int(frame["text"].str.len().sum()) + len(frame) - 1
    return frame, [f"Your text: {count(n_chars)} characters in {count(len(frame))} lines."], None


def data_controls(box: Any, prefix: str, datasets: list[str] | None = None) -> DataChoice:
    """Dataset and its parameters, columns, timesteps, split and scaler → DataChoice."""
    dataset = _dataset_picker(box, prefix, datasets)
    params = {p.name: param_widget(box, prefix, dataset, p) for p in DATASETS[dataset].params}
    frame, notes, data_error = _series(box, prefix, dataset, params)
    features, target, column_error = _column_controls(box, prefix, dataset, _columns(dataset, frame))
    timesteps, train_frac, val_frac, scaler = _window_controls(box, prefix)
    error = data_error or column_error or _split_error(train_frac, val_frac)
    cfg = DataConfig(dataset=dataset, timesteps=timesteps, params=params, features=features, target=target,
                     train_frac=train_frac, val_frac=val_frac, scaler=scaler)
    return DataChoice(cfg, frame, notes, error, hint=error if error == UPLOAD_HINT else None)


def _dataset_picker(box: Any, prefix: str, datasets: list[str] | None) -> str:
    """The dataset select box (registry order by group unless `datasets` is given) and its description."""
    names = datasets or [n for g in GROUPS for n, d in DATASETS.items() if d.group == g]
    seed_widgets(prefix, ModelConfig(), DataConfig(), TrainConfig())
    k = key(prefix, "d", "dataset")
    default = DataConfig().dataset
    _valid_choice(k, names, default if default in names else names[0])
    dataset = box.selectbox(FIELDS["dataset"].widget_label, names, format_func=_dataset_label, key=k,
                            help=HELP["dataset"])
    box.caption(DATASETS[dataset].description)
    return dataset


def _series(box: Any, prefix: str, dataset: str, params: dict[str, Any]
            ) -> tuple[pd.DataFrame | None, list[str], str | None]:
    """(frame, notes, error): an upload's (CSV, text), a forecast dataset's series loaded (and cached
    for the windowing), or nothing for the datasets that generate their windows."""
    if dataset == "csv":
        return csv_controls(box, prefix)
    if dataset == "text":
        return text_controls(box, prefix)
    if DATASETS[dataset].task != "forecast":
        return None, [], None
    try:
        frame = load_frame(dataset, tuple(sorted(params.items())))
    except DataError as e:
        return None, [], str(e)
    note = frame.attrs.get("note")
    return frame, [note] if note else [], None


def _columns(dataset: str, frame: pd.DataFrame | None) -> list[str]:
    """The columns a forecast can read (none for other tasks, or while there is no series)."""
    if DATASETS[dataset].task != "forecast" or frame is None:
        return []
    return [str(c) for c in frame.columns]


def _column_controls(box: Any, prefix: str, dataset: str, columns: list[str]) -> tuple[list[str], str, str | None]:
    """(input columns, target column, error): the two pickers, shown when there is a choice."""
    if len(columns) <= 1:
        return [], "", None
    ds = DATASETS[dataset]
    kf, kt = key(prefix, "d", "features"), key(prefix, "d", "target")
    chosen = st.session_state.get(kf)
    if not chosen or not set(chosen) <= set(columns):
        st.session_state[kf] = [c for c in ds.features if c in columns] or columns
    features = box.multiselect("Input columns", columns, key=kf,
                               help="Features per timestep (F). The target is also an input unless you "
                                    "leave it out (then there is no persistence baseline).")
    _valid_choice(kt, columns, ds.target if ds.target in columns else columns[0])
    target = box.selectbox("Target column", columns, key=kt, help="The value predicted one step ahead.")
    return list(features), target, None if features else "Choose at least one input column."


def _window_controls(box: Any, prefix: str) -> tuple[int, float, float, str]:
    """(timesteps, train fraction, validation fraction, scaler)."""
    k = lambda name: key(prefix, "d", name)  # noqa: E731
    timesteps = _number(box, k("timesteps"), "timesteps")
    c1, c2 = box.columns(2)
    train_frac = _slider(c1, k("train_frac"), "train_frac")
    val_frac = _slider(c2, k("val_frac"), "val_frac")
    _valid_choice(k("scaler"), list(SCALERS), DataConfig().scaler)
    scaler = _select(box, k("scaler"), "scaler", SCALERS)
    return int(timesteps), round(float(train_frac), 4), round(float(val_frac), 4), scaler


def _split_error(train_frac: float, val_frac: float) -> str | None:
    if train_frac + val_frac >= 1.0:
        return "Train and validation parts must leave room for a test part; lower one of them."
    return None


# ------------------------------------------------------------------------------------------- train
def train_controls(box: Any, prefix: str) -> TrainConfig:
    """Optimiser, learning rate, batch, epochs, clipping, truncated BPTT, seed → TrainConfig."""
    d = TrainConfig()
    seed_widgets(prefix, ModelConfig(), DataConfig(), d)
    k = lambda name: key(prefix, "t", name)  # noqa: E731
    _valid_choice(k("optimizer"), list(OPTIMIZERS), d.optimizer)
    _valid_choice(k("clip"), list(CLIPPING), d.clip)
    # the optimiser gets the whole row: in a two-column sidebar row "SGD (momentum)" was cut to "SGD (m"
    optimizer = _select(box, k("optimizer"), "optimizer", OPTIMIZERS)
    c1, c2 = box.columns(2)
    lr = _number(c1, k("lr"), "lr", format=COLUMN["input"])
    batch = _number(c2, k("batch_size"), "batch_size")
    c1, c2 = box.columns(2)
    epochs = _number(c1, k("epochs"), "epochs")
    seed = _number(c2, k("seed"), "seed")
    clip = _select(box, k("clip"), "clip", CLIPPING)
    c1, c2 = box.columns(2)
    clip_value = _number(c1, k("clip_value"), "clip_value", format=COLUMN["input"], disabled=clip == "off")
    bptt = _number(c2, k("bptt_truncate"), "bptt_truncate")
    stateful = _stateful_controls(box, k)
    probe_every = _number(box, k("probe_every"), "probe_every")
    return TrainConfig(optimizer=optimizer, lr=float(lr), momentum=d.momentum, batch_size=int(batch),
                       epochs=int(epochs), clip=clip, clip_value=float(clip_value), bptt_truncate=int(bptt),
                       seed=int(seed), probe_every=int(probe_every), probe_batch=d.probe_batch, **stateful)


def _stateful_controls(box: Any, k: Callable[[str], str]) -> dict[str, Any]:
    """The stateful toggle and its settings (greyed out while it is off, so their values stay)."""
    _valid_choice(k("state_reset"), list(STATE_RESETS), TrainConfig().state_reset)
    on = box.toggle(FIELDS["stateful"].widget_label, key=k("stateful"), help=FIELDS["stateful"].help)
    c1, c2 = box.columns(2)
    streams = _number(c1, k("stateful_streams"), "stateful_streams", disabled=not on)
    step = _number(c2, k("stateful_step"), "stateful_step", disabled=not on)
    c1, c2 = box.columns(2)
    f = FIELDS["state_reset"]
    reset = c1.selectbox(f.widget_label, list(STATE_RESETS), format_func=STATE_RESETS.get, key=k("state_reset"),
                         help=f.help, disabled=not on)
    every = _number(c2, k("state_reset_every"), "state_reset_every", disabled=not on or reset != "steps")
    return {"stateful": bool(on), "stateful_streams": int(streams), "stateful_step": int(step),
            "state_reset": reset, "state_reset_every": int(every)}


def sidebar_controls(prefix: str, expanded: bool = True) -> tuple[ModelConfig, DataChoice, TrainConfig]:
    """All controls in the sidebar, grouped: Model, Data, Training, with the limits stated
    (`expanded=False` folds the groups away, as presenter mode does)."""
    sb = st.sidebar
    with sb.expander("Model", expanded=expanded, icon=":material/neurology:"):
        model = model_controls(st, prefix)
    with sb.expander("Data", expanded=expanded, icon=":material/show_chart:"):
        data = data_controls(st, prefix)
    with sb.expander("Training and gradients", expanded=expanded, icon=":material/tune:"):
        train = train_controls(st, prefix)
    sb.caption(f"Limits: timesteps {LIMITS['timesteps'][0]}–{LIMITS['timesteps'][1]}, hidden "
               f"{LIMITS['hidden_size'][0]}–{LIMITS['hidden_size'][1]}, layers up to {LIMITS['num_layers'][1]}, "
               f"epochs up to {count(LIMITS['epochs'][1])}, learning rate up to {readable(LIMITS['lr'][1])}.")
    return model, data, train
