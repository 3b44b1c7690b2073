"""Compare: race two cells or more on the same data, seed and settings, and sweep the window length.

Reads the Compare controls (`ui.compare`), starts one `LiveRun` per cell, and lets one fragment
redraw the overlaid loss curves, the gradient-through-time profiles and the final-metrics table.
Two sweeps on the sweep engine (`ui.sweep`) train each cell briefly at several window lengths, and
over gain × window length for the trainability map.
"""

import streamlit as st

from rnn_core.nn.cells import labels_where
from ui import sweep
from ui.compare import (
    PRESENTER_CHARTS,
    race_area,
    race_running,
    race_settings,
    request,
    reset_race,
    start_error,
    start_race,
    stop_race,
    take_action,
)
from ui.markdown import md
from ui.presenter import presenter_bar, presenter_mode

BOUNDED, GATED = labels_where(lambda c: c.bounded), labels_where(lambda c: c.gate_path)
presenter = presenter_mode()
chart, bar = presenter_bar("compare", PRESENTER_CHARTS, "loss") if presenter else (None, None)
if not presenter:
    st.title("Compare cells")
    st.caption("The same windows, seed and settings for every cell: only the recurrence differs. On a "
               "long-memory task (the adding problem, the delayed echo) the plain RNN's gradient fades "
               "before it reaches the inputs that matter, and its loss gets no lower than the constant guess.")

if presenter:
    top = st.container()            # buttons, status and the chosen chart, above the folded settings
    box = st.expander("Settings", expanded=False, icon=":material/tune:")
else:
    top, box = st.container(), st.sidebar
    box.header("Race settings")
settings = race_settings(box)

# Buttons only record the request (callbacks run even if a quick second click interrupts this run);
# the request is carried out here, once the settings are known.
action = take_action()
if action == "start":
    start_race(settings)
elif action == "stop":
    stop_race()
elif action == "reset":
    reset_race()
running = race_running()
with top:
    c1, c2, c3, _ = st.columns([1.3, 1, 1, 4])
    c1.button("Start race", key="cmp.btn.race", type="primary", icon=":material/flag:", disabled=running,
              width="stretch", on_click=request, args=("start",),
              help="Train every chosen cell at once, each in its own process.")
    c2.button("Stop", icon=":material/stop:", disabled=not running, width="stretch", on_click=request,
              args=("stop",))
    c3.button("Reset", icon=":material/restart_alt:", width="stretch", on_click=request, args=("reset",))
    error = start_error()
    if error:
        st.error(md(error))
    race_area(presenter, chart)
if presenter:                       # the lecture screen shows the race's chosen chart only
    st.stop()

st.header("Timesteps sweep")
if not presenter:
    st.caption("Short runs of each chosen cell at several window lengths on the same task: the final "
               "validation loss against T, the mean over seeds with bars from the lowest to the highest. "
               "A cell climbs to the naive guess once T outgrows the distance its gradient can carry the "
               "signal: the plain RNN first, the gated cells at longer windows or not within the sweep.")
sweep.sweep_panel(settings)
sweep.sweep_area()

st.header("Trainability map")
if not presenter:
    st.caption("What the Gradient Lab's phase diagram predicts at initialisation, measured after training: "
               "each chosen cell over gain × window length (W_hh orthogonal × gain), coloured by the final "
               "validation loss ÷ the naive guess — blue learned, white no better than the guess. The dashed "
               f"line is σ_max·γ = 1, the border of the Pascanu bound, drawn for the {BOUNDED} only: the gates of "
               f"the {GATED} open paths that bound does not cover. With the defaults "
               "on the adding problem: the plain RNN learns at T = 5 at every gain, at T = 10 only near "
               "gain 1 and not from T = 25; the LSTM holds to T = 25 and at T = 50 learns only near gain 1; "
               "the GRU learns across the map.")
sweep.map_panel(settings)
sweep.map_area()
if not presenter:
    sweep.map_upload()
