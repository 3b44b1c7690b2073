"""Rows × timesteps × features are bounded: a small upload of a million rows cannot make the
windowing (Data page preview, Playground, CLI) allocate gigabytes; the refusal says what fits."""

from __future__ import annotations

import subprocess
import sys
import tracemalloc

import numpy as np
import pandas as pd
import pytest

from rnn_core.data.budget import LIMITS
from rnn_core.data.errors import DataError
from rnn_core.data.windows import make_windows

# the windows that fit the budget at T = 600, one feature: X (T float32), y and the target's row per window
MOST = LIMITS["windows"].bytes // (600 * 4 + 4 + 8)


def test_a_million_rows_at_T_600_are_refused_before_any_window_is_cut():
    frame = pd.DataFrame({"v": np.sin(np.arange(1_000_000) / 50.0)})
    tracemalloc.start()
    try:
        with pytest.raises(DataError, match="one run's windows may use") as err:
            make_windows(frame, 600, ["v"], "v")
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 100e6, f"peak {peak / 1e6:.0f} MB"          # the windows alone would be 2.4 GB
    assert f"use at most {MOST + 600:,} rows at T = 600" in str(err.value)
    make_windows(frame.iloc[: MOST + 600], 600, ["v"], "v")                  # what it says fits


def test_the_cli_refuses_it_with_one_sentence(tmp_path):
    path = tmp_path / "long.csv"
    path.write_text("v\n" + "\n".join(f"{x:.3f}" for x in np.sin(np.arange(400_000) / 50.0)))
    out = subprocess.run([sys.executable, "-m", "rnn_core", "train", "--csv", str(path), "--timesteps", "100",
                          "--epochs", "1"], capture_output=True, text=True, timeout=300)
    assert out.returncode == 2, out.stderr
    assert "one run's windows may use" in out.stderr and len(out.stderr.strip().splitlines()) == 1
