"""`python -m rnn_core sweep`: every cell × timesteps × gain × hidden size × seed of a grid, one CSV row
per finished run, on worker processes, Ray or one loop; runs the file already holds are skipped, Ctrl-C
keeps what finished, a progress line shows the time left. The engine is `rnn_core.sweep`."""

from __future__ import annotations

import argparse
import math
import os
import sys
from pathlib import Path

from rnn_core.cli.common import CliError, dataset_params, fail, parse_params, say
from rnn_core.config import INITS, OPTIMIZERS, DataConfig, TrainConfig
from rnn_core.nn.cells import CELLS
from rnn_core.nn.model_config import ModelConfig
from rnn_core.readable import seconds


def sweep_parser(p: argparse.ArgumentParser) -> None:
    from rnn_core.sweep.backends import BACKENDS

    m, t = ModelConfig(), TrainConfig()
    g = p.add_argument_group("grid")
    g.add_argument("--cell", default="rnn,lstm,gru", metavar="LIST", help=f"cells, comma-separated, of "
                   f"{', '.join(CELLS)} (%(default)s)")
    g.add_argument("--timesteps", default="10,25,50,100,200", metavar="LIST",
                   help="window lengths T, comma-separated or START:STOP:COUNT (%(default)s)")
    g.add_argument("--gain", default="1.0", metavar="LIST",
                   help="W_hh init gains, comma-separated or START:STOP:COUNT, e.g. 0.5:1.5:5 (%(default)s)")
    g.add_argument("--hidden", default=str(m.hidden_size), metavar="LIST",
                   help="hidden sizes, comma-separated (%(default)s)")
    g.add_argument("--seeds", type=int, default=3, help="seeds 0 … N−1 per setting (%(default)s)")
    d = p.add_argument_group("data and model")
    d.add_argument("--dataset", default="adding", metavar="NAME",
                   help="a dataset of the registry (see 'datasets'; %(default)s)")
    d.add_argument("--param", action="append", default=[], metavar="KEY=VALUE",
                   help="a dataset parameter, e.g. n_samples=1000 (repeat for several)")
    d.add_argument("--init", choices=list(INITS), default="orthogonal",
                   help="W_hh init scheme; the gain acts on orthogonal, identity and gaussian (%(default)s)")
    d.add_argument("--layers", type=int, default=m.num_layers, help="stacked layers (%(default)s)")
    d.add_argument("--forget-bias", type=float, default=m.forget_bias,
                   help="added to the LSTM forget-gate bias (%(default)s)")
    o = p.add_argument_group("training")
    o.add_argument("--epochs", type=int, default=5, help="(%(default)s)")
    o.add_argument("--batch-size", type=int, default=t.batch_size, help="(%(default)s)")
    o.add_argument("--lr", type=float, default=t.lr, help="learning rate (%(default)s)")
    o.add_argument("--optimizer", choices=list(OPTIMIZERS), default=t.optimizer, help="(%(default)s)")
    o.add_argument("--clip-norm", type=float, default=t.clip_value, metavar="C",
                   help="clip the gradient norm at C; 0 = no clipping (%(default)s)")
    r = p.add_argument_group("execution and output")
    r.add_argument("--backend", choices=list(BACKENDS), default="local",
                   help="local worker processes, Ray (this machine, or the cluster at RAY_ADDRESS), or "
                   "inline (one loop in this process) (%(default)s)")
    r.add_argument("--workers", type=int, default=max(1, os.cpu_count() or 1),
                   help="worker processes, or CPUs of a local Ray instance (%(default)s)")
    r.add_argument("--out", default="sweep.csv", metavar="PATH",
                   help="CSV the runs are appended to; runs it already holds are skipped (%(default)s)")
    r.add_argument("--parquet", metavar="PATH", help="also write every run as Parquet at the end (needs pyarrow)")
    r.add_argument("--quiet", action="store_true", help="no progress line")


def _number_list(text: str, flag: str, kind: type = float) -> list:
    """'10,25,50' → [10, 25, 50]; 'a:b:n' → n evenly spaced values from a to b."""
    text = text.strip()
    try:
        if ":" in text:
            parts = text.split(":")
            if len(parts) != 3:
                raise ValueError
            lo, hi, n = float(parts[0]), float(parts[1]), int(parts[2])
            if n < 1:
                raise ValueError
            values = [lo + (hi - lo) * i / (n - 1) for i in range(n)] if n > 1 else [lo]
            values = [round(v, 10) for v in values]
        else:
            values = [float(v) for v in text.split(",") if v.strip()]
    except ValueError:
        raise CliError(f"{flag} takes numbers separated by commas or START:STOP:COUNT, got '{text}'.") from None
    if kind is int:
        if any(not float(v).is_integer() for v in values):
            raise CliError(f"{flag} takes whole numbers, got '{text}'.")
        values = [int(v) for v in values]
    if any(not math.isfinite(v) for v in values):
        raise CliError(f"{flag} takes finite numbers, got '{text}'.")
    return values


def sweep_trials(args) -> list:
    """The trials of `sweep`'s flags; a bad grid raises (one sentence)."""
    from rnn_core.data.registry import get_dataset
    from rnn_core.sweep.trials import grid

    ds = get_dataset(args.dataset)
    if ds.name == "csv":
        raise CliError("A sweep runs on a dataset of the registry; the csv dataset needs an upload.")
    if args.seeds < 1:
        raise CliError(f"--seeds must be at least 1, got {args.seeds}.")
    if args.workers < 1:
        raise CliError(f"--workers must be at least 1, got {args.workers}.")
    if not math.isfinite(args.forget_bias):
        raise CliError("--forget-bias must be a finite number.")
    model = ModelConfig(init=args.init, num_layers=args.layers, forget_bias=args.forget_bias)
    data = DataConfig(dataset=ds.name, params=dataset_params(ds.name, parse_params(args.param)))
    clip = "norm" if args.clip_norm > 0 else "off"
    train = TrainConfig(optimizer=args.optimizer, lr=args.lr, batch_size=args.batch_size, epochs=args.epochs,
                        clip=clip, clip_value=args.clip_norm if args.clip_norm > 0 else 1.0)
    cells = [c.strip() for c in args.cell.split(",") if c.strip()]
    return grid(cells, _number_list(args.timesteps, "--timesteps", int), _number_list(args.gain, "--gain"),
                args.seeds, _number_list(args.hidden, "--hidden", int), model, data, train)


def cmd_sweep(args) -> int:
    import time

    from rnn_core.sweep.backends import ray_available, run_sweep
    from rnn_core.sweep.background import eta
    from rnn_core.sweep.records import RecordWriter, finished_keys, parquet_available, read_records, write_parquet

    trials = sweep_trials(args)
    if args.backend == "ray" and (why := ray_available()):
        raise CliError(why)
    if args.parquet and (why := parquet_available()):
        raise CliError(why)
    out = Path(args.out).expanduser()
    if not out.resolve().parent.is_dir():
        raise CliError(f"Cannot write --out '{args.out}': the folder '{out.resolve().parent}' does not exist.")
    if out.is_dir():
        raise CliError(f"--out '{args.out}' is a folder; give a file name such as sweep.csv.")
    done = finished_keys(out) & {t.key for t in trials}
    todo = len(trials) - len(done)
    where = os.environ.get("RAY_ADDRESS") or "this machine" if args.backend == "ray" else "this machine"
    workers = 1 if args.backend == "inline" else args.workers          # inline: one loop in this process
    say(f"{len(trials)} runs in the grid, {len(done)} already in {args.out}, {todo} to train "
         f"({args.backend}, {workers} worker{'s' * (workers != 1)} on {where}).")
    t0, n = time.monotonic(), 0
    tty = sys.stderr.isatty()
    try:
        with RecordWriter(out) as writer:
            for rec in run_sweep(trials, args.backend, args.workers, skip=done):
                writer.write(rec)
                n += 1
                if not args.quiet:
                    _progress(n, todo, time.monotonic() - t0, eta, tty)
    except KeyboardInterrupt:
        if tty and not args.quiet:
            print(file=sys.stderr)
        fail(f"Interrupted: {n} of {todo} runs finished and are kept in {args.out}; run the same command "
              "again to train the rest.")
        return 130
    if tty and not args.quiet:
        print(file=sys.stderr)
    records = read_records(out)
    say(f"Finished: {n} runs trained in {seconds(time.monotonic() - t0)}; {args.out} holds {len(records)} runs.")
    if args.parquet:
        write_parquet(records, args.parquet)
        say(f"Wrote {args.parquet}")
    return 0


def _progress(done: int, total: int, spent: float, eta, tty: bool) -> None:
    left = eta(done, total, spent)
    width = 30
    bar = "#" * round(width * done / max(1, total))
    line = f"[{bar.ljust(width)}] {done}/{total} runs · {seconds(spent)} · ETA {'—' if left is None else seconds(left)}"
    print(("\r" + line) if tty else line, end="" if tty else "\n", file=sys.stderr, flush=True)
