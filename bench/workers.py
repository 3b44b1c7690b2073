"""Threads or worker processes: what an observer's click feels like while other tabs' runs train.

Not a test (nothing asserts a time). For each condition a fresh `streamlit run app.py` on loopback
(tests/conftest.py's `start_server`) and one headless Chromium (Debian's, through Playwright):
--background tabs open a Playground link with a long small run (sine, T = 20, H = 16, 500 epochs) and
press **Train**; then an observer tab trains a 2-epoch run of its own (so its loss chart has an axis)
and, --settle s later, clicks the "Log loss axis" toggle --clicks times, measuring click → the loss
chart's y axis changed type, in the page, and the background runs' steps per second meanwhile (from their
progress bars). Conditions: nothing training; the runs on threads inside the
server (RNN_PLAYGROUND_WORKERS=0); the runs in worker processes (the default, `rnn_core.serve.workers`).
Admission slots are --background + 1, so every run computes at once.

    .venv/bin/python -m bench.workers                      # 2 runs in the background, 6 clicks
    .venv/bin/python -m bench.workers --background 4 --clicks 10
Leaves to others: the app; the server helpers and Chromium flags (tests/conftest.py); the classroom
load test (bench/load_test.py).
"""

from __future__ import annotations

import argparse
import asyncio
import random
import re
import sys
import tempfile
import time
from pathlib import Path

from bench.common import ROOT, median, table

sys.path.insert(0, str(ROOT))
from tests.conftest import CHROMIUM, CHROMIUM_ARGS, IDLE, RUN_STATUS, browser_missing_reason, start_server, stop_server

SETUP = "d.dataset=sine&d.timesteps=20&m.hidden_size=16&d.params.length=800&t.batch_size=32&t.probe_every=2"
CONDITIONS = {"nothing training": None, "threads in the server": "0", "worker processes": "1"}
STEP = re.compile(r"step (\d+)/")
AXIS = """() => {
  for (const gd of document.querySelectorAll('.js-plotly-plot')) {
    const title = (gd.layout && gd.layout.title && gd.layout.title.text) || '';
    if (title.replace(/<[^>]+>/g, '') === 'Loss') return (gd._fullLayout && gd._fullLayout.yaxis.type) || null;
  }
  return null;
}"""


async def open_tab(browser, url: str, epochs: int, limit: float):
    context = await browser.new_context(viewport={"width": 1300, "height": 900})
    page = await context.new_page()
    page.set_default_timeout(limit * 1000)
    await page.goto(f"{url}/?{SETUP}&t.epochs={epochs}")
    await page.wait_for_selector(IDLE)
    return context, page


async def train(page) -> None:
    await page.locator("button:visible", has_text="Train").first.click()


async def toggle_latency(page, timeout: float) -> float | None:
    """Click "Log loss axis"; seconds until the loss chart's y axis changed type (None: never)."""
    before = await page.evaluate(AXIS)
    t0 = time.monotonic()
    await page.get_by_label("Log loss axis").dispatch_event("click")   # a DOM click: the page redraws
    while time.monotonic() - t0 < timeout:
        now = await page.evaluate(AXIS)
        if now and now != before:
            return time.monotonic() - t0
        await asyncio.sleep(0.02)
    return None


async def steps(pages) -> int:
    """Optimiser steps the background tabs' runs have taken, from their progress bars."""
    total = 0
    for page in pages:
        m = STEP.search(await page.evaluate(RUN_STATUS, "pg"))
        total += int(m.group(1)) if m else 0
    return total


async def condition(workers: str | None, args) -> tuple[list[float | None], float]:
    """The observer's click latencies while --background runs train (none when `workers` is None), and
    the background runs' steps per second meanwhile."""
    from playwright.async_api import async_playwright

    env = {"RNN_PLAYGROUND_MAX_RUNS": str(args.background + 1), "RNN_PLAYGROUND_WORKERS": workers or "1"}
    proc, url = start_server(Path(tempfile.mkdtemp(prefix="rnn-workers-")), env)
    try:
        async with async_playwright() as p:
            browser = await p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
            tabs = [await open_tab(browser, url, 500, args.limit) for _ in range(args.background if workers else 0)]
            for _, page in tabs:
                await train(page)
            _, observer = await open_tab(browser, url, 2, args.limit)
            await observer.locator("summary", has_text="Chart options").first.click()
            await train(observer)
            await observer.wait_for_function(f"() => ({RUN_STATUS})('pg').includes('completed')")
            await asyncio.sleep(args.settle)            # the runs under way, spare workers started
            out, pages = [], [page for _, page in tabs]
            t0, s0 = time.monotonic(), await steps(pages)
            for _ in range(args.clicks):
                out.append(await toggle_latency(observer, args.limit / 4))
                await asyncio.sleep(random.uniform(0.3, 0.8))
            rate = (await steps(pages) - s0) / (time.monotonic() - t0)
            await browser.close()
    finally:
        stop_server(proc)
    return out, rate


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--background", type=int, default=2, help="runs training in other tabs")
    p.add_argument("--clicks", type=int, default=6, help="observer clicks per condition")
    p.add_argument("--limit", type=float, default=120.0, help="seconds a wait may take at most")
    p.add_argument("--settle", type=float, default=20.0,
                   help="seconds between the observer's own run and its clicks (workers' start-up is over)")
    args = p.parse_args()
    reason = browser_missing_reason()
    if reason:
        print(f"bench skipped: {reason}")
        return
    random.seed(0)
    rows = []
    for name, workers in CONDITIONS.items():
        got, rate = asyncio.run(condition(workers, args))
        ok = sorted(x for x in got if x is not None)
        rows.append([name, f"{median(ok):.2f} s" if ok else "—", f"{ok[-1]:.2f} s" if ok else "—",
                     f"{len(ok)} / {len(got)}", f"{rate:.0f}" if workers else "—"])
    print(table([f"while {args.background} runs train", "click → effect median", "max", "took effect",
                 "their steps/s"], rows))


if __name__ == "__main__":
    main()
