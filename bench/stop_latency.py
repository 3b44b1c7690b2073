"""How long Stop takes: a heavy live run of every cell (T = 1000, H = 256, four layers where the cell
stacks) stopped 1.5 s into its first computation (the epoch-0 loss over the whole split), and the CLI
stopped by Ctrl-C at the same point; seconds from the request to the run's end (the CLI: to its
one-sentence message). Before the interrupt checks these took minutes; the target is under
`TARGET_S` on a busy machine. Printed, never asserted (tests/test_stop.py holds that Stop stops and
keeps what finished).

    .venv/bin/python -m bench.stop_latency            # every cell, and the CLI
    .venv/bin/python -m bench.stop_latency --quick    # one small run of each kind (the smoke test)
Leaves to others: the interrupt checks themselves (`rnn_core/interrupt.py`, the live run, the CLI).
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

from bench.common import fmt_s, parser, setup_threads, table
from rnn_core.config import DataConfig, TrainConfig
from rnn_core.data.windows import prepare
from rnn_core.nn.cells import CELLS, cell_of
from rnn_core.nn.model_config import ModelConfig
from rnn_core.nn.train import warm_up
from rnn_core.serve.live import LiveRun

TARGET_S = 5.0
# as heavy as the memory budget's "step" row lets a run be at T = 1000 (nn/step_memory.py): the app's run at
# batch 4 and probe batch 1; the CLI's (whose probe batch is the default 16) with fewer units
HEAVY = {"timesteps": 1000, "hidden": 256, "cli_hidden": 100, "layers": 4, "length": 1200, "after_s": 1.5}
QUICK = {"timesteps": 200, "hidden": 64, "cli_hidden": 64, "layers": 2, "length": 400, "after_s": 0.3}


def live_stop_seconds(cell: str, size: dict) -> tuple[float, str]:
    """(seconds from Stop to the run's end, its end reason) for one heavy live run of `cell`."""
    warm_up()                                        # torch's one-off imports, as the app does at start
    windows = prepare(DataConfig(dataset="sine", timesteps=size["timesteps"], params={"length": size["length"]}))
    layers = min(size["layers"], cell_of(cell).max_layers or size["layers"])
    model_cfg = ModelConfig(cell=cell, hidden_size=size["hidden"], num_layers=layers)
    run = LiveRun(model_cfg, TrainConfig(epochs=5, batch_size=4, probe_batch=1), windows, idle_timeout=None)
    run.start()
    time.sleep(size["after_s"])
    t0 = time.monotonic()
    run.stop()
    run.join(timeout=600)
    return time.monotonic() - t0, run.snapshot().end["reason"]


def cli_stop_seconds(size: dict, out: str) -> tuple[float, int]:
    """(seconds from Ctrl-C to the CLI's sentence, its exit code) for one heavy LSTM run."""
    cmd = [sys.executable, "-m", "rnn_core", "train", "--cell", "lstm", "--hidden", str(size["cli_hidden"]),
           "--layers", str(size["layers"]), "--dataset", "sine", "--timesteps", str(size["timesteps"]),
           "--param", f"length={size['length']}", "--epochs", "3", "--batch-size", "8", "--probe-every", "0",
           "--save", out]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            env={**os.environ, "OMP_NUM_THREADS": "1"})
    proc.stdout.readline()                           # printed just before training starts
    time.sleep(size["after_s"])
    t0 = time.monotonic()
    proc.send_signal(signal.SIGINT)
    proc.stderr.readline()                           # the sentence, printed once training has stopped
    seconds = time.monotonic() - t0
    proc.communicate(timeout=600)
    return seconds, proc.returncode


def main(argv: list[str] | None = None, summary: list[str] | None = None) -> int:
    p = parser("Seconds from Stop (or Ctrl-C) to the end of a heavy run, per cell.")
    args = p.parse_args(argv)
    threads = setup_threads(args.threads)
    size = QUICK if args.quick else HEAVY
    cells = list(CELLS)[:1] if args.quick else list(CELLS)
    print(f"## Stop latency (T = {size['timesteps']}, H = {size['hidden']} (CLI {size['cli_hidden']}), up to "
          f"{size['layers']} layers, batch 4 (CLI 8); Stop {size['after_s']} s in; torch threads {threads}; "
          f"target < {TARGET_S:g} s)")
    rows = []
    for cell in cells:
        seconds, reason = live_stop_seconds(cell, size)
        rows.append([f"live run, {cell}", fmt_s(seconds), reason])
    args.out.mkdir(parents=True, exist_ok=True)
    seconds, code = cli_stop_seconds(size, str(args.out / "stop_latency_run"))
    rows.append(["CLI, lstm, Ctrl-C", fmt_s(seconds), f"exit {code}"])
    print(table(["run", "Stop → end", "how it ended"], rows))
    if summary is not None:
        summary.append("Stop latency: " + ", ".join(f"{r[0]} {r[1]}" for r in rows))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
