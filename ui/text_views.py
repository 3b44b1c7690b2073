"""What a text run shows instead of "predicted vs actual": samples, next-character guesses, connectivity.

    text_section(snap, ctx, slot, run)      the Playground's section 4 for text tasks: the samples written
                                            each epoch (newest first), a held-out line with the model's
                                            top-k guesses, and which earlier characters a chosen
                                            prediction still feels (exact ∂ log p/∂xₜ, updated per epoch)
    line_picker(info, slot) -> (start, line, position)   a held-out line and a position in it
    connectivity_row(models, info, slot, span, version)  one coloured window per model side by side and
                                            their overlay chart (the Compare page: tanh RNN vs LSTM)
    samples_table(epochs) -> DataFrame      epoch, validation bits/char, sample (plain cells)
    fresh_sample(run, info, slot, version)  a sample from the current model at a temperature chosen now
Every character goes through `plots.text` (HTML-escaped) into `st.html`, or into
`st.dataframe` / `st.code` cells; no text of the user's is ever passed to markdown.
Results that need the model are computed under the run's lock once per epoch and position (memoised).
Leaves to others: the computations (`rnn_core/measure/text_eval.py`), the pictures (`plots/text.py`).
"""

from __future__ import annotations

from typing import Any

import pandas as pd
import streamlit as st

from plots import text as TF
from plots.tables import text_scores_table
from rnn_core.data.text_windows import TextInfo
from rnn_core.measure.text_eval import heldout_lines, next_char_table, text_connectivity
from rnn_core.nn.sampling import epoch_prompt, sample, stream_sample
from rnn_core.readable import COLUMN, fixed
from rnn_core.serve.history import Snapshot
from ui import charts
from ui.live import RunContext
from ui.markdown import md
from ui.state import memo

TOP_K = 3
SHOWN_SAMPLES = 8


def samples_table(epochs: list[dict]) -> pd.DataFrame:
    """One row per epoch that wrote a sample, newest first."""
    rows = [{"epoch": r["epoch"], "val bits/char": r.get("val_loss"), "sample": r["text"]["sample"]}
            for r in epochs if r.get("text")]
    return pd.DataFrame(rows[::-1][:SHOWN_SAMPLES], columns=["epoch", "val bits/char", "sample"])


def _memo(slot: str, name: str, key: tuple, build) -> Any:
    """A text view rebuilt only when what it shows changed (`ui.state.memo`, its own store)."""
    return memo(slot, name, key, build, store="text_memo")


def _default_position(line: str, info: TextInfo) -> int:
    """A closer whose opener is on the line, where the grammar has one (the prediction that needs
    memory), else mid-line."""
    closers, reach = info.memory.get("closers", ""), info.memory.get("span", 0) + 1
    for i, ch in enumerate(line):
        if i >= reach and ch in closers:
            return i
    return max(1, len(line) // 2)


def line_picker(info: TextInfo, slot: str) -> tuple[int, str, int]:
    """A held-out line (select box) and the position whose prediction is examined (slider)."""
    lines = heldout_lines(info, n=20)
    labels = {i: (line[:70] + "…" if len(line) > 70 else line) for i, (_, line) in enumerate(lines)}
    c1, c2 = st.columns([3, 2])
    i = c1.selectbox("Held-out line", list(labels), format_func=labels.get, key=f"{slot}.text.line",
                     help="Lines from the test part of the text: the network never trained on them.")
    start, line = lines[i or 0]
    hi = max(1, len(line) - 1)
    pos_key = f"{slot}.text.pos.{i}"
    if pos_key not in st.session_state:
        st.session_state[pos_key] = min(hi, _default_position(line, info))
    pos = c2.slider("Predict the character at position", 1, max(hi, 2), key=pos_key,
                    help="The prediction whose dependence on earlier characters is coloured below.")
    return start, line, int(min(pos, hi))


def _connectivity(run: Any, info: TextInfo, position: int) -> dict:
    with run.lock:
        return text_connectivity(run.model, info, position, stateful=_stateful(run))


def _stateful(run: Any) -> bool:
    """Whether the run trained stateful: then its predictions read the text as one stream."""
    return bool(getattr(getattr(run, "train_cfg", None), "stateful", False))


def samples_view(snap: Snapshot | None, slot: str) -> None:
    epochs = snap.epochs if snap else []
    table = samples_table(epochs)
    if table.empty:
        st.caption("Samples appear here after every epoch: the same prompt (the first characters of the "
                   "held-out text) and the same random seed, so they change only because the network learned.")
        return
    latest = table.iloc[0]
    st.markdown(f"**Sample after epoch {int(latest['epoch'])}**")
    st.code(latest["sample"], language=None, wrap_lines=True)
    st.dataframe(table, hide_index=True, width="stretch", key=f"{slot}.text.samples",
                 column_config={"val bits/char": st.column_config.NumberColumn(format=COLUMN["fixed"]),
                                "sample": st.column_config.TextColumn(width="large")})


def text_section(snap: Snapshot | None, ctx: RunContext | None, slot: str, run: Any = None,
                 evaluation: dict | None = None) -> None:
    """Samples per epoch, top-k guesses on a held-out line, and the connectivity of one prediction."""
    if ctx is None or getattr(ctx.windows, "text", None) is None:
        st.caption("Train a text dataset to see samples and next-character guesses here.")
        return
    info: TextInfo = ctx.windows.text
    st.caption(f"The loss is in bits per character; the unigram baseline ({fixed(info.unigram_bits)} bits) is "
               "what a model with no memory at all scores — it only knows how often each character occurs.")
    samples_view(snap, slot)
    scores = text_scores_table(evaluation)
    if not scores.empty:
        st.dataframe(scores, hide_index=True, width="stretch", key=f"{slot}.text.scores",
                     column_config={c: st.column_config.NumberColumn(format=COLUMN["fixed"]) for c in scores.columns
                                    if c != "split"})
        if "closer right" in scores.columns:
            st.caption("'closer right': at each closing bracket, how often the matching one is the likeliest "
                       "of the three closers — about 0.33 without memory of the opener, 1 with it.")
        if evaluation.get("reading"):
            st.caption(md(evaluation["reading"]))
    if run is None or snap is None:
        return
    version = (id(ctx), len(snap.epochs))
    fresh_sample(run, info, slot, version)
    start, line, pos = line_picker(info, slot)
    rows = _memo(slot, "topk", (*version, start, len(line)),
                 lambda: _locked(run, lambda: next_char_table(run.model, info, start, len(line), TOP_K,
                                                               stateful=_stateful(run))))
    st.markdown("**Predicted vs actual, character by character** (blue: the model expected it; orange, "
                "underlined below p = 0.1: it did not; hover for the top guesses)")
    st.html(TF.probability_html(rows))
    conn = _memo(slot, "conn", (*version, start + pos), lambda: _connectivity(run, info, start + pos))
    st.markdown(f"**Which earlier characters does this prediction still feel?** (epoch {snap.epoch})")
    st.html(TF.connectivity_html(conn["chars"], conn["grad_x"], conn["target"], conn["p_target"]))
    c1, c2 = st.columns([3, 2])
    with c1:
        charts.chart(TF.connectivity_figure({ctx.model_cfg.cell: conn}, info.memory.get("span")),
                     f"{slot}.chart.connectivity")
    with c2:
        r = rows[pos] if pos < len(rows) else None
        if r is not None:
            guesses = [(TF.VISIBLE.get(c, c), p) for c, p in r["top"]]
            st.dataframe(pd.DataFrame({"next character": [g for g, _ in guesses] + ["actual: " +
                                       TF.VISIBLE.get(r["actual"], r["actual"])],
                                       "p": [p for _, p in guesses] + [r["p_actual"]]}), hide_index=True,
                         key=f"{slot}.text.topk", width="stretch",
                         column_config={"p": st.column_config.ProgressColumn(min_value=0.0, max_value=1.0,
                                                                              format=COLUMN["fixed"])})
            st.caption(f"The model's top {TOP_K} guesses for the boxed character, and the probability it "
                       "gave the character that actually came.")
    span = info.memory.get("span")
    note = (f" In this grammar the closer's type was decided {span + 1} characters earlier, by its opener. The "
            "colour says how much the prediction would move if a character changed, not whether it is right: "
            "an LSTM that is sure and right (p ≈ 1, loss ≈ 0) is fainter everywhere than a tanh RNN that "
            "is unsure and often wrong."
            if span else "")
    carried = (" This run is stateful: the prediction reads the held-out text from its start as one stream, "
               f"so the state carried into these {info.timesteps} characters holds older ones too."
               if conn.get("stateful") else "")
    st.caption("Colour = ‖∂ log₂ p(next)/∂xₜ‖, the exact gradient (float64, written-out equations) of the "
               "boxed prediction with respect to each character read, on a log scale; recomputed every "
               "epoch." + note + carried)


def fresh_sample(run: Any, info: TextInfo, slot: str, version: tuple) -> None:
    """A sample from the current model at a temperature chosen now (the per-epoch ones use the dataset's)."""
    with st.expander("Sample now at another temperature", icon=":material/thermostat:"):
        tau = st.slider("Temperature τ", 0.05, 2.0, value=float(info.temperature), step=0.05,
                        key=f"{slot}.text.tau", help="Logits ÷ τ before the softmax: low τ picks the likeliest "
                        "characters (repetitive), high τ takes more risks (noisier).")
        write = stream_sample if _stateful(run) else sample           # a stateful run writes from its state
        text = _memo(slot, "fresh", (*version, tau), lambda: _locked(run, lambda: write(
            run.model, info, info.sample_chars, tau, info.seed, epoch_prompt(info))))
        st.code(text, language=None, wrap_lines=True)


def _locked(run: Any, fn):
    with run.lock:
        return fn()


def connectivity_row(models: dict[str, Any], info: TextInfo, slot: str, version: tuple) -> None:
    """Side by side (one column per run: {label: run}): the same held-out prediction coloured by each
    model's connectivity, then one chart overlaying them."""
    start, _line, pos = line_picker(info, slot)
    results = {label: _memo(slot, f"conn.{label}", (*version, label, start + pos),
                            lambda run=run: _connectivity(run, info, start + pos))
               for label, run in models.items()}
    cols = st.columns(len(results))
    for col, (label, c) in zip(cols, results.items()):
        with col:
            st.markdown(f"**{label}**")
            st.html(TF.connectivity_html(c["chars"], c["grad_x"], c["target"], c["p_target"]))
    charts.chart(TF.connectivity_figure(results, info.memory.get("span")), f"{slot}.chart.connectivity")
