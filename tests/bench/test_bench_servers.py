"""The servers bench scripts start run with the app's own settings, not the test suite's.

bench/ scripts start `streamlit run app.py` with tests/conftest.py's `start_server`. The suite's own
defaults (16 admission slots, no run store: `tests.conftest.TEST_ENV`) are set when pytest starts, never
when that module is imported: a soak whose server inherited them ran 16 slots, so its worker pool kept
spares + slots = 17 workers, and its 7 idle workers at the end read as a leak of a pool that keeps 3.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from rnn_core.serve.admission import cpus
from tests.conftest import TEST_ENV

ROOT = Path(__file__).resolve().parents[2]

WHAT_A_BENCH_SEES = """
import json, os
import bench.soak                                   # imports tests.conftest, as every server bench does
from rnn_core.serve.worker_pool import shared_pool  # the pool a server in this environment would build
print(json.dumps({"env": {name: os.environ.get(name) for name in %r}, "keep": shared_pool().keep}))
"""


def test_importing_the_server_helpers_leaves_the_apps_own_settings():
    env = {name: value for name, value in os.environ.items() if name not in TEST_ENV}
    env.pop("RNN_PLAYGROUND_SPARE_WORKERS", None)
    out = subprocess.run([sys.executable, "-c", WHAT_A_BENCH_SEES % sorted(TEST_ENV)], cwd=ROOT, env=env,
                         capture_output=True, text=True, timeout=300, check=True)
    seen = json.loads(out.stdout.strip().splitlines()[-1])
    assert seen["env"] == {name: None for name in TEST_ENV}
    assert seen["keep"] == 1 + cpus()                   # one warm spare + one per admission slot
