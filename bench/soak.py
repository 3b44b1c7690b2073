"""A long soak: websocket students cycle presets, links (hostile ones too), uploads (CSV, run zips) and
tab closes against one server for --minutes, and the server's and the workers' memory is followed.

Not a test (nothing asserts): it prints what happened and whether memory plateaued.

    .venv/bin/python -m bench.soak --minutes 30 --students 6 --json bench/out/soak.json

A fresh `streamlit run app.py` (tests/conftest.py's `start_server`) with the app's own settings (--slots
admission slots, default the CPUs; one warm spare; the run store on, in a temporary folder); each student is a
`bench.st_client.Session` (Streamlit's websocket protocol, uploads through its HTTP PUT) that loops:
open a page with one action's link, do the action, stay a random few seconds, close the tab (the
websocket closes; the run, if any, must end about a second later). The actions, drawn at random:
- preset: `?preset=<any preset>`, Train, watch, close (often mid-run);
- link: a Playground link with random settings, the issue's largest text windows among them
  (pydoc, windows 20,000, length 500,000, T up to 1,000; a third of them stateful, read as streams), Train, close;
- hostile link: garbage keys and values, a URL in the preset name; the page must answer;
- CSV: `?d.dataset=csv`, upload a CSV (a price series of 0.1–4 MB, or one with a 400,000-column header),
  Train when it reads, close;
- run zip: upload a saved run (a good one, one naming huge text windows, one with hostile metrics);
- lab: the Gradient Lab with a random preset link.
"Answered" = the page's script run finished within --timeout s with no exception element on the page.

Every --sample s: the server's RSS, the number of live-run threads in it ("rnn-live-run"), and its worker
processes (`rnn_core.serve.run_worker`) with their RSS. Printed per --window minutes: the max of each, so
a plateau (or a climb) is visible. At the end every student leaves; after --settle s the live-run threads
must be 0 and at most spares + slots workers left; the tab-close latency is then measured on a quiet
server (a long run, the tab closed, the time until its thread is gone); the server is stopped and no
process of it may remain. The queue's estimates are compared with the waits they announced.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import random
import re
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

from bench.common import ROOT
from bench.st_client import FINISHED, Session

sys.path.insert(0, str(ROOT))
from rnn_core.config import DataConfig, TrainConfig
from rnn_core.lessons.presets import PRESETS
from rnn_core.nn.model_config import ModelConfig
from rnn_core.nn.models import build_model
from rnn_core.serve.admission import cpus
from rnn_core.serve.runs import run_zip_bytes
from rnn_core.serve.worker_pool import SPARES_ENV
from tests.conftest import start_server, stop_server

THREAD = "rnn-live-run"
SPARES = 1                 # the app's default warm spares: the pool keeps at most spares + slots workers
WAITING = re.compile(r"Waiting for a free slot[^:]*: (?:next in line|(\d+) runs? ahead of yours)"
                     r"(?:, about ([\d.]+) (s|min))?")


# ----------------------------------------------------------------------------- the server, from /proc
def rss_mb(pid: int) -> float:
    try:
        return int(Path(f"/proc/{pid}/statm").read_text().split()[1]) * 4096 / 1e6
    except (OSError, ValueError, IndexError):
        return 0.0


def live_threads(pid: int) -> int:
    count = 0
    for comm in Path(f"/proc/{pid}/task").glob("*/comm"):
        with contextlib.suppress(OSError):
            count += comm.read_text().strip() == THREAD
    return count


def descendants(pid: int) -> list[int]:
    """Every process below `pid` (workers, sweep workers)."""
    children: dict[int, list[int]] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
            children.setdefault(int(fields[1]), []).append(int(stat.parent.name))
        except (OSError, ValueError, IndexError):
            pass
    out, todo = [], [pid]
    while todo:
        for child in children.get(todo.pop(), []):
            out.append(child)
            todo.append(child)
    return out


class Sampler:
    def __init__(self, pid: int):
        self.pid, self.samples = pid, []       # (t, server MB, live runs, workers, worker MB sum, worker MB max)

    def take(self, t0: float) -> None:
        workers = descendants(self.pid)
        sizes = [rss_mb(p) for p in workers]
        self.samples.append((time.monotonic() - t0, rss_mb(self.pid), live_threads(self.pid), len(workers),
                             sum(sizes), max(sizes, default=0.0)))


# ----------------------------------------------------------------------------- what students upload
def price_csv(megabytes: float, seed: int) -> bytes:
    rng = np.random.default_rng(seed)
    n = max(60, int(megabytes * 1e6 / 24))
    close = 100 * np.exp(np.cumsum(rng.normal(0, 0.01, n)))
    days = pd.date_range("1990-01-01", periods=n, freq="D")
    return pd.DataFrame({"date": days.strftime("%Y-%m-%d"), "close": close.round(4)}).to_csv(index=False).encode()


def wide_csv() -> bytes:
    return (",".join(f"c{i}" for i in range(400_000)) + "\n" + ",".join("1" for _ in range(400_000))).encode()


def run_zips() -> dict[str, bytes]:
    model_cfg = ModelConfig(hidden_size=4)
    model = build_model(model_cfg, seed=0)
    records = [{"kind": "epoch", "epoch": 0, "step": 0, "train_loss": 0.5, "val_loss": 0.4, "probe": None},
               {"kind": "end", "epoch": 1, "step": 1, "status": "completed",
                "reason": "see http://2130706433/x", "seconds": 1.0}]
    good = run_zip_bytes(model, model_cfg, DataConfig(timesteps=10), TrainConfig(epochs=1), records, {})
    huge = run_zip_bytes(model, model_cfg, DataConfig(dataset="pydoc", timesteps=1000,
                                                      params={"windows": 20_000, "length": 500_000}),
                         TrainConfig(epochs=1), [], {})
    hostile = run_zip_bytes(model, model_cfg, DataConfig(dataset="csv"), TrainConfig(epochs=1), records,
                            {"task": "forecast", "val": 7})
    return {"good": good, "huge text": huge, "hostile metrics": hostile}


# ----------------------------------------------------------------------------- one student
def random_link(rng: random.Random) -> str:
    if rng.random() < 0.3:                      # the link: the largest text windows
        stateful = "&t.stateful=1&t.bptt_truncate=30" if rng.random() < 0.3 else ""   # as streams too
        return (f"d.dataset=pydoc&d.timesteps={rng.choice([30, 300, 1000])}&d.params.windows=20000"
                f"&d.params.length=500000&m.hidden_size={rng.choice([8, 32])}&t.epochs=2{stateful}")
    dataset = rng.choice(["sine", "sines", "mackey_glass", "adding", "echo", "brackets", "djia", "sunspots"])
    return (f"d.dataset={dataset}&d.timesteps={rng.choice([5, 20, 50, 200])}&m.cell="
            f"{rng.choice(['rnn', 'lstm', 'gru', 'jordan', 'rnn_relu'])}&m.hidden_size={rng.choice([4, 16, 64])}"
            f"&t.epochs={rng.choice([1, 3, 10])}")


def hostile_link(rng: random.Random) -> str:
    return rng.choice(["preset=see%20http%3A//2130706433/x", "t.probe_batch=1000000000&t.device=cuda",
                       "d.timesteps=1e400&m.hidden_size=-5", "m.cell=%5Bx%5D(http://evil)", "d.dataset=../../etc",
                       "t.epochs=abc&t.lr=nan", "d.params.windows=99999999&d.dataset=pydoc"])


class Student:
    def __init__(self, url: str, seed: int, args, stats: dict, zips: dict[str, bytes]):
        self.url, self.rng, self.args, self.stats, self.zips = url, random.Random(seed), args, stats, zips

    def count(self, key: str, n: int = 1) -> None:
        self.stats[key] = self.stats.get(key, 0) + n

    async def visit(self, deadline: float) -> None:
        action = self.rng.choices(["preset", "link", "hostile", "csv", "zip", "lab"], [4, 4, 2, 2, 2, 1])[0]
        self.count(f"action {action}")
        try:
            async with Session(self.url) as s:
                await getattr(self, action)(s)
                await asyncio.sleep(min(self.rng.uniform(1, self.args.stay), max(0.0, deadline - time.monotonic())))
                if s.exceptions():
                    self.count("pages with an exception")
                    self.stats.setdefault("exceptions", []).append(s.exceptions()[0][:200])
        except Exception as exc:                    # a visit that broke is counted, the student goes on
            self.count("visits that broke")
            self.stats.setdefault("broke", []).append(f"{action}: {type(exc).__name__}: {str(exc)[:120]}")

    async def open(self, s: Session, query: str) -> None:
        self.count("pages opened")
        if await s.open(query, self.args.timeout) is None:
            self.count("pages not answered")
            raise TimeoutError(f"no answer within {self.args.timeout:.0f} s to ?{query[:80]}")
        self.count("pages answered")

    async def train(self, s: Session) -> None:
        if "Train" not in s.widgets:
            return
        t0 = await s.click("Train")
        self.count("runs started")
        estimate: dict = {}

        def watch(s: Session, at: float) -> None:
            if "first" not in estimate:
                for e in s.elements.values():
                    if e.WhichOneof("type") == "alert" and (m := WAITING.search(e.alert.body)):
                        seconds = None if m.group(2) is None else float(m.group(2)) * (60 if m.group(3) == "min" else 1)
                        estimate["first"] = (at, seconds)
            if "first" in estimate and "running_at" not in estimate and s.status() == "running":
                estimate["running_at"] = at

        s.listen(watch)
        await s.until(lambda s: s.status() in FINISHED, self.rng.uniform(3, self.args.stay))
        if "first" in estimate and "running_at" in estimate:
            at, said = estimate["first"]
            self.stats.setdefault("waits", []).append((said, estimate["running_at"] - at))
        elif "first" in estimate:
            self.count("queued runs left before they ran")
        del t0

    async def preset(self, s: Session) -> None:
        await self.open(s, f"preset={self.rng.choice(list(PRESETS))}")
        await self.train(s)

    async def link(self, s: Session) -> None:
        await self.open(s, random_link(self.rng))
        await self.train(s)

    async def hostile(self, s: Session) -> None:
        await self.open(s, hostile_link(self.rng))

    async def csv(self, s: Session) -> None:
        await self.open(s, "d.dataset=csv&d.timesteps=20&m.hidden_size=8&t.epochs=2")
        wide = self.rng.random() < 0.2
        data = wide_csv() if wide else price_csv(self.rng.choice([0.1, 0.5, 1.0, 4.0]), self.rng.randrange(99))
        await s.upload("CSV file", "wide.csv" if wide else "prices.csv", data)
        self.count("CSV uploads")
        await s.until(lambda s: not s.running, self.args.timeout)
        await self.train(s)

    async def zip(self, s: Session) -> None:
        await self.open(s, "")
        name = self.rng.choice(list(self.zips))
        if "Open a saved run (zip)" in s.widgets:
            await s.upload("Open a saved run (zip)", "run.zip", self.zips[name])
            self.count("run zip uploads")
            await s.until(lambda s: not s.running, self.args.timeout)

    async def lab(self, s: Session) -> None:
        await self.open(s, "")
        lab = next((name for name in s.pages if "lab" in name.lower()), None)
        if lab is not None:
            await s.switch_page(lab)
            await s.until(lambda s: not s.running, self.args.timeout)


async def student_loop(url: str, seed: int, args, stats: dict, zips: dict, deadline: float) -> None:
    student = Student(url, seed, args, stats, zips)
    while time.monotonic() < deadline:
        await student.visit(deadline)
        await asyncio.sleep(student.rng.uniform(0.2, 2.0))


# ----------------------------------------------------------------------------- the tab-close latency
async def close_latency(url: str, pid: int, args) -> float | None:
    """A long run trains; its tab closes; seconds until its live-run thread is gone (None: not seen)."""
    async with Session(url) as s:
        await s.open("d.dataset=sine&d.timesteps=50&m.hidden_size=64&t.epochs=500", args.timeout)
        before = live_threads(pid)
        await s.click("Train")
        await s.until(lambda s: s.status() == "running", args.timeout)
        await asyncio.sleep(2)
        running = live_threads(pid)
    closed = time.monotonic()
    while time.monotonic() - closed < 60:
        if live_threads(pid) < running or live_threads(pid) <= before:
            return time.monotonic() - closed
        await asyncio.sleep(0.05)
    return None


# ----------------------------------------------------------------------------- the soak
async def soak(args) -> dict:
    tmp = Path(tempfile.mkdtemp(prefix="soak-"))
    slots = args.slots or cpus()       # explicit, the app's own defaults (never a test suite's settings)
    proc, url = start_server(tmp, {"RNN_PLAYGROUND_MAX_RUNS": str(slots), SPARES_ENV: str(SPARES),
                                   "RNN_PLAYGROUND_RUN_STORE": str(tmp / "runs")})
    sampler, stats = Sampler(proc.pid), {}
    t0 = time.monotonic()
    zips = run_zips()
    try:
        deadline = t0 + args.minutes * 60
        students = [asyncio.create_task(student_loop(url, seed, args, stats, zips, deadline))
                    for seed in range(args.students)]
        while time.monotonic() < deadline:
            sampler.take(t0)
            await asyncio.sleep(args.sample)
        await asyncio.gather(*students)
        settle_end = time.monotonic() + args.settle
        while time.monotonic() < settle_end:
            sampler.take(t0)
            await asyncio.sleep(args.sample)
        after = {"live runs": live_threads(proc.pid), "workers": [_command(p) for p in descendants(proc.pid)],
                 "server MB": round(rss_mb(proc.pid)), "slots": slots, "workers kept at most": SPARES + slots}
        latencies = [await close_latency(url, proc.pid, args) for _ in range(args.closes)]
    finally:
        pids = descendants(proc.pid)
        stop_server(proc)
        time.sleep(3)
    left = [p for p in pids if Path(f"/proc/{p}").exists() and "Z" not in _state(p)]
    return {"minutes": args.minutes, "students": args.students, "stats": stats, "samples": sampler.samples,
            "after settle": after, "close latency s": latencies, "processes left": left,
            "server log errors": _errors(tmp / "streamlit.log")}


def _command(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()[-60:].strip()
    except OSError:
        return "gone"


def _state(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return "Z"


def _errors(log: Path) -> list[str]:
    text = log.read_text(errors="replace") if log.exists() else ""
    return [line[:200] for line in text.splitlines() if "Traceback" in line or "Error" in line][:10]


# ----------------------------------------------------------------------------- the report
def report(result: dict, window_min: float) -> None:
    samples, stats = result["samples"], result["stats"]
    print(f"\nSoak: {result['students']} websocket students for {result['minutes']} min.")
    print("\nminutes     server RSS MB max   live runs max   workers max   workers' RSS MB max (sum / one)")
    window = window_min * 60
    for start in np.arange(0, max(s[0] for s in samples) + 1e-9, window):
        part = [s for s in samples if start <= s[0] < start + window]
        if part:
            print(f"{start / 60:4.0f}–{(start + window) / 60:<4.0f}  {max(p[1] for p in part):12.0f}  "
                  f"{max(p[2] for p in part):14d}  {max(p[3] for p in part):12d}  "
                  f"{max(p[4] for p in part):12.0f} / {max(p[5] for p in part):.0f}")
    for key in sorted(k for k, v in stats.items() if isinstance(v, int)):
        print(f"  {key}: {stats[key]}")
    waits = stats.get("waits", [])
    known = [(said, took) for said, took in waits if said is not None]
    if waits:
        ratios = [took / max(said, 1.0) for said, took in known]
        within = sum(0.5 <= r <= 2.0 or abs(took - said) < 3 for r, (said, took) in zip(ratios, known))
        print(f"  queue: {len(waits)} waits seen, {len(waits) - len(known)} said 'not known yet'; of the "
              f"{len(known)} estimates {within} within 2× (or 3 s)"
              + (f", wait/estimate median {statistics.median(ratios):.2f}" if ratios else ""))
    for key in ("exceptions", "broke"):
        for line in stats.get(key, [])[:5]:
            print(f"  {key}: {line}")
    print(f"  after the students left and --settle s: {result['after settle']}")
    print(f"  tab closed → its run's thread gone: {result['close latency s']} s")
    print(f"  processes left after the server stopped: {result['processes left'] or 'none'}")
    print(f"  server log errors: {result['server log errors'] or 'none'}")


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--minutes", type=float, default=30)
    p.add_argument("--students", type=int, default=6)
    p.add_argument("--slots", type=int, default=0, help="admission slots (default: the server's CPUs)")
    p.add_argument("--stay", type=float, default=20, help="seconds a student stays on a page at most")
    p.add_argument("--timeout", type=float, default=120, help="seconds a page may take to answer")
    p.add_argument("--sample", type=float, default=5)
    p.add_argument("--window", type=float, default=5, help="minutes per line of the memory table")
    p.add_argument("--settle", type=float, default=60)
    p.add_argument("--closes", type=int, default=5, help="tab-close latency measurements at the end")
    p.add_argument("--json", default="")
    args = p.parse_args(argv)
    result = asyncio.run(soak(args))
    report(result, args.window)
    if args.json:
        Path(args.json).parent.mkdir(parents=True, exist_ok=True)
        Path(args.json).write_text(json.dumps(result, indent=1, default=str))


if __name__ == "__main__":
    main()
