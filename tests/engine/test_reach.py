"""How far back a gradient profile reaches and why it stops (rnn_core.measure.reach): cut off, blocked
and underflow told apart, decades counted over the part that is not 0."""

import math

import pytest

from rnn_core.measure.reach import UNDERFLOW_BELOW, reach


def test_a_profile_without_zeros_counts_every_timestep():
    r = reach([1e-3, 1e-2, 1.0])
    assert (r.first, r.zeros) == (0, None) and r.decades == pytest.approx(-3.0)
    assert r.span() == "loses 3.0 decades from the last timestep back to the first" and r.zeros_clause() == ""
    assert reach([100.0, 10.0, 1.0]).change() == "gains 2.0 decades"


def test_blocked_underflow_and_cut_off_are_three_different_zeros():
    blocked = reach([0.0, 0.0, 0.2, 1.0])                     # an ordinary number, then exactly 0
    assert (blocked.first, blocked.zeros) == (2, "blocked")
    assert blocked.decades == pytest.approx(math.log10(0.2))   # over the part that is not 0 only
    faded = reach([0.0, 1e-300, 1e-100, 1.0])                 # 0 after values near float64's limit
    assert faded.zeros == "underflow" and faded.first == 1 and UNDERFLOW_BELOW > 1e-300
    cut = reach([0.0, 0.0, 0.5, 1.0], cut=2)                  # truncated BPTT stops it by design
    assert (cut.first, cut.zeros) == (2, "cut off") and cut.zeros_clause() == ""
    assert cut.span() == "loses 0.3 decades over the last 2 timesteps"
    both = reach([0.0, 0.0, 0.0, 0.5, 1.0], cut=1)             # cut at 1, and blocked before t = 3 as well
    assert (both.first, both.zeros) == (3, "blocked")
    assert "before t = 3 it is exactly 0 — blocked" in both.phrase()


def test_nothing_to_tell_without_a_last_gradient():
    assert reach([]) is None and reach([1.0]) is None and reach([1.0, float("nan")]) is None
    assert reach([0.5, 0.0]).decades is None
