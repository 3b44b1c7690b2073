"""RNN Playground entry point: page config, navigation over `app_pages/`, and the torch warm-up.

(`app_pages/`, not `pages/`: Streamlit runs a `pages/` folder beside the entry point as a legacy
multipage app until `st.navigation` has been called once, which breaks a first visit to a deep link.)
"""

from pathlib import Path

import streamlit as st

from rnn_core.serve.warm_up import start_warm_up
from rnn_core.serve.worker_pool import start_spare_workers
from ui.a11y import page_style
from ui.keys import key_script

# the tab's icon is a file of ours, served by the app: a Material icon would be fetched from fonts.gstatic.com
# at every page load (a request to a third party, and no icon in a lecture hall without a network)
ICON = str(Path(__file__).resolve().parent / "ui" / "icon.svg")
st.set_page_config(page_title="RNN Playground", page_icon=ICON, layout="wide")
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
