"""A classroom against one server: K students open the app, train a small run, click meanwhile, leave.

Not a test (nothing asserts a time): it prints what K students felt and what the server did.

    .venv/bin/python -m bench.load_test --students 1,4,8,16         # websocket students (default)
    .venv/bin/python -m bench.load_test --students 1,4 --clients browser     # Chromium students
    .venv/bin/python -m bench.load_test --students 4 --mode workers --background 2
    .venv/bin/python -m bench.load_test --students 32 --distinct     # 32 different runs (one seed each)
    .venv/bin/python -m bench.load_test --students 64 --preset vanishing   # 64 students, one preset
    .venv/bin/python -m bench.load_test --mode switch --background 4 --preset vanishing --preset-epochs 60 --clicks 8

Classroom mode (default). For each K a fresh `streamlit run app.py` on loopback (tests/conftest.py's
`start_server`, admission slots from --slots, default: the CPUs; its own empty run store), one warm-up
visit, then K students arriving spread over --arrival seconds. Each opens a Playground link with a small
setup (sine, T = 20, H = 16, --epochs epochs; with --distinct each student its own seed, so no two share
a run; with --preset NAME the preset's link instead), presses **Train**, and while the run is queued or
training clicks the "Log loss axis" toggle --clicks times and switches to Learn and back once, then waits
for "completed" and leaves.
Measured: click → the loss chart's y axis changed type (the toggle's effect), click → Learn's title (a
page switch), Train → the status bar shows the run (queued or running), Train → first loss point (queue
wait included), Train → status "running" (the queue wait). Runs completed = students that saw
"completed" within --limit s. Computed = students whose status line did not say "replay" (they started
the computation of their run; every other student replayed one, `rnn_core/serve/shared.py`). The
server's RSS and thread count come from /proc/<pid>/status before the students come, during (max), and
--settle s after the last has left.

--clients ws (default): each student is a `bench.st_client.Session`, Streamlit's own websocket protocol
spoken from this process (BackMsg / ForwardMsg protobufs; fragment timers as the frontend runs them);
times are taken when the delta arrives, before any browser would draw it, and the clients cost the
machine almost nothing (their CPU is printed). --clients browser: each student is a context of one
headless Chromium (Debian's, through Playwright), times taken when the page shows the change; on a
small machine the K browsers compete with the server for the cores, so their figures are mostly the
browsers' own cost.

Workers mode (threads inside the Streamlit process or separate processes?): one observer tab
measures page switches and toggles while --background runs train (a) as LiveRun threads inside the
server (--background other tabs pressed Train), (b) as separate OS processes (`python -m rnn_core
train`, the same setup; the other tabs stay open and idle), and (c) with nothing training. (b) stands
for a worker-process design; it lacks the redraw traffic of (a), so it is its best case. This mode
always drives Chromium.

Leaves to others: the app; the server helpers and Chromium flags (tests/conftest.py); the protocol
(bench/st_client.py).
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
from collections import Counter
from pathlib import Path

from bench.common import ROOT, table
from bench.st_client import FINISHED, STATUS, Session
from rnn_core.serve.admission import cpus

sys.path.insert(0, str(ROOT))
from tests.conftest import CHROMIUM, CHROMIUM_ARGS, IDLE, RUN_STATUS, browser_missing_reason, start_server, stop_server

SETUP = "d.dataset=sine&d.timesteps=20&m.hidden_size=16&d.params.length=800&t.batch_size=32&t.probe_every=2"

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
    m = STATUS.search(await progress_text(page))
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
    with contextlib.suppress(Exception):        # back on the Playground (a slow return is not this switch's time)
        await page.wait_for_function(f"() => ({RUN_STATUS})('pg') !== ''", timeout=timeout * 1000)
    return took


def link(args, i: int) -> str:
    """Student i's link: the preset's, or the small setup (its own seed with --distinct)."""
    if args.preset:
        epochs = getattr(args, "preset_epochs", 0)
        return f"preset={args.preset}" + (f"&t.epochs={epochs}" if epochs else "")
    return f"{SETUP}&t.epochs={args.epochs}" + (f"&t.seed={i}" if args.distinct else "")


def note(out: dict, status: str, points: int, now: float, progress: str = "") -> None:
    """What one look at a student's page says about the run, `now` s after Train: the status bar shown
    (the click took effect), queued → running (the queue wait), the first loss point, the end."""
    if status and "status_shown" not in out:
        out["status_shown"] = now
    if status == "queued":
        out["was_queued"] = True
    if status in ("running", "completed") and "queue_wait" not in out:
        out["queue_wait"] = now if "was_queued" in out else 0.0
    if points > 0 and "first_point" not in out:
        out["first_point"] = now
    if status in FINISHED:
        out["status"] = status
    if "replay of" in progress:
        out["replayed"] = True


async def progress_text(page) -> str:
    """The run's status line: the progress bar while it trains, the scrubber's label once it has ended
    (tests.conftest.RUN_STATUS)."""
    return await page.evaluate(RUN_STATUS, "pg")


async def watch(page, out: dict, t_click: float, limit: float) -> None:
    """Every 0.1 s: `note` what the page shows."""
    while time.monotonic() - t_click < limit and "status" not in out:
        state, text = await loss_state(page), await progress_text(page)
        m = STATUS.search(text)
        note(out, m.group(1) if m else "", (state or {}).get("points", 0), time.monotonic() - t_click, text)
        await asyncio.sleep(0.1)


async def student(browser, url: str, delay: float, args, out: dict, train: bool = True, i: int = 0) -> None:
    await asyncio.sleep(delay)
    context = await browser.new_context(viewport={"width": 1300, "height": 900})
    page = await context.new_page()
    page.set_default_timeout(args.limit * 1000)
    try:
        await page.goto(f"{url}/?{link(args, i)}")
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


# ------------------------------------------------------------------------- one student, no browser
async def ws_toggle(s: Session, timeout: float) -> float | None:
    """Flip "Log loss axis"; seconds until a loss chart delta with the other y axis type arrived."""
    before = s.loss["axis"]
    t0 = await s.set_bool("Log loss axis", before != "log")
    at = await s.until(lambda s: s.loss is not None and s.loss["axis"] != before, timeout)
    return None if at is None else at - t0


async def ws_switch(s: Session, timeout: float) -> float | None:
    """Open Learn; seconds until its title arrived; then back to the Playground (until its status bar)."""
    t0 = await s.switch_page("Learn")
    at = await s.until(lambda s: s.heading("Learn"), timeout)
    await s.switch_page("Playground")
    await s.until(lambda s: s.status() != "", timeout)
    return None if at is None else at - t0


async def ws_student(url: str, delay: float, args, out: dict, i: int = 0) -> None:
    """The browser student's visit (`student`) over the websocket (`bench.st_client.Session`)."""
    await asyncio.sleep(delay)
    try:
        async with Session(url) as s:
            if await s.open(link(args, i), args.limit) is None:
                raise TimeoutError(f"the page's first script run did not finish within {args.limit:.0f} s")
            if s.loss is None:
                raise RuntimeError("the page's first script run drew no loss chart"
                                   + "".join(f"; it shows {e}" for e in s.exceptions()[:1]))
            t_click = await s.click("Train")
            s.listen(lambda s, at: note(out, s.status(), (s.loss or {}).get("points", 0), at - t_click,
                                        s.last_progress))
            clicks_left, switched = args.clicks, False
            while time.monotonic() - t_click < args.limit and "status" not in out and not s.closed.is_set():
                drawn = bool(s.loss and s.loss["points"] > 0)      # the empty chart ignores the axis option
                if clicks_left and drawn:
                    out.setdefault("toggles", []).append(await ws_toggle(s, args.limit / 4))
                    clicks_left -= 1
                elif drawn and not switched:
                    out["switch"] = await ws_switch(s, args.limit / 4)
                    switched = True
                await asyncio.sleep(random.uniform(0.2, 0.6))
            await s.until(lambda s: not s.running, args.limit / 4)   # the rest of the run that said "completed"
            out["done_at"] = time.monotonic() - t_click
    except Exception as exc:          # a student that broke is reported, not fatal
        out["error"] = f"{type(exc).__name__}: {(str(exc).splitlines() or [''])[0][:120]}"


# ------------------------------------------------------------------------------------- classroom
async def warm_up(browser, url: str, pause: float = 8) -> None:
    """One visit before measuring: the server's first page load imports the app and warms torch up
    (a one-off cost of a fresh process that a classroom meets only if it arrives with the server)."""
    context = await browser.new_context()
    page = await context.new_page()
    await page.goto(url)
    await wait_idle(page)
    await context.close()
    await asyncio.sleep(pause)


def arrivals(k: int, args) -> list[float]:
    return sorted(random.uniform(0, args.arrival) for _ in range(k))


async def browser_room(url: str, k: int, args, results: list[dict], sampler: ProcSampler) -> tuple:
    """K Chromium students (one browser, a context each) after one warm-up visit; the server's
    (RSS, threads) before they came."""
    from playwright.async_api import async_playwright

    async with async_playwright() as p:
        browser = await p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        await warm_up(browser, url, args.warm)
        before = sampler.read()
        with sampler:
            await asyncio.gather(*(student(browser, url, d, args, r, i=i)
                                   for i, (d, r) in enumerate(zip(arrivals(k, args), results))))
        await browser.close()
    return before


async def ws_room(url: str, k: int, args, results: list[dict], sampler: ProcSampler) -> tuple:
    """K websocket students after one warm-up visit (as `warm_up`); the server's (RSS, threads) before."""
    async with Session(url) as s:
        await s.open("", args.limit)
    await asyncio.sleep(args.warm)
    before = sampler.read()
    with sampler:
        await asyncio.gather(*(ws_student(url, d, args, r, i=i)
                               for i, (d, r) in enumerate(zip(arrivals(k, args), results))))
    return before


async def classroom(k: int, args) -> dict:
    folder = Path(tempfile.mkdtemp(prefix="rnn-load-"))
    # explicit: importing tests.conftest sets a generous default for the test suite's own servers
    env = {"RNN_PLAYGROUND_MAX_RUNS": str(args.slots or cpus()), "RNN_PLAYGROUND_RUN_STORE": str(folder / "runs")}
    proc, url = start_server(folder, env)
    results = [{} for _ in range(k)]
    room = ws_room if args.clients == "ws" else browser_room
    try:
        sampler = ProcSampler(proc.pid)
        wall, cpu = time.monotonic(), time.process_time()
        before = await room(url, k, args, results, sampler)
        wall, cpu = time.monotonic() - wall, time.process_time() - cpu
        await asyncio.sleep(args.settle)
        after = sampler.read()
    finally:
        stop_server(proc)
    row = summarise(k, results, before, sampler.samples, after)
    row["client cpu"] = (cpu, wall) if args.clients == "ws" else None    # Chromium's own CPU is not ours
    row["server errors"] = server_errors((folder / "streamlit.log").read_text(errors="replace"))
    return row


def server_errors(log: str) -> list[str]:
    """The last line of each traceback in a server log (e.g. a page script that raised: its students
    then wait in vain for the page's charts — what an edit to the page files mid-run looks like, since
    Streamlit reads them again on every run)."""
    errors, last = [], ""
    for line in log.splitlines():
        if line.startswith("Traceback"):
            last = "…"
        elif last and line and not line.startswith((" ", "\t")):
            errors.append(line.strip())
            last = ""
    return errors


def summarise(k: int, results: list[dict], before, during, after) -> dict:
    clicks = [x for r in results for x in r.get("toggles", []) if x is not None]
    lost = sum(1 for r in results for x in r.get("toggles", []) if x is None)
    switches = [r["switch"] for r in results if r.get("switch") is not None]
    firsts = [r["first_point"] for r in results if "first_point" in r]
    shown = [r["status_shown"] for r in results if "status_shown" in r]
    waits = [r["queue_wait"] for r in results if "queue_wait" in r]
    errors = [r["error"] for r in results if "error" in r]
    rss = [s[0] for s in during] or [float("nan")]
    threads = [s[1] for s in during] or [0]
    return {"K": k, "click p50": percentile(clicks, 50), "click p95": percentile(clicks, 95),
            "clicks": len(clicks), "clicks lost": lost, "switch p50": percentile(switches, 50),
            "switch p95": percentile(switches, 95), "status p50": percentile(shown, 50),
            "status p95": percentile(shown, 95), "first point p50": percentile(firsts, 50),
            "first point max": max(firsts, default=float("nan")),
            "completed": sum(r.get("status") in ("completed", "diverged") for r in results),
            "computed": sum(1 for r in results if "status_shown" in r and not r.get("replayed")),
            "queued": sum(bool(r.get("was_queued")) for r in results),
            "wait mean": statistics.fmean(waits) if waits else float("nan"), "wait max": max(waits, default=0.0),
            "rss": (before[0], max(rss), after[0]), "threads": (before[1], max(threads), after[1]),
            "errors": errors}


def print_classroom(rows: list[dict]) -> None:
    print(table(["K", "click→effect p50 / p95", "page switch p50 / p95", "Train→status p50 / p95",
                 "Train→first point p50 / max",
                 "completed", "computed", "queued (mean / max wait)", "RSS MB before/max/after", "threads b/max/a"],
                [[r["K"], f"{fmt(r['click p50'])} / {fmt(r['click p95'])} ({r['clicks']} clicks"
                  + (f", {r['clicks lost']} no effect)" if r["clicks lost"] else ")"),
                  f"{fmt(r['switch p50'])} / {fmt(r['switch p95'])}",
                  f"{fmt(r['status p50'])} / {fmt(r['status p95'])}",
                  f"{fmt(r['first point p50'])} / {fmt(r['first point max'])}", f"{r['completed']}/{r['K']}",
                  f"{r['computed']}/{r['K']}",
                  f"{r['queued']} ({fmt(r['wait mean'])} / {fmt(r['wait max'])})",
                  "/".join(f"{x:.0f}" for x in r["rss"]), "/".join(str(x) for x in r["threads"])]
                 for r in rows]))
    for r in rows:
        if r.get("client cpu"):
            cpu, wall = r["client cpu"]
            print(f"K = {r['K']}: the websocket clients used {cpu:.1f} s CPU in {wall:.0f} s "
                  f"({100 * cpu / max(wall, 1e-9):.0f} % of one core)")
        for e in r["errors"]:
            print(f"K = {r['K']}: a student failed: {e}")
        for e, n in Counter(r.get("server errors", [])).items():
            print(f"K = {r['K']}: the server logged {n} × {e}")
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
        await page.locator("button:visible", has_text="Train").first.click()  # a short run: the loss chart gets an axis
        await page.wait_for_function(f"() => ({RUN_STATUS})('pg').includes('completed')",
                                     timeout=args.limit * 1000)
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


async def switch_room(args) -> None:
    """--mode switch: --background Chromium students train (the --preset, or the small setup with
    --distinct seeds) while an observer tab in the same browser switches to Learn and back --clicks
    times; its page switch p50 / max, and how many runs the room computed. Each switch is printed with
    the number of the room's runs still training then: a preset's own run can end before the switches
    do (the vanishing preset's 12 epochs take ~15 s), so --preset-epochs keeps the room training."""
    from playwright.async_api import async_playwright

    folder = Path(tempfile.mkdtemp(prefix="rnn-switch-"))
    proc, url = start_server(folder, {"RNN_PLAYGROUND_MAX_RUNS": str(args.slots or cpus()),
                                      "RNN_PLAYGROUND_RUN_STORE": str(folder / "runs")})
    try:
        async with async_playwright() as p:
            browser = await p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
            await warm_up(browser, url, args.warm)
            room = [{} for _ in range(args.background)]
            long = argparse.Namespace(**{**vars(args), "clicks": 0})
            tasks = [asyncio.create_task(student(browser, url, 0.5 * i, long, r, i=i)) for i, r in enumerate(room)]
            await asyncio.sleep(3 + 0.5 * args.background)
            context = await browser.new_context(viewport={"width": 1300, "height": 900})
            page = await context.new_page()
            await page.goto(f"{url}/?{SETUP}&t.epochs=2")
            await wait_idle(page, args.limit)
            running = [r for r in room if "status" not in r]
            switches = []
            for _ in range(args.clicks):
                switches.append(await switch_latency(page, args.limit / 4))
                training = sum("status" not in r for r in room)
                print(f"switch {len(switches)}: {fmt(switches[-1])} ({training} of the room's runs training)",
                      flush=True)
                await asyncio.sleep(random.uniform(0.3, 0.8))
            still = sum("status" not in r for r in room)
            await context.close()
            for t in tasks:
                t.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
            await browser.close()
    finally:
        stop_server(proc)
    s = [x for x in switches if x is not None]
    computed = sum(1 for r in room if "status_shown" in r and not r.get("replayed"))
    print(table([f"{args.background} Chromium students train {args.preset or 'the small setup'}",
                 "observer's page switch p50 / max", "switches", "room's runs computed / replayed"],
                [["", f"{fmt(percentile(s, 50))} / {fmt(max(s, default=float('nan')))}", len(s),
                  f"{computed} / {args.background - computed}"]]))
    print(f"{len(running)} of the room's runs were training when the observer began, {still} when it ended")


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--students", default="1,4,8", help="comma-separated K values (one server each)")
    p.add_argument("--clients", choices=("ws", "browser"), default="ws",
                   help="ws: Streamlit's websocket protocol from this process; browser: Chromium contexts")
    p.add_argument("--mode", choices=("classroom", "workers", "switch"), default="classroom")
    p.add_argument("--background", type=int, default=2, help="workers mode: runs training meanwhile")
    p.add_argument("--slots", type=int, default=0, help="admission slots (default: the server's, = CPUs)")
    p.add_argument("--epochs", type=int, default=10, help="epochs of each student's run")
    p.add_argument("--preset-epochs", type=int, default=0,
                   help="with --preset: its run trains this many epochs (0: the preset's own); switch mode "
                        "uses it to keep the room training while the observer switches")
    p.add_argument("--distinct", action="store_true", help="each student trains its own seed (no run shared)")
    p.add_argument("--preset", default="", help="every student opens this Playground preset instead")
    p.add_argument("--clicks", type=int, default=3, help="toggle clicks per student while training")
    p.add_argument("--arrival", type=float, default=5.0, help="students arrive over this many seconds")
    p.add_argument("--limit", type=float, default=180.0, help="seconds a student waits at most")
    p.add_argument("--warm", type=float, default=8.0, help="seconds after the warm-up visit (torch's imports)")
    p.add_argument("--settle", type=float, default=5.0, help="seconds after the last student left")
    p.add_argument("--seed", type=int, default=0)
    return p.parse_args(argv)


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    reason = browser_missing_reason() if args.clients == "browser" or args.mode != "classroom" else None
    if reason:
        print(f"load test skipped: {reason}")
        return
    random.seed(args.seed)
    if args.mode == "workers":
        asyncio.run(workers(args))
        return
    if args.mode == "switch":
        asyncio.run(switch_room(args))
        return
    rows = []
    for k in [int(x) for x in args.students.split(",") if x.strip()]:
        t0 = time.monotonic()
        rows.append(asyncio.run(classroom(k, args)))
        print(f"K = {k}: {time.monotonic() - t0:.0f} s", flush=True)
    print(f"{args.clients} clients, {args.slots or cpus()} admission slots, {args.epochs} epochs a run")
    print_classroom(rows)


if __name__ == "__main__":
    main()
