"""Streamlit glue of the Compare page: the race (one `LiveRun` per cell, same data, seed and settings).

Each cell's run lives in the `ui.live` slot `cmp.<cell>`; the race's shared facts (cells, baseline)
under `cmp.race`. One fragment polls every run at once.
Holds `race_settings()`, `request` (the buttons' callback), `start_race`, `stop_race`, `reset_race`,
`race_runs`, `race_area()` (for text tasks with `text_race`: samples and connectivity side by side),
and `race_button` (the Playground's "tanh RNN vs LSTM" for text tasks).
Leaves to others: the sweeps on the race's settings (`ui.sweeps`), the widgets of the data and
training panels (`ui.controls`), the run slots (`ui.live`), the computations and figures (`rnn_core`).
"""

from __future__ import annotations

from dataclasses import dataclass

import streamlit as st

from rnn_core.admission import describe_wait
from rnn_core.config import CELLS, ConfigError, DataConfig, ModelConfig, TrainConfig, layers_error, validate_run
from rnn_core.config import replace as cfg_replace
from rnn_core.lab_figures import compare_gradient_figure, compare_loss_figure, compare_table
from rnn_core.live import LiveRun
from rnn_core.tasks import TASKS
from rnn_core.workers import new_run
from ui.controls import data_controls, train_controls
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
from ui.presenter import chart_height, show_chart, status_line
from ui.text_views import connectivity_row

PREFIX = "cmp"
RACE = "cmp.race"
POLL_SECONDS = 0.7
DATASETS = ["adding", "echo", "sine", "mackey_glass", "sines", "brackets", "pydoc"]
# Compare's own defaults: the adding problem over 25 steps, where in 10 epochs the GRU and the LSTM get
# far below the constant guess and the tanh RNN stays on it. The sweep's defaults (T = 5…50, 10 epochs,
# 2000 samples, lr 0.01, forget bias 1) show the order its caption states, measured on seed 0: the RNN
# learns at T = 5 and stays on the constant guess from T = 25, the LSTM learns to T = 25 and not at 50,
# the GRU learns at every T of the sweep (tests/test_presets.py holds the first part).
DEFAULTS = {"cmp.m.cells": ["rnn", "lstm", "gru"], "cmp.m.hidden_size": 32, "cmp.m.num_layers": 1,
            "cmp.m.forget_bias": 1.0, "cmp.d.dataset": "adding", "cmp.d.timesteps": 25,
            "cmp.dp.adding.n_samples": 2000, "cmp.dp.echo.n_samples": 2000, "cmp.dp.echo.lag": 10,
            "cmp.t.epochs": 10, "cmp.t.lr": 0.01, "cmp.t.batch_size": 32, "cmp.t.clip": "norm",
            "cmp.t.clip_value": 1.0}


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
    cells = box.multiselect("Cells to race (2–5)", list(CELLS), format_func=CELLS.get, key="cmp.m.cells",
                            max_selections=5, help="Each trains its own network on the same windows with "
                            "the same seed and settings.")
    with box.expander("Model", icon=":material/neurology:", expanded=False):
        c1, c2 = st.columns(2)
        hidden = c1.number_input("Hidden size", 1, 256, step=1, key="cmp.m.hidden_size")
        layers = c2.number_input("Layers", 1, 4, step=1, key="cmp.m.num_layers")
        forget = st.slider("LSTM forget-gate bias", -3.0, 5.0, step=0.5, key="cmp.m.forget_bias",
                           help="Added to the LSTM's forget-gate bias; the other cells ignore it.")
    with box.expander("Data", icon=":material/show_chart:", expanded=True):
        data = data_controls(st, PREFIX, datasets=DATASETS)
    with box.expander("Training", icon=":material/tune:", expanded=False):
        train = train_controls(st, PREFIX)
    model = ModelConfig(hidden_size=int(hidden), num_layers=int(layers), forget_bias=float(forget))
    error = data.error
    if len(cells) < 2:
        error = error or "Pick at least two cells to race."
    # a cell that cannot have this many layers (Jordan has one): say so before the race starts
    error = error or next((m for m in (layers_error(c, int(layers)) for c in cells) if m), None)
    return RaceSettings(list(cells), model, data.config, train, error)


# ------------------------------------------------------------------- from the Playground (text tasks)
RACE_CELLS = ["rnn", "lstm"]


def race_button(model: ModelConfig, data: DataConfig, train: TrainConfig) -> None:
    """For a text dataset Compare can race: a button that opens Compare with the same data, model size and
    training, the cells tanh RNN and LSTM, and starts the race (connectivity side by side)."""
    from rnn_core.datasets import DATASETS as REGISTRY
    from ui.state import seed_widgets

    if REGISTRY[data.dataset].task != "text" or data.dataset not in DATASETS:
        return
    if not st.button("Race tanh RNN vs LSTM side by side", icon=":material/compare_arrows:",
                     key="pg.race_text", help="Opens Compare with these settings and trains both cells at once: "
                     "their samples and connectivity appear next to each other."):
        return
    seed_widgets(PREFIX, ModelConfig(), data, train, overwrite=True)
    st.session_state.update({"cmp.m.cells": list(RACE_CELLS), "cmp.m.hidden_size": model.hidden_size,
                             "cmp.m.num_layers": model.num_layers, "cmp.m.forget_bias": model.forget_bias,
                             "cmp.action": "start"})
    st.switch_page("app_pages/compare.py")


# ------------------------------------------------------------------------------------------ the race
def request(action: str) -> None:
    """Button callback: remember what was asked ("start", "stop" or "reset") for the page."""
    st.session_state["cmp.action"] = action


def race_runs() -> dict[str, LiveRun]:
    race = st.session_state.get(RACE) or {}
    return {cell: run for cell in race.get("cells", []) if (run := get_run(f"{PREFIX}.{cell}")) is not None}


def start_race(s: RaceSettings) -> None:
    """Build the windows once and start one LiveRun per cell; a failure becomes `cmp.error`."""
    from rnn_core.windows import prepare
    from ui.views import baseline_mse

    refused = one_at_a_time("cmp")
    if refused:
        st.session_state["cmp.error"] = refused
        return
    reset_race()
    if s.error:
        st.session_state["cmp.error"] = s.error
        return
    watcher = session_watcher()
    try:
        windows = prepare(s.data)
        runs = {}
        for cell in s.cells:
            mcfg = cfg_replace(s.model, cell=cell, input_size=windows.X_train.shape[2],
                               output_size=windows.y_train.shape[1])
            validate_run(mcfg, s.data, s.train)
            runs[cell] = (new_run(mcfg, s.train, windows, watcher=watcher), RunContext(mcfg, s.data, s.train, windows))
    except (ConfigError, ValueError) as exc:       # DataError is a ValueError
        st.session_state["cmp.error"] = str(exc)
        return
    st.session_state[RACE] = {"cells": list(runs), "baseline": baseline_mse(windows),
                              "task": windows.task, "timesteps": s.data.timesteps, "dataset": s.data.dataset}
    for cell, (run, ctx) in runs.items():
        set_run(f"{PREFIX}.{cell}", run, ctx)
        run.start()


def stop_race() -> None:
    for run in race_runs().values():
        run.stop()


def reset_race() -> None:
    race = st.session_state.pop(RACE, None) or {}
    for cell in race.get("cells", []):
        clear_run(f"{PREFIX}.{cell}")
    st.session_state.pop("cmp.error", None)


def race_running() -> bool:
    return any(run.status not in FINISHED for run in race_runs().values())


PRESENTER_CHARTS = {"loss": "Loss race", "gradient": "Gradient through time"}


def _presented(snaps: dict, data: dict, baseline: float | None, label: str, chart: str) -> None:
    """Presenter view of the race: one status line for all cells, and only the chosen chart."""
    status_line(" · ".join(f"{STATUS_ICON.get(snap.status, '')} **{CELLS[cell]}** {snap.epoch}/{snap.total_epochs}"
                           for cell, snap in snaps.items()))
    fig = (compare_loss_figure(data, baseline=baseline, baseline_label=label) if chart == "loss"
           else compare_gradient_figure(data))
    show_chart(fig, f"cmp_present_{chart}")


def race_area(presenter: bool = False, chart: str | None = None) -> None:
    """One fragment that redraws every run's progress, the loss and gradient charts and the table
    (presenter mode with a `chart`: one status line and only that chart)."""
    running = race_running()

    @st.fragment(run_every=POLL_SECONDS if running else None)
    def _area() -> None:
        race = st.session_state.get(RACE) or {}
        runs = race_runs()
        if not runs:
            st.info("Press **Start race** to train the chosen cells side by side on the same windows.")
            return
        snaps = {cell: run.snapshot() for cell, run in runs.items()}
        data = {cell: {"epochs": snap.epochs, "status": snap.status, "elapsed": snap.elapsed}
                for cell, snap in snaps.items()}
        baseline = race.get("baseline")
        label = TASKS[race.get("task", "forecast")].baseline_label
        if chart is not None:
            _presented(snaps, data, baseline, label, chart)
            if running and not race_running():
                st.rerun()
            return
        cols = st.columns(len(snaps))
        for col, (cell, snap) in zip(cols, snaps.items()):
            total = max(1, snap.total_epochs * max(1, snap.steps_per_epoch))
            col.progress(min(1.0, snap.step / total),
                         text=f"{STATUS_ICON.get(snap.status, '')} {CELLS[cell]} · epoch {snap.epoch}/"
                              f"{snap.total_epochs}")
            if snap.status == "queued":
                col.caption(describe_wait(snap.ahead, snap.wait))
            if snap.status == "diverged" and snap.end:
                col.error(f"Diverged at step {snap.step}: {snap.end.get('reason', '')}")
        h = chart_height(380)
        left, right = st.columns(2)
        left.plotly_chart(compare_loss_figure(data, baseline=baseline, height=h, baseline_label=label),
                          width="stretch", key="cmp_loss")
        right.plotly_chart(compare_gradient_figure(data, height=h), width="stretch", key="cmp_grad")
        st.dataframe(compare_table(data, baseline), hide_index=True, width="stretch",
                     column_config={"÷ constant guess": st.column_config.NumberColumn(
                         f"÷ {label}", help=f"Final validation loss divided by the {label} baseline's MSE: "
                                            "below 1 the cell learned something.", format="%.3f")})
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
    st.subheader("Samples and connectivity, side by side")
    cols = st.columns(len(snaps))
    for col, (cell, snap) in zip(cols, snaps.items()):
        with col:
            latest = next((r for r in reversed(snap.epochs) if r.get("text")), None)
            st.markdown(f"**{CELLS[cell]}**" + (f" · epoch {latest['epoch']}" if latest else ""))
            st.code(latest["text"]["sample"] if latest else "(no sample yet)", language=None, wrap_lines=True)
    version = tuple(len(s.epochs) for s in snaps.values())
    connectivity_row({CELLS[c]: run for c, run in runs.items()}, ctx.windows.text, PREFIX, (id(ctx), *version))
    st.caption("Colour = ‖∂ log₂ p(next)/∂xₜ‖ of the boxed prediction for each earlier character (exact, log "
               "scale), recomputed every epoch. On the brackets the closer needs the opener: the cell whose "
               "colour still reaches it can get the closer right.")
