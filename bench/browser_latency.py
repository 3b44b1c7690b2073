"""Latency a user feels, in a real browser: from clicking Train to the first loss point on screen, and
the redraw rate of the loss chart while the run trains.

Starts `streamlit run app.py` on a free loopback port (tests/conftest.py's `start_server`), drives
Debian's Chromium through Playwright (never a downloaded browser), opens the Playground (the app's
default page, URL path /) with the default settings (sine, T = 50, Elman tanh, H = 32; epochs from
--epochs through the URL), and installs a poller in the page that every 20 ms reads the loss chart's
Plotly data (`gd.data` of the chart titled "Loss"): its number of points, and whether the data array
is a new one (a redraw). A click listener stamps the click on **Train** with the page's own clock, so
both ends of the latency are measured in the browser. Redraw rate = redraws between the first loss
point and the end of the run (or --window seconds), per second; the app polls every 0.5 s, so 2 per
second is its ceiling. Session 1 is the first run of a fresh server process (one-time imports
included); later sessions show the warm figure.

    .venv/bin/python -m bench.browser_latency                 # 20 epochs, up to 20 s of redraws
    .venv/bin/python -m bench.browser_latency --repeats 3
Leaves to others: the app (app.py, app_pages/, ui/); the server helpers (tests/conftest.py).
"""

from __future__ import annotations

import contextlib
import itertools
import sys
import tempfile
import time
from pathlib import Path

from bench.common import ROOT, fmt_s, median, parser, table

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--disable-background-networking"]
IDLE = "[data-testid='stApp'][data-test-script-state='notRunning']"

# Installed once per page: window.__bench = {click, events: [{t, points, fresh}]}.
POLLER = """
() => {
  const B = window.__bench = {click: null, events: []};
  document.addEventListener('click', (e) => {
    const b = e.target.closest('button');
    if (b && b.getAttribute('kind') === 'primary' && b.innerText.includes('Train') && B.click === null)
      B.click = performance.now();
  }, true);
  const size = (a) => {
    if (!a) return 0;
    if (Array.isArray(a) || ArrayBuffer.isView(a)) return a.length;
    if (a._inputArray && a._inputArray.length !== undefined) return a._inputArray.length;
    if (a.bdata) { const per = {f8: 8, f4: 4, i4: 4, u4: 4, i2: 2, u2: 2, i1: 1, u1: 1}[a.dtype] || 8;
                   return atob(a.bdata).length / per; }
    return 0;
  };
  const lossChart = () => {
    for (const gd of document.querySelectorAll('.js-plotly-plot')) {
      const t = gd.layout && gd.layout.title;
      const text = String((t && (t.text || t)) || '').replace(/<[^>]*>/g, '').trim();
      if (text === 'Loss') return gd;
    }
    return null;
  };
  setInterval(() => {
    const gd = lossChart();
    if (!gd || !gd.data) return;
    const fresh = !gd.data.__bench_seen;
    if (!fresh) return;
    gd.data.__bench_seen = true;
    let points = 0;
    for (const tr of gd.data) {
      const name = tr.name || '';
      if (name.startsWith('train') || name.startsWith('validation')) points += size(tr.x);
    }
    B.events.push({t: performance.now(), points: points});
  }, 20);
}
"""


def browser_missing() -> str | None:
    """Why Chromium cannot be driven here (the tests' own check), or None."""
    from tests.conftest import browser_missing_reason

    return browser_missing_reason()


def status_text(page) -> str:
    """The run's status line: the progress bar while it trains, the scrubber's label once it has ended."""
    from tests.conftest import run_status

    return run_status(page)


def one_session(browser, url: str, epochs: int, window: float, timeout: float) -> dict:
    """Open the Playground, click Train, wait for the first loss point and watch the redraws."""
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    page = context.new_page()
    page.set_default_timeout(timeout * 1000)
    try:
        t0 = time.perf_counter()
        page.goto(f"{url}/?t.epochs={epochs}")        # the Playground is the app's default page
        page.wait_for_selector(IDLE)
        page.wait_for_selector(".js-plotly-plot")
        load_s = time.perf_counter() - t0
        page.evaluate(POLLER)
        page.wait_for_timeout(200)
        page.get_by_role("button", name="Train", exact=True).click()
        deadline = time.monotonic() + timeout
        first = None
        while time.monotonic() < deadline:
            first = page.evaluate("() => { const B = window.__bench; const e = B.events.find("
                                  "e => e.points > 0 && e.t >= B.click); return e ? e.t - B.click : null; }")
            if first is not None:
                break
            page.wait_for_timeout(25)
        if first is None:
            raise RuntimeError(f"no loss point appeared within {timeout:.0f} s of clicking Train")
        watch_until = time.monotonic() + window
        while time.monotonic() < watch_until and "completed" not in status_text(page):
            page.wait_for_timeout(250)
        done = "completed" in status_text(page)
        events = page.evaluate("() => window.__bench.events.filter(e => e.t >= window.__bench.click)")
        if not done:      # stop it, so the next session does not share the server's CPU with it
            from playwright.sync_api import TimeoutError as PlaywrightTimeout

            stop = page.get_by_role("button", name="Stop", exact=True)
            # the run may end (and Stop turn disabled) between the status read and the click
            with contextlib.suppress(PlaywrightTimeout):
                stop.click(timeout=10_000)
            page.wait_for_selector(IDLE)
    finally:
        context.close()
    live = [e for e in events if e["points"] > 0]
    span = (live[-1]["t"] - live[0]["t"]) / 1000 if len(live) > 1 else 0.0
    rate = (len(live) - 1) / span if span > 0 else 0.0
    gaps = [(b["t"] - a["t"]) / 1000 for a, b in itertools.pairwise(live)]
    return {"load_s": load_s, "first_s": first / 1000, "redraws": len(live), "span_s": span, "rate": rate,
            "gap_median": median(gaps), "gap_max": max(gaps) if gaps else float("nan"),
            "points_end": live[-1]["points"] if live else 0, "completed": done}


def main(argv: list[str] | None = None, summary: list[str] | None = None) -> int:
    """Run the benchmark and print it; `summary` (when given) receives the lines run_all quotes."""
    p = parser("Click Train → first loss point, and the loss chart's redraw rate, in Chromium.")
    p.add_argument("--epochs", type=int, default=20, help="epochs of the run (URL ?t.epochs=)")
    p.add_argument("--window", type=float, default=20.0, help="seconds of redraws watched at most")
    p.add_argument("--repeats", type=int, default=2, help="sessions (fresh browser contexts), medians")
    args = p.parse_args(argv)
    epochs, window, repeats = args.epochs, args.window, args.repeats
    if args.quick:
        epochs, window, repeats = 3, 4.0, 1
    print("## Latency in the browser (Playwright + Chromium against `streamlit run app.py`)")
    reason = browser_missing()
    if reason:
        print(f"skipped: {reason}.")
        if summary is not None:
            summary.append(f"Browser latency: skipped ({reason}).")
        return 0
    if str(ROOT) not in sys.path:
        sys.path.insert(0, str(ROOT))
    from playwright.sync_api import sync_playwright

    from tests.conftest import start_server, stop_server

    tmp = Path(tempfile.mkdtemp(prefix="bench-browser-"))
    proc, url = start_server(tmp, {"RNN_PLAYGROUND_RUN_STORE": "off"})    # every session trains: none replays
    results = []
    try:
        with sync_playwright() as pw:
            browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
            try:
                for _ in range(repeats):
                    results.append(one_session(browser, url, epochs, window, timeout=120.0))
            finally:
                browser.close()
    finally:
        stop_server(proc)
    print(f"Playground (/) with the default settings and {epochs} epochs; {repeats} session(s), medians; the app "
          "redraws every 0.5 s while a run trains (ceiling 2 redraws/s).")
    rows = [[f"session {i + 1}", fmt_s(r["load_s"]), fmt_s(r["first_s"]), r["redraws"], f"{r['span_s']:.1f} s",
             f"{r['rate']:.2f}/s", fmt_s(r["gap_median"]), fmt_s(r["gap_max"]), r["points_end"],
             "yes" if r["completed"] else "no (window ended)"] for i, r in enumerate(results)]
    rows.append(["median", fmt_s(median([r["load_s"] for r in results])),
                 fmt_s(median([r["first_s"] for r in results])), "", "",
                 f"{median([r['rate'] for r in results]):.2f}/s",
                 fmt_s(median([r["gap_median"] for r in results])), "", "", ""])
    print(table(["", "page load", "Train → first loss point", "redraws", "watched", "redraw rate",
                 "median gap", "max gap", "points at end", "run completed"], rows))
    if summary is not None:
        summary.append(f"Browser (Chromium, Playground defaults): Train → first loss point "
                       f"{fmt_s(median([r['first_s'] for r in results]))}; loss chart redraws "
                       f"{median([r['rate'] for r in results]):.2f}/s while training (app polls every 0.5 s)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
