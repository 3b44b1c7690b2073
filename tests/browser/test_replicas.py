"""Two Streamlit replicas behind Debian's nginx with the sticky config of deploy/, driven by Chromium.

`deploy/nginx/rnn-playground.conf` is run as it is, with only its upstream `server` lines (two local
replicas instead of the compose service) and its `listen` port swapped, inside a minimal nginx.conf
that writes an access log of (routing key, replica, request). Two browser contexts, pinned by their
cookie to different replicas, each open the Playground, upload a CSV, train on it and download the
run as a zip: the upload, the websocket and the download must all reach the replica that holds the
session (without affinity they break). The log must show every request of a browser on one replica,
and each replica serving one of them. A first visit without the cookie must get one from nginx.

Also here, without a browser: the deploy files parse (YAML where PyYAML is installed; nginx -t for
the proxy) and say what docs/classroom.md promises (CPU torch index, health checks, affinity, limits).
"""

from __future__ import annotations

import io
import os
import re
import socket
import subprocess
import time
import urllib.request
import zipfile
from pathlib import Path

import numpy as np
import pytest

from tests.conftest import (
    ROOT,
    download,
    skip_or_fail,
    start_server,
    stop_server,
    wait_closed_loop,
    wait_idle,
    wait_status,
)

NGINX = "/usr/sbin/nginx"
DEPLOY = ROOT / "deploy"
SITE = DEPLOY / "nginx" / "rnn-playground.conf"
COOKIE = "rnnpg_replica"
# The Playground on the CSV dataset, a tiny model and a short run.
LINK = "/?d.dataset=csv&d.timesteps=10&m.hidden_size=4&t.epochs=2&t.batch_size=16"
LOG_LINE = re.compile(r'^(\S+) (\S+) (\d+) "(\S+) (\S+)')      # key, replica, status, method, path


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def proxy_config(folder: Path, listen: int, replicas: list[int]) -> Path:
    """deploy/'s site config with local replicas and port, wrapped in an nginx.conf of its own."""
    site = SITE.read_text()
    servers = "".join(f"    server 127.0.0.1:{p} max_fails=3 fail_timeout=10s;\n" for p in replicas)
    site, n_servers = re.subn(r"^\s*server app:8501[^\n]*\n", servers, site, flags=re.M)
    site, n_listen = re.subn(r"listen 8080;", f"listen 127.0.0.1:{listen};", site)
    assert (n_servers, n_listen) == (1, 1), "deploy/nginx/rnn-playground.conf changed shape"
    for sub in ("body", "proxy", "fastcgi", "uwsgi", "scgi"):
        (folder / sub).mkdir(exist_ok=True)
    user = "user root;\n" if os.geteuid() == 0 else ""      # workers must write the temp folders here
    conf = folder / "nginx.conf"
    conf.write_text(f"""{user}worker_processes 1;
pid {folder}/nginx.pid;
error_log {folder}/error.log info;
events {{ worker_connections 512; }}
http {{
    client_body_temp_path {folder}/body;
    proxy_temp_path {folder}/proxy;
    fastcgi_temp_path {folder}/fastcgi;
    uwsgi_temp_path {folder}/uwsgi;
    scgi_temp_path {folder}/scgi;
{site}
    log_format replica '$rnnpg_route $upstream_addr $status "$request"';
    access_log {folder}/access.log replica;
}}
""")
    return conf


def nginx_missing_reason() -> str | None:
    return None if Path(NGINX).exists() else f"nginx not found at {NGINX} (apt-get install -y nginx)"


def requests_by_key(log: Path) -> dict[str, list[tuple[str, str, str]]]:
    """{routing key: [(replica, status, path)]} from the access log."""
    by_key: dict[str, list[tuple[str, str, str]]] = {}
    for line in log.read_text().splitlines():
        m = LOG_LINE.match(line)
        if m:
            key, replica, status, _, path = m.groups()
            by_key.setdefault(key, []).append((replica, status, path))
    return by_key


def _get(url: str, cookie: str | None = None):
    req = urllib.request.Request(url, headers={"Cookie": f"{COOKIE}={cookie}"} if cookie else {})
    with urllib.request.urlopen(req, timeout=10) as r:
        return r.status, r.headers.get_all("Set-Cookie") or []


# ---------------------------------------------------------------------------------- the deploy files
def test_the_proxy_config_passes_nginx_t(tmp_path):
    reason = nginx_missing_reason()
    if reason:
        pytest.skip(reason)
    conf = proxy_config(tmp_path, _free_port(), [_free_port(), _free_port()])
    done = subprocess.run([NGINX, "-t", "-p", str(tmp_path), "-c", str(conf), "-e", str(tmp_path / "error.log")],
                          capture_output=True, text=True, timeout=30)
    assert done.returncode == 0, done.stderr
    site = SITE.read_text()
    for needed in ("hash $rnnpg_route consistent", "proxy_set_header Upgrade", "/_stcore/health",
                   "add_header Set-Cookie"):
        assert needed in site, needed


def test_the_image_installs_cpu_torch_and_checks_health():
    docker = (DEPLOY / "Dockerfile").read_text()
    cpu = docker.index("--index-url https://download.pytorch.org/whl/cpu")
    assert "torch==2.13.0" in docker[docker.rfind("RUN", 0, cpu):cpu]
    assert cpu < docker.index("pip install -r requirements.txt")      # CPU torch first, then the rest
    assert "HEALTHCHECK" in docker and "/_stcore/health" in docker and "USER " in docker
    # Plotly.js for the chart element is put in static/ while the build can still write /app
    assert docker.index("COPY ui/ ui/") < docker.index("RUN python -m ui.chart_element static") < docker.index("USER ")


def test_the_image_copies_every_folder_the_app_runs_from():
    """app.py's pages and every local package they import (at any depth) are in the image."""
    docker = (DEPLOY / "Dockerfile").read_text()
    local = {d.name for d in ROOT.iterdir() if d.is_dir() and any(d.glob("*.py"))}
    needed, todo = {"app_pages"}, ["app_pages"]
    while todo:
        for path in (ROOT / todo.pop()).glob("*.py"):
            for root in set(re.findall(r"^\s*(?:from|import) (\w+)", path.read_text(), re.M)) & local - needed:
                needed.add(root)
                todo.append(root)
    assert {"app_pages", "ui", "plots", "rnn_core"} <= needed
    for folder in sorted(needed):
        assert f"COPY {folder}/ {folder}/" in docker, folder


def test_every_replica_shares_one_run_store_warmed_before_it_serves():
    """compose: one named volume at the store's folder for every replica (a new one seeded from the image,
    which runs `warm` at build time); Kubernetes: a ReadWriteMany claim there and an init container
    that warms it, with the app's environment (so its keys are the app's)."""
    yaml = pytest.importorskip("yaml", reason="PyYAML is not installed: the YAML files were not parsed")
    docker = (DEPLOY / "Dockerfile").read_text()
    store = re.search(r"RNN_PLAYGROUND_RUN_STORE=(\S+)", docker).group(1)
    assert "RNN_PLAYGROUND_TORCH_THREADS=1" in docker
    assert docker.index("USER playground") < docker.index("python -m rnn_core warm")    # the app's user owns it
    compose = yaml.safe_load((DEPLOY / "compose.yaml").read_text())
    assert f"runs:{store}" in compose["services"]["app"]["volumes"] and "runs" in compose["volumes"]
    docs = {d["kind"]: d for d in yaml.safe_load_all((DEPLOY / "k8s" / "rnn-playground.yaml").read_text())}
    assert docs["PersistentVolumeClaim"]["spec"]["accessModes"] == ["ReadWriteMany"]
    pod = docs["Deployment"]["spec"]["template"]["spec"]
    claim = next(v for v in pod["volumes"] if "persistentVolumeClaim" in v)
    assert claim["persistentVolumeClaim"]["claimName"] == docs["PersistentVolumeClaim"]["metadata"]["name"]
    warm, app = pod["initContainers"][0], pod["containers"][0]
    assert warm["command"][-4:] == ["rnn_core", "warm", "--presets", "all"] and warm["env"] == app["env"]
    for container in (warm, app):
        assert {"name": claim["name"], "mountPath": store} in container["volumeMounts"]
        assert {"name": "RNN_PLAYGROUND_RUN_STORE", "value": store} in container["env"]


def test_compose_and_kubernetes_manifests_parse_and_pin_sessions():
    yaml = pytest.importorskip("yaml", reason="PyYAML is not installed: the YAML files were not parsed")
    compose = yaml.safe_load((DEPLOY / "compose.yaml").read_text())
    app, proxy = compose["services"]["app"], compose["services"]["proxy"]
    assert app["deploy"]["replicas"] == "${REPLICAS:-3}" and "/_stcore/health" in " ".join(app["healthcheck"]["test"])
    assert proxy["depends_on"]["app"]["condition"] == "service_healthy"
    assert any(v.startswith("./nginx/rnn-playground.conf:") for v in proxy["volumes"])
    assert (DEPLOY / app["build"]["dockerfile"].removeprefix("deploy/")).exists()

    docs = {d["kind"]: d for d in yaml.safe_load_all((DEPLOY / "k8s" / "rnn-playground.yaml").read_text())}
    assert set(docs) == {"Deployment", "Service", "Ingress", "PersistentVolumeClaim"}
    container = docs["Deployment"]["spec"]["template"]["spec"]["containers"][0]
    assert container["resources"]["limits"]["cpu"] and container["resources"]["limits"]["memory"]
    for probe in ("startupProbe", "readinessProbe", "livenessProbe"):
        assert container[probe]["httpGet"]["path"] == "/_stcore/health", probe
    max_runs = next(e["value"] for e in container["env"] if e["name"] == "RNN_PLAYGROUND_MAX_RUNS")
    assert int(max_runs) == int(container["resources"]["limits"]["cpu"])    # one run per CPU of the pod
    assert docs["Service"]["spec"]["sessionAffinity"] == "ClientIP"
    notes = docs["Ingress"]["metadata"]["annotations"]
    assert notes["nginx.ingress.kubernetes.io/affinity"] == "cookie"
    assert docs["Ingress"]["spec"]["rules"][0]["http"]["paths"][0]["backend"]["service"]["name"] == \
        docs["Service"]["metadata"]["name"]


# ------------------------------------------------------------------------------ replicas and browser
@pytest.fixture(scope="module")
def replicas(tmp_path_factory):
    """Two replicas (one training slot each) and nginx in front: (proxy URL, replica ports, log)."""
    skip_or_fail(nginx_missing_reason())
    folder = tmp_path_factory.mktemp("replicas")
    servers = []
    for name in ("replica-a", "replica-b"):
        (folder / name).mkdir()
        servers.append(start_server(folder / name, {"RNN_PLAYGROUND_MAX_RUNS": "1"}))
    ports = [int(url.rsplit(":", 1)[1]) for _, url in servers]
    listen = _free_port()
    conf = proxy_config(folder, listen, ports)
    log = open(folder / "nginx.out", "w")  # noqa: SIM115 - closed below
    proxy = subprocess.Popen([NGINX, "-p", str(folder), "-c", str(conf), "-e", str(folder / "error.log"),
                              "-g", "daemon off;"], stdout=log, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{listen}"
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                if _get(url + "/healthz")[0] == 200:
                    break
            except OSError:
                if proxy.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError((folder / "error.log").read_text()[-2000:]) from None
                time.sleep(0.2)
        yield url, ports, folder / "access.log"
    finally:
        proxy.terminate()
        proxy.wait(timeout=10)
        log.close()
        for proc, _ in servers:
            stop_server(proc)


def keys_on_each_replica(url: str, log: Path, ports: list[int]) -> dict[int, str]:
    """A routing key that nginx sends to each replica, found by asking /healthz with candidate keys."""
    found: dict[int, str] = {}
    for i in range(64):
        key = f"student{i:02d}"
        _get(url + "/healthz", key)
        deadline = time.monotonic() + 10          # nginx logs a request just after answering it
        while key not in (seen := requests_by_key(log)) and time.monotonic() < deadline:
            time.sleep(0.05)
        replica = seen[key][-1][0]
        found.setdefault(int(replica.rsplit(":", 1)[1]), key)
        if len(found) == len(ports):
            return found
    raise AssertionError(f"64 keys all went to {set(found)}")


def sine_csv() -> bytes:
    """300 days of a made-up price: a date column and a value column."""
    dates = np.datetime64("2020-01-01") + np.arange(300)
    close = 1.0 + 0.5 * np.sin(0.2 * np.arange(300))
    return ("Date,Close\n" + "".join(f"{d},{c:.5f}\n" for d, c in zip(dates, close))).encode()


@pytest.mark.browser
@pytest.mark.slow
def test_two_replicas_behind_nginx_each_serve_a_whole_session(replicas, chromium, tmp_path):
    url, ports, log = replicas
    status, cookies = _get(url + "/")
    assert status == 200 and any(c.startswith(f"{COOKIE}=") for c in cookies), cookies   # a first visit
    keys = keys_on_each_replica(url, log, ports)

    for port, key in keys.items():
        context = chromium.new_context(viewport={"width": 1400, "height": 1000}, accept_downloads=True)
        context.add_cookies([{"name": COOKIE, "value": key, "url": url}])
        try:
            page = context.new_page()
            page.set_default_timeout(90_000)
            page.goto(url + LINK)
            wait_idle(page, timeout=120_000)
            chooser = page.locator("[data-testid='stSidebar'] [data-testid='stFileUploaderDropzoneInput']")
            chooser.set_input_files(files=[{"name": "prices.csv", "mimeType": "text/csv", "buffer": sine_csv()}])
            page.get_by_text("300 rows").first.wait_for()                # read by the replica that got it
            wait_idle(page)
            page.locator("button", has_text="Train").first.click()
            wait_status(page, "completed")
            wait_closed_loop(page)
            page.get_by_text("Share, download and upload").click()
            zipped = page.get_by_role("button", name="Run with weights (zip)").first
            zipped.wait_for(state="visible")
            wait_idle(page)
            info = download(page, zipped)
            path = tmp_path / f"{port}.zip"
            info.value.save_as(path)
            names = zipfile.ZipFile(io.BytesIO(path.read_bytes())).namelist()
            assert any(n.endswith(".safetensors") for n in names), names
            assert page.locator("[data-testid='stException']").count() == 0
        finally:
            context.close()

    # nginx logs a websocket when it closes, a moment after its browser context did
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        by_key = requests_by_key(log)
        if all(any(p == "/_stcore/stream" for _, _, p in by_key[key]) for key in keys.values()):
            break
        time.sleep(0.2)
    for port, key in keys.items():
        seen = by_key[key]
        assert {replica for replica, _, _ in seen} == {f"127.0.0.1:{port}"}, (key, seen)     # one replica
        paths = [path for _, _, path in seen]
        for needed in ("/_stcore/stream", "/_stcore/upload_file/", "/media/"):
            assert any(p.startswith(needed) for p in paths), (needed, paths)
        # no replica (nor nginx) failed a request, and none refused an upload. Not every 4xx is a fault:
        # 499 is nginx's "the browser closed the request" (the test closes each context while Streamlit
        # still polls), and a media URL a rerun has replaced answers 404 to a late fetch.
        unusual = [s for s in seen if s[1] not in ("101", "200", "204", "304")]
        failed = [(status, path) for _, status, path in unusual if status.startswith("5")
                  or (path.startswith("/_stcore/upload_file/") and status.startswith("4") and status != "499")]
        assert failed == [], unusual
    assert set(keys) == set(ports)                  # each replica served one of the two browsers
