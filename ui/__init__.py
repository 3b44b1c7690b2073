"""Streamlit glue shared by the pages: controls, URL-state sync (presets applied to widgets) and the live-run poller."""
