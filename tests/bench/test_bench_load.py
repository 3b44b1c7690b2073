"""Smoke tests of the classroom benchmarks: bench/admission.py runs on --quick and prints both tables;
bench/load_test.py's summary (percentiles, the largest K under 1 s) is checked on made-up results; its
websocket students (bench/st_client.py) run a tiny classroom end to end, and one session clicks a
fragment's toggle and switches pages. No timing is asserted; the Chromium students are not run here."""

from __future__ import annotations

import asyncio

import pytest

from bench import admission, load_test
from bench.st_client import Session

pytestmark = pytest.mark.usefixtures("keep_torch_threads")


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


def test_server_errors_names_each_traceback():
    log = ("2026-11-30 13:36:36 Uvicorn server started\n2026-11-30 13:36:52 Uncaught app execution\n"
           "Traceback (most recent call last):\n  File \"app.py\", line 21, in <module>\n    page.run()\n"
           "    ^^^^\nNameError: name 'get_run' is not defined\n  Stopping...\n")
    assert load_test.server_errors(log) == ["NameError: name 'get_run' is not defined"]
    assert load_test.server_errors("Uvicorn server started\n  Stopping...\n") == []


@pytest.mark.slow
def test_ws_classroom_trains_to_the_end(tmp_path):
    """Two websocket students against a fresh server with one slot: the protocol flow of the load test
    (open the page, find Train, press it, follow the run's deltas to "completed", leave) works."""
    args = load_test.parse_args(["--students", "2", "--slots", "1", "--epochs", "2", "--clicks", "1",
                                 "--arrival", "0.5", "--warm", "0", "--settle", "0", "--limit", "120"])
    row = asyncio.run(load_test.classroom(2, args))
    assert row["errors"] == [] and row["server errors"] == []
    assert row["completed"] == 2                       # both saw "completed" in the status bar
    assert row["first point max"] == row["first point max"]      # each saw a loss point (not NaN)
    assert row["status p95"] == row["status p95"]      # and its status bar before that
    assert row["threads"][1] >= row["threads"][0]


@pytest.mark.slow
def test_ws_session_toggles_the_axis_and_switches_pages(streamlit_server):
    """A fragment widget reruns its fragment (the loss chart comes back with the other axis type), and a
    page switch shows the other page's title, then the Playground with its finished run again."""

    def seen(s) -> str:
        """What the session saw last, for a failure to explain itself (it failed twice inside the suite,
        on a server this test starts first, and never alone)."""
        return f"status line {s.last_progress!r}, script running {s.running}, socket closed {s.closed.is_set()}"

    async def visit():
        async with Session(streamlit_server) as s:
            assert await s.open(f"{load_test.SETUP}&t.epochs=1", timeout=180) is not None
            assert s.loss is not None and s.loss["points"] == 0          # the empty loss chart
            assert {"Playground", "Learn"} <= set(s.pages)
            await s.click("Train")
            # the first run of a fresh server starts a worker process (torch's imports): a slow first time
            assert await s.until(lambda s: s.status() == "completed", timeout=300) is not None, seen(s)
            assert await s.until(lambda s: not s.running, timeout=120) is not None, seen(s)
            # that run's loss chart (inside the suite it arrived after the script went idle once)
            assert await s.until(lambda s: s.loss is not None and s.loss["points"] > 0, timeout=60) is not None, seen(s)
            before = s.loss["axis"]
            await s.set_bool("Log loss axis", before != "log")
            assert await s.until(lambda s: s.loss["axis"] != before, timeout=120) is not None, seen(s)
            await s.switch_page("Learn")
            assert await s.until(lambda s: s.heading("Learn"), timeout=120) is not None, seen(s)
            assert s.loss is None and not s.heading("RNN Playground")
            await s.switch_page("Playground")
            assert await s.until(lambda s: s.status() == "completed", timeout=120) is not None, seen(s)

    asyncio.run(visit())
