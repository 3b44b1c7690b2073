"""The whole command, as a user waits for it: the project's CLI against the seed article's Keras script.

Both train the seed-004 setup (three stacked Elman/SimpleRNN layers of 20, 100 timesteps, batch 32,
Adam, MSE, an 80/20 chronological split, min-max scaling) on the same series — the last 3,038 days of
the offline DJIA, as many as the article's NFLX 2010-04-01…2022-04-25 — for the same epochs, and each
ends with its test RMSE. Each side is timed as a whole process (imports, data, training, evaluation,
exit), interleaved A B A B … after one warm-up pair, so a drift of the machine's speed hits both; the
ratio is taken pair by pair and the median quoted, with wall and CPU seconds (user + sys, from the
kernel's accounting of the child).

The Keras side runs in its own virtualenv (TensorFlow never enters the project's):

    python -m venv bench/.keras-venv && bench/.keras-venv/bin/pip install tensorflow-cpu==2.21.0 pandas
    .venv/bin/python -m bench.whole_run                   # 5 pairs, 3 epochs
    .venv/bin/python -m bench.whole_run --keras-python /path/to/python --pairs 7

Without that virtualenv (or where it cannot import TensorFlow) the Keras column is skipped with the
reason and the CLI is still timed. Nothing here asserts a time.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bench.common import ROOT, fmt_s, median, parser, table

DAYS = 3038                  # 2,430 + 608 in the article (NFLX 2010-04-01 … 2022-04-25)
KERAS_VENV_PYTHON = ROOT / "bench" / ".keras-venv" / "bin" / "python"


def export_series(folder: Path, days: int = DAYS) -> Path:
    """The last `days` closes of the offline DJIA as a date,DJIA CSV (the input of both sides)."""
    from rnn_core.data.registry import DATASETS

    path = folder / "djia_tail.csv"
    DATASETS["djia"].load().tail(days).to_csv(path)
    return path


def cli_command(csv: Path, epochs: int) -> list[str]:
    return [sys.executable, "-m", "rnn_core", "train", "--csv", str(csv), "--column", "DJIA",
            "--cell", "rnn", "--hidden", "20", "--layers", "3", "--timesteps", "100", "--batch-size", "32",
            "--epochs", str(epochs), "--split", "0.8", "--val-split", "0", "--optimizer", "adam",
            "--lr", "0.001", "--no-clip"]


def keras_command(python: Path, csv: Path, epochs: int) -> list[str]:
    return [str(python), str(ROOT / "bench" / "keras_stock.py"), str(csv), "--epochs", str(epochs)]


def keras_missing_reason(python: Path) -> str | None:
    """Why the Keras side cannot run (None when it can)."""
    if not python.exists():
        return (f"no Keras virtualenv at {python} (python -m venv bench/.keras-venv && "
                "bench/.keras-venv/bin/pip install tensorflow-cpu==2.21.0 pandas)")
    probe = subprocess.run([str(python), "-c", "import keras, tensorflow"], capture_output=True, text=True)
    if probe.returncode != 0:
        return f"{python} cannot import keras/tensorflow: {probe.stderr.strip().splitlines()[-1:]}"
    return None


def timed(cmd: list[str]) -> tuple[float, float, int, str]:
    """(wall s, CPU s of the child, exit status, its last output line) of one whole process."""
    t0 = time.perf_counter()
    proc = subprocess.Popen(cmd, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                            env={**os.environ, "PYTHONUNBUFFERED": "1"})
    out = proc.stdout.read().decode(errors="replace") if proc.stdout else ""
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - t0
    lines = [ln for ln in out.splitlines() if ln.strip()]
    return wall, usage.ru_utime + usage.ru_stime, os.waitstatus_to_exitcode(status), (lines[-1] if lines else "")


def main(argv: list[str] | None = None) -> int:
    p = parser(__doc__.splitlines()[0])
    p.add_argument("--pairs", type=int, default=5, help="counted A/B pairs after one warm-up pair (5)")
    p.add_argument("--epochs", type=int, default=3)
    p.add_argument("--keras-python", type=Path, default=KERAS_VENV_PYTHON,
                   help="the Python of a virtualenv with tensorflow-cpu (default bench/.keras-venv)")
    args = p.parse_args(argv)
    pairs, epochs = (1, 1) if args.quick else (args.pairs, args.epochs)

    reason = keras_missing_reason(args.keras_python)
    with tempfile.TemporaryDirectory() as tmp:
        csv = export_series(Path(tmp))
        sides = {"rnn_core CLI": cli_command(csv, epochs)}
        if reason is None:
            sides["seed 004 Keras"] = keras_command(args.keras_python, csv, epochs)
        runs: dict[str, list[tuple[float, float]]] = {name: [] for name in sides}
        for i in range(pairs + 1):                               # pair 0 warms the disk caches up
            for name, cmd in sides.items():
                wall, cpu, code, last = timed(cmd)
                if code != 0:
                    print(f"{name} exited with status {code}: {last}")
                    return 1
                if i == 0:
                    print(f"{name}: {last}")
                else:
                    runs[name].append((wall, cpu))

    print(f"\nWhole process, seed-004 setup ({DAYS} DJIA days, 3×20 Elman, T = 100, batch 32, {epochs} "
          f"epochs), {pairs} interleaved pairs, medians:")
    rows = [[name, fmt_s(median([w for w, _ in r])), fmt_s(median([c for _, c in r]))]
            for name, r in runs.items()]
    print(table(["command", "wall", "CPU (user+sys)"], rows))
    if reason is not None:
        print(f"Keras: skipped — {reason}.")
        return 0
    cli, keras = runs["rnn_core CLI"], runs["seed 004 Keras"]
    wall_ratios = [a[0] / b[0] for a, b in zip(cli, keras)]
    cpu_ratios = [a[1] / b[1] for a, b in zip(cli, keras)]
    print(f"CLI ÷ Keras, pair by pair: wall {median(wall_ratios):.2f}× (min {min(wall_ratios):.2f}, "
          f"max {max(wall_ratios):.2f}); CPU {median(cpu_ratios):.2f}× (min {min(cpu_ratios):.2f}, "
          f"max {max(cpu_ratios):.2f})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
