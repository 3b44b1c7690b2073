"""What a browser watching a live run costs: its CPU, how often each chart is drawn, and what one draw costs.

Not a test (nothing asserts a time): it prints what one Chromium page spends while it watches a run train.

    .venv/bin/python -m bench.browser_watch                      # the vanishing preset, 60 epochs
    .venv/bin/python -m bench.browser_watch --preset exploding --epochs 0 --seconds 5

A fresh `streamlit run app.py` (tests/conftest.py's `start_server`, its own empty run store) and one headless
Chromium page (Debian's, through Playwright, 1300 × 900) on the preset's link (with `t.epochs=--epochs`, so
that the run outlasts the window; 0: the preset's own). It presses Train, waits --settle s, then over
--seconds s counts: the CPU time of this bench's Chromium processes and of the server process (utime +
stime, as a share of one core), and every Plotly draw of each chart (`plotly_afterplot`: Streamlit draws a
chart whose data changed as a new element, and draws each new element twice). Then each chart as it stands
is drawn again, alone, on a blank page with Plotly's own bundle (`Plotly.newPlot`, mean of three): its cost
without the app around it. Per chart: draws per second × that cost = the share of the browser's second it
asks for.

Leaves to others: the server helpers and Chromium flags (tests/conftest.py), the CPU readers
(bench/lab_slider.py, bench/redraw_cost.py).
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

from bench.common import ROOT, table
from bench.lab_slider import browser_cpu_seconds
from bench.redraw_cost import cpu_seconds

sys.path.insert(0, str(ROOT))
from tests.conftest import CHROMIUM, CHROMIUM_ARGS, IDLE, browser_missing_reason, start_server, stop_server

COUNT_DRAWS = """() => { window.__draws = {};
  const title = gd => ((gd.layout.title || {}).text || '?').replace(/<[^>]+>/g, '').split(':')[0].slice(0, 48);
  const hook = gd => { if (gd.__counted) return; gd.__counted = 1;
    gd.on && gd.on('plotly_afterplot', () => {
      const t = title(gd); window.__draws[t] = (window.__draws[t] || 0) + 1; }); };
  new MutationObserver(() => document.querySelectorAll('.js-plotly-plot').forEach(hook))
    .observe(document.body, {subtree: true, childList: true});
  document.querySelectorAll('.js-plotly-plot').forEach(hook); }"""
FIGURES = """() => [...document.querySelectorAll('.js-plotly-plot')].map(gd => ({
  title: ((gd.layout.title || {}).text || '?').replace(/<[^>]+>/g, '').split(':')[0].slice(0, 48),
  data: gd.data, layout: Object.assign({}, gd.layout, {width: gd._fullLayout.width})}))"""
DRAW_ALONE = """async (figures) => { const out = {};
  for (let rep = 0; rep < 4; rep++) for (const f of figures) {
    const div = document.createElement('div'); document.body.appendChild(div);
    const t0 = performance.now();
    await Plotly.newPlot(div, JSON.parse(JSON.stringify(f.data)), JSON.parse(JSON.stringify(f.layout)));
    if (rep > 0) out[f.title] = (out[f.title] || 0) + (performance.now() - t0) / 3;
    Plotly.purge(div); div.remove(); }
  return out; }"""


def watch(url: str, pid: int, args) -> tuple[float, float, dict, dict]:
    """(Chromium's CPU share, the server's CPU share, draws per chart, ms per draw alone) over the window."""
    import plotly
    from playwright.sync_api import sync_playwright

    bundle = Path(plotly.__file__).parent / "package_data" / "plotly.min.js"
    link = f"{url}/?preset={args.preset}" + (f"&t.epochs={args.epochs}" if args.epochs else "")
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        page = browser.new_page(viewport={"width": 1300, "height": 900})
        page.goto(link)
        page.wait_for_selector(IDLE, timeout=args.limit * 1000)
        time.sleep(1)
        page.locator("button:visible", has_text="Train").first.click()
        time.sleep(args.settle)
        page.evaluate(COUNT_DRAWS)
        browser0, server0, t0 = browser_cpu_seconds(), cpu_seconds(pid), time.monotonic()
        time.sleep(args.seconds)
        wall = time.monotonic() - t0
        browser_share, server_share = (browser_cpu_seconds() - browser0) / wall, (cpu_seconds(pid) - server0) / wall
        draws = {k: v / wall for k, v in page.evaluate("() => window.__draws").items()}
        figures = page.evaluate(FIGURES)
        blank = browser.new_page(viewport={"width": 1300, "height": 900})
        blank.set_content("<html><body></body></html>")
        blank.add_script_tag(path=str(bundle))
        alone = blank.evaluate(DRAW_ALONE, json.loads(json.dumps(figures)))
        browser.close()
    return browser_share, server_share, draws, alone


def report(browser_share: float, server_share: float, draws: dict, alone: dict, args) -> None:
    charts = sorted(set(draws) | set(alone), key=lambda t: -draws.get(t, 0) * alone.get(t, 0))
    rows = [[t, f"{draws.get(t, 0):.1f}", f"{alone.get(t, 0):.0f} ms", f"{draws.get(t, 0) * alone.get(t, 0):.0f} ms"]
            for t in charts]
    total = sum(draws.get(t, 0) * alone.get(t, 0) for t in charts)
    rows.append(["all charts", f"{sum(draws.values()):.1f}", "", f"{total:.0f} ms"])
    print(table(["chart", "draws / s", "one draw, alone", "asks per second"], rows))
    print(f"Over {args.seconds:.0f} s of {args.preset} training: Chromium used {100 * browser_share:.0f} % of one "
          f"core, the server {100 * server_share:.0f} % (the run's worker process not counted)")


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--preset", default="vanishing")
    p.add_argument("--epochs", type=int, default=60, help="the run's epochs (0: the preset's own)")
    p.add_argument("--settle", type=float, default=8.0, help="seconds of training before the window")
    p.add_argument("--seconds", type=float, default=10.0, help="the window")
    p.add_argument("--limit", type=float, default=120.0, help="seconds to wait for the page at most")
    return p.parse_args(argv)


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    reason = browser_missing_reason()
    if reason:
        print(f"browser watch benchmark skipped: {reason}")
        return
    folder = Path(tempfile.mkdtemp(prefix="rnn-watch-"))
    proc, url = start_server(folder, {"RNN_PLAYGROUND_RUN_STORE": str(folder / "runs")})
    try:
        result = watch(url, proc.pid, args)
    finally:
        stop_server(proc)
    report(*result, args)


if __name__ == "__main__":
    main()
