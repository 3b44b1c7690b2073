"""RNN Playground entry point: page config and navigation over `pages/`, nothing else."""

import streamlit as st

st.set_page_config(page_title="RNN Playground", page_icon="🔁", layout="wide")

PAGES = [
    st.Page("pages/playground.py", title="Playground", icon="🧪", default=True, url_path="playground"),
    st.Page("pages/gradient_lab.py", title="Gradient Lab", icon="📉", url_path="gradient-lab"),
    st.Page("pages/compare.py", title="Compare", icon="🏁", url_path="compare"),
    st.Page("pages/learn.py", title="Learn", icon="🎓", url_path="learn"),
    st.Page("pages/data.py", title="Data", icon="📈", url_path="data"),
]

st.navigation(PAGES).run()
