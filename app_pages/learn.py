"""Learn: a guided walk through why recurrent networks forget and what fixes it.

Each step (`ui.learn.STEPS`) has its equations and a button that opens the Playground or the
Gradient Lab with the matching preset. The step lives in the URL (`?step=<key>`), so a lecturer can
link to one; presenter mode (`ui.presenter`) hides the step list and enlarges everything.
"""

import streamlit as st

from ui.learn import STEPS, draw_step
from ui.links import write_address
from ui.presenter import presenter_bar, presenter_mode

KEYS = [s.key for s in STEPS]
TITLES = {s.key: s.title for s in STEPS}

presenter = presenter_mode()

if "learn.current" not in st.session_state:
    wanted = st.query_params.get("step")
    st.session_state["learn.current"] = wanted if wanted in KEYS else KEYS[0]


def _go(delta: int) -> None:
    i = KEYS.index(st.session_state["learn.current"]) + delta
    st.session_state["learn.current"] = KEYS[min(max(i, 0), len(KEYS) - 1)]


def _picked() -> None:
    st.session_state["learn.current"] = st.session_state["learn.step_radio"]


if presenter:                    # the step picker sits in the presenter bar (the sidebar is hidden)
    _, bar = presenter_bar("learn", {})
    st.session_state["learn.step_pick"] = st.session_state["learn.current"]
    bar.selectbox("Step", KEYS, format_func=TITLES.get, key="learn.step_pick", label_visibility="collapsed",
                  on_change=lambda: st.session_state.update({"learn.current": st.session_state["learn.step_pick"]}))
else:
    st.title("Learn: why recurrent networks forget")
    st.caption("Eight short steps from the Elman equation to an honest stock forecast. Each one opens "
               "the Playground or the Gradient Lab set up to show it.")
    st.session_state["learn.step_radio"] = st.session_state["learn.current"]
    st.sidebar.radio("Steps", KEYS, format_func=TITLES.get, key="learn.step_radio", on_change=_picked)

step = STEPS[KEYS.index(st.session_state["learn.current"])]
write_address({"step": step.key})      # `ui.links`: the step, and the presenter view's params

i = KEYS.index(step.key)
st.progress((i + 1) / len(KEYS), text=f"Step {i + 1} of {len(KEYS)}")
draw_step(step)

st.divider()
prev_col, _, next_col = st.columns([1, 3, 1])
prev_col.button("← Previous", key="learn.prev", on_click=_go, args=(-1,), disabled=i == 0, width="stretch")
next_col.button("Next →", key="learn.next", on_click=_go, args=(1,), disabled=i == len(KEYS) - 1,
                width="stretch")
