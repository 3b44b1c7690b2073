"""RNN Playground entry point: page config, navigation over `app_pages/`, and the torch warm-up.

(`app_pages/`, not `pages/`: Streamlit runs a `pages/` folder beside the entry point as a legacy
multipage app until `st.navigation` has been called once, which breaks a first visit to a deep link.)
"""

import streamlit as st

from rnn_core.serve.warm_up import start_warm_up
from rnn_core.serve.worker_pool import start_spare_workers
from ui.a11y import page_style
from ui.keys import key_script

st.set_page_config(page_title="RNN Playground", page_icon=":material/all_inclusive:", layout="wide")
start_warm_up()      # once per process, on a background thread: the first Train does not pay torch's start-up
start_spare_workers()    # the warm worker processes that runs train in (a no-op once they are there)
page_style()             # contrast, the focus ring, the phone layout: every page (ui/a11y.py)
key_script()             # a presentation remote's keys in presenter view (ui/keys.py)

PAGES = [
    st.Page("app_pages/playground.py", title="Playground", icon=":material/science:", default=True),
    st.Page("app_pages/gradient_lab.py", title="Gradient Lab", icon=":material/trending_down:",
            url_path="gradient-lab"),
    st.Page("app_pages/compare.py", title="Compare", icon=":material/leaderboard:", url_path="compare"),
    st.Page("app_pages/learn.py", title="Learn", icon=":material/school:", url_path="learn"),
    st.Page("app_pages/data.py", title="Data", icon=":material/show_chart:", url_path="data"),
]

page = st.navigation(PAGES)
page.run()
