"""What `train` prints: the epoch lines, the baselines' header, the verdict against them, the end of the
run and the test metrics (forecast, sequence and text), and the run record's summaries of them."""

from __future__ import annotations

import json
import math
from functools import partial

import numpy as np

from rnn_core.cli.common import fmt
from rnn_core.measure.verdict import judge
from rnn_core.readable import count, fixed, percent, readable, seconds, signed

FIVE = partial(readable, digits=5)          # an epoch's losses: five significant digits


def epoch_summary(rec: dict, steps: list[dict]) -> dict:
    """An epoch record plus its steps' gradient norms (before clipping)."""
    norms = [s["grad_norm"] for s in steps]
    return {"epoch": rec["epoch"], "step": rec["step"], "train_loss": rec["train_loss"],
            "val_loss": rec["val_loss"], "seconds": rec["seconds"], "steps": len(steps),
            "grad_norm_mean": float(np.mean(norms)) if norms else None,
            "grad_norm_max": float(np.max(norms)) if norms else None,
            "clipped_steps": sum(bool(s["clipped"]) for s in steps),
            "param_grad_norms": rec.get("param_grad_norms"), "spectra": rec.get("spectra"),
            "probe": rec.get("probe")}


def epoch_line(e: dict, total: int) -> str:
    grad = "at initialisation"
    if e["steps"]:
        clipped = f", {e['clipped_steps']} clipped" if e["clipped_steps"] else ""
        grad = f"grad norm {fmt(e['grad_norm_mean'], readable)} (max {fmt(e['grad_norm_max'], readable)}{clipped})"
    return (f"epoch {str(e['epoch']).rjust(len(str(total)))}/{total}  train {fmt(e['train_loss'], FIVE)}  "
            f"val {fmt(e['val_loss'], FIVE)}  {grad}  {seconds(e['seconds'])}")


SPLIT_NAME = {"train": "training", "val": "validation"}


NAIVE_NAME = {"constant": "the constant guess", "persistence": "persistence"}


JUDGED = {"beats": "beats it", "at_baseline": "no better", "worse": "worse"}   # verdict.judge's words here


def baseline_line(naive: dict, split: str) -> str:
    """The header of the epoch lines: what the losses mean and what a guess that learns nothing scores."""
    guesses = [f"the constant guess (training mean) scores {fmt(naive['constant'])}"]
    if naive["persistence"] is not None:
        guesses.append(f"persistence (ŷ = last value) {fmt(naive['persistence'])}")
    return (f"Losses are MSE in scaled units; on the {SPLIT_NAME[split]} windows "
            f"{' and '.join(guesses)}; a loss must fall clearly below "
            f"{'these' if len(guesses) > 1 else 'that'} to show learning.")


def versus(error: float, baseline: float | None, name: str) -> str | None:
    """'0.031× the constant guess: beats it' — judged by the app's one rule (`verdict.judge`: within
    ±AT_BASELINE of the baseline is "no better")."""
    if baseline is None or not baseline > 0 or not math.isfinite(error):
        return None
    ratio = error / baseline
    return f"{readable(ratio, 2)}× {name}: {JUDGED[judge(ratio)]}"


def verdict_line(loss: float | None, naive: dict, split: str) -> str:
    if loss is None or not math.isfinite(loss):
        return f"Final {SPLIT_NAME[split]} loss: undefined."
    parts = [v for k, base in naive.items() if (v := versus(loss, base, NAIVE_NAME[k])) is not None]
    return f"Final {SPLIT_NAME[split]} loss {fmt(loss)}" + (f" = {'; '.join(parts)}." if parts else ".")


def stateful_line(train_cfg, timesteps: int) -> str:
    """What a stateful run reads: its streams, its chunks, how far back its gradient goes, its resets."""
    k2 = train_cfg.bptt_truncate or timesteps
    k1 = train_cfg.stateful_step or k2
    reset = {"epoch": "at the start of each epoch", "never": "never",
             "steps": f"every {train_cfg.state_reset_every} updates"}[train_cfg.state_reset]
    return (f"Stateful: {train_cfg.stateful_streams} stream(s) read in order; each update reads {k1} new step(s) "
            f"from the carried state and back-propagates {k2}; the state is reset {reset}.")


def end_line(end: dict) -> str:
    if end["status"] == "diverged":
        return f"Diverged at epoch {end['epoch']}, step {end['step']}: {end['reason']}"
    return f"{end['status'].capitalize()}: {end['reason'].rstrip('.')}, {seconds(end['seconds'])} of training."


def metrics_summary(evaluation: dict) -> dict:
    keys = ("rmse", "mae", "mape", "directional_accuracy", "naive_rmse", "skill_score", "best_lag", "n")
    return {split: {k: evaluation[split]["metrics"]["model"][k] for k in keys}
            for split in ("train", "val", "test")}


def baselines(evaluation: dict) -> dict:
    """Test-split metrics of each baseline (persistence and moving average, or the constant guess)."""
    return {name: m for name, m in evaluation["test"]["metrics"].items() if name != "model"}


def metrics_line(summary: dict, baseline: str) -> str:
    from rnn_core.measure.metrics import SKILL_FORMULA

    m = summary["test"]
    if m["rmse"] is None:
        return "Test metrics: undefined (the predictions are not finite)."
    against = "tomorrow = today" if baseline == "persistence" else "the constant guess (training mean)"
    verdict = ""
    if m["skill_score"] is not None:
        ratio = 1.0 - m["skill_score"]                      # RMSE / baseline RMSE
        words = {"beats": "beats ", "at_baseline": "is no better than ", "worse": "is worse than "}
        verdict = f", {SKILL_FORMULA} = {fmt(m['skill_score'], signed)}: {words[judge(ratio)]}{against}"
    extra = ""
    if baseline == "persistence":
        mape = "— (undefined: the series reaches zero)" if m["mape"] is None else f"{fixed(m['mape'], 2)}%"
        direction = m["directional_accuracy"]
        extra = (f"; MAE {fmt(m['mae'])}, MAPE {mape}, direction right "
                 f"{'—' if direction is None else percent(direction, 1)}"
                 f", best lag {fmt(m['best_lag'], count)}")
        if m["best_lag"] == 1:
            extra += " (the predictions trail the truth by one step: mostly a copy of the last value)"
    return (f"Test RMSE {fmt(m['rmse'])} (baseline {fmt(m['naive_rmse'])}){verdict}{extra}.")


def text_epoch_line(rec: dict, unigram: float) -> str:
    """Bits per character against the unigram baseline, and the sample the model wrote this epoch."""
    return (f"  bits/char: train {fmt(rec['train_loss'], fixed)}, val {fmt(rec['val_loss'], fixed)} "
            f"(unigram baseline {fixed(unigram)}) · sample at τ = {readable(rec['text']['temperature'])}: "
            f"{json.dumps(rec['text']['sample'], ensure_ascii=False)}")


def text_summary(evaluation: dict) -> dict:
    return {split: dict(evaluation[split]["metrics"]["model"]) for split in ("train", "val", "test")}


def text_metrics_line(evaluation: dict) -> str:
    m, H = evaluation["test"]["metrics"]["model"], evaluation["unigram_bits"]
    if m["bits"] is None:
        return "Test: no held-out windows."
    verdict = {"beats": "beats", "at_baseline": "is no better than", "worse": "is worse than"}[judge(m["bits"] / H)]
    line = (f"Test {fixed(m['bits'])} bits per character ({verdict} the unigram baseline {fixed(H)}); "
            f"next character right {percent(m['accuracy'], 1)} of the time")
    if m["memory_accuracy"] is not None:
        line += (f"; the matching closer {percent(m['memory_accuracy'], 1)} of the time (span "
                 f"{evaluation['span']}; without memory about 33%)")
    return line + "."
