"""Streamlit glue shared by the pages: controls, presets, URL-state sync and the live-run poller."""
