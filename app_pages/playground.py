"""Playground: pick a cell, timesteps, hidden size and data, train live, watch gradients vanish or explode.

Thin: the sidebar panels (`ui/controls.py`) build the configs, `ui/state.py` keeps them in the session
and the URL (by `ui/links.py`'s rule), `ui/live.py` runs and polls the `LiveRun`, `ui/views.py` draws
it, `ui/run_files.py` builds the run's windows and offers the downloads and the upload of a saved run.
"""

import streamlit as st

from rnn_core.lessons.presets import PRESETS, preset_note
from ui import run_files, state
from ui.compare import race_button
from ui.controls import sidebar_controls
from ui.links import PLAYGROUND, changed_preset_sentence, holds_preset
from ui.live import get_context, get_run, ghost_bar, live_area, run_bar
from ui.markdown import md
from ui.presenter import first_screen, presenter_bar, presenter_mode
from ui.views import CHARTS, draw_presented, ghost_slot, run_parts

SLOT = "pg"

presenter = presenter_mode()          # lecture screen: one chosen chart, large text, no sidebar
url_note = state.load_url_once(SLOT)
state.restore_widgets(SLOT)
chart, bar = presenter_bar("playground", CHARTS, "loss") if presenter else (None, None)

if not presenter:
    first_screen()                    # a compact top, so the status, verdict and first charts fit 1280×720
    title, bar = st.columns([2, 3], vertical_alignment="center")
    title.title("RNN Playground")
if url_note:
    st.warning(md(url_note), icon=":material/link_off:")


PRESET_CHOICE = state.widget_key(SLOT, "preset_choice")


def _apply_preset() -> None:
    choice = st.session_state.get(PRESET_CHOICE)
    if choice in PRESETS:
        state.apply_preset(SLOT, choice)


bar.selectbox("Preset", [None, *PRESETS], key=PRESET_CHOICE,
              format_func=lambda k: "Choose a preset…" if k is None else PRESETS[k].title,
              on_change=_apply_preset, label_visibility="collapsed",
              help="A preset sets several controls at once; you can change any of them after.")
preset = state.slot(SLOT).preset
model_cfg, data, train_cfg = sidebar_controls(SLOT, expanded=not presenter)
story = ("Pick a recurrent cell, the window length and a dataset (or a preset), press **Train**, and watch "
         "the loss, the gradient flowing back through time, and the predictions — live.")
note = preset_note(preset) if preset in PRESETS else None      # e.g. the stock preset's offline data
if preset in PRESETS:                       # its sentence only while the settings are the preset's
    name = PRESETS[preset].title
    held = holds_preset(PLAYGROUND, (model_cfg, data.config, train_cfg), preset)
    story = f"**{name}** — {PRESETS[preset].description}" if held else changed_preset_sentence(name)
state.remember(SLOT, model_cfg, data.config, train_cfg)
state.sync_url(SLOT, model_cfg, data.config, train_cfg, has_run=get_run(SLOT) is not None)
for sentence in data.notes:
    st.sidebar.caption(md(sentence))
if data.hint:
    st.sidebar.info(md(data.hint), icon=":material/upload_file:")
elif data.error:
    st.sidebar.error(md(data.error), icon=":material/error:")


def make_context():
    return run_files.make_context(model_cfg, data, train_cfg)


spare = run_bar(SLOT, make_context)
if presenter:
    live_area(SLOT, draw_presented(SLOT, chart), watch=(ghost_slot(SLOT),))
    st.stop()
if state.settings_changed(get_context(SLOT), model_cfg, data.config, train_cfg):
    st.caption("The sidebar differs from the settings of the run shown: press **Reset**, then **Train**, to "
               "train with the new ones.")
race_button(model_cfg, data.config, train_cfg)      # text tasks: tanh RNN vs LSTM side by side on Compare
ghost_bar(SLOT, make_context, spare.popover("Ghost run", icon=":material/group:", width="stretch",
                                            help="Train another cell on the same setup, drawn over this "
                                                 "run's loss and gradient."))
# laid out here, redrawn in two parts; the preset's sentence and note go under the first charts
each_step, each_epoch = run_parts(SLOT, get_context(SLOT), story, note)
live_area(SLOT, each_step, watch=(ghost_slot(SLOT),), slow=each_epoch)
run_files.export_panel(SLOT, model_cfg, data.config, train_cfg)
