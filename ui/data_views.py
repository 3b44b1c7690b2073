"""The Data page's pieces: browse a dataset, fetch a Yahoo ticker, upload a CSV, preview the windows.

    summary(frame) -> DataFrame                       rows, span and per-column statistics
    show_series(frame, key, title)                    chart + summary table of a series
    dataset_browser(prefix) -> (DataConfig, frame)    pick any registry dataset and its parameters
    yahoo_panel(prefix) -> (DataConfig, frame) | None fetch a ticker (disk cache, offline message)
    csv_panel(prefix) -> (DataConfig, frame) | None   upload, choose columns, validation sentences
    windowing_preview(data_cfg, frame, key)           (samples, timesteps, features) per split + one window
    preview_section(data_cfg, frame, key, what)       the same under a subheader
    presenter_view(prefix, box, chart)                presenter mode: a dataset (picked in `box`) and ONE
                                                      chart of DATA_CHARTS, full width
Every failure is shown as one `st.error` sentence (DataError's message), never a traceback.
Leaves to others: loading and validating (`rnn_core/data/registry.py` and its loaders: `csv_upload.py`,
`yahoo.py`, …), windowing (`rnn_core/data/windows.py`).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import streamlit as st

from plots.predictions import series_figure, window_figure
from rnn_core.config import FIELDS, ConfigError, DataConfig, replace
from rnn_core.data.errors import DataError
from rnn_core.data.registry import DATASETS, GROUPS
from rnn_core.data.yahoo import fetch_yahoo
from rnn_core.readable import COLUMN, count, fixed, readable
from ui import charts
from ui.controls import csv_controls, hand_over_csv, load_frame, param_widget
from ui.markdown import md
from ui.state import key, slot


def summary(frame: pd.DataFrame) -> pd.DataFrame:
    """Per numeric column: count, mean, std, min, max, first and last value."""
    num = frame.select_dtypes("number")
    return pd.DataFrame({
        "count": num.count(), "mean": num.mean(), "std": num.std(), "min": num.min(), "max": num.max(),
        "first": num.iloc[0] if len(num) else np.nan, "last": num.iloc[-1] if len(num) else np.nan,
    })


def _span(frame: pd.DataFrame) -> str:
    if len(frame) == 0:
        return "no rows"
    idx = frame.index
    if isinstance(idx, pd.DatetimeIndex):
        return f"{count(len(frame))} rows · {idx[0]:%Y-%m-%d} to {idx[-1]:%Y-%m-%d}"
    return f"{count(len(frame))} rows · {idx.name or 'step'} {idx[0]} to {idx[-1]}"


def show_series(frame: pd.DataFrame, key: str, title: str = "") -> None:
    charts.chart(series_figure(frame, title=title), f"{key}.chart")
    st.caption(md(_span(frame)))
    st.dataframe(summary(frame).rename_axis("column"), width="stretch", key=f"{key}.summary",
                 column_config={c: st.column_config.NumberColumn(c, format=COLUMN["value"])
                                for c in ("mean", "std", "min", "max", "first", "last")})


def dataset_browser(prefix: str) -> tuple[DataConfig, pd.DataFrame | None]:
    """Any dataset of the registry (except live and upload, which have their own tabs)."""
    names = [n for g in GROUPS for n, d in DATASETS.items() if d.group == g and n not in ("yahoo", "csv", "text")]
    c1, c2 = st.columns([1, 2])
    with c1:
        name = st.selectbox("Dataset", names, key=f"{prefix}.dataset",
                            format_func=lambda n: f"{DATASETS[n].group} · {DATASETS[n].title}")
        ds = DATASETS[name]
        st.caption(f"{ds.description} Source: {ds.source}.")
        params = {p.name: param_widget(st, prefix, name, p) for p in ds.params}
    cfg = DataConfig(dataset=name, params=params)
    with c2:
        if ds.task == "text":
            return cfg, text_preview(name, params, prefix)
        if ds.task == "sequence":
            st.markdown(f"**{ds.title}** is a long-memory task: every sample is its own sequence with one "
                        "target, so there is no single series to plot. One sample (50 steps):")
            try:
                X, y = ds.generate(50, **params)
            except DataError as e:
                st.error(md(e), icon=":material/error:")
                return cfg, None
            title = f"Sample 1: inputs and target ({ds.target} = {readable(float(y[0, 0]))})"
            charts.chart(window_figure(X[0], y[0], list(ds.features), ds.target, title=title,
                                       units="value (raw units)"), f"{prefix}.sample")
            st.caption(f"{count(len(X))} samples of shape (timesteps, {X.shape[2]} features); the target is drawn "
                       "as a star after the last input (here in raw units).")
            return cfg, None
        try:
            frame = load_frame(name, tuple(sorted(params.items())))
        except DataError as e:
            st.error(md(e), icon=":material/error:")
            return cfg, None
        show_series(frame, f"{prefix}.series", ds.title)
    return cfg, frame


def text_preview(name: str, params: dict, prefix: str) -> pd.DataFrame | None:
    """A text dataset: its size, vocabulary and unigram baseline, and its opening characters (literal)."""
    from rnn_core.data.text_sources import frame_text
    from rnn_core.data.text_windows import Vocab, unigram_bits

    try:
        frame = load_frame(name, tuple(sorted(params.items())))
    except DataError as e:
        st.error(md(e), icon=":material/error:")
        return None
    text = frame_text(frame)
    vocab = Vocab.of(text)
    st.caption(f"{count(len(text))} characters, {vocab.size} distinct; unigram entropy "
               f"{fixed(unigram_bits(vocab.encode(text), vocab.size))} bits per character (the loss of a model "
               "that only knows how often each character occurs). The network reads T characters one-hot "
               "and predicts the next.")
    st.code(text[:1500], language=None, wrap_lines=True)
    return frame


def yahoo_panel(prefix: str) -> tuple[DataConfig, pd.DataFrame] | None:
    """Ticker, dates and columns; Fetch uses yfinance with the on-disk cache; failures are sentences."""
    ds = DATASETS["yahoo"]
    st.caption(ds.description + " Without a network the last cached copy of the ticker is used; if there "
               "is none, the offline sets (DJIA, AAPL, GOOG, MSFT) are the way to go.")
    cols = st.columns(4)
    params = {p.name: param_widget(cols[i % 4], prefix, "yahoo", p) for i, p in enumerate(ds.params)}
    if st.button("Fetch", key=f"{prefix}.fetch", icon=":material/cloud_download:"):
        # fetched once per click (yfinance's own disk cache serves repeats); the outcome is kept
        try:
            with st.spinner("Asking Yahoo Finance…"):
                frame, note = fetch_yahoo(params["ticker"], params["start"], params["end"],
                                          params["columns"] or "Close")
            slot(prefix).fetched = (dict(params), frame, note, None)
        except DataError as e:
            slot(prefix).fetched = (dict(params), None, None, str(e))
    fetched = slot(prefix).fetched
    if not fetched:
        return None
    wanted, frame, note, error = fetched
    if error:
        st.error(md(error), icon=":material/wifi_off:")
        return None
    (st.info if "cached" in note else st.success)(md(note))
    show_series(frame, f"{prefix}.yahoo", wanted["ticker"])
    return DataConfig(dataset="yahoo", params=wanted), frame


def csv_panel(prefix: str) -> tuple[DataConfig, pd.DataFrame] | None:
    """Upload a CSV and choose its columns; every problem is shown as the reader's sentence."""
    frame, notes, error = csv_controls(st, prefix)
    for note in notes:
        st.info(md(note), icon=":material/info:")
    if frame is None:
        if error and st.session_state.get(key(prefix, "d", "csv_file")) is not None:
            st.error(md(error), icon=":material/error:")
        elif error:
            st.caption(md(error))
        return None
    show_series(frame, f"{prefix}.csv", "Your upload")
    if st.button("Train on this in the Playground", key=f"{prefix}.csv.train", type="primary",
                 icon=":material/play_arrow:",
                 help="Opens the Playground with this file and these columns as its data; press Train there."):
        _train_upload(prefix)
    return DataConfig(dataset="csv"), frame


def _train_upload(prefix: str, target: str = "pg") -> None:
    """Hand this page's upload to the Playground's data panel and open the Playground."""
    from rnn_core.config import TrainConfig
    from rnn_core.nn.model_config import ModelConfig
    from ui.presenter import presenter_query
    from ui.state import request_seed, saved_configs

    upload = st.session_state.get(key(prefix, "d", "csv_file"))
    if upload is None:
        return
    columns = {name: st.session_state.get(key(prefix, "d", name)) for name in ("csv_values", "csv_date", "csv_fill")}
    hand_over_csv(target, upload.name, upload.getvalue(), columns)
    model, data, train = saved_configs(target) or (ModelConfig(), DataConfig(), TrainConfig())
    request_seed(target, model, replace(data, dataset="csv", params={}, features=[], target=""), train)
    slot(target).preset = None
    st.switch_page("app_pages/playground.py", query_params=presenter_query())


def windowing_preview(data_cfg: DataConfig, frame: pd.DataFrame | None, key: str) -> None:
    """How the data becomes (samples, timesteps, features) windows, per split, and one window drawn."""
    from rnn_core.data.windows import prepare

    c = st.columns(4)
    start_T = min(50, max(1, len(frame) // 4)) if frame is not None else 50
    d, f = DataConfig(), FIELDS          # ranges, steps and labels of the one settings table
    T = c[0].number_input(f["timesteps"].widget_label, f["timesteps"].lo, f["timesteps"].hi, value=start_T,
                          step=f["timesteps"].step, key=f"{key}.T",
                          help="Window length: how many consecutive steps one sample holds.")
    train = c[1].slider(f["train_frac"].widget_label, f["train_frac"].lo, f["train_frac"].hi, d.train_frac,
                        f["train_frac"].step, key=f"{key}.train")
    val = c[2].slider(f["val_frac"].widget_label, f["val_frac"].lo, f["val_frac"].hi, d.val_frac,
                      f["val_frac"].step, key=f"{key}.val")
    cfg = replace(data_cfg, timesteps=int(T), train_frac=float(train), val_frac=float(val))
    if frame is not None and len(frame.columns) > 1 and not DATASETS[data_cfg.dataset].features:
        cfg = replace(cfg, features=[str(x) for x in frame.columns], target=str(frame.columns[0]))
    try:
        w = prepare(cfg, frame)
    except (DataError, ConfigError, ValueError) as e:
        st.error(md(e), icon=":material/error:")
        return
    shapes = pd.DataFrame({
        "samples": [len(w.X_train), len(w.X_val), len(w.X_test)],
        "timesteps": [w.timesteps] * 3, "features": [w.n_features] * 3,
        "shape of X": [str(tuple(x.shape)) for x in (w.X_train, w.X_val, w.X_test)],
        "shape of y": [str(tuple(y.shape)) for y in (w.y_train, w.y_val, w.y_test)],
    }, index=pd.Index(["train", "validation", "test"], name="split"))
    st.dataframe(shapes, width="stretch", key=f"{key}.shapes")
    n = len(w.X_train)
    i = int(c[3].number_input("Window to draw", 1, max(1, n), value=1, key=f"{key}.i")) - 1
    i = min(i, n - 1)
    if w.text is not None:             # a text task: the window as characters, its target the next one
        chars = w.text.vocab.chars
        st.code(w.text.vocab.decode(w.X_train[i]), language=None, wrap_lines=True)
        st.caption(f"Training window {i + 1} of {n}: T = {w.timesteps} characters, kept as their ids and read "
                   f"by the network one-hot over the {w.n_features}-character vocabulary ({w.timesteps} × "
                   f"{w.n_features} inputs); the target is the next character, one-hot too. The last part of "
                   "the text is held out for testing.")
        st.code(f"next character: {chars[int(w.y_train[i].argmax())]!r}", language=None)
        return
    charts.chart(window_figure(w.X_train[i], w.y_train[i], w.feature_names, w.target_name,
                               title=f"Training window {i + 1} of {n}, as the network sees it (scaled)"),
                 f"{key}.window")
    st.caption(window_caption(w))


def window_caption(w: Any) -> str:
    """What one window of `w` holds and how it was scaled: a forecast's target is the next value of the
    series; a sequence task's sample is a sequence of its own, its target computed from the whole of it."""
    scaler = "min-max to [0, 1]" if w.scaler.kind == "minmax" else "z-score"
    features = ", ".join(w.feature_names)
    if w.task == "sequence":
        return (f"Each sample holds T = {w.timesteps} steps of {w.n_features} feature(s) ({features}); its target "
                f"({w.target_name}) is computed from the whole sample, not the next value of a series: "
                "samples are generated independently and split by count. Values are scaled "
                f"({scaler}) with statistics of the training samples only.")
    return (f"Each window holds T = {w.timesteps} consecutive steps of {w.n_features} feature(s); its "
            f"target ({w.target_name}) is the next value. Values are scaled ({scaler}) with statistics "
            "of the training part only, so nothing leaks from the future.")


def preview_section(data_cfg: DataConfig | None, frame: pd.DataFrame | None, key: str,
                    what: str) -> None:
    """A subheader and the windowing preview for one data source (nothing when there is no data)."""
    if data_cfg is None:
        return
    st.header(f"Windowing preview — {what}", divider="gray")
    windowing_preview(data_cfg, frame, key)



DATA_CHARTS = {"series": "The series", "window": "One window, as the network sees it"}


def _data_figure(chart: str, name: str, params: dict, T: int):
    """The presenter's chart of one registry dataset (raises DataError / ConfigError / ValueError)."""
    from rnn_core.data.windows import prepare

    ds = DATASETS[name]
    if ds.task == "sequence":
        X, y = ds.generate(50, **params)
        return window_figure(X[0], y[0], list(ds.features), ds.target,
                             title=f"{ds.title}: one sample, inputs and target", units="value (raw units)")
    frame = load_frame(name, tuple(sorted(params.items())))
    if chart == "series":
        return series_figure(frame, title=ds.title)
    w = prepare(DataConfig(dataset=name, params=params, timesteps=T), frame)
    x = w.text.vocab.one_hot(w.X_train[0]) if w.text is not None else w.X_train[0]     # (T, F)
    return window_figure(x, w.y_train[0], w.feature_names, w.target_name,
                         title=f"{ds.title}: training window 1 (T = {T}, scaled)")


def presenter_view(prefix: str, box, chart: str) -> None:
    """Presenter mode: the dataset picker in `box` (the presenter bar), one line about it, the chosen
    chart full width, and the dataset's parameters folded away below."""
    from ui.presenter import show_chart, status_line

    names = [n for g in GROUPS for n, d in DATASETS.items() if d.group == g and n not in ("yahoo", "csv")]
    name = box.selectbox("Dataset", names, key=f"{prefix}.dataset", label_visibility="collapsed",
                         format_func=lambda n: f"{DATASETS[n].group} · {DATASETS[n].title}")
    ds = DATASETS[name]
    top = st.container()
    with st.expander("Dataset settings", icon=":material/tune:"):
        params = {p.name: param_widget(st, prefix, name, p) for p in ds.params}
        T = int(st.number_input(FIELDS["timesteps"].widget_label, FIELDS["timesteps"].lo, FIELDS["timesteps"].hi,
                                value=DataConfig().timesteps, key=f"{prefix}.present.T"))
    with top:
        status_line(f"**{ds.title}** · {ds.group} · {ds.source}")
        try:
            show_chart(_data_figure(chart, name, params, T), f"{prefix}.present.{chart}")
        except (DataError, ConfigError, ValueError) as e:
            st.error(md(e), icon=":material/error:")
