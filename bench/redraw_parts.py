"""What each part of the Playground's live view costs to redraw, in process: CPU ms per redraw of the
step-level part and of the epoch-level part, no server, no websocket.

Not a test (nothing asserts a time). `bench.redraw_cost` measures the server; this measures the same
drawing code alone, steadier on a shared machine (CPU time of one thread, no scheduling in between).

    .venv/bin/python -m bench.redraw_parts --epochs 30 --redraws 40

A run of the bench's usual setup (sine, T = 20, H = 16, 800 points, batch 32, the probe every 2nd epoch,
seed 0) is trained here once, in process, for --epochs epochs; its records are then shown to one AppTest
session (`streamlit.testing.v1`) as a running run that has reached record k, k growing by --per-poll
records at each redraw (what a poll brings), and the session draws `ui.views.run_parts` — the step-level
part, then the epoch-level part — --redraws times. Printed: the median and mean `time.process_time` of
each part per redraw (the first --warm redraws left out: they build what later ones update).

Leaves to others: the drawing (`ui/views.py`, `plots/`), the server's share (`bench/redraw_cost.py`).
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
from dataclasses import replace
from pathlib import Path

from bench.common import ROOT, table

sys.path.insert(0, str(ROOT))


def context(epochs: int):
    """The bench setup's run context (`ui.live.RunContext`), `epochs` epochs."""
    from rnn_core.config import DataConfig, TrainConfig
    from rnn_core.nn.model_config import ModelConfig
    from ui.live import RunContext
    from ui.run_files import prepare_windows

    data = DataConfig(dataset="sine", timesteps=20, params={"length": 800})
    windows = prepare_windows(data)
    model = replace(ModelConfig(hidden_size=16), input_size=windows.n_features,
                    output_size=int(windows.y_train.shape[1]))
    return RunContext(model, data, TrainConfig(batch_size=32, epochs=epochs, probe_every=2, seed=0), windows)


def records(ctx) -> list[dict]:
    """The run's records (without the end record), trained here."""
    from rnn_core.nn.train import run_to_end

    _, recs = run_to_end(ctx.model_cfg, ctx.train_cfg, ctx.windows)
    return [r for r in recs if r["kind"] != "end"]


def _page() -> None:
    """The live view of a run that has reached record `shown`, both parts timed (an AppTest script)."""
    import time

    import streamlit as st

    from rnn_core.serve.history import History, Snapshot
    from ui.live import get_context, get_run, set_run
    from ui.views import run_parts

    ss = st.session_state

    class Running:
        status = "running"

        def __init__(self, ctx, records):
            self.records, self.total, self.history, self.fed = records, ctx.train_cfg.epochs, History(), 0

        def snapshot(self, max_points: int = 1500) -> Snapshot:
            for r in self.records[self.fed:ss.shown]:
                self.history.add(r)
            self.fed = max(self.fed, ss.shown)
            h = self.history
            return Snapshot(status="running", steps=h.recent_steps(max_points), epochs=list(h.epochs), end=None,
                            epoch=h.epoch, step=h.step, total_epochs=self.total, steps_per_epoch=1, elapsed=1.0,
                            version=h.version)

        def stop(self) -> None:
            """Nothing runs."""

    if "times" not in ss:
        ss.times = []
        set_run("pg", Running(ss.ctx, ss.records), ss.ctx)
    each_step, each_epoch = run_parts("pg", get_context("pg"))
    snap = get_run("pg").snapshot()
    t0 = time.process_time()
    each_step(snap, get_context("pg"))
    t1 = time.process_time()
    each_epoch(snap, get_context("pg"))
    ss.times.append((t1 - t0, time.process_time() - t1))


def measure(ctx, recs: list[dict], args) -> list[tuple[float, float]]:
    from streamlit.testing.v1 import AppTest

    at = AppTest.from_function(_page, default_timeout=120)
    at.session_state.ctx, at.session_state.records, at.session_state.shown = ctx, recs, args.per_poll
    for i in range(args.redraws):
        at.session_state.shown = min(len(recs), (i + 1) * args.per_poll)
        at.run()
        if at.exception:
            raise RuntimeError(at.exception[0].value)
    return at.session_state.times[args.warm:]


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--epochs", type=int, default=30, help="epochs of the run shown (its records are drawn)")
    p.add_argument("--redraws", type=int, default=40, help="redraws of the session")
    p.add_argument("--per-poll", type=int, default=10, help="records a poll brings")
    p.add_argument("--warm", type=int, default=3, help="first redraws left out of the figures")
    p.add_argument("--records", type=Path, help="keep the trained records in this JSON file and reuse them "
                   "(the same --epochs)")
    args = p.parse_args(argv)
    ctx = context(args.epochs)
    if args.records is not None and args.records.exists():
        recs = json.loads(args.records.read_text())
    else:
        recs = records(ctx)
        if args.records is not None:
            args.records.write_text(json.dumps(recs))
    times = measure(ctx, recs, args)
    rows = [[part, f"{1000 * statistics.median(t[i] for t in times):.1f} ms",
             f"{1000 * statistics.mean(t[i] for t in times):.1f} ms"]
            for i, part in enumerate(("step-level part (every poll)", "epoch-level part (at most every 2 s)"))]
    print(table(["part of the live view", "CPU per redraw, median", "mean"], rows))
    print(f"{len(times)} redraws, records up to {min(len(recs), args.redraws * args.per_poll)} of {len(recs)}")


if __name__ == "__main__":
    main()
