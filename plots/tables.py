"""The tables beside the charts, as pandas frames the pages show with `st.dataframe`.

    metrics_frame(evaluation, splits) -> DataFrame     one row per (split, predictor): the model next to
                                                       its baselines, `evaluate.metrics`' columns
    metrics_display(frame) -> (DataFrame, notes)       formatted for reading, "—" where undefined, and
                                                       one footnote per kind of "—"
    compare_table(runs, baseline) -> DataFrame         Compare's race: one row per cell
    text_scores_table(evaluation) -> DataFrame         a text run: bits/char, next char right (and closers
                                                       right, brackets) per split, the unigram beside
Leaves to others: the numbers (`rnn_core/measure/evaluate.py`, `rnn_core/serve/live.py`'s records).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from functools import partial
from typing import Any

import pandas as pd

from plots.style import SPLIT_LABEL
from rnn_core.measure.metrics import MAPE_UNDEFINED, SKILL_FORMULA
from rnn_core.nn.cells import label_of
from rnn_core.readable import count, fixed, percent, readable, signed

METRIC_LABELS = {
    "rmse": "RMSE", "mae": "MAE", "mape": "MAPE %", "directional_accuracy": "direction right",
    "naive_rmse": "baseline RMSE", "skill_score": SKILL_FORMULA, "best_lag": "best lag", "n": "n",
}
# how each column reads in the displayed table (`metrics_display`), written by rnn_core.readable; a
# missing value shows as "—"
METRIC_WRITERS: dict[str, Callable[[float], str]] = {
    "RMSE": partial(readable, digits=4), "MAE": partial(readable, digits=4), "MAPE %": partial(fixed, places=2),
    "direction right": partial(percent, places=1), "baseline RMSE": partial(readable, digits=4),
    SKILL_FORMULA: signed, "best lag": count, "n": count}
PREDICTOR_LABELS = {"model": "model", "persistence": "persistence", "moving_average": "moving average",
                    "constant": "constant guess"}


def metrics_frame(evaluation: dict, splits: Sequence[str] = ("train", "val", "test")) -> pd.DataFrame:
    """The metrics table: one row per (split, predictor) — the model next to its baselines — with
    the columns of `evaluate.metrics` in real units. Accepts a split's metrics either nested per
    predictor ({"model": m, "persistence": m, …}) or flat (m)."""
    rows, index = [], []
    for split in splits:
        d = evaluation.get(split) if evaluation else None
        if not isinstance(d, dict) or not isinstance(d.get("metrics"), dict):
            continue
        if d.get("y_true") is not None and not len(d["y_true"]):     # a split without windows
            continue
        m = d["metrics"]
        per_predictor = m if all(isinstance(v, dict) for v in m.values()) else {"model": m}
        for predictor, values in per_predictor.items():
            index.append((SPLIT_LABEL[split], PREDICTOR_LABELS.get(predictor, predictor)))
            rows.append({METRIC_LABELS.get(k, k): v for k, v in values.items()
                         if isinstance(v, int | float) or v is None})
    frame = pd.DataFrame(rows, index=pd.MultiIndex.from_tuples(index, names=["split", "predictor"])
                         if index else None)
    return frame


def metrics_display(frame: pd.DataFrame) -> tuple[pd.DataFrame, list[str]]:
    """The metrics table as a reader sees it: each value written (`METRIC_WRITERS`), "—" where a
    metric is undefined, columns undefined for every row dropped (MAPE stays, with its reason); and one
    footnote per kind of "—"."""
    shown = frame[[c for c in frame.columns if c == "MAPE %" or frame[c].notna().any()]]
    # each column read once (`shown[c]` builds a Series, and a copy of the index, at every call), its values the
    # scalars `.iloc` gives
    text = pd.DataFrame({c: [_cell(v, METRIC_WRITERS.get(c, readable)) for v in shown[c].to_numpy()]
                         for c in shown.columns}, index=shown.index)
    notes = []
    if "MAPE %" in shown and shown["MAPE %"].isna().any():
        notes.append(MAPE_UNDEFINED)
    if "direction right" in shown:
        missing = shown["direction right"].isna()
        if missing.any() and all(p == PREDICTOR_LABELS["persistence"]
                                 for p in shown.index.get_level_values(-1)[missing.to_numpy()]):
            notes.append("Direction right is — for persistence: it predicts no change, so it has no "
                         "direction to get right.")
        elif missing.any():
            notes.append("Direction right is — where the forecast never predicts a change or the truth "
                         "never moves.")
    return text, notes


def _cell(value: Any, write: Callable[[float], str]) -> str:
    if value is None or (isinstance(value, float) and not math.isfinite(value)):
        return "—"
    return write(value)


def compare_table(runs: dict[str, dict], baseline: float | None = None) -> pd.DataFrame:
    """One row per cell: status, epochs, final train / validation loss, best validation loss, and the
    validation loss relative to the constant guess (below 1 = learned something)."""
    rows = []
    for cell, r in runs.items():
        ep = r.get("epochs", [])
        val = [e["val_loss"] for e in ep if e.get("val_loss") is not None and math.isfinite(e["val_loss"])]
        last = ep[-1] if ep else {}
        final_val = last.get("val_loss")
        rows.append({
            "cell": label_of(cell), "status": r.get("status", ""), "epochs": last.get("epoch", 0),
            "train loss": last.get("train_loss"), "validation loss": final_val,
            "best validation": min(val) if val else None,
            "÷ constant guess": (final_val / baseline) if final_val is not None and baseline else None,
            "seconds": round(float(r.get("elapsed", 0.0)), 1)})
    return pd.DataFrame(rows)


def text_scores_table(evaluation: dict | None) -> pd.DataFrame:
    """bits/char, accuracy (and memory accuracy) per split next to the unigram baseline."""
    if not evaluation or evaluation.get("task") != "text":
        return pd.DataFrame()
    rows = []
    for split, label in (("train", "train"), ("val", "validation"), ("test", "test (held out)")):
        m = evaluation[split]["metrics"]["model"]
        if m["n"]:
            row = {"split": label, "bits/char": m["bits"], "unigram bits/char": evaluation["unigram_bits"],
                   "next char right": m["accuracy"]}
            if m["memory_accuracy"] is not None:
                row["closer right"] = m["memory_accuracy"]
            rows.append(row)
    return pd.DataFrame(rows)
