"""Chart payload per redraw for a large setting (T = 1000, H = 512), and whether it stays bounded.

1. A real LiveRun at timesteps 1000 and hidden 512 (few windows, 1 epoch): from its final snapshot,
   the figures the Playground rebuilds on each redraw while training (ui/views.draw_run: loss,
   gradient through time, heatmap, gates, gradient norm, per-parameter norms, spectra; built with
   plots/), and the predictions figure (rebuilt only when paused or finished); for each the
   bytes of its JSON as st.plotly_chart sends it, and the time to build and serialise them all.
2. The run grown long: its real records (a T = 1000 probe in every epoch record) are fed into a
   fresh LiveRun's history the way the trainer thread feeds it (`LiveRun._record`), up to 500 epochs
   (the epochs limit) × 200 steps = 100,000 steps, and the same figures are measured at each stage.
   Bounded means: between the last two stages the payload grows by at most √ of the run's growth
   (the step charts stop growing once the run has more steps than a snapshot keeps, 1,500; the epoch
   charts grow with the epochs up to their caps), and the largest redraw, at the 500-epoch limit,
   stays under REDRAW_BUDGET (1 MiB).

    .venv/bin/python -m bench.payload                   # Elman tanh; --cell lstm for the gated view
Leaves to others: the figures and their downsampling (plots/), the history (rnn_core/serve/live.py).
"""

from __future__ import annotations

import time

from bench.common import (
    figure_bytes,
    fmt_s,
    parser,
    redraw_builders,
    redraw_figures,
    setup_threads,
    table,
    windows_subset,
)
from plots.predictions import predictions_figure
from rnn_core.config import DataConfig, TrainConfig
from rnn_core.data.windows import naive_loss, prepare
from rnn_core.measure.closed_loop import closed_loop
from rnn_core.measure.evaluate import evaluate
from rnn_core.nn.model_config import ModelConfig
from rnn_core.serve.live import LiveRun

REDRAW_BUDGET = 1 << 20  # bytes: one live redraw at the largest run (500 epochs) stays under 1 MiB


def kb(n: int) -> str:
    return f"{n / 1024:.1f} kB"


def redraw_sizes(snap, model_cfg: ModelConfig, train_cfg: TrainConfig, baseline,
                 cpu: dict | None = None) -> tuple[dict, float]:
    """{figure: bytes} of one live redraw and the CPU seconds (this thread) to build and serialise them
    all; `cpu` (when given) receives the CPU seconds of each figure."""
    sizes, total = {}, 0.0
    for name, build in redraw_builders(snap, model_cfg.cell, train_cfg.clip, train_cfg.clip_value,
                                       baseline).items():
        t0 = time.thread_time()
        sizes[name] = figure_bytes(build())
        spent = time.thread_time() - t0
        total += spent
        if cpu is not None:
            cpu[name] = spent
    return sizes, total


def grow(records: list[dict], model_cfg, train_cfg, windows, epochs: int, steps_per_epoch: int,
         stages: list[int]):
    """Feed a fresh LiveRun's history with `epochs` × `steps_per_epoch` records modelled on the real
    ones; yield (epoch, snapshot) at each stage."""
    step_rec = next(r for r in reversed(records) if r["kind"] == "step")
    epoch_rec = next(r for r in reversed(records) if r["kind"] == "epoch" and r.get("probe"))
    run = LiveRun(model_cfg, train_cfg, windows, idle_timeout=None)
    run._record({**epoch_rec, "epoch": 0, "step": 0})
    step = 0
    for e in range(1, epochs + 1):
        for _ in range(steps_per_epoch):
            step += 1
            # a wiggling loss so the min/max decimation has something to keep
            run._record({**step_rec, "epoch": e, "step": step, "loss": step_rec["loss"] * (1 + (step % 7) / 10),
                         "grad_norm": step_rec["grad_norm"] * (1 + (step % 5) / 10), "clipped": step % 3 == 0})
        run._record({**epoch_rec, "epoch": e, "step": step})
        if e in stages:
            yield e, step, run.snapshot()


def main(argv: list[str] | None = None, summary: list[str] | None = None) -> int:
    """Run the benchmark and print it; `summary` (when given) receives the lines run_all quotes."""
    p = parser("Bytes of each figure's JSON per redraw at T = 1000, H = 512, and as the run grows.")
    p.add_argument("--cell", default="rnn")
    p.add_argument("--timesteps", type=int, default=1000)
    p.add_argument("--hidden", type=int, default=512)
    p.add_argument("--windows", type=int, default=32, help="training windows (default %(default)s: two steps)")
    args = p.parse_args(argv)
    threads = setup_threads(args.threads)
    T, H, n_train = args.timesteps, args.hidden, args.windows
    epochs, spe, stages = 500, 200, [1, 10, 50, 100, 500]
    if args.quick:
        T, H, n_train, epochs, spe, stages = 20, 8, 32, 100, 100, [1, 10, 50, 100]
    model_cfg = ModelConfig(cell=args.cell, hidden_size=H)
    train_cfg = TrainConfig(epochs=1, batch_size=16, probe_batch=2)   # within the memory budget's step at H = 512
    n_val = max(4, n_train // 4)
    windows = windows_subset(prepare(DataConfig(timesteps=T, params={"length": T + 2 * (n_train + n_val) + 40})),
                             n_train, n_val)
    print(f"## Payload per redraw: {args.cell}, T={T}, H={H}")
    print(f"a real LiveRun of 1 epoch on {n_train} training windows (batch 32), torch threads {threads}; "
          "JSON bytes as st.plotly_chart sends them (plotly.io.to_json).")
    t0 = time.perf_counter()
    run = LiveRun(model_cfg, train_cfg, windows, idle_timeout=None)
    run.start()
    run.join()
    snap = run.snapshot()
    train_s = time.perf_counter() - t0
    if snap.status != "completed":
        print(f"the run did not complete: {snap.status} — {(snap.end or {}).get('reason')}")
        return 1
    baseline = naive_loss(windows)              # the loss chart's dashed line, as the app draws it
    with run.lock:
        ev = evaluate(run.model, windows)
        closed = closed_loop(run.model, windows, 20, start="test")
    pred = figure_bytes(predictions_figure(ev, closed, task=windows.task, target_name=windows.target_name))
    redraw_figures(snap, model_cfg.cell, train_cfg.clip, train_cfg.clip_value, baseline)   # warm plotly up
    cpu: dict[str, float] = {}
    sizes, build_s = redraw_sizes(snap, model_cfg, train_cfg, baseline, cpu)
    print(f"training took {fmt_s(train_s)} ({snap.step} steps, {len(snap.epochs)} epoch records); one redraw "
          f"builds and serialises its {len(sizes)} figures in {fmt_s(build_s)} of CPU — at the app's 2 redraws/s "
          f"{100 * 2 * build_s:.0f}% of a core, in the process that also trains.")
    print(table(["figure", "JSON per redraw", "CPU to build + serialise"],
                [*[[k, kb(v), fmt_s(cpu[k])] for k, v in sizes.items()],
                 ["total (live redraw)", kb(sum(sizes.values())), fmt_s(build_s)],
                 ["predictions (paused / finished only)", kb(pred), ""]]))

    print(f"\nAs the run grows ({epochs} epochs × {spe} steps of records modelled on the real ones, fed into "
          "a LiveRun's history):")
    rows, stages_sz = [], []
    for e, step, s in grow(run_records(run), model_cfg, train_cfg, windows, epochs, spe, stages):
        sz, secs = redraw_sizes(s, model_cfg, train_cfg, baseline)
        stages_sz.append((e, step, sz))
        rows.append([e, step, len(s.steps), *[kb(sz[k]) for k in sizes], kb(sum(sz.values())), fmt_s(secs)])
    print(table(["epochs", "steps", "step records in snapshot", *sizes, "total", "CPU build + JSON"], rows))
    (_, s1, sz1), (e2, s2, sz2) = stages_sz[-2], stages_sz[-1]
    growth, run_growth = sum(sz2.values()) / sum(sz1.values()), s2 / s1
    largest = max(sum(sz.values()) for _, _, sz in stages_sz)
    bounded = growth <= run_growth**0.5 and largest <= REDRAW_BUDGET
    print(f"bounded: {'yes' if bounded else 'NO'} — from {s1} to {s2} steps (×{run_growth:.0f}) one redraw grew "
          f"×{growth:.2f}; snapshots keep ≤ 1,500 step records and every trace ≤ 2,000 points, so what still grows "
          f"is the per-epoch traces (up to the app's 500-epoch limit) and the digits of the step numbers; the "
          f"largest redraw ({e2} epochs) is {kb(largest)} (budget {kb(REDRAW_BUDGET)}).")
    if summary is not None:
        summary.append(f"Payload ({args.cell}, T={T}, H={H}): one live redraw = {kb(sum(sizes.values()))} of JSON "
                       f"over {len(sizes)} figures (largest: {max(sizes, key=sizes.get)} "
                       f"{kb(max(sizes.values()))}), {fmt_s(build_s)} CPU to build; at {epochs} epochs × {spe} steps "
                       f"{kb(largest)}; bounded: {'yes' if bounded else 'NO'}")
    return 0 if bounded else 1


def run_records(run: LiveRun) -> list[dict]:
    """The real run's records in order: its epoch records, steps and end (from a full snapshot)."""
    snap = run.snapshot(max_points=10**9)
    return sorted([*snap.epochs, *snap.steps], key=lambda r: (r["step"], r["kind"] == "epoch"))


if __name__ == "__main__":
    raise SystemExit(main())
