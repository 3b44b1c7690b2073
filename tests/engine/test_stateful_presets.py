"""The stateful presets at their last frame, on five seeds: what every chart the Playground draws for them
shows when the run ends (loss against its baseline, the gradient through time with the state's reach, the
heatmap, the gradient norms, the predictions with the generated wave or the text scores, the verdict), held
to the ranges their one-sentence descriptions state."""

from __future__ import annotations

import functools
import math
from types import SimpleNamespace

import pytest

from rnn_core.config import replace as cfg_replace
from rnn_core.data.windows import naive_loss, prepare
from rnn_core.lessons.presets import PRESETS, preset_configs
from rnn_core.measure.closed_loop import closed_loop, closed_loop_plan
from rnn_core.measure.evaluate import evaluate, scaled_loss
from rnn_core.measure.verdict import run_verdict
from rnn_core.nn.models import build_model
from rnn_core.nn.train import train

SEEDS = range(5)


@functools.cache
def last_frame(key: str, seed: int, bptt_truncate: int | None = None) -> SimpleNamespace:
    """Preset `key` trained to the end with `seed` (as the Playground trains it), and what its charts read."""
    m, d, t = preset_configs(key)
    windows = prepare(d)
    m = cfg_replace(m, input_size=windows.n_features, output_size=windows.y_train.shape[1])
    t = cfg_replace(t, seed=seed, **({"bptt_truncate": bptt_truncate} if bptt_truncate else {}))
    model = build_model(m.validate(), seed=seed)
    records = list(train(model, windows, t))
    epochs = [r for r in records if r["kind"] == "epoch"]
    evaluation = evaluate(model, windows, stateful_streams=t.stateful_streams)
    closed = None
    if windows.task == "forecast":
        n, start = closed_loop_plan(windows)
        closed = closed_loop(model, windows, n, start, stateful_streams=t.stateful_streams)
    baseline = naive_loss(windows)
    judged = None if windows.X_val.shape[0] else scaled_loss(evaluation, windows, "train")
    verdict = run_verdict(epochs, records[-1], baseline, windows.task, t.clip, loss=judged)
    return SimpleNamespace(windows=windows, records=records, epochs=epochs, end=records[-1],
                           steps=[r for r in records if r["kind"] == "step"], probe=epochs[-1]["probe"],
                           probes=[e["probe"] for e in epochs if e["probe"]], evaluation=evaluation,
                           closed=closed, baseline=baseline, verdict=verdict)


def test_the_stateful_presets_say_what_they_show_in_one_sentence():
    for key in ("stateful_sine", "stateful_sine_k20", "stateful_brackets"):
        text = PRESETS[key].description
        assert text.endswith(".") and "SENTENCE" not in text
        assert preset_configs(key)[2].stateful


def _sine_frame(key: str, seed: int, k: int) -> SimpleNamespace:
    run = last_frame(key, seed)
    assert run.end["status"] == "completed"
    T = run.probe["timesteps"]
    # the gradient chart: ‖∂L/∂hₜ‖ is exactly 0 before the red line k steps back, the state's reach goes on
    for probe in run.probes:
        assert probe["cut"] == T - k and all(v == 0.0 for v in probe["grad_h"][0][:T - k])
        assert probe["grad_h"][0][-1] > 0 and min(probe["carry"]) > 0
    # the gradient norms: no clipping (it is off), nothing runs away
    assert not any(s["clipped"] for s in run.steps) and max(s["grad_norm"] for s in run.steps) < 10
    return run


@pytest.mark.parametrize("seed", SEEDS)
def test_stateful_sine_learns_one_step_at_a_time_and_generates_the_wave(seed):
    """Seed 002's setup: "… its training loss ends more than 50× below persistence and, fed its own
    predictions, it generates the wave within 0.2 of the true sine (RMSE, amplitude 1)"."""
    run = _sine_frame("stateful_sine", seed, k=1)
    # the loss chart: the training loss (there is no validation part) far below the dashed persistence
    assert run.epochs[-1]["train_loss"] < run.baseline / 50
    assert run.verdict.kind == "beats" and run.verdict.ratio < 0.1
    # the predictions chart: the closed loop, warmed on the data before the test part, then on its own
    assert run.closed["n_known"] == len(run.windows.X_test) and run.closed["stopped"] is None
    assert run.closed["metrics"]["rmse"] < 0.2
    assert "one stream" in run.evaluation["reading"]


@pytest.mark.parametrize("seed", SEEDS)
def test_the_same_network_with_the_gradient_20_steps_back_ends_lower(seed):
    """"… on every seed its training loss ends below the one-step run's …": what truncation at 1 step costs."""
    run = _sine_frame("stateful_sine_k20", seed, k=20)
    one_step = last_frame("stateful_sine", seed)
    assert run.epochs[-1]["train_loss"] < one_step.epochs[-1]["train_loss"]
    assert run.closed["metrics"]["rmse"] < 0.2
    assert math.isfinite(run.verdict.ratio) and run.verdict.kind == "beats"


@pytest.mark.parametrize("seed", SEEDS)
def test_the_state_carries_the_opener_the_gradient_never_sees_it(seed):
    """"… the teal line shows its last state still depends on the opener 11 characters back (at the last
    probe, at least 1/100 as much as on the last character read), yet it gets the closer right no more
    often than a guess (about a third), while the same run with k = 16 gets nearly every one"."""
    run = last_frame("stateful_brackets", seed)
    assert run.end["status"] == "completed"
    T, span = run.probe["timesteps"], run.windows.text.memory["span"]
    for probe in run.probes:                                                 # the gradient: 4 steps back
        assert probe["cut"] == T - 4 and all(v == 0.0 for v in probe["grad_h"][0][:T - 4])
    carry = run.probe["carry"]                                               # the state: the opener's step
    assert carry[T - 1 - span] > carry[-1] / 100
    test = run.evaluation["test"]["metrics"]["model"]
    assert test["memory_accuracy"] < 0.4                                     # a guess: a third
    assert test["bits"] < run.windows.text.unigram_bits                      # it did learn the letters
    # the verdict judges the task's own score (read as one stream), not bits: not green
    assert run.verdict.kind == "partial" and run.epochs[-1]["text"]["memory_accuracy"] < 0.4
    full = last_frame("stateful_brackets", seed, bptt_truncate=16)
    assert full.evaluation["test"]["metrics"]["model"]["memory_accuracy"] > 0.9
    assert full.verdict.kind == "beats" and "remembers the opener" in full.verdict.text
