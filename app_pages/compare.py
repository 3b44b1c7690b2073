"""Compare: race two to five cells on the same data, seed and settings, and sweep the window length.

Reads the Compare controls (`ui.compare`), starts one `LiveRun` per cell, and lets one fragment
redraw the overlaid loss curves, the gradient-through-time profiles and the final-metrics table.
The timesteps sweep trains each cell briefly at several window lengths on a background thread.
"""

import streamlit as st

from ui.compare import (
    SWEEP_TIMESTEPS,
    race_area,
    race_running,
    race_settings,
    request,
    reset_race,
    start_race,
    start_sweep,
    stop_race,
    sweep_area,
)
from ui.presenter import presenter_mode
from ui.text import md

presenter = presenter_mode()
st.title("Compare cells")
if not presenter:
    st.caption("The same windows, seed and settings for every cell: only the recurrence differs. On a "
               "long-memory task (the adding problem, the delayed echo) the plain RNN's gradient fades "
               "before it reaches the inputs that matter, and its loss stays at the constant guess.")

box = st.expander("Settings", expanded=False) if presenter else st.sidebar
if not presenter:
    box.header("Race settings")
settings = race_settings(box)

# Buttons only record the request (callbacks run even if a quick second click interrupts this run);
# the request is carried out here, once the settings are known.
action = st.session_state.pop("cmp.action", None)
if action == "start":
    start_race(settings)
elif action == "stop":
    stop_race()
elif action == "reset":
    reset_race()
running = race_running()
c1, c2, c3, _ = st.columns([1.3, 1, 1, 4])
c1.button("Start race", type="primary", icon=":material/flag:", disabled=running, width="stretch",
          on_click=request, args=("start",), help="Train every chosen cell at once, each on its own thread.")
c2.button("Stop", icon=":material/stop:", disabled=not running, width="stretch", on_click=request,
          args=("stop",))
c3.button("Reset", icon=":material/restart_alt:", width="stretch", on_click=request, args=("reset",))
error = st.session_state.get("cmp.error")
if error:
    st.error(md(error))
race_area(presenter)

st.header("Timesteps sweep")
if not presenter:
    st.caption("Short runs of each chosen cell at several window lengths on the same task: the final "
               "validation loss against T. A cell climbs to the constant guess once T outgrows the "
               "distance its gradient can carry the signal: the plain RNN first, the gated cells at "
               "longer windows or not within the sweep.")
s1, s2, s3, s4 = st.columns([3, 1, 1, 1.2])
timesteps = s1.multiselect("Window lengths T", SWEEP_TIMESTEPS, key="cmp.sweep.timesteps")
epochs = s2.number_input("Epochs per run", 1, 50, step=1, key="cmp.sweep.epochs")
n_samples = s3.number_input("Samples", 100, 20_000, step=100, key="cmp.sweep.n_samples",
                            help="Sequences generated per run (adding / echo); fewer is faster.")
s4.write("")
s4.button("Run sweep", icon=":material/query_stats:", width="stretch", on_click=request, args=("sweep",))
if st.session_state.pop("cmp.sweep_action", None):
    start_sweep(settings, sorted(timesteps), int(epochs), int(n_samples))
sweep_error = st.session_state.get("cmp.sweep_error")
if sweep_error:
    st.error(md(sweep_error))
sweep_area()
