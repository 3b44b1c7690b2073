"""A classroom against one server: K students open the app in real Chromium, train a small run, leave.

Not a test (nothing asserts a time): it prints what K students felt and what the server did.

    .venv/bin/python -m bench.load_test --students 1,4,8          # one server per K, ≤ --limit s each
    .venv/bin/python -m bench.load_test --students 4 --mode workers --background 2

Classroom mode (default). For each K a fresh `streamlit run app.py` on loopback (tests/conftest.py's
`start_server`, admission slots from --slots, default: the CPUs) and one headless Chromium (Debian's,
through Playwright's async API; each student its own browser context = its own Streamlit session).
Students arrive spread over --arrival seconds; each opens a Playground link with a small setup
(sine, T = 20, H = 16, --epochs epochs), presses **Train**, and while the run is queued or training
clicks the "Log loss axis" toggle --clicks times and switches to Learn and back once, then waits for
"completed" and closes its tab. Measured in the page: click → the loss chart's y axis changed type
(the toggle's effect), click → Learn's title on screen (a page switch), Train → first loss point
(queue wait included), Train → status "running" (the queue wait). Runs completed = tabs that saw
"completed" within --limit s. The server's RSS and thread count come from /proc/<pid>/status before the
students come, during (max), and --settle s after the last has left.

Workers mode (threads inside the Streamlit process or separate processes?): one observer tab
measures page switches and toggles while --background runs train (a) as LiveRun threads inside the
server (--background other tabs pressed Train), (b) as separate OS processes (`python -m rnn_core
train`, the same setup; the other tabs stay open and idle), and (c) with nothing training. (b) stands
for a worker-process design; it lacks the redraw traffic of (a), so it is its best case.

Leaves to others: the app; the server helpers (tests/conftest.py); the Chromium flags (conftest).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import random
import re
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

from bench.common import ROOT, table
from rnn_core.admission import cpus

sys.path.insert(0, str(ROOT))
from tests.conftest import CHROMIUM, CHROMIUM_ARGS, IDLE, browser_missing_reason, start_server, stop_server

SETUP = "d.dataset=sine&d.timesteps=20&m.hidden_size=16&d.params.length=800&t.batch_size=32&t.probe_every=2"
STATUS = re.compile(r"\b(idle|queued|running|paused|completed|stopped|diverged)\b")

# In the page: the loss chart's y axis type and its number of per-step points (None: not drawn yet).
LOSS_STATE = """() => {
  for (const gd of document.querySelectorAll('.js-plotly-plot')) {
    const title = (gd.layout && gd.layout.title && gd.layout.title.text) || '';
    if (title.replace(/<[^>]+>/g, '') !== 'Loss') continue;
    const tr = (gd._fullData || []).find(t => t.name === 'train (per step)');
    return {axis: (gd._fullLayout && gd._fullLayout.yaxis && gd._fullLayout.yaxis.type) || null,
            points: tr && tr.x ? tr.x.length : 0};
  }
  return null;
}"""


def percentile(xs: list[float], q: float) -> float:
    if not xs:
        return float("nan")
    xs = sorted(xs)
    return xs[min(len(xs) - 1, max(0, round(q / 100 * (len(xs) - 1))))]


def fmt(x: float) -> str:
    return "—" if x != x else f"{x:.2f} s"


# ------------------------------------------------------------------------------------- the server
class ProcSampler:
    """RSS (MB) and thread count of a process, sampled every `every` s on a thread."""

    def __init__(self, pid: int, every: float = 0.5):
        self.pid, self.every, self.samples = pid, every, []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, daemon=True)

    def read(self) -> tuple[float, int]:
        text = Path(f"/proc/{self.pid}/status").read_text()
        rss = int(re.search(r"VmRSS:\s+(\d+)", text).group(1)) / 1024
        return rss, int(re.search(r"Threads:\s+(\d+)", text).group(1))

    def _loop(self) -> None:
        while not self._stop.wait(self.every):
            with contextlib.suppress(OSError, AttributeError):
                self.samples.append(self.read())

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join()


# ------------------------------------------------------------------------------------ one student
async def wait_idle(page, timeout: float = 120) -> None:
    await page.wait_for_selector(IDLE, timeout=timeout * 1000)


async def status_of(page) -> str:
    bars = page.locator("[data-testid='stProgress']")
    if await bars.count() == 0:
        return ""
    m = STATUS.search(await bars.first.inner_text())
    return m.group(1) if m else ""


async def loss_state(page) -> dict | None:
    with contextlib.suppress(Exception):
        return await page.evaluate(LOSS_STATE)
    return None


async def open_chart_options(page) -> None:
    """Unfold the "Chart options" expander, where the "Log loss axis" toggle lives."""
    await page.locator("summary", has_text="Chart options").first.click()
    await page.get_by_text("Log loss axis", exact=True).wait_for()


async def toggle_latency(page, timeout: float) -> float | None:
    """Click "Log loss axis"; seconds until the loss chart's y axis changed type (None: never)."""
    label = page.get_by_text("Log loss axis", exact=True)
    if not await label.is_visible():          # folded again (e.g. after a visit to another page)
        await open_chart_options(page)
    before = (await loss_state(page) or {}).get("axis")
    t0 = time.monotonic()
    # a DOM click on the toggle's input: while a run is live the fragment redraws twice a second and the
    # page never holds still long enough for a pointer click (a click on the label's text is ignored)
    await page.get_by_label("Log loss axis").dispatch_event("click")
    while time.monotonic() - t0 < timeout:
        now = (await loss_state(page) or {}).get("axis")
        if now and now != before:
            return time.monotonic() - t0
        await asyncio.sleep(0.02)
    return None


async def switch_latency(page, timeout: float) -> float | None:
    """Click Learn in the sidebar; seconds until its title shows; then back to the Playground."""
    t0 = time.monotonic()
    await page.locator("[data-testid='stSidebarNav'] a", has_text="Learn").click()
    try:
        await page.locator("h1", has_text="Learn").first.wait_for(timeout=timeout * 1000)
    except Exception:
        return None
    took = time.monotonic() - t0
    await page.locator("[data-testid='stSidebarNav'] a", has_text="Playground").click()
    await page.locator("[data-testid='stProgress']").first.wait_for(timeout=timeout * 1000)
    return took


async def watch(page, out: dict, t_click: float, limit: float) -> None:
    """Every 0.1 s: the run's status (queued → running: the queue wait) and its first loss point."""
    while time.monotonic() - t_click < limit:
        state, status = await loss_state(page), await status_of(page)
        now = time.monotonic() - t_click
        if status == "queued":
            out["was_queued"] = True
        if status in ("running", "completed") and "queue_wait" not in out:
            out["queue_wait"] = now if "was_queued" in out else 0.0
        if state and state["points"] > 0 and "first_point" not in out:
            out["first_point"] = now
        if status in ("completed", "stopped", "diverged"):
            out["status"] = status
            return
        await asyncio.sleep(0.1)


async def student(browser, url: str, delay: float, args, out: dict, train: bool = True) -> None:
    await asyncio.sleep(delay)
    context = await browser.new_context(viewport={"width": 1300, "height": 900})
    page = await context.new_page()
    page.set_default_timeout(args.limit * 1000)
    try:
        await page.goto(f"{url}/?{SETUP}&t.epochs={args.epochs}")
        await wait_idle(page, args.limit)
        await page.wait_for_function(f"() => ({LOSS_STATE})() !== null", timeout=args.limit * 1000)
        if not train:
            out["ready"] = True
            while not out.get("leave"):
                await asyncio.sleep(0.2)
            return
        await open_chart_options(page)
        t_click = time.monotonic()
        await page.locator("button:visible", has_text="Train").first.click()
        watcher = asyncio.create_task(watch(page, out, t_click, args.limit))
        clicks_left, switched = args.clicks, False
        while time.monotonic() - t_click < args.limit and "status" not in out:
            state = await loss_state(page)
            drawn = bool(state and state["points"] > 0)      # the empty chart ignores the axis option
            if clicks_left and drawn:
                lat = await toggle_latency(page, args.limit / 4)
                out.setdefault("toggles", []).append(lat)
                clicks_left -= 1
            elif drawn and not switched:
                out["switch"] = await switch_latency(page, args.limit / 4)
                switched = True
            await asyncio.sleep(random.uniform(0.2, 0.6))
        await watcher
        out["done_at"] = time.monotonic() - t_click
    except Exception as exc:          # a student that broke is reported, not fatal
        out["error"] = f"{type(exc).__name__}: {str(exc).splitlines()[0][:120]}"
    finally:
        await context.close()


# ------------------------------------------------------------------------------------- classroom
async def warm_up(browser, url: str) -> None:
    """One visit before measuring: the server's first page load imports the app and warms torch up
    (a one-off cost of a fresh process that a classroom meets only if it arrives with the server)."""
    context = await browser.new_context()
    page = await context.new_page()
    await page.goto(url)
    await wait_idle(page)
    await context.close()
    await asyncio.sleep(8)


async def classroom(k: int, args) -> dict:
    from playwright.async_api import async_playwright

    folder = Path(tempfile.mkdtemp(prefix="rnn-load-"))
    # explicit: importing tests.conftest sets a generous default for the test suite's own servers
    env = {"RNN_PLAYGROUND_MAX_RUNS": str(args.slots or cpus())}
    proc, url = start_server(folder, env)
    results = [{} for _ in range(k)]
    try:
        sampler = ProcSampler(proc.pid)
        async with async_playwright() as p:
            browser = await p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
            await warm_up(browser, url)
            before = sampler.read()
            with sampler:
                delays = sorted(random.uniform(0, args.arrival) for _ in range(k))
                await asyncio.gather(*(student(browser, url, d, args, r) for d, r in zip(delays, results)))
            await browser.close()
        await asyncio.sleep(args.settle)
        after = sampler.read()
    finally:
        stop_server(proc)
    return summarise(k, results, before, sampler.samples, after)


def summarise(k: int, results: list[dict], before, during, after) -> dict:
    clicks = [x for r in results for x in r.get("toggles", []) if x is not None]
    lost = sum(1 for r in results for x in r.get("toggles", []) if x is None)
    switches = [r["switch"] for r in results if r.get("switch") is not None]
    firsts = [r["first_point"] for r in results if "first_point" in r]
    waits = [r["queue_wait"] for r in results if "queue_wait" in r]
    errors = [r["error"] for r in results if "error" in r]
    rss = [s[0] for s in during] or [float("nan")]
    threads = [s[1] for s in during] or [0]
    return {"K": k, "click p50": percentile(clicks, 50), "click p95": percentile(clicks, 95),
            "clicks": len(clicks), "clicks lost": lost, "switch p50": percentile(switches, 50),
            "switch p95": percentile(switches, 95), "first point p50": percentile(firsts, 50),
            "first point max": max(firsts, default=float("nan")),
            "completed": sum(r.get("status") == "completed" for r in results),
            "queued": sum(bool(r.get("was_queued")) for r in results),
            "wait mean": statistics.fmean(waits) if waits else float("nan"), "wait max": max(waits, default=0.0),
            "rss": (before[0], max(rss), after[0]), "threads": (before[1], max(threads), after[1]),
            "errors": errors}


def print_classroom(rows: list[dict]) -> None:
    print(table(["K", "click→effect p50 / p95", "page switch p50 / p95", "Train→first point p50 / max",
                 "completed", "queued (mean / max wait)", "RSS MB before/max/after", "threads b/max/a"],
                [[r["K"], f"{fmt(r['click p50'])} / {fmt(r['click p95'])} ({r['clicks']} clicks"
                  + (f", {r['clicks lost']} no effect)" if r["clicks lost"] else ")"),
                  f"{fmt(r['switch p50'])} / {fmt(r['switch p95'])}",
                  f"{fmt(r['first point p50'])} / {fmt(r['first point max'])}", f"{r['completed']}/{r['K']}",
                  f"{r['queued']} ({fmt(r['wait mean'])} / {fmt(r['wait max'])})",
                  "/".join(f"{x:.0f}" for x in r["rss"]), "/".join(str(x) for x in r["threads"])]
                 for r in rows]))
    for r in rows:
        for e in r["errors"]:
            print(f"K = {r['K']}: a student failed: {e}")
    ok = [r["K"] for r in rows if r["click p95"] == r["click p95"] and r["click p95"] < 1.0]
    print(f"\nLargest K with p95 click→effect under 1 s: {max(ok) if ok else 'none of those measured'}")


# --------------------------------------------------------------------------------------- workers
async def observe(browser, url: str, args) -> dict:
    """One tab's toggle and page-switch latencies (no run of its own)."""
    context = await browser.new_context(viewport={"width": 1300, "height": 900})
    page = await context.new_page()
    try:
        await page.goto(f"{url}/?{SETUP}&t.epochs=2")
        await wait_idle(page, args.limit)
        await page.wait_for_function(f"() => ({LOSS_STATE})() !== null", timeout=args.limit * 1000)
        await open_chart_options(page)
        await page.locator("button:visible", has_text="Train").first.click()     # a short run of its own,
        await page.locator("[data-testid='stProgress']", has_text="completed").first.wait_for(
            timeout=args.limit * 1000)                                     # so the loss chart has an axis
        toggles, switches = [], []
        for _ in range(args.clicks):
            toggles.append(await toggle_latency(page, args.limit / 4))
            switches.append(await switch_latency(page, args.limit / 4))
            await asyncio.sleep(random.uniform(0.3, 0.8))
        return {"toggles": toggles, "switches": switches}
    finally:
        await context.close()


async def workers(args) -> None:
    from playwright.async_api import async_playwright

    n = args.background
    rows = []
    for condition in ("nothing training", "threads in the server", "worker processes"):
        folder = Path(tempfile.mkdtemp(prefix="rnn-workers-"))
        proc, url = start_server(folder, {"RNN_PLAYGROUND_MAX_RUNS": str(n + 1)})    # the observer's too
        outside: list[subprocess.Popen] = []
        try:
            async with async_playwright() as p:
                browser = await p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
                await warm_up(browser, url)
                bg = [{} for _ in range(n)] if condition != "nothing training" else []
                train = condition == "threads in the server"
                long = argparse.Namespace(**{**vars(args), "epochs": 500, "clicks": 0})
                tasks = [asyncio.create_task(student(browser, url, 0.5 * i, long, r, train=train))
                         for i, r in enumerate(bg)]
                await asyncio.sleep(3 + 0.5 * n)
                if condition == "worker processes":
                    outside = [subprocess.Popen(
                        [sys.executable, "-m", "rnn_core", "train", "--dataset", "sine", "--timesteps", "20",
                         "--hidden", "16", "--epochs", "500", "--batch-size", "32", "--seed", str(i)],
                        cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                        env={"OMP_NUM_THREADS": "1", "PATH": "/usr/bin:/bin"}) for i in range(n)]
                await asyncio.sleep(3)
                got = await observe(browser, url, args)
                for r in bg:
                    r["leave"] = True
                for t in tasks:
                    t.cancel()
                await asyncio.gather(*tasks, return_exceptions=True)
                await browser.close()
        finally:
            for w in outside:
                w.kill()
            stop_server(proc)
        t = [x for x in got["toggles"] if x is not None]
        s = [x for x in got["switches"] if x is not None]
        rows.append([condition, f"{fmt(percentile(t, 50))} / {fmt(percentile(t, 95))}",
                     f"{fmt(percentile(s, 50))} / {fmt(percentile(s, 95))}", len(t) + len(s)])
    print(table([f"while {n} runs train", "toggle→effect p50 / p95", "page switch p50 / p95", "samples"], rows))


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--students", default="1,4,8", help="comma-separated K values (one server each)")
    p.add_argument("--mode", choices=("classroom", "workers"), default="classroom")
    p.add_argument("--background", type=int, default=2, help="workers mode: runs training meanwhile")
    p.add_argument("--slots", type=int, default=0, help="admission slots (default: the server's, = CPUs)")
    p.add_argument("--epochs", type=int, default=10, help="epochs of each student's run")
    p.add_argument("--clicks", type=int, default=3, help="toggle clicks per student while training")
    p.add_argument("--arrival", type=float, default=5.0, help="students arrive over this many seconds")
    p.add_argument("--limit", type=float, default=180.0, help="seconds a student waits at most")
    p.add_argument("--settle", type=float, default=5.0, help="seconds after the last student left")
    p.add_argument("--seed", type=int, default=0)
    args = p.parse_args()
    reason = browser_missing_reason()
    if reason:
        print(f"load test skipped: {reason}")
        return
    random.seed(args.seed)
    if args.mode == "workers":
        asyncio.run(workers(args))
        return
    rows = []
    for k in [int(x) for x in args.students.split(",") if x.strip()]:
        t0 = time.monotonic()
        rows.append(asyncio.run(classroom(k, args)))
        print(f"K = {k}: {time.monotonic() - t0:.0f} s", flush=True)
    print_classroom(rows)


if __name__ == "__main__":
    main()
