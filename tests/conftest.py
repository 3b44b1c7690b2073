"""Shared test fixtures: a real `streamlit run app.py` server on loopback, and a headless Chromium.

Browser tests use Debian's Chromium at /usr/bin/chromium through Playwright (never a downloaded
browser). Where Chromium or Playwright is absent they are skipped with the reason shown; CI sets
RNN_PLAYGROUND_REQUIRE_BROWSER=1, which turns that skip into a failure so CI cannot pass without them.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--disable-background-networking"]
PAGE_DIR = "app_pages" if (ROOT / "app_pages").is_dir() else "pages"   # AppTest.switch_page(f"{PAGE_DIR}/x.py")
APP = str(ROOT / "app.py")  # AppTest.from_file(APP): relative paths resolve against the caller
IDLE = "[data-testid='stApp'][data-test-script-state='notRunning']"

if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

TEST_ENV = {
    # Runs a test leaves behind (stopped by their idle timeout later) must not queue the next test's runs:
    # the test process and the servers it starts get generous admission slots unless a test says otherwise.
    # tests/engine/test_admission.py checks the queue with its own slots; tests/browser/test_replicas.py
    # runs servers with one.
    "RNN_PLAYGROUND_MAX_RUNS": "16",
    # A test trains what it asks for: no run store (a run stored by an earlier test, or by the developer's
    # own app, would be replayed instead). The store's own tests pass a store, or set a folder for their server.
    "RNN_PLAYGROUND_RUN_STORE": "off",
}


def pytest_configure(config):
    """The test suite's defaults (TEST_ENV), set when pytest starts, never on import: bench scripts import
    this module's server helpers, and their servers must run with the app's own defaults (a soak whose
    server inherited 16 slots kept 17 workers, and read that as a leak of a pool that keeps 3)."""
    for name, value in TEST_ENV.items():
        os.environ.setdefault(name, value)


@pytest.fixture(autouse=True)
def fresh_shared_evaluations():
    """Each test evaluates its own runs: the evaluations the app shares between sessions replaying one
    run (`ui.live.shared_evaluation`, kept per process) start empty."""
    live = sys.modules.get("ui.live")
    if live is not None:
        live.forget_evaluations()
    yield


@pytest.fixture(autouse=True)
def no_lab_look_ahead_left():
    """A Gradient Lab page run may leave its next step being probed in the background
    (`rnn_core.lessons.lab_ahead`): it ends before the next test, whose counts of probes it would change."""
    yield
    ahead = sys.modules.get("rnn_core.lessons.lab_ahead")
    if ahead is not None:
        assert ahead.stop_ahead(60.0), "the Lab's look-ahead did not end within a minute"


@pytest.fixture(autouse=True, scope="session")
def one_torch_thread():
    """Tiny nets run fastest on one thread, and a shared, busy machine stays fair; restored after."""
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


@pytest.fixture
def keep_torch_threads():
    """For tests of scripts that set torch's thread count: the rest of the session gets its own back."""
    import torch

    n = torch.get_num_threads()
    yield
    torch.set_num_threads(n)


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _wait_healthy(url: str, proc: subprocess.Popen, timeout: float = 90.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"streamlit exited early with status {proc.returncode}")
        try:
            with urllib.request.urlopen(url + "/_stcore/health", timeout=2) as r:
                if r.status == 200:
                    return
        except OSError:
            pass
        time.sleep(0.3)
    raise RuntimeError(f"streamlit did not become healthy within {timeout:.0f} s")


def start_server(tmp_dir: Path, extra_env: dict[str, str] | None = None, script: str = "app.py"):
    """Start `streamlit run <script>` (the app, by default) on a free loopback port, in the repository (its
    `.streamlit/config.toml` applies); return (process, base_url)."""
    port = _free_port()
    env = {**os.environ, "RNN_PLAYGROUND_CACHE": str(tmp_dir / "cache"), **(extra_env or {})}
    log = open(tmp_dir / "streamlit.log", "w")  # noqa: SIM115 - closed with the process
    proc = subprocess.Popen(
        [sys.executable, "-m", "streamlit", "run", script, "--server.port", str(port),
         "--server.address", "127.0.0.1", "--server.headless", "true",
         "--browser.gatherUsageStats", "false"],
        cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        _wait_healthy(url, proc)
    except RuntimeError:
        proc.kill()
        log.close()
        raise
    proc._log = log  # type: ignore[attr-defined]
    return proc, url


def stop_server(proc: subprocess.Popen) -> None:
    proc.terminate()
    try:
        proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        proc.kill()
    proc._log.close()  # type: ignore[attr-defined]


@pytest.fixture(scope="session")
def streamlit_server(tmp_path_factory):
    """Base URL of a real Streamlit server running app.py on a free loopback port."""
    proc, url = start_server(tmp_path_factory.mktemp("server"))
    yield url
    stop_server(proc)


def browser_missing_reason() -> str | None:
    """Why the browser tests cannot run here (None when they can); the benchmarks ask too."""
    if not Path(CHROMIUM).exists():
        return f"Chromium not found at {CHROMIUM} (apt-get install -y chromium)"
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        return "Python playwright is not installed (pip install -r requirements-dev.txt)"
    return None


def skip_or_fail(reason: str | None) -> None:
    """Where a browser test cannot run (`reason`: why; None: it can): skip it, visibly, or fail it where the
    browser tests are required (`RNN_PLAYGROUND_REQUIRE_BROWSER`, as CI sets it)."""
    if reason:
        if os.environ.get("RNN_PLAYGROUND_REQUIRE_BROWSER"):
            pytest.fail(f"browser tests are required here but cannot run: {reason}")
        pytest.skip(reason)


@pytest.fixture(scope="session")
def chromium():
    """A headless Debian Chromium driven by Playwright; skipped (visibly) where it is absent."""
    skip_or_fail(browser_missing_reason())
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        print(f"\n[browser] driving {CHROMIUM} {browser.version}")
        log = os.environ.get("RNN_PLAYGROUND_BROWSER_LOG")     # .ci/run prints it: proof the browser ran
        if log:
            with open(log, "a") as f:
                f.write(f"{CHROMIUM} {browser.version}\n")
        yield browser
        browser.close()


@pytest.fixture
def page(chromium):
    """A fresh browser page (its own context, so its own Streamlit session)."""
    context = chromium.new_context(viewport={"width": 1400, "height": 1000})
    pg = context.new_page()
    pg.set_default_timeout(60_000)
    yield pg
    context.close()


def open_page(page: str, query: dict | None = None, timeout: float = 90):
    """An AppTest of app.py switched to `page` (e.g. f"{PAGE_DIR}/data.py"), URL `query` set first;
    asserts the page drew without an exception."""
    from streamlit.testing.v1 import AppTest

    at = AppTest.from_file(APP, default_timeout=timeout)
    if query:
        at.query_params.update(query)
    at.run()
    at.switch_page(page)
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def download(pg, button, tries: int = 3):
    """Click a download button and get its download (Playwright's `expect_download` info). A rerun that lands
    between the button's drawing and the click replaces the button's deferred file, and that click
    downloads nothing (the server logs "Deferred file … not found"; seen in CI on a loaded machine, its
    rerun's cause not found): as a user would, click again on the button as now drawn, and before the last
    try rerun the page (Streamlit's R key) so that the button is drawn anew."""
    from playwright.sync_api import TimeoutError as PlaywrightTimeout

    for attempt in range(tries):
        if attempt == tries - 1 and attempt:
            pg.locator("body").press("r")
            pg.wait_for_timeout(500)
        wait_idle(pg, 120_000)
        try:
            with pg.expect_download(timeout=30_000 if attempt < tries - 1 else 120_000) as info:
                button.click()
            return info
        except PlaywrightTimeout:
            if attempt == tries - 1:
                raise
    raise AssertionError("unreachable")


def wait_idle(pg, timeout: float = 60_000) -> None:
    """Wait until the Streamlit script has finished its run after an interaction."""
    pg.wait_for_selector(IDLE, timeout=timeout)


RUN_STATUS = """(slot) => {
  const bar = document.querySelector("[data-testid='stProgress']");
  if (bar) return bar.innerText;
  const timeline = document.querySelector('.st-key-' + slot + '-scrub-step');
  const label = timeline && timeline.querySelector('[data-testid="stWidgetLabel"]');
  return label ? label.textContent : '';
}"""


def run_status(pg, slot: str = "pg") -> str:
    """The run's status line as the browser shows it: the progress bar's text while a run trains, the
    label of its timeline (the scrubber, `ui/scrub.py`) once it is paused or has ended; "" before a run.
    (`status_line` reads the same from an AppTest.)"""
    return pg.evaluate(RUN_STATUS, slot)


def wait_status(pg, word: str, timeout: float = 180_000, slot: str = "pg") -> None:
    """Wait until the run's status line (`run_status`) says `word` ("completed", "running", …)."""
    pg.wait_for_function(f"(slot) => ({RUN_STATUS})(slot).includes({word!r})", arg=slot, timeout=timeout)


def wait_closed_loop(pg, timeout: float = 120_000) -> None:
    """After a forecast run ends, its closed-loop forecast is computed in the background and the page
    reruns once when it is ready (ui/live.py): wait for that before clicking a download, so the click
    does not land on a page that is being replaced."""
    pg.wait_for_function("() => !document.body.innerText.includes('computed in the background')",
                         timeout=timeout)
    wait_idle(pg, timeout)


# Each visible Plotly chart of the main area: its title and the boxes (viewport px) of its title, legend,
# x axis's title and plot area, where it has them
CHART_PARTS = """() => {
  const box = el => { const r = el.getBoundingClientRect(); return {l: r.left, t: r.top, r: r.right, b: r.bottom}; };
  const shown = el => el && el.getClientRects().length > 0 && el.getBoundingClientRect().width > 0;
  const sel = {title: '.gtitle', legend: '.legend .bg', xtitle: '.xtitle', plot: '.nsewdrag'};
  return [...document.querySelectorAll('[data-testid="stMain"] .js-plotly-plot')].filter(shown).map(gd => {
    const parts = {};
    for (const [name, css] of Object.entries(sel)) {
      const el = [...gd.querySelectorAll(css)].find(shown);
      if (el) parts[name] = box(el);
    }
    return {chart: (gd.querySelector('.gtitle') || {}).textContent || '(untitled)', parts};
  });
}"""


def boxes_overlap(a: dict, b: dict) -> bool:
    """Whether two boxes {l, t, r, b} (viewport px) overlap by more than a pixel each way."""
    return a["l"] < b["r"] - 1 and b["l"] < a["r"] - 1 and a["t"] < b["b"] - 1 and b["t"] < a["b"] - 1


def chart_overlaps(pg) -> list[str]:
    """Where a part of a visible Plotly chart (its title, legend, x axis's title, plot area) covers another
    part of the same chart, one line each ("‹chart›: title × legend {boxes}"); [] where none does."""
    found = []
    for chart in pg.evaluate(CHART_PARTS):
        parts = list(chart["parts"].items())
        for i, (a, box_a) in enumerate(parts):
            found += [f"{chart['chart']}: {a} × {b} {box_a} {box_b}" for b, box_b in parts[i + 1:]
                      if boxes_overlap(box_a, box_b)]
    return found


def small_live_run():
    """A small run to its end, for a live view drawn record by record (sine, T = 8, H = 4, 6 epochs of 7 steps,
    the probe every 2nd, clipped): (its `ui.live.RunContext`, its records but the end, its network)."""
    from dataclasses import replace

    from rnn_core.config import DataConfig, TrainConfig
    from rnn_core.nn.model_config import ModelConfig
    from rnn_core.nn.train import run_to_end
    from ui.live import RunContext
    from ui.run_files import prepare_windows

    data = DataConfig(dataset="sine", timesteps=8, params={"length": 240})
    windows = prepare_windows(data)
    model = replace(ModelConfig(hidden_size=4), input_size=windows.n_features,
                    output_size=int(windows.y_train.shape[1]))
    train = TrainConfig(batch_size=24, epochs=6, probe_every=2, clip="norm", clip_value=0.05)
    net, records = run_to_end(model, train, windows)
    return RunContext(model, data, train, windows), [r for r in records if r["kind"] != "end"], net


def charts(at) -> dict[str, dict]:
    """Every chart on an AppTest page, {element id: figure ({"data", "layout"}, as the browser gets it)}, in page
    order: drawn by the app's chart element (`ui.chart_element`), or by `st.plotly_chart` where Plotly.js cannot
    be served. An element's id ends with the chart's key."""
    import json

    from ui.chart_element import NAME, figure_of

    found = [(e.proto.id, figure_of(e.proto.bytes)) for e in at.get("bidi_component") if e.proto.component_name == NAME]
    found += [(c.proto.id, json.loads(c.proto.spec)) for c in at.get("plotly_chart")]
    return dict(found)


def chart(at, key: str) -> dict:
    """The figure of the chart whose key is `key` (its element id ends with it)."""
    for element_id, figure in charts(at).items():
        if element_id.endswith(key):
            return figure
    raise AssertionError(f"no chart '{key}' among {list(charts(at))}")


FINISHED = ("completed", "stopped", "diverged")


def wait_for_run(at, until=FINISHED, limit: float = 60.0, name: str = "pg") -> str:
    """Rerun `at` until the run in slot `name` has a status in `until` (and once more, which draws the final
    charts); its status. Fails after `limit` seconds."""
    deadline = time.monotonic() + limit
    while time.monotonic() < deadline:
        at.run()
        run = run_of(at, name)
        if run is not None and run.status in until:
            at.run()   # the rerun that follows the end draws the final charts
            return run.status
        time.sleep(0.2)
    run = run_of(at, name)
    raise AssertionError(f"run still {None if run is None else run.status} after {limit} s")


def slot_of(at, name: str = "pg"):
    """The `ui.state.SlotState` of slot `name` in an AppTest's session, or None while it has none."""
    from ui.state import SLOTS

    slots = at.session_state[SLOTS] if SLOTS in at.session_state else {}  # noqa: SIM401 (no .get there)
    return slots.get(name)


def run_of(at, name: str = "pg"):
    """The run in slot `name` of an AppTest's session (a LiveRun, StaticRun or SweepRun), or None."""
    state = slot_of(at, name)
    return None if state is None else state.run


def status_line(at, name: str = "pg") -> str:
    """The run's status line as the page shows it: the progress bar's text while a run trains, the label
    of its timeline (the scrubber, `ui/scrub.py`) once it is paused or has ended."""
    bars = at.get("progress")
    if bars:
        return bars[0].proto.text
    return next(w.label for w in at.get("select_slider") if w.key == f"{name}.scrub.step")


# ---------------------------------------------------------------------------- cells of the registry
def cell_model(cell: str, layers: int = 2, init: str = "default", *, hidden_size: int = 5, input_size: int = 3,
               output_size: int = 2, gain: float = 0.9, forget_bias: float = 1.0, seed: int = 11):
    """A small model of `cell` from the registry: `layers` layers, or the most the cell can have."""
    from rnn_core.nn.cells import cell_of
    from rnn_core.nn.model_config import ModelConfig
    from rnn_core.nn.models import build_model

    cfg = ModelConfig(cell=cell, hidden_size=hidden_size, num_layers=min(layers, cell_of(cell).max_layers or layers),
                      input_size=input_size, output_size=output_size, init=init, gain=gain, forget_bias=forget_bias)
    return build_model(cfg, seed=seed)


def float64_batch(seed: int = 0, T: int = 8, F: int = 3, B: int = 4):
    """x (B, T, F) float64 from N(0, 1), the same for the same seed."""
    import torch

    return torch.randn(B, T, F, dtype=torch.float64, generator=torch.Generator().manual_seed(seed))


def train_preset(key: str, model: dict | None = None, train_changes: dict | None = None):
    """Train Playground preset `key` (with optional changes) headless to the end, as the app trains it:
    its epochs, steps, end record, naive losses, windows and model."""
    from types import SimpleNamespace

    from rnn_core.config import replace
    from rnn_core.data.windows import prepare
    from rnn_core.lessons.presets import preset_configs
    from rnn_core.nn.models import build_model
    from rnn_core.nn.train import train

    m, d, t = preset_configs(key)
    windows = prepare(d)
    m = replace(m, input_size=windows.n_features, output_size=windows.y_train.shape[1], **(model or {}))
    t = replace(t, **(train_changes or {}))
    net = build_model(m.validate(), seed=t.seed)
    records = list(train(net, windows, t))
    return SimpleNamespace(epochs=[r for r in records if r["kind"] == "epoch"],
                           steps=[r for r in records if r["kind"] == "step"], end=records[-1],
                           naive=windows.naive_losses("val"), windows=windows, model=net)
