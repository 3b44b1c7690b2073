"""The Gradient Lab's look-ahead (`lessons.lab_ahead`): the next step of the slider just moved is probed in the
background with exactly the numbers the page would compute, a page that needs those probes waits for them rather
than computing them twice, and a page that needs other probes ends the look-ahead's work."""

import threading
import time

import pytest

from rnn_core.lessons import lab, lab_ahead, lab_probes
from rnn_core.lessons.lab import LabConfig
from rnn_core.nn import probe as probe_module
from rnn_core.nn.cells import CELLS

SMALL = LabConfig(timesteps=12, hidden_size=6, seeds=2)


@pytest.mark.parametrize("before,now,ahead", [
    (LabConfig(gain=1.0), LabConfig(gain=1.05), {"gain": 1.1}),                # on the slider's grid, exactly
    (LabConfig(gain=1.1), LabConfig(gain=1.05), {"gain": 1.0}),
    (LabConfig(input_scale=0.55), LabConfig(input_scale=0.6), {"input_scale": 0.65}),
    (LabConfig(timesteps=101), LabConfig(timesteps=100), {"timesteps": 99}),
    (LabConfig(hidden_size=32), LabConfig(hidden_size=36), {"hidden_size": 40}),   # a click's stride, kept
    (LabConfig(seeds=3), LabConfig(seeds=4), {"seeds": 5}),
    (LabConfig(cell="lstm", forget_bias=0.25), LabConfig(cell="lstm", forget_bias=0.5), {"forget_bias": 0.75}),
])
def test_the_next_step_is_one_more_step_of_the_slider_that_moved(before, now, ahead):
    assert lab_ahead.next_step(now, before) == now.replace(**ahead)


@pytest.mark.parametrize("before,now", [
    (None, LabConfig()),                                                        # the page's first run
    (LabConfig(), LabConfig()),                                                 # nothing moved (a tab, a rerun)
    (LabConfig(gain=2.95), LabConfig(gain=3.0)),                                # the end of the range
    (LabConfig(timesteps=3), LabConfig(timesteps=2)),
    (LabConfig(gain=1.0, timesteps=100), LabConfig(gain=0.8, timesteps=60)),    # a preset: two settings at once
    (LabConfig(cell="rnn"), LabConfig(cell="gru")),                             # a choice, not a slider
    (LabConfig(init="orthogonal"), LabConfig(init="identity")),
    (LabConfig(hidden_size=32), LabConfig(hidden_size=8)),                      # a click's stride, past the end
])
def test_nothing_is_probed_ahead_where_no_single_slider_step_leads_on(before, now):
    assert lab_ahead.next_step(now, before) is None


def test_a_second_layer_of_a_jordan_network_is_not_probed_ahead():
    # Jordan has one layer: a step that would lead there is no Lab setting (`check_cell`)
    assert lab_ahead.next_step(LabConfig(cell="jordan", num_layers=2), LabConfig(cell="jordan", num_layers=1)) \
        is None


def _count_passes(monkeypatch) -> list[int]:
    """Count the probe passes (`probe.probe_lines` calls, on any thread) and the networks each probed."""
    passes: list[int] = []
    real = probe_module.probe_lines

    def counted(models, *args, **kwargs):
        passes.append(len(models))
        return real(models, *args, **kwargs)

    monkeypatch.setattr(probe_module, "probe_lines", counted)
    return passes


def test_the_next_step_is_probed_ahead_with_the_numbers_the_page_computes(monkeypatch):
    lab_probes.forget_probes()
    ahead = lab_ahead.look_ahead(SMALL, SMALL.replace(gain=0.95), ("gradient", "overlay", "phase"))
    assert ahead == SMALL.replace(gain=1.05)
    assert lab_ahead.wait_idle(60.0)
    passes = _count_passes(monkeypatch)
    kept = (lab.profile_stats(ahead), lab.overlay(ahead), lab.phase_diagram(ahead))
    assert passes == []                                                 # the page's step finds every probe kept
    lab_probes.forget_probes()
    fresh = (lab.profile_stats(ahead), lab.overlay(ahead), lab.phase_diagram(ahead))
    assert len(passes) == len(CELLS) + 1             # afresh: each cell (the chosen one's kept for the overlay), phase
    assert kept == fresh                                                # bit for bit (== on every float)


def test_a_page_that_needs_what_the_look_ahead_is_computing_waits_for_it(monkeypatch):
    lab_probes.forget_probes()
    passes = _count_passes(monkeypatch)
    cfg = SMALL.replace(timesteps=60, hidden_size=24)
    ahead = lab_ahead.look_ahead(cfg, cfg.replace(timesteps=59), ("overlay",))
    out = lab.overlay(ahead)                      # at once: the look-ahead has the first cells in flight, or not yet
    assert lab_ahead.wait_idle(60.0)
    assert len(passes) == len(CELLS)              # every cell probed once, by one thread or the other
    lab_probes.forget_probes()
    assert lab.overlay(ahead) == out


def test_a_page_that_needs_other_probes_ends_the_look_ahead(monkeypatch):
    lab_probes.forget_probes()
    big = LabConfig(timesteps=400, hidden_size=64, seeds=3)      # seconds of probes for the six cells
    lab_ahead.look_ahead(big, big.replace(timesteps=399), ("overlay",))
    deadline = time.monotonic() + 60
    while not lab_probes._in_flight and time.monotonic() < deadline:      # the look-ahead has begun
        time.sleep(0.001)
    assert lab_probes._in_flight
    asked = lab_probes.foreground_asks()
    lab.profile_stats(SMALL)                                      # another page's step: probes no one computes
    assert lab_probes.foreground_asks() > asked
    assert lab_ahead.wait_idle(60.0)
    kept = [k for k in lab_probes._kept if k[1] == big.timesteps + 1]
    assert len(kept) < len(CELLS) * big.seeds                    # it stopped before the last cell
    assert not lab_probes._in_flight                              # and gave back what it had in flight


def test_a_page_closed_while_it_waits_for_the_look_ahead_stops_waiting():
    from rnn_core.interrupt import Interrupted, interruptible

    lab_probes.forget_probes()
    big = LabConfig(cell="lstm", timesteps=400, hidden_size=96, seeds=3)     # one long pass of three networks
    ahead = lab_ahead.look_ahead(big, big.replace(timesteps=399), ("gradient",))
    deadline = time.monotonic() + 60
    while not lab_probes._in_flight and time.monotonic() < deadline:
        time.sleep(0.001)
    closed = threading.Event()
    closed.set()
    with pytest.raises(Interrupted), interruptible(closed.is_set):
        lab.profile_stats(ahead)                  # its probes are in flight: it waits, and the closed tab ends that
    assert lab_ahead.stop_ahead(60.0)


def test_a_run_that_changes_no_setting_leaves_the_next_step_being_probed(monkeypatch):
    """A tab opened or the checkbox ticked reruns the page with the settings as they were: the step ahead, asked
    for by the slider's last step, is still probed (and a run that moves another setting ends it)."""
    lab_probes.forget_probes()
    cfg = SMALL.replace(timesteps=60, hidden_size=24)
    ahead = lab_ahead.look_ahead(cfg, cfg.replace(timesteps=59), ("overlay",))
    assert lab_ahead.look_ahead(cfg, cfg, ("gradient", "overlay", "phase")) is None
    assert lab_ahead.wait_idle(60.0)
    passes = _count_passes(monkeypatch)
    lab.overlay(ahead)
    assert passes == []
    lab_probes.forget_probes()
    lab_ahead.look_ahead(cfg, cfg.replace(timesteps=59), ("overlay",))
    assert lab_ahead.look_ahead(cfg.replace(cell="gru"), cfg, ("overlay",)) is None      # a choice: nothing ahead
    assert lab_ahead.wait_idle(60.0)
    lab.overlay(ahead)
    assert len(passes) > 0                        # what was asked for first was dropped, or ended, and not finished
