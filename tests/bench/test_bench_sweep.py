"""Smoke test of bench/sweep_throughput.py: on its --quick grid it prints a row per backend and finds
the same records everywhere. No timing is asserted."""

from __future__ import annotations

import pytest

from bench import sweep_throughput

pytestmark = pytest.mark.usefixtures("keep_torch_threads")


@pytest.mark.slow
def test_sweep_throughput_quick_prints_runs_per_second_and_same_records(capsys):
    summary: list[str] = []
    assert sweep_throughput.main(["--quick", "--workers", "2", "--no-ray"], summary) == 0
    out = capsys.readouterr().out
    loop = next(line for line in out.splitlines() if line.startswith("| one loop"))
    procs = next(line for line in out.splitlines() if line.startswith("| worker processes"))
    assert "runs/s" in out and procs.rstrip(" |").endswith("yes") and "—" in loop
    assert summary and summary[0].startswith("Sweep (4 runs): one loop")
