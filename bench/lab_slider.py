"""How quickly the Gradient Lab answers a slider: one keyboard step until the page is idle again.

Not a test (nothing asserts a time): it prints what a user waits and what the server spent.

    .venv/bin/python -m bench.lab_slider --steps 8
    .venv/bin/python -m bench.lab_slider --sliders gain,timesteps --steps 5

A fresh `streamlit run app.py` (tests/conftest.py's `start_server`) and one headless Chromium page
(Debian's, through Playwright) on `/gradient-lab` with its defaults. After the page has drawn its charts
(and one step of every slider, not measured: the server's first Lab run imports and warms what it
needs), each slider named by --sliders gets --steps presses of the right arrow key on its thumb, one at
a time: every press gives a value the page has not shown before (nothing is answered from a cache of
that very value). Measured per press: the time from the key press until the page's script has run and
is idle again (Streamlit's `data-test-script-state` changed, to "running", and is "notRunning") and the
browser has drawn what it was sent (two frames painted, then its main thread's first idle moment), the
server process's CPU time over that interval (utime + stime, /proc/<pid>/stat), and the CPU time of this
bench's own Chromium processes (the descendants of this process named chromium or headless_shell: the
browser draws the page's three charts, the two at the top and the open tab's, again at every step, on the
same cores). p50 and max per slider; CPU time is
the steadier figure on a shared machine.

Leaves to others: the server helpers and Chromium flags (tests/conftest.py).
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

from bench.common import ROOT, table
from bench.redraw_cost import TICK, cpu_seconds

sys.path.insert(0, str(ROOT))
from tests.conftest import CHROMIUM, CHROMIUM_ARGS, IDLE, browser_missing_reason, start_server, stop_server

LABELS = {"gain": "Gain", "timesteps": "Timesteps T", "hidden_size": "Hidden size H",
          "forget_bias": "Forget-gate bias (LSTM)", "input_scale": "Input scale", "seeds": "Seeds"}
# A run began: any change of the app's script state after the press (a run quicker than Playwright's polling
# would go to "running" and back unseen, and a wait for "running" would wait for ever).
WATCH_RUN = """() => { window.__ran = false; const app = document.querySelector("[data-testid='stApp']");
  new MutationObserver((_, seen) => { window.__ran = true; seen.disconnect(); })
    .observe(app, {attributes: true, attributeFilter: ['data-test-script-state']}); }"""
# After the script's run: until the charts are drawn (a chart is drawn after the run that sent it, by
# Streamlit's element or by ours) and the page has painted: two frames, then the main thread's first idle.
SETTLED = """() => new Promise(done => requestAnimationFrame(() => requestAnimationFrame(() =>
  requestIdleCallback(done, {timeout: 5000}))))"""


def thumb(page, name: str):
    """The thumb of the Lab slider `name` (an <input type=range> named by its aria-label)."""
    return page.locator(f"[data-testid='stSlider'] input[type='range'][aria-label='{LABELS[name]}']").first


def browser_cpu_seconds() -> float:
    """utime + stime of this process's Chromium descendants (another engineer's browser is not counted)."""
    procs: dict[int, tuple[int, str, float]] = {}              # pid → (parent, name, CPU seconds)
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            head, tail = (entry / "stat").read_text().rsplit(")", 1)
        except (OSError, ValueError):                        # not a process, or gone meanwhile
            continue
        f = tail.split()
        procs[int(entry.name)] = (int(f[1]), head.split("(", 1)[1], (int(f[11]) + int(f[12])) / TICK)
    me, total = os.getpid(), 0.0
    for parent, name, cpu in procs.values():
        while parent not in (0, 1, me) and parent in procs:
            parent = procs[parent][0]
        if parent == me and ("chrom" in name or "headless" in name):
            total += cpu
    return total


def press(page, name: str, pid: int, limit: float) -> tuple[float, float, float]:
    """One right-arrow press on slider `name`: (seconds until idle again, server CPU seconds, Chromium CPU
    seconds)."""
    handle = thumb(page, name)
    handle.focus()
    page.evaluate(WATCH_RUN)
    cpu, browser, t0 = cpu_seconds(pid), browser_cpu_seconds(), time.monotonic()
    handle.press("ArrowRight")
    page.wait_for_function("() => window.__ran", timeout=limit * 1000)
    page.wait_for_selector(IDLE, timeout=limit * 1000)
    page.evaluate(SETTLED)
    wall = time.monotonic() - t0
    return wall, cpu_seconds(pid) - cpu, browser_cpu_seconds() - browser


def measure(url: str, pid: int, args) -> dict[str, list[tuple[float, float, float]]]:
    from playwright.sync_api import sync_playwright

    sliders = [s.strip() for s in args.sliders.split(",") if s.strip()]
    out: dict[str, list[tuple[float, float, float]]] = {}
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        page = browser.new_page(viewport={"width": 1400, "height": 1000})
        page.goto(f"{url}/gradient-lab")
        page.wait_for_selector(IDLE, timeout=args.limit * 1000)
        page.wait_for_function("() => document.querySelectorAll('.js-plotly-plot').length >= 3",
                               timeout=args.limit * 1000)
        for name in sliders:                          # warm-up: one step each, not measured
            press(page, name, pid, args.limit)
        for name in sliders:
            out[name] = [press(page, name, pid, args.limit) for _ in range(args.steps)]
            time.sleep(0.3)
        browser.close()
    return out


def _row(label: str, xs: list[tuple[float, float, float]]) -> list:
    """p50 / max of each measure over the steps `xs`."""
    def cell(i: int, unit: str) -> str:
        values = [x[i] for x in xs]
        if unit == "s":
            return f"{statistics.median(values):.2f} s / {max(values):.2f} s"
        return f"{1000 * statistics.median(values):.0f} ms / {1000 * max(values):.0f} ms"
    return [label, len(xs), cell(0, "s"), cell(1, "ms"), cell(2, "ms")]


def report(out: dict[str, list[tuple[float, float, float]]]) -> None:
    rows = [_row(LABELS[name], xs) for name, xs in out.items()]
    rows.append(_row("all sliders", [x for xs in out.values() for x in xs]))
    print(table(["slider (one right-arrow step)", "steps", "key → idle p50 / max", "server CPU p50 / max",
                 "Chromium CPU p50 / max"], rows))


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--sliders", default="gain,timesteps,hidden_size,input_scale,seeds",
                   help=f"comma-separated, of: {', '.join(LABELS)}")
    p.add_argument("--steps", type=int, default=8, help="key presses per slider")
    p.add_argument("--limit", type=float, default=120.0, help="seconds to wait for the page at most")
    p.add_argument("--quick", action="store_true", help="the gain slider, two steps (smoke test)")
    return p.parse_args(argv)


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    reason = browser_missing_reason()
    if reason:
        print(f"lab slider benchmark skipped: {reason}")
        return
    if args.quick:
        args.sliders, args.steps = "gain", 2
    folder = Path(tempfile.mkdtemp(prefix="rnn-lab-"))
    proc, url = start_server(folder)
    try:
        out = measure(url, proc.pid, args)
    finally:
        stop_server(proc)
    report(out)
    print(f"(load average {os.getloadavg()[0]:.1f} at the end; Chromium runs on the same machine)")


if __name__ == "__main__":
    main()
