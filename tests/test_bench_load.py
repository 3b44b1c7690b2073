"""Smoke tests of the classroom benchmarks: bench/admission.py runs on --quick and prints both tables;
bench/load_test.py's summary (percentiles, the largest K under 1 s) is checked on made-up results.
The load test itself drives Chromium for minutes: it is a benchmark, not run here."""

from __future__ import annotations

import pytest
import torch

from bench import admission, load_test


@pytest.fixture(autouse=True)
def _keep_torch_threads():
    n = torch.get_num_threads()
    yield
    torch.set_num_threads(n)


@pytest.mark.slow
def test_admission_quick_prints_threads_and_queue_tables(capsys, monkeypatch):
    monkeypatch.setenv("RNN_PLAYGROUND_TORCH_THREADS", "1")      # the script sets it per variant
    admission.main(["--quick"])
    out = capsys.readouterr().out
    assert "| C runs | t threads | steps/s (all runs)" in out
    rows = [line for line in out.splitlines() if line.startswith("| 2    | ")]
    assert len(rows) >= 2                       # 2 concurrent runs (part 1) and 2 runs / slots (part 2)
    assert "mean queue wait" in out


def test_load_test_summary_and_verdict(capsys):
    students = [{"toggles": [0.2, 0.4, None], "switch": 0.9, "first_point": 2.0, "queue_wait": 0.0,
                 "status": "completed"},
                {"toggles": [1.5], "first_point": 6.0, "queue_wait": 4.0, "was_queued": True,
                 "status": "completed"},
                {"error": "TimeoutError: never drew"}]
    row = load_test.summarise(3, students, (300.0, 10), [(400.0, 14), (450.0, 16)], (420.0, 12))
    assert row["clicks"] == 3 and row["clicks lost"] == 1
    assert row["click p50"] == 0.4 and row["click p95"] == 1.5
    assert row["completed"] == 2 and row["queued"] == 1 and row["wait max"] == 4.0
    assert row["rss"] == (300.0, 450.0, 420.0) and row["threads"] == (10, 16, 12)
    small = {**row, "K": 1, "click p95": 0.5}
    load_test.print_classroom([small, row])
    out = capsys.readouterr().out
    assert "a student failed: TimeoutError" in out
    assert "Largest K with p95 click→effect under 1 s: 1" in out
