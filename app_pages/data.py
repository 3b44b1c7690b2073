"""Data: browse every dataset, fetch a Yahoo Finance ticker, upload a CSV, and preview the windowing.

Thin: the pieces live in `ui/data_views.py`; loading and validation in `rnn_core/data/registry.py`
and its loaders (`csv_upload.py`, `yahoo.py`, …).
Presenter mode (`ui.presenter`): one dataset and one chart of it, full width.
"""

import streamlit as st

from ui.data_views import DATA_CHARTS, csv_panel, dataset_browser, presenter_view, preview_section, yahoo_panel
from ui.presenter import presenter_bar, presenter_mode

P = "data"

presenter = presenter_mode()
if presenter:
    chart, bar = presenter_bar("data", DATA_CHARTS, "series")
    presenter_view(P, bar, chart)
    st.stop()

st.title("Data")
st.caption("Every series and task the Playground can train on. Look at the data, then see how it is cut "
           "into the (samples, timesteps, features) windows a recurrent network reads.")

browse, yahoo, upload = st.tabs(["Browse datasets", "Yahoo Finance", "Upload a CSV"])
with browse:
    cfg, frame = dataset_browser(P)
    preview_section(cfg, frame, f"{P}.browse.win", "the dataset above")
with yahoo:
    fetched = yahoo_panel(P)
    if fetched:
        preview_section(*fetched, f"{P}.yahoo.win", "the fetched prices")
with upload:
    uploaded = csv_panel(P)
    if uploaded:
        preview_section(*uploaded, f"{P}.csv.win", "your upload")
