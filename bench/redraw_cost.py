"""What one live redraw costs the server: CPU milliseconds per redraw per watching session.

Not a test (nothing asserts a time): it prints what the server process spent.

    .venv/bin/python -m bench.redraw_cost --watchers 4 --seconds 20

A fresh `streamlit run app.py` (tests/conftest.py's `start_server`, as many admission slots as watchers,
so every run trains at once). --watchers websocket sessions (`bench.st_client.Session`: Streamlit's own
protocol, fragment timers rerun as the frontend reruns them) each open a Playground setup that trains
long enough not to end during the measurement (sine, T = 20, H = 16, --epochs epochs, seed = the
session's number, so no two sessions share a run), press **Train** and wait for the first loss point.
Then two windows of --seconds each, while every run trains in its worker process:

- *watching*: every session shows the Playground; its live area redraws on the fragment's timer;
- *away*: every session has switched to Learn, so no redraw happens, while the runs go on training
  (the server still reads their records from the worker pipes).

The server's CPU time (utime + stime of the server process alone, /proc/<pid>/stat: its workers are
other processes) is read at the start and end of each window. A redraw is one refresh of a session's
live view: a rerun of the fragment that redraws most often (the one that redraws the whole live view
where there is one, the step-level part where the view redraws in two parts — the epoch-level part's
own, rarer reruns are counted in its CPU, not as redraws). Printed: redraws per second per session, the
other fragment reruns, the server's CPU per second in both windows, CPU per redraw (all of the watching
window's CPU ÷ its redraws) and net of what the server spends without redraws (watching − away, ÷
redraws). CPU time, not wall time: the machine may be shared.

Leaves to others: the protocol (bench/st_client.py), the server helpers (tests/conftest.py).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bench.common import ROOT, table
from bench.st_client import Session

sys.path.insert(0, str(ROOT))
from tests.conftest import start_server, stop_server

SETUP = "d.dataset=sine&d.timesteps=20&m.hidden_size=16&d.params.length=800&t.batch_size=32&t.probe_every=2"
TICK = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pid: int) -> float:
    """utime + stime of process `pid` (not its children), seconds."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICK          # fields 14 and 15 of stat(5)


async def open_and_train(url: str, i: int, args) -> Session:
    """A session on the Playground whose own run (seed i) trains and has drawn its first loss point."""
    s = Session(url)
    await s.__aenter__()
    if await s.open(f"{SETUP}&t.epochs={args.epochs}&t.seed={i}", args.limit) is None:
        raise TimeoutError("the page's first script run did not finish in time")
    await s.click("Train")
    if await s.until(lambda s: (s.loss or {}).get("points", 0) > 0, args.limit) is None:
        raise TimeoutError(f"session {i}: no loss point within {args.limit:.0f} s" +
                           "".join(f"; the page shows {e}" for e in s.exceptions()[:1]))
    return s


async def window(pid: int, sessions: list[Session], seconds: float) -> tuple[float, int, int]:
    """(server CPU seconds, redraws, other script runs) over `seconds` of wall time (see the docstring)."""
    before, cpu = [dict(s.runs_by_fragment) for s in sessions], cpu_seconds(pid)
    await asyncio.sleep(seconds)
    cpu = cpu_seconds(pid) - cpu
    redraws = others = 0
    for s, old in zip(sessions, before):
        runs = sorted((n - old.get(k, 0) for k, n in s.runs_by_fragment.items()), reverse=True)
        redraws += runs[0] if runs else 0
        others += sum(runs[1:])
    return cpu, redraws, others


def profile(pid: int, args) -> subprocess.Popen | None:
    """With --profile: py-spy samples the server over the watching window (collapsed stacks, one line a stack,
    for `flamegraph.pl` or `bench.redraw_cost --top`)."""
    if not args.profile:
        return None
    spy = shutil.which("py-spy") or str(Path(sys.executable).with_name("py-spy"))
    return subprocess.Popen([spy, "record", "--pid", str(pid), "--duration", str(int(args.seconds)), "--rate", "200",
                             "--format", "raw", "--output", args.profile, "--nonblocking", "--gil"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


async def measure(url: str, pid: int, args) -> dict:
    sessions = []
    try:
        for i in range(args.watchers):
            sessions.append(await open_and_train(url, i, args))
        await asyncio.sleep(args.settle)                   # the first, costlier full reruns are over
        spy = profile(pid, args)
        watch_cpu, redraws, other_runs = await window(pid, sessions, args.seconds)
        if spy is not None:
            spy.wait()
        for s in sessions:
            await s.switch_page("Learn")
        for s in sessions:
            await s.until(lambda s: s.heading("Learn") and not s.running, args.limit)
        await asyncio.sleep(args.settle)
        away_cpu, away_runs, _ = await window(pid, sessions, args.seconds)
        statuses = [s.status() for s in sessions]
    finally:
        for s in sessions:
            await s.__aexit__(None, None, None)
    return {"redraws": redraws, "other_runs": other_runs, "watch_cpu": watch_cpu, "away_cpu": away_cpu,
            "away_runs": away_runs, "statuses": statuses}


def report(r: dict, args) -> None:
    n, secs = args.watchers, args.seconds
    per_redraw = r["watch_cpu"] / max(1, r["redraws"])
    net = (r["watch_cpu"] - r["away_cpu"]) / max(1, r["redraws"])
    print(table(["watching sessions", "redraws / s / session", "server CPU / s watching", "server CPU / s away",
                 "CPU per redraw", "CPU per redraw, net of away"],
                [[n, f"{r['redraws'] / secs / n:.2f}", f"{1000 * r['watch_cpu'] / secs:.0f} ms",
                  f"{1000 * r['away_cpu'] / secs:.0f} ms", f"{1000 * per_redraw:.1f} ms", f"{1000 * net:.1f} ms"]]))
    print(f"{r['redraws']} redraws and {r['other_runs']} other script runs (the epoch-level part's) in "
          f"{secs:.0f} s watching; {r['away_runs']} script runs while away; "
          f"the runs' status at the end: {', '.join(sorted(set(r['statuses'])))}")


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--watchers", type=int, default=4, help="sessions watching their own live run")
    p.add_argument("--seconds", type=float, default=20.0, help="length of each measurement window")
    p.add_argument("--epochs", type=int, default=400, help="epochs of each run (long enough to outlast both windows)")
    p.add_argument("--settle", type=float, default=3.0, help="seconds before each window")
    p.add_argument("--limit", type=float, default=120.0, help="seconds to wait for a page or a first point")
    p.add_argument("--profile", metavar="FILE", help="also sample the server with py-spy over the watching window "
                   "(collapsed stacks written to FILE; py-spy in the venv)")
    p.add_argument("--quick", action="store_true", help="one watcher, 3-second windows (smoke test)")
    return p.parse_args(argv)


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    if args.quick:
        args.watchers, args.seconds, args.settle = 1, 3.0, 1.0
    folder = Path(tempfile.mkdtemp(prefix="rnn-redraw-"))
    proc, url = start_server(folder, {"RNN_PLAYGROUND_MAX_RUNS": str(args.watchers)})
    try:
        t0 = time.monotonic()
        r = asyncio.run(measure(url, proc.pid, args))
    finally:
        stop_server(proc)
    report(r, args)
    print(f"({time.monotonic() - t0:.0f} s; load average {os.getloadavg()[0]:.1f} at the end)")


if __name__ == "__main__":
    main()
