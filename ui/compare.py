"""Streamlit glue of the Compare page: the race (one `LiveRun` per cell, same data, seed and settings).

Each cell's run lives in the slot `cmp.<cell>`; the race's shared facts (cells, baseline), its
button request and its error in the slot `cmp` (`ui.state.slot`). One fragment polls every run at once.
Holds `race_settings()`, `request` (the buttons' callback), `take_action()`, `start_error()`,
`start_race`, `stop_race`, `reset_race`,
`race_runs`, `race_area()` (for text tasks with `text_race`: samples and connectivity side by side),
and `race_button` (the Playground's "tanh RNN vs LSTM" for text tasks).
Leaves to others: the sweeps on the race's settings (`ui.sweep`), the widgets of the data and
training panels (`ui.controls`), the run slots (`ui.live`), the race's defaults, ranges and check
(`rnn_core.lessons.compare`), the computations and figures (`rnn_core`).
"""

from __future__ import annotations

from dataclasses import dataclass

import streamlit as st

from plots.lab import compare_gradient_figure, compare_loss_figure
from plots.tables import compare_table
from rnn_core.config import ConfigError, DataConfig, TrainConfig, validate_run
from rnn_core.config import replace as cfg_replace
from rnn_core.lessons.compare import (
    MAX_RACE_CELLS,
    MIN_RACE_CELLS,
    RACE_CELLS,
    RACE_DATA,
    RACE_DATASETS,
    RACE_FIELDS,
    RACE_MODEL,
    RACE_PARAMS,
    RACE_TRAIN,
    RACE_TRAIN_FIELDS,
    TEXT_RACE_CELLS,
    race_error,
)
from rnn_core.nn.cells import CELLS, label_of
from rnn_core.nn.model_config import ModelConfig
from rnn_core.nn.tasks import TASKS, Task
from rnn_core.readable import COLUMN
from rnn_core.serve.admission import describe_wait
from rnn_core.serve.live import LiveRun
from rnn_core.serve.shared import start_run
from ui import charts
from ui.controls import data_controls, field_range, train_controls
from ui.live import (
    FINISHED,
    STATUS_ICON,
    RunContext,
    clear_run,
    get_context,
    get_run,
    one_at_a_time,
    session_watcher,
    set_run,
)
from ui.markdown import md
from ui.presenter import chart_height, show_chart, status_line
from ui.state import slot
from ui.text_views import connectivity_row

PREFIX = "cmp"
POLL_SECONDS = 0.7
# The race's defaults as widget keys; the runs themselves are `rnn_core.lessons.compare`'s.
DEFAULTS = {"cmp.m.cells": list(RACE_CELLS), "cmp.m.hidden_size": RACE_MODEL.hidden_size,
            "cmp.m.num_layers": RACE_MODEL.num_layers, "cmp.m.forget_bias": RACE_MODEL.forget_bias,
            "cmp.d.dataset": RACE_DATA.dataset, "cmp.d.timesteps": RACE_DATA.timesteps,
            **{f"cmp.dp.{dataset}.{name}": value for dataset, params in RACE_PARAMS.items()
               for name, value in params.items()},
            **{f"cmp.t.{name}": getattr(RACE_TRAIN, name) for name in RACE_TRAIN_FIELDS}}


@dataclass
class RaceSettings:
    cells: list[str]
    model: ModelConfig          # the cell field is replaced per run
    data: DataConfig
    train: TrainConfig
    error: str | None           # a sentence: why the race cannot start now


def _defaults() -> None:
    for k, v in DEFAULTS.items():
        if k not in st.session_state:
            st.session_state[k] = v


def race_settings(box) -> RaceSettings:
    """The Compare controls in `box`: cells, a small model panel, and the shared data / training panels."""
    _defaults()
    cells = box.multiselect(f"Cells to race ({MIN_RACE_CELLS}–{MAX_RACE_CELLS})", list(CELLS), format_func=label_of,
                            key="cmp.m.cells", max_selections=MAX_RACE_CELLS,
                            help="Each trains its own network on the same windows with the same seed and settings.")
    with box.expander("Model", icon=":material/neurology:", expanded=False):
        c1, c2 = st.columns(2)
        hidden = c1.number_input("Hidden size", **field_range(RACE_FIELDS["hidden_size"]), key="cmp.m.hidden_size")
        layers = c2.number_input("Layers", **field_range(RACE_FIELDS["num_layers"]), key="cmp.m.num_layers")
        forget = st.slider("LSTM forget-gate bias", **field_range(RACE_FIELDS["forget_bias"]), key="cmp.m.forget_bias",
                           help="Added to the LSTM's forget-gate bias; the other cells ignore it.")
    with box.expander("Data", icon=":material/show_chart:", expanded=True):
        data = data_controls(st, PREFIX, datasets=list(RACE_DATASETS))
    with box.expander("Training", icon=":material/tune:", expanded=False):
        train = train_controls(st, PREFIX)
    model = ModelConfig(hidden_size=int(hidden), num_layers=int(layers), forget_bias=float(forget))
    error = data.error or race_error(list(cells), int(layers))
    return RaceSettings(list(cells), model, data.config, train, error)


# ------------------------------------------------------------------- from the Playground (text tasks)
def race_button(model: ModelConfig, data: DataConfig, train: TrainConfig) -> None:
    """For a text dataset Compare can race: a button that opens Compare with the same data, model size and
    training, the cells tanh RNN and LSTM, and starts the race (connectivity side by side)."""
    from rnn_core.data.registry import DATASETS as REGISTRY
    from ui.state import seed_widgets

    if REGISTRY[data.dataset].task != "text" or data.dataset not in RACE_DATASETS:
        return
    if not st.button("Race tanh RNN vs LSTM side by side", icon=":material/compare_arrows:",
                     key="pg.race_text", help="Opens Compare with these settings and trains both cells at once: "
                     "their samples and connectivity appear next to each other."):
        return
    seed_widgets(PREFIX, ModelConfig(), data, train, overwrite=True)
    st.session_state.update({"cmp.m.cells": list(TEXT_RACE_CELLS), "cmp.m.hidden_size": model.hidden_size,
                             "cmp.m.num_layers": model.num_layers, "cmp.m.forget_bias": model.forget_bias})
    request("start")
    st.switch_page("app_pages/compare.py")


# ------------------------------------------------------------------------------------------ the race
def request(action: str) -> None:
    """Button callback: remember what was asked ("start", "stop" or "reset") for the page."""
    slot(PREFIX).action = action


def take_action() -> str | None:
    """The button request to carry out now (once)."""
    state = slot(PREFIX)
    action, state.action = state.action, None
    return action


def start_error() -> str | None:
    """Why the last start failed (a sentence), until the race is reset."""
    return slot(PREFIX).error


def race_runs() -> dict[str, LiveRun]:
    race = slot(PREFIX).race or {}
    return {cell: run for cell in race.get("cells", []) if (run := get_run(f"{PREFIX}.{cell}")) is not None}


def start_race(s: RaceSettings) -> None:
    """Build the windows once and start one LiveRun per cell; a failure becomes the race's error."""
    from rnn_core.data.windows import prepare
    from ui.views import baseline_mse

    refused = one_at_a_time("cmp")
    if refused:
        slot(PREFIX).error = refused
        return
    reset_race()
    if s.error:
        slot(PREFIX).error = s.error
        return
    watcher = session_watcher()
    try:
        windows = prepare(s.data)
        runs = {}
        for cell in s.cells:
            mcfg = cfg_replace(s.model, cell=cell, input_size=windows.n_features,
                               output_size=windows.y_train.shape[1])
            validate_run(mcfg, s.data, s.train)
            runs[cell] = (start_run(mcfg, s.data, s.train, windows, watcher=watcher),
                          RunContext(mcfg, s.data, s.train, windows))
    except (ConfigError, ValueError) as exc:       # DataError is a ValueError
        slot(PREFIX).error = str(exc)
        return
    slot(PREFIX).race = {"cells": list(runs), "baseline": baseline_mse(windows),
                              "task": windows.task, "timesteps": s.data.timesteps, "dataset": s.data.dataset}
    for cell, (run, ctx) in runs.items():
        set_run(f"{PREFIX}.{cell}", run, ctx)
        run.start()


def stop_race() -> None:
    for run in race_runs().values():
        run.stop()


def reset_race() -> None:
    state = slot(PREFIX)
    for cell in (state.race or {}).get("cells", []):
        clear_run(f"{PREFIX}.{cell}")
    state.clear_run()
    state.error = None


def race_running() -> bool:
    return any(run.status not in FINISHED for run in race_runs().values())


PRESENTER_CHARTS = {"loss": "Loss race", "gradient": "Gradient through time"}


def _presented(snaps: dict, data: dict, baseline: float | None, task: Task, chart: str) -> None:
    """Presenter view of the race: one status line for all cells, and only the chosen chart."""
    status_line(" · ".join(f"{STATUS_ICON.get(snap.status, '')} **{label_of(cell)}** {snap.epoch}/{snap.total_epochs}"
                           for cell, snap in snaps.items()))
    fig = (compare_loss_figure(data, baseline=baseline, baseline_label=task.baseline_label,
                               loss_label=task.loss_label) if chart == "loss"
           else compare_gradient_figure(data))
    show_chart(fig, f"cmp_present_{chart}")


def race_area(presenter: bool = False, chart: str | None = None) -> None:
    """One fragment that redraws every run's progress, the loss and gradient charts and the table
    (presenter mode with a `chart`: one status line and only that chart)."""
    running = race_running()

    @st.fragment(run_every=POLL_SECONDS if running else None)
    def _area() -> None:
        race = slot(PREFIX).race or {}
        runs = race_runs()
        if not runs:
            st.info("Press **Start race** to train the chosen cells side by side on the same windows.")
            return
        snaps = {cell: run.snapshot() for cell, run in runs.items()}
        data = {cell: {"epochs": snap.epochs, "status": snap.status, "elapsed": snap.elapsed}
                for cell, snap in snaps.items()}
        baseline = race.get("baseline")
        task = TASKS[race.get("task", "forecast")]
        label = task.baseline_label
        if chart is not None:
            _presented(snaps, data, baseline, task, chart)
            if running and not race_running():
                st.rerun()
            return
        cols = st.columns(len(snaps))
        for col, (cell, snap) in zip(cols, snaps.items()):
            total = max(1, snap.total_epochs * max(1, snap.steps_per_epoch))
            col.progress(min(1.0, snap.step / total),
                         text=f"{STATUS_ICON.get(snap.status, '')} {label_of(cell)} · epoch {snap.epoch}/"
                              f"{snap.total_epochs}")
            if snap.status == "queued":
                col.caption(describe_wait(snap.ahead, snap.wait))
            if snap.status == "diverged" and snap.end:
                col.error(f"Diverged at step {snap.step}: {md(snap.end.get('reason', ''))}")
        h = chart_height(380)
        left, right = st.columns(2)
        charts.chart(compare_loss_figure(data, baseline=baseline, height=h, baseline_label=label,
                                         loss_label=task.loss_label), "cmp_loss", where=left)
        charts.chart(compare_gradient_figure(data, height=h), "cmp_grad", where=right)
        st.dataframe(compare_table(data, baseline), hide_index=True, width="stretch",
                     column_config={"÷ constant guess": st.column_config.NumberColumn(
                         f"÷ {label} (validation)", help=f"Final validation loss divided by the {label}'s loss on "
                                                         "the same validation windows: below 1 the cell learned "
                                                         "something.", format=COLUMN["fixed"])})
        if race.get("task") == "text":
            text_race(runs, snaps)
        if running and not race_running():
            st.rerun()     # all finished: one full rerun turns polling off and updates the buttons

    _area()


def text_race(runs: dict[str, LiveRun], snaps: dict) -> None:
    """Text tasks: each cell's latest sample, and the same held-out prediction coloured by each cell's
    connectivity side by side (tanh RNN vs LSTM: how far back each can look)."""
    ctx = get_context(f"{PREFIX}.{next(iter(runs))}")
    if ctx is None or getattr(ctx.windows, "text", None) is None:
        return
    st.header("Samples and connectivity, side by side")
    cols = st.columns(len(snaps))
    for col, (cell, snap) in zip(cols, snaps.items()):
        with col:
            latest = next((r for r in reversed(snap.epochs) if r.get("text")), None)
            st.markdown(f"**{label_of(cell)}**" + (f" · epoch {latest['epoch']}" if latest else ""))
            st.code(latest["text"]["sample"] if latest else "(no sample yet)", language=None, wrap_lines=True)
    version = tuple(len(s.epochs) for s in snaps.values())
    connectivity_row({label_of(c): run for c, run in runs.items()}, ctx.windows.text, PREFIX, (id(ctx), *version))
    st.caption("Colour = ‖∂ log₂ p(next)/∂xₜ‖ of the boxed prediction for each earlier character (exact, log "
               "scale), recomputed every epoch. It says how much the prediction would move if that character "
               "changed, not whether it is right: on the brackets the LSTM, sure and right (p ≈ 1, loss ≈ 0), "
               "is fainter everywhere than the tanh RNN, which is unsure and often wrong. Read the "
               "probability under each.")
