"""Streamlit glue of the Compare page's two sweeps, both on the sweep engine (`rnn_core.sweep.trials`):
the timesteps sweep (each cell at several window lengths, mean ± spread over seeds) and the
trainability map (each cell over gain × timesteps, final loss ÷ the naive guess as a heatmap).

Each sweep is a `SweepRun` in its slot (`ui.state.slot("cmp.sweep")`, `"cmp.map"`: the run, the button
request, the error; the map's uploaded CSV too), on the backend the server is
configured with (`sweep.app_backend()`: RNN_PLAYGROUND_SWEEP_BACKEND, local worker processes by
default, at most two of them per sweep), holding as many of the server's admission slots as it has
workers (queued behind live runs when the server is busy). A fragment polls it while it runs.
Holds `sweep_panel` / `map_panel` (widgets, buttons and what they ask), `start_sweep`, `start_map`,
`cancel`, `sweep_area`, `map_area`, `map_upload`, `request`.
Leaves to others: the race and its settings (`ui.compare`), the sweeps' defaults and ranges
(`rnn_core.lessons.compare`), the runs and files (`rnn_core.sweep.trials`), the figures (`plots.sweep`).
"""

from __future__ import annotations

import streamlit as st

from plots.sweep import sweep_figure, trainability_figure
from rnn_core.config import ConfigError
from rnn_core.config import replace as cfg_replace
from rnn_core.lessons.compare import (
    MAP_DEFAULTS,
    MAP_GAINS,
    MAX_APP_RUNS,
    SWEEP_DEFAULTS,
    SWEEP_FIELDS,
    SWEEP_TIMESTEPS,
    SweepDefaults,
)
from rnn_core.nn.cells import label_of
from rnn_core.readable import megabytes, seconds
from rnn_core.serve.admission import describe_wait
from rnn_core.sweep.backends import app_backend
from rnn_core.sweep.background import SweepRun
from rnn_core.sweep.records import MAX_UPLOAD_BYTES, parse_records_csv, records_csv
from rnn_core.sweep.trials import SweepError, grid
from ui import charts
from ui.controls import field_range
from ui.live import ACTIVE, one_at_a_time, session_watcher
from ui.markdown import md
from ui.presenter import chart_height
from ui.state import slot, widget_key

SWEEP, MAP = "cmp.sweep", "cmp.map"      # their slots; their widgets' keys start with the same names
UPLOAD_KEY = widget_key(MAP, "upload")   # the map's CSV uploader
POLL_SECONDS = 0.7


def _widget_values(d: SweepDefaults) -> dict:
    """A sweep's defaults as its widgets hold them (lists, and gains only where the sweep has them)."""
    values = {"timesteps": list(d.timesteps), "epochs": d.epochs, "n_samples": d.n_samples, "seeds": d.seeds}
    return {"gains": list(d.gains), **values} if d.gains else values


def _range(name: str) -> dict:
    """The min, max and step of one sweep setting's widget (`rnn_core.lessons.compare.SWEEP_FIELDS`)."""
    return field_range(SWEEP_FIELDS[name])


# The sweeps' defaults as widget keys; the values are `rnn_core.lessons.compare`'s.
DEFAULTS = {**{f"cmp.sweep.{name}": value for name, value in _widget_values(SWEEP_DEFAULTS).items()},
            **{f"cmp.map.{name}": value for name, value in _widget_values(MAP_DEFAULTS).items()}}


def defaults() -> None:
    for k, v in DEFAULTS.items():
        if k not in st.session_state:
            st.session_state[k] = v


def request(key: str, action: str) -> None:
    """Button callback: remember what was asked ("run" / "cancel") for the page to carry out."""
    slot(key).action = action


def take_action(key: str) -> str | None:
    state = slot(key)
    action, state.action = state.action, None
    return action


def _start(key: str, settings, timesteps: list[int], gains: list[float], seeds: int, epochs: int,
           n_samples: int, init: str | None = None) -> None:
    """Build the grid from the race's settings and start a SweepRun under `key`; a bad grid or a
    setting out of range becomes the slot's error (one sentence)."""
    cancel(key)
    state = slot(key)
    state.error = None
    refused = one_at_a_time("sweep", besides=key)
    if refused:
        state.error = refused
        return
    if settings.error:
        state.error = settings.error
        return
    params = dict(settings.data.params)
    if "n_samples" in params:
        params["n_samples"] = int(n_samples)
    model = settings.model if init is None else cfg_replace(settings.model, init=init)
    try:
        trials = grid(settings.cells, timesteps, gains, int(seeds), model=model,
                      data=cfg_replace(settings.data, params=params),
                      train=cfg_replace(settings.train, epochs=int(epochs)))
        if len(trials) > MAX_APP_RUNS:
            raise SweepError(f"That is {len(trials)} runs; a sweep from the app runs at most {MAX_APP_RUNS}: "
                             "pick fewer values or seeds, or run it from the command line.")
        backend, workers = app_backend()
        run = SweepRun(trials, backend, workers, watcher=session_watcher())
    except (SweepError, ConfigError) as exc:
        state.error = str(exc)
        return
    state.run = run.start()


def start_sweep(settings, timesteps: list[int], epochs: int, n_samples: int, seeds: int) -> None:
    """The timesteps sweep: the race's cells at each window length, at the model's own init and gain."""
    _start(SWEEP, settings, sorted(timesteps), [settings.model.gain], seeds, epochs, n_samples)


def start_map(settings, gains: list[float], timesteps: list[int], epochs: int, n_samples: int, seeds: int) -> None:
    """The trainability map: the race's cells over gain × timesteps, W_hh orthogonal × gain (the
    default init ignores the gain)."""
    slot(MAP).uploaded = None
    _start(MAP, settings, sorted(timesteps), sorted(gains), seeds, epochs, n_samples, init="orthogonal")


def cancel(key: str) -> None:
    run: SweepRun | None = slot(key).run
    if run is not None:
        run.stop()


def running(key: str) -> bool:
    """The sweep under `key` still wants to compute (running, or queued for a slot)."""
    run: SweepRun | None = slot(key).run
    return run is not None and run.status in ACTIVE


def _progress(snap: dict) -> None:
    text = f"{snap['done']}/{snap['total']} runs"
    if snap["status"] == "queued":
        text += " · " + describe_wait(snap["ahead"], snap["wait"])
    elif snap["status"] == "running":
        text += " · " + ("starting the workers…" if snap["eta"] is None else f"about {seconds(snap['eta'])} left")
    elif snap["status"] in ("completed", "stopped"):
        text += f" · {snap['status']} in {seconds(snap['seconds'])}"
    st.progress(snap["done"] / max(1, snap["total"]), text=text)
    if snap["error"]:
        st.error(md(f"The sweep stopped: {snap['error']}"))
    skipped = [r for r in snap["records"] if r["status"] == "skipped"]
    for r in skipped[:5]:
        st.caption(md(f"{label_of(r['cell'])}, T = {r['timesteps']} skipped: {r['note']}"))


def _download(records: list[dict], name: str, key: str) -> None:
    if records:
        st.download_button("Download the runs (CSV)", records_csv(records), file_name=name, mime="text/csv",
                           icon=":material/download:", key=key,
                           help="One row per run; upload it under the trainability map to draw it again.")


def _polled(key: str, draw) -> None:
    """Run `draw(snap)` in a fragment that reruns every POLL_SECONDS while the sweep under `key` runs."""
    was_running = running(key)

    @st.fragment(run_every=POLL_SECONDS if was_running else None)
    def _area() -> None:
        run: SweepRun | None = slot(key).run
        draw(None if run is None else run.snapshot())
        if was_running and not running(key):
            st.rerun()          # finished: one full rerun turns polling off and updates the buttons

    _area()


def sweep_panel(settings) -> None:
    """The timesteps sweep's widgets and buttons; carries out Run / Cancel on the race's settings."""
    defaults()
    s1, s2, s3, s4 = st.columns([3, 1, 1, 1])
    timesteps = s1.multiselect("Window lengths T", list(SWEEP_TIMESTEPS), key="cmp.sweep.timesteps")
    epochs = s2.number_input("Epochs per run", **_range("epochs"), key="cmp.sweep.epochs")
    n_samples = s3.number_input("Samples", **_range("n_samples"), key="cmp.sweep.n_samples",
                                help="Sequences generated per run (adding / echo); fewer is faster.")
    seeds = s4.number_input("Seeds", **_range("seeds"), key="cmp.sweep.seeds",
                            help="Runs per cell and length, seeds 0 … n−1: the chart shows their mean and spread.")
    action = take_action(SWEEP)       # before the buttons: they show the state the action leaves
    if action == "run":
        start_sweep(settings, timesteps, int(epochs), int(n_samples), int(seeds))
    elif action == "cancel":
        cancel(SWEEP)
    _run_cancel(SWEEP, "Run sweep", ":material/query_stats:")


def map_panel(settings) -> None:
    """The trainability map's widgets and buttons; carries out Run / Cancel on the race's settings."""
    m1, m2 = st.columns(2)                    # the chips get half the width each: none is cut off
    m3, m4, m5, _ = st.columns([1, 1, 1, 2])
    gains = m1.multiselect("Gains", list(MAP_GAINS), key="cmp.map.gains")
    map_steps = m2.multiselect("Window lengths T", list(SWEEP_TIMESTEPS), key="cmp.map.timesteps")
    map_epochs = m3.number_input("Epochs per run", **_range("epochs"), key="cmp.map.epochs")
    map_samples = m4.number_input("Samples", **_range("n_samples"), key="cmp.map.n_samples")
    map_seeds = m5.number_input("Seeds", **_range("seeds"), key="cmp.map.seeds")
    action = take_action(MAP)         # before the buttons: they show the state the action leaves
    if action == "run":
        start_map(settings, gains, map_steps, int(map_epochs), int(map_samples), int(map_seeds))
    elif action == "cancel":
        cancel(MAP)
    _run_cancel(MAP, "Run map", ":material/grid_on:")


def _run_cancel(kind: str, label: str, icon: str) -> None:
    """The Run / Cancel buttons of a sweep (`kind`: SWEEP or MAP) and its last error."""
    run_col, cancel_col, _ = st.columns([1.2, 1, 4])
    run_col.button(label, icon=icon, width="stretch", on_click=request, args=(kind, "run"),
                   disabled=running(kind))
    cancel_col.button("Cancel", icon=":material/cancel:", width="stretch", key=f"{kind}.cancel",
                      on_click=request, args=(kind, "cancel"), disabled=not running(kind))
    error = slot(kind).error
    if error:
        st.error(md(error))


def sweep_area() -> None:
    """The timesteps sweep's progress, its chart (mean ± spread over seeds) and the download."""
    def draw(snap: dict | None) -> None:
        if snap is None:
            st.caption("Not run yet.")
            return
        _progress(snap)
        charts.chart(sweep_figure(snap["records"], height=chart_height(380)), "cmp_sweep")
        _download(snap["records"], "timesteps-sweep.csv", "cmp.sweep.download")

    _polled(SWEEP, draw)


def map_area() -> None:
    """The trainability map: the running (or last) map's records, or an uploaded sweep's."""
    def draw(snap: dict | None) -> None:
        uploaded = slot(MAP).uploaded
        if uploaded is not None:
            records = uploaded["records"]
            st.caption(md(f"Drawn from the uploaded file {uploaded['name']} ({len(records)} runs)."))
        elif snap is not None:
            _progress(snap)
            records = snap["records"]
        else:
            records = []
        charts.chart(trainability_figure(records, height=chart_height(420)), "cmp_map")
        if uploaded is None:
            _download(records, "trainability-map.csv", "cmp.map.download")

    _polled(MAP, draw)


def _read_upload() -> None:
    """file_uploader callback: parse and check the file once; a bad file is one sentence, nothing lost."""
    state = slot(MAP)
    state.upload_error = None
    file = st.session_state.get(UPLOAD_KEY)
    if file is None:
        return
    try:
        records = parse_records_csv(file.getvalue())
    except SweepError as exc:
        state.upload_error = f"{file.name}: {exc}"
        return
    cancel(MAP)
    state.uploaded = {"name": file.name, "records": records}


def map_upload() -> None:
    """Upload a sweep's CSV (from here or from `python -m rnn_core sweep`) to draw its map again."""
    st.file_uploader("Draw a sweep's CSV again", type=["csv"], key=UPLOAD_KEY, on_change=_read_upload,
                     help="A file the Download button or `python -m rnn_core sweep --out` wrote; at most "
                          f"{megabytes(MAX_UPLOAD_BYTES)}.")
    error = slot(MAP).upload_error
    if error:
        st.error(md(error))
