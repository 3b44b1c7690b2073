"""Key moments of real runs (`rnn_core.measure.moments`): each one sits where its records say it does — the
divergence at the step that diverged, the first clipped step at the first record marked clipped, the loss
leaving the baseline at the epoch whose verdict changed — and the scrubber's frames, timeline and link
values read those records as the charts do."""

from __future__ import annotations

import math
import statistics
from functools import cache
from itertools import pairwise

import pytest

from rnn_core.config import replace
from rnn_core.data.windows import naive_loss, prepare
from rnn_core.lessons.presets import preset_configs
from rnn_core.measure.moments import (
    KINDS,
    NAMES,
    SIGMA_JUMP,
    SPIKE,
    frame_at,
    key_moments,
    locate,
    next_moment,
    parse_at,
    timeline,
)
from rnn_core.measure.reach import reach
from rnn_core.measure.verdict import run_verdict
from rnn_core.nn.models import build_model
from rnn_core.nn.train import train


def _decades(probe: dict) -> float | None:
    """What the caption under the gradient chart counts: the top layer's decades over its non-zero part."""
    return reach(probe["grad_h"][-1], probe.get("cut", 0)).decades


@cache
def _run(key: str) -> tuple[tuple[dict, ...], float | None, str]:
    """Preset `key` trained to its end as the app trains it: (records, the verdict's baseline, task)."""
    m, d, t = preset_configs(key)
    windows = prepare(d)
    m = replace(m, input_size=windows.n_features, output_size=windows.y_train.shape[1])
    records = tuple(train(build_model(m.validate(), seed=t.seed), windows, t))
    return records, naive_loss(windows), windows.task


def _moments(key: str) -> dict:
    records, baseline, task = _run(key)
    found = key_moments(records, baseline, task)
    kinds = [m.kind for m in found]
    assert len(kinds) == len(set(kinds)), kinds                          # one moment of each kind
    assert [m.step for m in found] == sorted(m.step for m in found)      # in the order of the run
    assert all(m.kind in KINDS and m.name and m.detail for m in found)
    return {m.kind: m for m in found}


def _steps(records) -> list[dict]:
    return [r for r in records if r["kind"] == "step"]


def test_a_diverging_run_has_its_divergence_moment_at_the_step_it_diverged():
    records, _, _ = _run("exploding")
    end = records[-1]
    assert end["status"] == "diverged"
    m = _moments("exploding")
    diverged = m["diverged"]
    assert (diverged.step, diverged.epoch, diverged.record, diverged.name) == (end["step"], end["epoch"], "end",
                                                                                 "diverges")
    assert "end" not in m                                                # a diverged run ends there
    # the largest gradient norm is that of the last step applied before it, the runaway's top
    steps = _steps(records)
    top = max(steps, key=lambda r: r["grad_norm"])
    assert m["max_grad_norm"].step == top["step"] == end["step"] - 1
    # the first spike: over SPIKE × the median of the steps before it, and no step before it was
    spike = m["first_spike"].step
    for i, r in enumerate(steps):
        before = [s["grad_norm"] for s in steps[max(0, i - 50):i]]
        over = len(before) >= 5 and r["grad_norm"] > SPIKE * statistics.median(before)
        assert over == (r["step"] == spike) or r["step"] > spike, (r["step"], spike)
    # the frame there: the end record, the last step applied, the run's last step
    f = frame_at(records, diverged.step)
    assert f.end is end and f.last and f.step_record["step"] == end["step"] - 1
    assert f.probe_record is not None and f.probe_record["probe"] is not None


def test_the_rescued_run_has_its_first_clip_and_falls_below_persistence():
    records, baseline, task = _run("clipping_rescue")
    m = _moments("clipping_rescue")
    first = next(r for r in _steps(records) if r["clipped"])
    assert (m["first_clip"].step, m["first_clip"].record) == (first["step"], "step")
    # "loss falls below tomorrow = today": the first epoch judged "beats" by the verdict's own rule,
    # the epoch before it not
    below = m["below_baseline"]
    epochs = [r for r in records if r["kind"] == "epoch"]
    verdicts = [run_verdict([e], None, baseline, task).kind for e in epochs]
    i = next(i for i, e in enumerate(epochs) if e["step"] == below.step and e["epoch"] == below.epoch)
    assert verdicts[i] == "beats" and verdicts[i - 1] != "beats" and "beats" not in verdicts[:i]
    assert below.name == "loss falls below tomorrow = today" and below.record == "epoch"
    assert m["end"].step == records[-1]["step"] and m["end"].name == "run completed"
    assert "diverged" not in m


@pytest.mark.parametrize("key", ["exploding", "clipping_rescue"])
def test_the_profile_moments_are_the_probes_that_grow_and_fade_most(key):
    records, _, _ = _run(key)
    m = _moments(key)
    probed = [(_decades(r["probe"]), r) for r in records if r.get("probe")]
    probed = [(d, r) for d, r in probed if d is not None]
    grows = [(d, r) for d, r in probed if d > 0]
    fades = [(d, r) for d, r in probed if d < 0]
    assert ("grows_most" in m) == bool(grows) and ("fades_most" in m) == bool(fades)
    if grows:
        assert m["grows_most"].step == max(grows, key=lambda x: x[0])[1]["step"]
    if fades:
        assert m["fades_most"].step == min(fades, key=lambda x: x[0])[1]["step"]
    # the preset's own promise: at initialisation ‖∂L/∂hₜ‖ grows more than 100× back through time
    assert m["grows_most"].step == 0 and _decades(records[0]["probe"]) > 2


@pytest.mark.parametrize("key", ["exploding", "clipping_rescue"])
def test_a_sigma_jump_is_the_largest_growth_of_sigma_max_over_one_epoch(key):
    records, _, _ = _run(key)
    m = _moments(key)
    epochs = [r for r in records if r["kind"] == "epoch"]
    ratios = [(b["spectra"][0]["sigma_max"] / a["spectra"][0]["sigma_max"], b) for a, b in pairwise(epochs)]
    largest = max(ratios, key=lambda x: x[0], default=(0.0, None))
    assert ("sigma_jump" in m) == (largest[0] >= SIGMA_JUMP)
    if "sigma_jump" in m:
        assert m["sigma_jump"].step == largest[1]["step"]


def test_a_paused_or_thinned_run_has_the_moments_of_the_records_it_holds():
    records, baseline, task = _run("exploding")
    paused = [r for r in records if r["kind"] != "end" and r["step"] <= 30]        # no end yet
    found = {m.kind: m for m in key_moments(paused, baseline, task)}
    assert "diverged" not in found and "end" not in found
    assert found["max_grad_norm"].step == max(_steps(paused), key=lambda r: r["grad_norm"])["step"]
    thinned = [r for r in records if r["kind"] != "step" or r["step"] % 2 == 1]   # every 2nd step kept
    for m in key_moments(thinned, baseline, task):
        assert m.step in timeline(thinned), m


def test_frames_show_the_latest_records_at_or_before_a_step():
    records, _, _ = _run("clipping_rescue")
    steps = timeline(records)
    assert steps[0] == 0 and steps[-1] == records[-1]["step"] and steps == sorted(set(steps))
    f0 = frame_at(records, 0)
    assert f0.step_record is None and f0.epoch_record["epoch"] == 0 and f0.probe_record["epoch"] == 0
    assert not f0.last and f0.end is None
    epoch_one = next(r for r in records if r["kind"] == "epoch" and r["epoch"] == 1)
    mid = frame_at(records, epoch_one["step"] + 3)                     # three steps into epoch 2
    assert mid.epoch == 2 and mid.step_record["step"] == epoch_one["step"] + 3
    assert mid.epoch_record is epoch_one                                # epoch 2 is not closed yet
    assert mid.probe_record["epoch"] == 0                               # probed every 2 epochs
    assert frame_at(records, 10**9).step == steps[-1] and frame_at(records, -5).step == 0


def test_a_link_names_a_step_or_a_moment_and_says_what_a_run_lacks():
    records, baseline, task = _run("exploding")
    found = key_moments(records, baseline, task)
    steps = timeline(records)
    end = records[-1]["step"]
    assert parse_at("diverged") == "diverged" and parse_at(" 12 ") == 12
    for bad in ("-3", "1e3", "explosion", ""):
        with pytest.raises(ValueError, match="neither a step number nor one of the key moments"):
            parse_at(bad)
    assert locate("diverged", found, steps) == (end, None)
    assert locate(12, found, steps) == (12, None)
    step, note = locate("first_clip", found, steps)                     # never clipped: clip is off
    assert step == end and "no moment 'first_clip'" in note
    step, note = locate(10_000, found, steps)
    assert step == end and f"ends at step {end}" in note
    # PageDown / PageUp: from one key moment to the next, and nothing past either end
    at, seen = -1, []
    while (m := next_moment(found, at)) is not None:
        seen.append(m.step)
        at = m.step
    assert seen == sorted(set(m.step for m in found)) and next_moment(found, 0, -1) is None
    assert next_moment(found, end, -1).step == max(m.step for m in found if m.step < end)


def test_the_baseline_moments_follow_the_verdict_of_each_epoch():
    """A run at the constant guess that leaves it upward (the vanishing demo's late blow-up) and one that
    reaches it and falls below it, written as the trainer writes epoch records."""
    def epoch(e: int, val: float) -> dict:
        return {"kind": "epoch", "epoch": e, "step": 10 * e, "train_loss": val, "val_loss": val, "probe": None,
                "spectra": [{"sigma_max": 1.0, "spectral_radius": 0.9}]}

    up = key_moments([epoch(0, 0.25), epoch(1, 0.043), epoch(2, 0.046), epoch(3, 0.067)], 0.045, "sequence")
    assert [(m.kind, m.step) for m in up if "baseline" in m.kind] == [("reaches_baseline", 10),
                                                                      ("above_baseline", 30)]
    assert next(m for m in up if m.kind == "above_baseline").name == "loss rises above the constant guess"
    down = key_moments([epoch(0, 0.3), epoch(1, 0.046), epoch(2, 0.02), epoch(3, 0.044), epoch(4, 0.01)],
                       0.045, "sequence")
    assert [(m.kind, m.step) for m in down if "baseline" in m.kind] == [("reaches_baseline", 10),
                                                                        ("below_baseline", 20)]
    assert "best_val" not in {m.kind for m in down}                    # it ends at its best
    assert key_moments([epoch(0, 0.3), epoch(1, 0.3)], None, "sequence")[0].kind == "start"


def test_every_kind_has_a_name_and_infinite_values_are_no_moments():
    assert set(NAMES) == set(KINDS)
    steps = [{"kind": "step", "epoch": 1, "step": s, "loss": 1.0, "grad_norm": g, "clipped": False}
             for s, g in enumerate([1.0, 2.0, math.inf, 1.5], start=1)]
    found = {m.kind: m for m in key_moments(steps)}
    assert found["max_grad_norm"].step == 2


def test_a_one_timestep_profile_is_no_profile_moment_and_a_real_one_beside_it_still_is():
    """T = 1 (a setting the Playground allows): a profile with one value grows or fades by nothing, so it
    names no moment, and it does not hide the moment of a real profile recorded in the same run."""
    def epoch(step: int, grad_h: list[float]) -> dict:
        return {"kind": "epoch", "epoch": step, "step": step, "train_loss": 1.0,
                "probe": {"timesteps": len(grad_h), "grad_h": [grad_h]}}

    assert [m.kind for m in key_moments([epoch(0, [0.5]), epoch(1, [0.7])])] == ["start"]
    found = {m.kind: m for m in key_moments([epoch(0, [0.5]), epoch(1, [1e-3, 1e-2, 1.0])])}
    assert set(found) == {"start", "fades_most"} and found["fades_most"].step == 1
