"""A finished run as the facts its one-page HTML report shows: pure data, no plotting, no HTML.

    RunPage(model, data, train, records, evaluation, baseline, task, preset=None, verdict_loss=None,
            target_name="value", closed=None)
        everything a report needs of a run: its settings, its records in order (step, epoch and end
        records of `nn/train.py`), the evaluation of its final weights (`measure/evaluate.py`, {} when
        none), the naive guess's loss the verdict judges against (`data.windows.naive_loss`), the
        preset it was started from and the final weights' closed-loop forecast (`measure/closed_loop.py`,
        None when there is none)
    page_facts(page, base=None) -> dict     JSON-ready: title, sentence, status, verdict, moments,
                                            stops (one per recorded step: where each chart stands and a
                                            sentence saying it), settings rows, link, moment_link (the
                                            link ending in `at=`, for a step or a key moment's kind)
The numbers in every sentence are written by `rnn_core.readable`; the verdict is the one rule
(`measure/verdict.py`); the moments and frames are `measure/moments.py`'s; the link is the app's own
format (`lessons/share.py`). The CLI (`cli/page.py`) and the Playground (`ui/run_files.py`) both build a
`RunPage`; `plots/report.py` draws it.
"""

from __future__ import annotations

from bisect import bisect_right
from dataclasses import asdict, dataclass, field
from typing import Any

from rnn_core.config import FIELDS, DataConfig, TrainConfig
from rnn_core.lessons.presets import PRESETS
from rnn_core.lessons.share import changed_preset_sentence, link_query, moment_link_base, playground_link
from rnn_core.measure.moments import key_moments, timeline
from rnn_core.measure.verdict import run_verdict
from rnn_core.nn.model_config import ModelConfig
from rnn_core.readable import readable

DEFAULT_TITLE = "An RNN Playground run"


@dataclass(frozen=True)
class RunPage:
    """A run, as its report needs it."""

    model: ModelConfig
    data: DataConfig
    train: TrainConfig
    records: list[dict]                    # step, epoch and end records, in the order the trainer yielded them
    evaluation: dict = field(default_factory=dict)   # the final weights' evaluation ({}: not evaluated)
    baseline: float | None = None          # the naive guess's loss on the split the verdict judges
    task: str = "forecast"                 # "forecast" | "sequence" | "text"
    preset: str | None = None              # the preset the run started from
    verdict_loss: float | None = None      # the loss to judge instead of the last epoch's (the Playground's
                                           # run without validation windows: its final weights' training loss)
    target_name: str = "value"
    closed: dict | None = None             # the final weights fed their own predictions (a forecast run)


def epochs_of(records: list[dict]) -> list[dict]:
    return [r for r in records if r.get("kind") == "epoch"]


def steps_of(records: list[dict]) -> list[dict]:
    return [r for r in records if r.get("kind") == "step"]


def end_of(records: list[dict]) -> dict | None:
    return next((r for r in reversed(records) if r.get("kind") == "end"), None)


def page_facts(page: RunPage, base: str | None = None) -> dict[str, Any]:
    """What the report says and where its scrubber can stand (see the module docstring)."""
    records, end = page.records, end_of(page.records)
    verdict = run_verdict(epochs_of(records), end, page.baseline, page.task, page.train.clip, loss=page.verdict_loss)
    query = link_query(page.model, page.data, page.train, page.preset)
    title, sentence = _story(page, query)
    return {
        "title": title, "sentence": sentence,
        "status": end["status"] if end else "unfinished",
        "reason": end["reason"] if end else "The run has no end record: it was saved while it ran.",
        "verdict": None if verdict is None else {"kind": verdict.kind, "text": verdict.text},
        "moments": [asdict(m) for m in key_moments(records, page.baseline, page.task)],
        "stops": stops(records),
        "settings": settings_rows(page.model, page.data, page.train),
        "link": playground_link(query, base), "query": query, "moment_link": moment_link_base(query, base),
    }


def _story(page: RunPage, query: dict[str, str]) -> tuple[str, str]:
    """The page's title and the preset's sentence (or why it no longer holds)."""
    if page.preset not in PRESETS:
        return DEFAULT_TITLE, ""
    preset = PRESETS[page.preset]
    if query == {"preset": page.preset}:
        return preset.title, preset.description
    return preset.title, changed_preset_sentence(preset.title).replace("**", "")


def stops(records: list[dict]) -> list[dict]:
    """One stop per step of the run's timeline: the step, its epoch, which probe record and which epoch
    record the charts show there (indices among the records holding a probe / the epoch records, or
    None), and one sentence saying what the loss and the gradient were. The records are those
    `moments.frame_at` names at each step (tests/engine/test_report.py holds it at every step), found in
    one pass: `frame_at` reads all the records per call, and a long run has thousands of steps."""
    probes = [r["step"] for r in records if isinstance(r.get("probe"), dict)]
    epochs = [r["step"] for r in epochs_of(records)]
    by_step = {r["step"]: r for r in steps_of(records)}
    epoch_recs, end = epochs_of(records), end_of(records)
    out, current = [], None
    steps = timeline(records)
    for step in steps:
        current = by_step.get(step, current)
        e = bisect_right(epochs, step) - 1
        p = bisect_right(probes, step) - 1
        epoch_rec = epoch_recs[e] if e >= 0 else None
        last_end = end if step == steps[-1] else None
        out.append({"step": step, "epoch": _epoch(current, epoch_rec, last_end),
                    "probe": p if p >= 0 else None, "epoch_index": e if e >= 0 else None,
                    "x_epoch": epoch_rec["epoch"] if epoch_rec else None,
                    "text": stop_sentence(step, current if current and current["step"] == step else None,
                                          epoch_rec, last_end)})
    return out


def _epoch(step_rec: dict | None, epoch_rec: dict | None, end: dict | None) -> int:
    return next(int(r["epoch"]) for r in (end, step_rec, epoch_rec, {"epoch": 0}) if r is not None)


def stop_sentence(step: int, step_rec: dict | None, epoch_rec: dict | None, end: dict | None) -> str:
    """"Step 42, epoch 2: batch loss 0.031, gradient norm ‖g‖ 0.84 (clipped). Last epoch closed: epoch 1,
    validation loss 0.029." — what the charts show at `step`."""
    parts = [f"Step {step}" + (f", epoch {step_rec['epoch']}" if step_rec else "")]
    if step_rec:
        clipped = " (clipped)" if step_rec.get("clipped") else ""
        parts[0] += (f": batch loss {_number(step_rec.get('loss'))}, gradient norm ‖g‖ "
                     f"{_number(step_rec.get('grad_norm'))}{clipped}.")
    elif step == 0:
        parts[0] += ": the network at initialisation, before any update."
    else:
        parts[0] += "."
    if epoch_rec:
        val = epoch_rec.get("val_loss")
        loss = (f"validation loss {_number(val)}" if val is not None
                else f"training loss {_number(epoch_rec.get('train_loss'))}")
        parts.append(f"Last epoch closed: epoch {epoch_rec['epoch']}, {loss}.")
    if end:
        parts.append(end["reason"])
    return " ".join(parts)


def _number(x: float | None) -> str:
    return "not measured" if x is None else readable(x)


def settings_rows(model: ModelConfig, data: DataConfig, train: TrainConfig) -> list[dict[str, str]]:
    """Every setting as a row: group, label (the settings table's), value."""
    rows = []
    for group, cfg in (("model", model), ("data", data), ("training", train)):
        for name, value in asdict(cfg).items():
            f = FIELDS.get(name)
            label = f.label if f is not None else name.replace("_", " ")
            rows.append({"group": group, "setting": label, "value": _value(value)})
    return rows


def _value(value: Any) -> str:
    if isinstance(value, dict):
        return ", ".join(f"{k} = {_value(v)}" for k, v in value.items()) or "—"
    if isinstance(value, list | tuple):
        return ", ".join(map(str, value)) or "—"
    if isinstance(value, bool) or value is None:
        return {True: "yes", False: "no", None: "—"}[value]
    if isinstance(value, float):
        return readable(value)
    return str(value)
