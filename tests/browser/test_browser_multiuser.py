"""Many users at once, in real browsers against one real server on loopback (bounded in time).

Four browser contexts (four Streamlit sessions) open the Playground with different datasets, seeds
and epoch counts and press **Train**. Each page must show its own run (its own epoch total in the
progress text) and every run must advance. Then one tab is closed: its training thread must end
within seconds (the server runs with RNN_PLAYGROUND_IDLE_TIMEOUT=25: a run nobody polls stops
after 25 s) while the other three keep going. Live training threads are counted from outside, by
their OS thread name ("rnn-live-run", set by rnn_core/serve/live.py) in /proc/<server pid>/task/*/comm.
The server's memory is sampled while the four runs train and must not climb steeply.

Also: a CSV over the server's upload limit (.streamlit/config.toml maxUploadSize) is refused by
Streamlit itself in the browser, and a broken CSV set with `set_input_files` gets a sentence.
"""

from __future__ import annotations

import contextlib
import re
import time
from pathlib import Path

import pytest

from rnn_core.serve.live import THREAD_NAME
from tests.conftest import run_status, start_server, stop_server, wait_idle
from tests.engine.test_reliability import BAD_CSVS

pytestmark = pytest.mark.browser

IDLE_TIMEOUT = 25.0             # seconds a run nobody polls keeps training: below the default 30 s, yet
#                                 above the redraw gaps of four Plotly-heavy tabs on a crowded 2-core box
USERS = [                       # (dataset, seed, epochs): each user's run is told apart by its epochs
    ("sine", 1, 401),
    ("square", 2, 402),
    ("sawtooth", 3, 403),
    ("sines", 4, 404),
]
PROGRESS = re.compile(r"(running|paused|completed|stopped|diverged)\W+epoch (\d+)/(\d+) · step (\d+)/(\d+)")


def link(dataset: str, seed: int, epochs: int) -> str:
    """A shared Playground link. The Playground is the app's default page, so its URL is the root: the
    default page of st.navigation always has url_path "" (/playground answers "Page not found")."""
    return (f"/?d.dataset={dataset}&d.params.length=4000&t.probe_every=50&d.timesteps=10&m.hidden_size=4"
            f"&t.epochs={epochs}&t.seed={seed}&t.batch_size=8")


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    """A server of our own: a short idle timeout, one torch thread and four admission slots, so four runs
    share two cores (the queue has its own tests: test_admission.py, test_replicas.py)."""
    proc, url = start_server(tmp_path_factory.mktemp("multiuser"),
                             {"RNN_PLAYGROUND_IDLE_TIMEOUT": str(IDLE_TIMEOUT),
                              "RNN_PLAYGROUND_TORCH_THREADS": "1",
                              "RNN_PLAYGROUND_MAX_RUNS": str(len(USERS))})     # all four train at once
    yield proc, url
    stop_server(proc)


def open_link(page, address: str | None = None) -> None:
    """Open a page (None: it is already loading), wait for its script, and check that the link was found
    (Streamlit answers an unknown path with a "Page not found" dialog over the default page)."""
    if address:
        page.goto(address)
    wait_idle(page, timeout=120_000)
    assert page.locator("[role='dialog']", has_text="Page not found").count() == 0, page.url


def live_threads(pid: int) -> int:
    """Threads of the server process whose OS name is the LiveRun thread's."""
    count = 0
    for comm in Path(f"/proc/{pid}/task").glob("*/comm"):
        with contextlib.suppress(OSError):      # a thread that ended meanwhile
            count += comm.read_text().strip() == THREAD_NAME
    return count


def rss_mb(pid: int) -> float:
    status = Path(f"/proc/{pid}/status").read_text()
    return int(re.search(r"VmRSS:\s+(\d+) kB", status).group(1)) / 1024


def progress(page) -> tuple[str, int, int, int] | None:
    """(status, epoch, total epochs, step) from the page's progress bar, or None before a run."""
    match = PROGRESS.search(run_status(page))
    return (match[1], int(match[2]), int(match[3]), int(match[4])) if match else None


def wait_until(condition, timeout: float, every: float = 0.5):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(every)
    return condition()


def test_four_sessions_train_their_own_runs_and_a_closed_tab_stops(server, chromium):
    proc, url = server
    t0 = time.monotonic()
    phases = []

    def phase(name: str) -> None:
        phases.append(f"{name} {time.monotonic() - t0:.0f}s")

    first = chromium.new_context()
    warm = first.new_page()
    warm.goto(url + "/")                         # the first visit after a start: st.navigation runs once
    wait_idle(warm, timeout=120_000)
    first.close()
    assert live_threads(proc.pid) == 0

    contexts, pages = [], []
    try:
        for dataset, seed, epochs in USERS:            # four sessions load at the same time
            context = chromium.new_context(viewport={"width": 1000, "height": 700})
            contexts.append(context)
            page = context.new_page()
            page.set_default_timeout(60_000)
            page.goto(url + link(dataset, seed, epochs), wait_until="commit")
            pages.append(page)
        for page, (dataset, _, _) in zip(pages, USERS, strict=True):
            open_link(page)
            assert page.locator("[data-testid='stException']").count() == 0, dataset
        phase("loaded")
        for page in pages:
            page.locator("button", has_text="Train").first.click(timeout=20_000)

        # every page shows its own run (its own epoch total) and every run trains
        seen = {}
        for page, (dataset, _, epochs) in zip(pages, USERS, strict=True):
            got = wait_until(lambda p=page: (g := progress(p)) and g[3] > 0 and g, timeout=90)
            assert got and got[0] == "running", (dataset, got)
            assert got[2] == epochs, (dataset, got)
            seen[dataset] = got
        assert live_threads(proc.pid) == len(USERS)
        rss_before = rss_mb(proc.pid)
        phase("all four training")

        # close one tab: its run stops itself (idle timeout); the other three keep training meanwhile
        contexts.pop().close()
        pages.pop()
        closed_at = time.monotonic()
        for page, (dataset, _, epochs) in zip(pages, USERS, strict=False):
            later = wait_until(lambda p=page, d=dataset: (g := progress(p)) and g[3] > seen[d][3] and g,
                               timeout=90)
            assert later and later[0] == "running" and later[2] == epochs, (dataset, seen[dataset], later)
            seen[dataset] = later
        phase("three still advancing")
        gone = wait_until(lambda: live_threads(proc.pid) == len(USERS) - 1,
                          timeout=IDLE_TIMEOUT + 30 - (time.monotonic() - closed_at))
        stopped_after = time.monotonic() - closed_at
        assert gone, f"{live_threads(proc.pid)} live training threads after closing one of {len(USERS)} tabs"
        for page, (dataset, _, _) in zip(pages, USERS, strict=False):
            now = progress(page)
            assert now and now[0] == "running" and now[3] >= seen[dataset][3], (dataset, now)
        rss_after = rss_mb(proc.pid)
        phase("closed tab stopped")
        print(f"\n[multiuser] {', '.join(phases)}; the closed tab's thread ended within {stopped_after:.0f} s; "
              f"server RSS {rss_before:.0f} → {rss_after:.0f} MB; steps {[s[3] for s in seen.values()]}")
        assert rss_after - rss_before < 300, (rss_before, rss_after)
    finally:
        for context in contexts:
            context.close()


def test_uploads_over_the_limit_or_broken_are_refused_in_the_browser(server, chromium, tmp_path):
    _, url = server
    context = chromium.new_context(viewport={"width": 1300, "height": 900})
    try:
        page = context.new_page()
        page.set_default_timeout(60_000)
        open_link(page, url + "/data")
        page.get_by_role("tab", name="Upload a CSV").click()
        chooser = page.locator("[data-testid='stFileUploaderDropzoneInput']").first
        cases = {case: (data, words) for case, data, words in BAD_CSVS}

        huge, _ = cases["huge"]
        path = tmp_path / "huge.csv"
        path.write_bytes(huge)
        chooser.set_input_files(str(path))
        page.get_by_text(re.compile(r"File must be [\d.]+ ?MB or smaller")).first.wait_for(timeout=30_000)

        for case in ("binary", "NaN gaps"):
            data, words = cases[case]
            chooser.set_input_files(files=[{"name": f"{case}.csv", "mimeType": "text/csv", "buffer": data}])
            page.locator("[data-testid='stAlertContentError']", has_text=words).first.wait_for(timeout=30_000)
            assert page.locator("[data-testid='stException']").count() == 0, case
    finally:
        context.close()
