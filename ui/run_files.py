"""Starting a run from the controls, and its files: config JSON, history CSV, run zip, uploading a run.

    prepare_windows(data_cfg, frame) -> Windows                 cached per config and a digest of every
                                                                 value of the frame (uploads never collide)
    forget_windows()                                             empty that cache
    make_context(model_cfg, data_choice, train_cfg) -> RunContext
        windows from the data choice, input/output sizes set from them, everything validated; raises
        DataError / ConfigError with one sentence
    run_records(run) -> list[dict]          the kept history in order (steps, epochs, end)
    export_panel(slot, model_cfg, data_cfg, train_cfg)
        config JSON of the current controls; history CSV, the run zip (weights as safetensors) and the
        run as one HTML page (`plots/report.py`), each built only when clicked; upload a saved run zip
        to inspect it here (`load_upload(slot, upload)`)
    run_page(slot, records=None) -> RunPage | None   the shown run as its HTML page's facts (after a run ends)
Leaves to others: the file formats (`rnn_core/serve/runs.py`), the run itself (`ui/live.py`).
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict
from typing import Any

import pandas as pd
import streamlit as st

from rnn_core.config import ConfigError, DataConfig, TrainConfig, replace, validate_run
from rnn_core.data.errors import DataError
from rnn_core.data.windows import Windows, prepare
from rnn_core.data.windows_codec import known_digest, windows_digest
from rnn_core.lessons.run_page import RunPage
from rnn_core.nn.model_config import ModelConfig
from rnn_core.nn.train import device_problem
from rnn_core.serve.run_checks import data_problem
from rnn_core.serve.run_format import RunFileError, load_run_zip
from rnn_core.serve.runs import history_csv, json_safe, run_zip_bytes
from ui.controls import DataChoice
from ui.live import FINISHED, RunContext, StaticRun, get_context, get_run, set_run
from ui.markdown import md
from ui.state import request_seed
from ui.state import slot as slot_state


@st.cache_data(max_entries=8, ttl=900, show_spinner="Preparing the windows…")
def _prepare_cached(data_json: str, digest: str, _frame: pd.DataFrame | None) -> tuple[Windows, str]:
    # `_frame` is not hashed (leading underscore): Streamlit hashes a frame of ≥ 50,000 rows from a
    # sample, so two users' different uploads could share an entry. `digest` covers every cell.
    windows = prepare(DataConfig(**json.loads(data_json)), _frame)
    return windows, windows_digest(windows)        # the run key's data part, hashed once per entry


def frame_digest(frame: pd.DataFrame | None) -> str:
    """SHA-256 of every value, the index and the column names of `frame` ("" for None)."""
    if frame is None:
        return ""
    h = hashlib.sha256()
    h.update(json.dumps([[str(c) for c in frame.columns], str(frame.index.name),
                         [str(t) for t in frame.dtypes]]).encode())
    h.update(pd.util.hash_pandas_object(frame, index=True).to_numpy().tobytes())
    return h.hexdigest()


def forget_windows() -> None:
    """Empty the windows cache (`prepare_windows`): every config is windowed again."""
    _prepare_cached.clear()


def prepare_windows(data_cfg: DataConfig, frame: pd.DataFrame | None = None) -> Windows:
    """`windows.prepare`, cached per data config and the full content of the frame in hand (an
    upload is never served another upload's windows, whoever uploaded it); each call's copy knows its digest
    (`windows_codec.known_digest`)."""
    windows, digest = _prepare_cached(json.dumps(asdict(data_cfg), sort_keys=True, default=str),
                                      frame_digest(frame), frame)
    return known_digest(windows, digest)


def make_context(model_cfg: ModelConfig, data: DataChoice, train_cfg: TrainConfig) -> RunContext:
    """Everything a new run needs, validated; the sizes of the network follow the data."""
    if data.error:
        raise DataError(data.error)
    windows = prepare_windows(data.config, data.frame)
    model_cfg = replace(model_cfg, input_size=windows.n_features, output_size=int(windows.y_train.shape[1]))
    validate_run(model_cfg, data.config, train_cfg)
    return RunContext(model_cfg, data.config, train_cfg, windows)


def run_records(run: Any) -> list[dict]:
    """The run's kept records in time order: step and epoch records by step, the end record last."""
    if isinstance(run, StaticRun):
        return list(run.records)
    snap = run.snapshot(max_points=10**9)
    body = sorted([*snap.steps, *snap.epochs], key=lambda r: (r["step"], r["kind"] == "epoch", r["epoch"]))
    return body + ([snap.end] if snap.end else [])


def _config_json(model_cfg: ModelConfig, data_cfg: DataConfig, train_cfg: TrainConfig) -> str:
    return json.dumps({"model": asdict(model_cfg), "data": asdict(data_cfg), "train": asdict(train_cfg)},
                      indent=2, default=str)


def _zip_maker(run: Any, ctx: RunContext, metrics: dict | None):
    def make() -> bytes:
        records = run_records(run)
        with run.lock:
            return run_zip_bytes(run.model, ctx.model_cfg, ctx.data_cfg, ctx.train_cfg, records,
                                 json_safe(metrics or {}))
    return make


def run_page(slot: str, records: list[dict] | None = None) -> RunPage | None:
    """The slot's run as `rnn_core.lessons.run_page.RunPage` (its settings, records, final evaluation,
    baseline, the preset the page started from), or None while there is no ended run with its data here.
    `records`: the run's `run_records`, when the caller has them already."""
    from rnn_core.data.windows import naive_loss
    from rnn_core.measure.evaluate import scaled_loss

    run, ctx = get_run(slot), get_context(slot)
    if run is None or ctx is None or ctx.windows is None or getattr(run, "status", None) not in FINISHED:
        return None
    w, state = ctx.windows, slot_state(slot)
    evaluation = (state.evaluation or {}).get("evaluation") or {}
    # judged as the page judges it: without validation windows, the final weights' training loss
    loss = (scaled_loss(evaluation, w, "train") if evaluation and run.status != "diverged" and not len(w.X_val)
            else None)
    records = run_records(run) if records is None else records
    closed = (state.evaluation or {}).get("closed")          # the closed loop the page drew (None: not ready)
    return RunPage(ctx.model_cfg, ctx.data_cfg, ctx.train_cfg, records, evaluation, naive_loss(w), w.task,
                   preset=state.preset, verdict_loss=loss, target_name=str(w.target_name), closed=closed)


def _page_maker(page: RunPage, base: str | None):
    """The page's bytes, built when the button is clicked: on a thread of Streamlit's own, outside the
    script run, so everything it needs is in hand (no session state is read there)."""
    def make() -> bytes:
        from plots.report import report_html

        return report_html(page, base).encode("utf-8")
    return make


def load_upload(slot: str, upload: Any) -> None:
    """Read a saved run zip once per file and install it in the slot as a StaticRun."""
    state = slot_state(slot)
    if state.upload_id == upload.file_id:
        return
    state.upload_id = upload.file_id
    try:
        loaded = load_run_zip(upload.getvalue())
    except RunFileError as e:
        state.upload_error = str(e)
        return
    state.upload_error = None
    notes = []
    if device_problem(loaded.train_cfg.device):        # viewed and trained here on the cpu
        notes.append(f"It was trained on {loaded.train_cfg.device}, which this server does not have: here it "
                     "is shown, and trained further, on the cpu.")
        loaded.train_cfg = replace(loaded.train_cfg, device="cpu")
    try:
        windows = prepare_windows(loaded.data_cfg)
    except (DataError, ConfigError, ValueError) as e:
        # an uploaded CSV (or Yahoo while offline) is not on the server: show what was saved with the run
        saved = "predictions and metrics saved with it" if loaded.metrics.get("task") else "its saved history"
        why = ("it was trained on an uploaded CSV, which the server does not keep"
               if loaded.data_cfg.dataset == "csv" else _first_sentence(e))
        notes.append(
            f"The run loaded, but its data could not be rebuilt here ({why}); the charts show "
            f"{saved}, and the weights cannot be re-evaluated or trained on until that data is loaded again.")
        windows = None
    problem = data_problem(loaded.model_cfg, windows) if windows is not None else None
    if problem:                                        # a hand-edited config: the weights cannot read the data
        state.upload_error = f"The run cannot be opened: {problem}; keep the files of one run together."
        return
    note = " ".join(notes) or None
    run = StaticRun(loaded)
    set_run(slot, run, RunContext(loaded.model_cfg, loaded.data_cfg, loaded.train_cfg, windows))
    state.upload_note = note
    if windows is None:
        evaluation = loaded.metrics if loaded.metrics.get("task") in ("forecast", "sequence") else {}
        state.evaluation = {"evaluation": evaluation, "closed": None, "closed_note": None,
                                            "version": run.snapshot().version, "step": run.snapshot().step}
    request_seed(slot, loaded.model_cfg, loaded.data_cfg, loaded.train_cfg)
    st.rerun()


def _first_sentence(error: Exception) -> str:
    text = str(error).strip().rstrip(".")
    return text.split(". ")[0].split("; ")[0]


def export_panel(slot: str, model_cfg: ModelConfig, data_cfg: DataConfig, train_cfg: TrainConfig) -> None:
    """Share / download / upload, in one expander at the bottom of the page."""
    with st.expander("Share, download and upload", expanded=False, icon=":material/download:"):
        st.markdown("**Share this setup:** every setting is in the page's address — copy it from the "
                    "browser's address bar and send it; it opens with the same controls.")
        run, ctx = get_run(slot), get_context(slot)
        c1, c2, c3 = st.columns(3)
        c1.download_button("Config (JSON)", _config_json(model_cfg, data_cfg, train_cfg),
                           file_name="rnn-playground-config.json", mime="application/json",
                           key=f"{slot}.dl.config", on_click="ignore", icon=":material/settings:",
                           help="The settings of the sidebar, as JSON.")
        ready = run is not None and ctx is not None and getattr(run, "status", None) in (*FINISHED, "paused")
        if ready:
            records = run_records(run)
            c2.download_button("History (CSV)", history_csv(records), file_name="rnn-playground-history.csv",
                               mime="text/csv", key=f"{slot}.dl.history", on_click="ignore",
                               icon=":material/table:", help="One row per step and per epoch.")
            cached = slot_state(slot).evaluation or {}
            c3.download_button("Run with weights (zip)", _zip_maker(run, ctx, cached.get("evaluation")),
                               file_name="rnn-playground-run.zip", mime="application/zip",
                               key=f"{slot}.dl.zip", on_click="ignore", icon=":material/folder_zip:",
                               help="Config, history, every record, metrics and the weights (safetensors). "
                                    "Upload it here later to inspect the run again.")
        else:
            c2.caption("History and weights can be downloaded once a run is paused or finished.")
        if ready and (page := run_page(slot, records)) is not None:
            st.download_button("Download as a page (HTML)", _page_maker(page, st.context.url or None),
                               file_name="rnn-playground-run.html", mime="text/html", key=f"{slot}.dl.page",
                               on_click="ignore", icon=":material/web:",
                               help="The run as one self-contained web page: its charts with a scrubber over "
                                    "every step and its key moments, the verdict, the metrics and the settings "
                                    "with a link that reopens them here. It opens without a server or a network "
                                    "(about 5 MB, most of it Plotly's own code).")
        upload = st.file_uploader("Open a saved run (zip)", type=["zip"], key=f"{slot}.run_upload",
                                  help="A zip downloaded from this page. Weights are read with safetensors only.")
        if upload is not None:
            load_upload(slot, upload)
        err = slot_state(slot).upload_error
        if err:
            st.error(md(err), icon=":material/error:")
        note = slot_state(slot).upload_note
        if note and ctx is not None:
            st.info(md(note), icon=":material/info:")
