"""The command line: `python -m rnn_core datasets | train | gradients | sweep`, for scripts and notebooks.

    python -m rnn_core datasets
    python -m rnn_core train --cell lstm --dataset sine --timesteps 50 --hidden 32 --epochs 20 \\
        --json run.json --save runs/lstm-sine
    python -m rnn_core train --csv prices.csv --column Close --column Volume --date-column Date
    python -m rnn_core train --dataset brackets --cell lstm --timesteps 30 --param span=20
    python -m rnn_core train --dataset pydoc --cell lstm --hidden 128 --timesteps 50   (or --text notes.txt)
    python -m rnn_core gradients --cell rnn --timesteps 100 --init orthogonal --gain 0.9
    python -m rnn_core train --preset exploding --clip-norm 1
    python -m rnn_core sweep --cell rnn,lstm,gru --timesteps 10,25,50,100,200 --gain 0.5:1.5:5 \\
        --seeds 3 --epochs 5 --backend local --out sweep.csv

`train --preset NAME` starts from a Playground preset (`presets.py`); every flag given explicitly
overrides it (the train flags default to None for that reason; the help states the real defaults).
`train` prints one line per epoch (train loss, validation loss, gradient norm, seconds) under a header
saying what the constant guess and persistence score in the same scaled units, a verdict against
them ("beats" only below BEATS_BELOW× their loss), then the test metrics next to the baseline (text
datasets: bits per character against the unigram baseline and a sample per epoch, then bits per
character and accuracy on the held-out text); `--json` writes the whole run record, `--save` a run
folder (`runs.py`). `gradients` probes ‖∂L/∂h_t‖ at initialisation, no training, and prints how many
decades the gradient loses (or gains) from the last timestep back to the first. `sweep` trains every
combination of a grid (`sweep.py`) on worker processes or Ray, appends one CSV row per finished run,
skips the runs the file already holds, and shows runs done and the time left; Ctrl-C keeps what finished.
Bad input (unknown dataset, unreadable CSV, sizes out of range …) exits with status 2 and one line
on stderr; a run that diverges exits 0 and says when and why.
Holds only argument parsing and printing: configs (`config.py`), data (`datasets.py`, `windows.py`),
the model (`models.py`), the trainer (`train.py`), the probe (`probe.py`), metrics (`evaluate.py`)
and run folders (`runs.py`) do the work.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import signal
import sys
import threading
from dataclasses import asdict
from pathlib import Path
from typing import Any

import numpy as np

from rnn_core.config import (
    CELL_SPECS,
    CELLS,
    FIELDS,
    INITS,
    OPTIMIZERS,
    SCALERS,
    ConfigError,
    DataConfig,
    ModelConfig,
    TrainConfig,
    validate_run,
)
from rnn_core.config import replace as cfg_replace
from rnn_core.data.csv_upload import MAX_UPLOAD_BYTES
from rnn_core.data.errors import DataError
from rnn_core.data.registry import DATASETS
from rnn_core.interrupt import interruptible
from rnn_core.lessons.presets import PRESETS, preset_configs, preset_note
from rnn_core.measure.readable import PLAIN_BELOW, readable

# torch and the modules that need it are imported inside the commands, after the input is checked:
# `datasets` and a bad flag answer in a second instead of waiting for torch to load.

PROG = "python -m rnn_core"


class CliError(ValueError):
    """Bad command-line input; the message is one sentence."""


class _Parser(argparse.ArgumentParser):
    """argparse that reports a usage error as one line on stderr (exit status 2)."""

    def error(self, message: str):
        self.exit(2, f"{self.prog}: error: {message}; see '{self.prog} --help'.\n")


# ----------------------------------------------------------------------------- the parser
def _range(name: str) -> str:
    """'lo to hi' of a setting, from the one settings table (config.FIELDS) that validate() enforces."""
    f = FIELDS[name]
    return f"{f.lo:g} to {f.hi:g}"


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog=PROG, description="RNN Playground from the command line: list the datasets, "
                     "train a recurrent network, or probe its gradients through time at initialisation.")
    sub = parser.add_subparsers(dest="command", required=True, metavar="{datasets,train,gradients,sweep}")
    sub.add_parser("datasets", help="list the datasets", description="List the datasets of the registry.")
    _train_parser(sub.add_parser("train", help="train a network and report honest metrics",
                                 description="Train a recurrent network, print one line per epoch, then "
                                 "the test metrics next to the persistence baseline."))
    _gradients_parser(sub.add_parser("gradients", help="‖∂L/∂h_t‖ per timestep at initialisation",
                                     description="Probe the gradient through time at initialisation "
                                     "(no training) and print its decay in decades."))
    _sweep_parser(sub.add_parser("sweep", help="train every combination of a grid, one CSV row per run",
                                 description="Train every cell × timesteps × gain × hidden size × seed of a "
                                 "grid on worker processes (or Ray), one CSV row per finished run; runs the "
                                 "file already holds are not run again."))
    return parser


def _model_flags(p: argparse.ArgumentParser, m: ModelConfig, defaults: bool = True) -> None:
    """The model flags; with defaults=False each flag not given stays None (so a preset can fill it)."""
    d = (lambda v: v) if defaults else (lambda v: None)
    p.add_argument("--cell", choices=list(CELLS), default=d(m.cell), help=f"recurrent cell (default {m.cell})")
    p.add_argument("--hidden", type=int, default=d(m.hidden_size),
                   help=f"hidden units per layer ({m.hidden_size}; {_range('hidden_size')})")
    p.add_argument("--layers", type=int, default=d(m.num_layers),
                   help=f"stacked layers ({m.num_layers}; {_range('num_layers')})")
    p.add_argument("--init", choices=list(INITS), default=d(m.init), help=f"W_hh init scheme ({m.init})")
    p.add_argument("--gain", type=float, default=d(m.gain),
                   help=f"gain of the W_hh init ({m.gain:g}; {_range('gain')})")
    p.add_argument("--forget-bias", type=float, default=d(m.forget_bias),
                   help=f"added to the LSTM forget-gate bias ({m.forget_bias:g}; {_range('forget_bias')})")


def _train_parser(p: argparse.ArgumentParser) -> None:
    # Every flag defaults to None: a flag given explicitly wins over --preset, the rest come from the
    # preset (or from the config defaults, stated in the help).
    m, d, t = ModelConfig(), DataConfig(), TrainConfig()
    p.add_argument("--preset", metavar="NAME", help="start from a Playground preset (" + ", ".join(PRESETS)
                   + "); any other flag given overrides its setting")
    data = p.add_argument_group("data")
    source = data.add_mutually_exclusive_group()
    source.add_argument("--dataset", metavar="NAME",
                        help=f"a dataset of the registry (see 'datasets'; default {d.dataset})")
    source.add_argument("--csv", metavar="PATH", help="a CSV file of your own instead of --dataset")
    source.add_argument("--text", metavar="PATH", help="a plain-text file of your own: next-character "
                        "prediction (the 'text' dataset); see also --dataset pydoc or brackets")
    data.add_argument("--column", action="append", metavar="NAME",
                      help="input column (repeat for several); with --csv the value columns, the first "
                      "being the target; default: the dataset's features / every numeric column")
    data.add_argument("--target", metavar="NAME", help="column to predict (default: the dataset's target "
                      "or the first --column)")
    data.add_argument("--date-column", metavar="NAME", help="with --csv: the date column (default: found "
                      "automatically)")
    data.add_argument("--param", action="append", metavar="KEY=VALUE",
                      help="a dataset parameter, e.g. length=2000 or noise=0.1 (repeat for several)")
    data.add_argument("--timesteps", type=int, help=f"window length T ({d.timesteps}; {_range('timesteps')})")
    data.add_argument("--split", type=float,
                      help=f"fraction of the windows that train, chronologically first ({d.train_frac}; "
                      f"{_range('train_frac')})")
    data.add_argument("--val-split", type=float,
                      help=f"fraction that validates, the rest tests ({d.val_frac}; {_range('val_frac')})")
    data.add_argument("--scaler", choices=list(SCALERS), help=f"({d.scaler})")

    model = p.add_argument_group("model")
    _model_flags(model, m, defaults=False)

    opt = p.add_argument_group("training")
    opt.add_argument("--epochs", type=int, help=f"({t.epochs}; {_range('epochs')})")
    opt.add_argument("--batch-size", type=int, help=f"({t.batch_size}; {_range('batch_size')})")
    opt.add_argument("--lr", type=float, help=f"learning rate ({t.lr:g}; {_range('lr')})")
    opt.add_argument("--optimizer", choices=list(OPTIMIZERS), help=f"({t.optimizer})")
    opt.add_argument("--momentum", type=float, help=f"SGD momentum ({t.momentum:g}; {_range('momentum')})")
    clip = opt.add_mutually_exclusive_group()
    clip.add_argument("--clip-norm", type=float, metavar="C",
                      help=f"clip the gradient norm at C (the default, C = {t.clip_value:g})")
    clip.add_argument("--clip-value", type=float, metavar="C", help="clip every gradient entry to ±C")
    clip.add_argument("--no-clip", action="store_true", default=None, help="no gradient clipping")
    opt.add_argument("--bptt-truncate", type=int, metavar="K",
                     help=f"gradient flows back at most K steps, at most T; 0 = the whole window "
                     f"({t.bptt_truncate})")
    opt.add_argument("--seed", type=int, help=f"({t.seed})")
    opt.add_argument("--probe-every", type=int, metavar="N",
                     help=f"probe the gradient through time every N epochs ({t.probe_every} when the run is "
                     "written with --json or --save; otherwise 0, since no printed line reads it)")
    opt.add_argument("--device", choices=["cpu", "cuda"], help=f"({t.device})")
    opt.add_argument("--threads", type=_threads, default=1, metavar="N",
                     help="torch CPU threads (1, as each run in the app and the tests: the same preset and "
                          "seed give the same numbers everywhere; more can be faster for large nets, and "
                          "the numbers then differ in their last digits, or more on the edge of divergence)")

    out = p.add_argument_group("output")
    out.add_argument("--json", metavar="PATH", help="write the whole run record as JSON")
    out.add_argument("--save", metavar="DIR", help="save the run folder (config, history, weights)")
    out.add_argument("--quiet", action="store_true", help="no per-epoch lines")


def _gradients_parser(p: argparse.ArgumentParser) -> None:
    _model_flags(p, ModelConfig())
    p.add_argument("--timesteps", type=int, default=50, help="T (%(default)s)")
    p.add_argument("--batch", type=int, default=16, help="sequences in the probe batch (%(default)s)")
    p.add_argument("--data", choices=["random", "sine"], default="random",
                   help="random N(0, 1) inputs and targets, or sine waves with random phases (%(default)s)")
    p.add_argument("--seed", type=int, default=0, help="weights and batch (%(default)s)")
    p.add_argument("--json", metavar="PATH", help="write ‖∂L/∂h_t‖ per layer and timestep as JSON")


# ----------------------------------------------------------------------------- entry point
def main(argv: list[str] | None = None) -> int:
    for stream in (sys.stdout, sys.stderr):   # ‖∂L/∂h‖ and σ print on any terminal encoding
        if hasattr(stream, "reconfigure"):
            stream.reconfigure(errors="backslashreplace")
    args = build_parser().parse_args(argv)
    try:
        if args.command == "datasets":
            return cmd_datasets()
        if args.command == "train":
            return cmd_train(args)
        if args.command == "sweep":
            return cmd_sweep(args)
        return cmd_gradients(args)
    except (ConfigError, DataError, CliError, ValueError) as e:   # runs.RunFileError is a ValueError too
        _fail(str(e))
        return 2
    except KeyboardInterrupt:
        _fail("Interrupted.")
        return 130
    except Exception as e:  # a bug, not bad input: still one line, the traceback on request
        if os.environ.get("RNN_PLAYGROUND_DEBUG"):
            raise
        _fail(f"Unexpected {type(e).__name__}: {e} (set RNN_PLAYGROUND_DEBUG=1 to see the traceback).")
        return 1


def _fail(message: str) -> None:
    print(f"{PROG}: error: {' '.join(message.split())}", file=sys.stderr, flush=True)


def _say(text: str = "") -> None:
    print(text, flush=True)


# ----------------------------------------------------------------------------- datasets
def cmd_datasets() -> int:
    width = max(len(name) for name in DATASETS)
    group = None
    for name, ds in DATASETS.items():
        if ds.group != group:
            group = ds.group
            _say(f"\n{group}")
        _say(f"  {name:<{width}}  {ds.title} [{ds.task}] — {ds.description}")
        details = [f"features {', '.join(ds.features)}" if ds.features else "",
                   f"target {ds.target}" if ds.target else "",
                   "params " + ", ".join(f"{p.name}={p.default:g}" if isinstance(p.default, float)
                                         else f"{p.name}={p.default}" for p in ds.params) if ds.params else ""]
        details = [d for d in details if d]
        if details:
            _say(f"  {'':<{width}}  {'; '.join(details)}")
    return 0


# ----------------------------------------------------------------------------- train
# flag → (config, field) for the flags that set one field as they are
_MODEL_FLAGS = {"cell": "cell", "hidden": "hidden_size", "layers": "num_layers", "init": "init", "gain": "gain",
                "forget_bias": "forget_bias"}
_DATA_FLAGS = {"timesteps": "timesteps", "split": "train_frac", "val_split": "val_frac", "scaler": "scaler"}
_TRAIN_FLAGS = {"optimizer": "optimizer", "lr": "lr", "momentum": "momentum", "batch_size": "batch_size",
                "epochs": "epochs", "bptt_truncate": "bptt_truncate", "seed": "seed", "probe_every": "probe_every",
                "device": "device"}


def _base_configs(preset: str | None) -> tuple[ModelConfig, DataConfig, TrainConfig]:
    """The preset's configs, or the defaults."""
    if preset is None:
        return ModelConfig(), DataConfig(), TrainConfig()
    if preset not in PRESETS:
        raise CliError(f"Unknown preset '{preset}': choose one of {', '.join(PRESETS)}.")
    return preset_configs(preset)


def _configs(args) -> tuple[ModelConfig, DataConfig, TrainConfig]:
    """The preset (or the defaults) with every flag given on the command line over it."""
    model_cfg, data_cfg, train_cfg = _base_configs(args.preset)
    base_dataset = data_cfg.dataset
    given = {k: v for k, v in vars(args).items() if v is not None}
    model_cfg = cfg_replace(model_cfg, **{f: given[k] for k, f in _MODEL_FLAGS.items() if k in given})
    train_cfg = cfg_replace(train_cfg, **{f: given[k] for k, f in _TRAIN_FLAGS.items() if k in given})
    if args.no_clip:
        train_cfg = cfg_replace(train_cfg, clip="off")
    elif args.clip_value is not None:
        train_cfg = cfg_replace(train_cfg, clip="value", clip_value=args.clip_value)
    elif args.clip_norm is not None:
        train_cfg = cfg_replace(train_cfg, clip="norm", clip_value=args.clip_norm)
    if train_cfg.probe_every < 0:
        raise CliError(f"--probe-every must be 0 (never) or a positive number of epochs, got {train_cfg.probe_every}.")
    if train_cfg.bptt_truncate < 0:
        raise CliError(f"--bptt-truncate must be 0 (off) or a positive number of steps, got {train_cfg.bptt_truncate}.")

    dataset = "csv" if args.csv else "text" if args.text else (args.dataset or data_cfg.dataset)
    # the preset's dataset parameters hold for its own dataset only; --param adds to / overrides them
    params = dict(data_cfg.params) if dataset == base_dataset else {}
    params.update(_dataset_params(dataset, _params(args.param or [])))
    columns = list(args.column or [])
    data_cfg = cfg_replace(data_cfg, dataset=dataset, params=params,
                           **{f: given[k] for k, f in _DATA_FLAGS.items() if k in given})
    if columns or dataset != base_dataset:
        data_cfg = cfg_replace(data_cfg, features=columns, target="")
    if args.target or (args.csv and columns):
        data_cfg = cfg_replace(data_cfg, target=args.target or columns[0])
    return validate_run(model_cfg, data_cfg, train_cfg)     # the checks every front end makes


def _params(pairs: list[str]) -> dict[str, Any]:
    params = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key.strip():
            raise CliError(f"--param takes KEY=VALUE (e.g. length=2000), got '{pair}'.")
        params[key.strip()] = value.strip()
    return params


def _dataset_params(dataset: str, given: dict[str, Any]) -> dict[str, Any]:
    """--param values checked against the dataset's own parameters and cast to their types (a run record
    holds n_samples 500, not "500"); an unknown name is one sentence, as in the app."""
    ds = DATASETS.get(dataset)
    if ds is None:
        return given
    known = {p.name: p for p in ds.params}
    unknown = [k for k in given if k not in known]
    if unknown:
        takes = ", ".join(known) or "no parameters"
        raise CliError(f"The dataset '{dataset}' has no parameter '{unknown[0]}'; it takes: {takes}.")
    try:
        return {k: known[k].coerce(v) for k, v in given.items()}
    except DataError as e:
        raise CliError(f"--param {e}") from None


def _check_output_paths(args) -> None:
    """Refuse an unwritable --json / --save before spending time on training."""
    if args.json:
        parent = Path(args.json).expanduser().resolve().parent
        if not parent.is_dir():
            raise CliError(f"Cannot write --json '{args.json}': the folder '{parent}' does not exist.")
        if Path(args.json).is_dir():
            raise CliError(f"--json '{args.json}' is a folder; give a file name such as run.json.")
    if args.save and Path(args.save).exists() and not Path(args.save).is_dir():
        raise CliError(f"--save '{args.save}' is a file; give a folder name for the run.")


def _load_windows(args, data_cfg: DataConfig):
    from rnn_core.data.csv_upload import read_csv_upload
    from rnn_core.data.registry import get_dataset
    from rnn_core.data.windows import prepare

    if args.text:
        from rnn_core.data.text_sources import read_text_upload

        try:
            raw = Path(args.text).expanduser().read_bytes()
        except OSError as e:
            raise CliError(f"Cannot read the text file '{args.text}': {e.strerror or e}; check the path.") from None
        return prepare(data_cfg, read_text_upload(raw))
    if not args.csv:
        ds = get_dataset(data_cfg.dataset)
        if ds.name == "csv":
            raise CliError("The csv dataset needs a file: use --csv PATH instead of --dataset csv.")
        if ds.name == "text":
            raise CliError("The text dataset needs a file: use --text PATH instead of --dataset text.")
        if args.date_column:
            raise CliError("--date-column goes with --csv; the registry's datasets have their own index.")
        return prepare(data_cfg)
    path = Path(args.csv).expanduser()
    try:
        with path.open("rb") as f:       # at most one byte past the limit: /dev/zero or a pipe never ends
            raw = f.read(MAX_UPLOAD_BYTES + 1)
    except OSError as e:
        raise CliError(f"Cannot read the CSV file '{args.csv}': {e.strerror or e}; check the path.") from None
    frame = read_csv_upload(raw, value_columns=data_cfg.features or None, date_column=args.date_column)
    for note in frame.attrs.get("notes", []):       # what the reader changed, e.g. sorted the rows
        print(f"note: {note}")
    return prepare(data_cfg, frame)


def _threads(text: str) -> int:
    """--threads: a whole number from 1 to the CPUs this machine has."""
    from rnn_core.serve.admission import cpus

    try:
        n = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"--threads takes a whole number, not '{text}'") from None
    if not 1 <= n <= cpus():
        raise argparse.ArgumentTypeError(f"--threads must be between 1 and {cpus()} (the CPUs here), got {n}")
    return n


def cmd_train(args) -> int:
    model_cfg, data_cfg, train_cfg = _configs(args)
    if args.probe_every is None and not (args.json or args.save):
        train_cfg = cfg_replace(train_cfg, probe_every=0)      # only a written record keeps the probe
    _check_output_paths(args)
    if args.preset and not (args.dataset or args.csv) and (note := preset_note(args.preset)):
        print(f"note: {note}")
    windows = _load_windows(args, data_cfg)

    import torch

    from rnn_core.measure.evaluate import evaluate
    from rnn_core.nn.models import build_model
    from rnn_core.nn.train import train, warm_up
    from rnn_core.serve.runs import save_run

    if train_cfg.device == "cuda" and not torch.cuda.is_available():
        raise CliError("A GPU (cuda) was requested but none is available; use --device cpu.")
    torch.set_num_threads(args.threads)          # the app trains each run on one thread: the same numbers
    if not data_cfg.features:
        data_cfg.features = list(windows.feature_names)
    data_cfg.target = windows.target_name
    model_cfg.input_size, model_cfg.output_size = windows.X_train.shape[2], windows.y_train.shape[1]
    model = build_model(model_cfg.validate(), seed=train_cfg.seed)

    sizes = {s: len(getattr(windows, f"X_{s}")) for s in ("train", "val", "test")}
    split = "val" if sizes["val"] else "train"         # the loss the verdict reads
    text_task = windows.task == "text"           # judged in bits per character against its unigram baseline
    naive = None if text_task else windows.naive_losses(split)
    warm_up()                         # torch's one-off imports now, not inside the (interruptible) run
    if not args.quiet:
        preset = f"preset '{args.preset}': " if args.preset else ""
        _say(f"{preset}{CELLS[model_cfg.cell]}, {model_cfg.num_layers}×{model_cfg.hidden_size} units, "
             f"{data_cfg.timesteps} timesteps on '{data_cfg.dataset}' → {windows.target_name} "
             f"({sizes['train']}/{sizes['val']}/{sizes['test']} train/val/test windows), "
             f"{train_cfg.epochs} epochs on {train_cfg.device}")
        if naive is not None:
            _say(_baseline_line(naive, split))

    records, epochs, end = [], [], None
    steps: list[dict] = []
    ctrl_c = _CtrlC()
    with ctrl_c, interruptible(ctrl_c.pressed.is_set):     # Ctrl-C ends the computation in flight
        for rec in train(model, windows, train_cfg):
            records.append(rec)
            if rec["kind"] == "step":
                steps.append(rec)
            elif rec["kind"] == "epoch":
                epochs.append(_epoch_summary(rec, steps))
                steps = []
                if not args.quiet:
                    _say(_epoch_line(epochs[-1], train_cfg.epochs))
                    if "text" in rec:              # text tasks: bits per character and the epoch's sample
                        _say(_text_epoch_line(rec, windows.text.unigram_bits))
            else:
                end = rec
    if ctrl_c.pressed.is_set():
        return _interrupted_run(args, model, model_cfg, data_cfg, train_cfg, records, end)

    evaluation = evaluate(model, windows)
    text_task = evaluation["task"] == "text"
    summary = _text_summary(evaluation) if text_task else _metrics_summary(evaluation)
    _say(_end_line(end))
    if end["status"] != "diverged" and epochs and not text_task:
        _say(_verdict_line(epochs[-1][f"{split}_loss"], naive, split))
    _say(_text_metrics_line(evaluation) if text_task else _metrics_line(summary, evaluation["baseline"]))
    record = {"config": {"model": asdict(model_cfg), "data": asdict(data_cfg), "train": asdict(train_cfg)},
              "status": end["status"], "reason": end["reason"], "end": end,
              "train_seconds": end["seconds"], "windows": sizes, "epochs": epochs,
              "metrics": summary["test"], "splits": summary, "baselines": _baselines(evaluation),
              "naive_losses": {"split": split, **naive} if naive is not None else None}
    if steps:   # the steps of an epoch that did not finish (a diverged run)
        partial = _epoch_summary({"epoch": end["epoch"], "step": end["step"], "train_loss": None,
                                  "val_loss": None, "seconds": end["seconds"]}, steps)
        record["partial_epoch"] = {k: v for k, v in partial.items() if v is not None}
    if args.json:
        _write_json(args.json, record)
        _say(f"Wrote the run record to {args.json}")
    if args.save:
        try:
            folder = save_run(args.save, model, model_cfg, data_cfg, train_cfg, records, evaluation)
        except OSError as e:
            raise CliError(f"Cannot save the run to '{args.save}': {e.strerror or e}.") from None
        _say(f"Saved the run to {folder}")
    return 0


class _CtrlC:
    """While active (a `with` block in the main thread): the first Ctrl-C (SIGINT) sets `pressed`, which
    the training's interrupt checkpoints read, so the run stops within a chunk and what finished is
    kept; a second Ctrl-C raises KeyboardInterrupt at once."""

    def __init__(self) -> None:
        self.pressed = threading.Event()
        self._previous: Any = None

    def _on_sigint(self, _signum, _frame) -> None:
        if self.pressed.is_set():
            raise KeyboardInterrupt
        self.pressed.set()

    def __enter__(self) -> _CtrlC:
        if threading.current_thread() is threading.main_thread():
            self._previous = signal.signal(signal.SIGINT, self._on_sigint)
        return self

    def __exit__(self, *exc) -> None:
        if self._previous is not None:
            signal.signal(signal.SIGINT, self._previous)


def _interrupted_run(args, model, model_cfg, data_cfg, train_cfg, records: list[dict], end: dict | None) -> int:
    """After Ctrl-C: no evaluation (it could take as long again); save what finished, exit 130."""
    from rnn_core.serve.runs import save_run

    step, epoch = (end or {}).get("step", 0), (end or {}).get("epoch", 0)
    finished = sum(1 for r in records if r["kind"] == "epoch" and r["epoch"] > 0)
    kept = ""
    if args.save:
        try:
            folder = save_run(args.save, model, model_cfg, data_cfg, train_cfg, records, {})
            kept = f"; the weights and the {len(records)} records so far are saved in {folder} (not evaluated)"
        except OSError as e:
            kept = f"; nothing could be saved to '{args.save}' ({e.strerror or e})"
    if args.json:
        _write_json(args.json, {"config": {"model": asdict(model_cfg), "data": asdict(data_cfg),
                                           "train": asdict(train_cfg)},
                                "status": "stopped", "reason": "Interrupted (Ctrl-C).", "end": end,
                                "records": len(records)})
    _fail(f"Interrupted (Ctrl-C): training stopped at step {step} (epoch {epoch}) after {finished} "
          f"finished epoch(s){kept}.")
    return 130


def _epoch_summary(rec: dict, steps: list[dict]) -> dict:
    """An epoch record plus its steps' gradient norms (before clipping)."""
    norms = [s["grad_norm"] for s in steps]
    return {"epoch": rec["epoch"], "step": rec["step"], "train_loss": rec["train_loss"],
            "val_loss": rec["val_loss"], "seconds": rec["seconds"], "steps": len(steps),
            "grad_norm_mean": float(np.mean(norms)) if norms else None,
            "grad_norm_max": float(np.max(norms)) if norms else None,
            "clipped_steps": sum(bool(s["clipped"]) for s in steps),
            "param_grad_norms": rec.get("param_grad_norms"), "spectra": rec.get("spectra"),
            "probe": rec.get("probe")}


def _fmt(x: float | None, spec: str = ".4g") -> str:
    """x by `spec`; a float beyond 10⁶ (a diverged run's) as 1.82 × 10¹⁹, as the app writes it."""
    if x is None or (isinstance(x, float) and not math.isfinite(x)):
        return "—"
    if isinstance(x, float) and abs(x) >= PLAIN_BELOW:
        return readable(x)
    return format(x, spec)


def _epoch_line(e: dict, total: int) -> str:
    grad = "at initialisation"
    if e["steps"]:
        clipped = f", {e['clipped_steps']} clipped" if e["clipped_steps"] else ""
        grad = f"grad norm {_fmt(e['grad_norm_mean'], '.3g')} (max {_fmt(e['grad_norm_max'], '.3g')}{clipped})"
    return (f"epoch {e['epoch']:>{len(str(total))}}/{total}  train {_fmt(e['train_loss'], '.5g')}  "
            f"val {_fmt(e['val_loss'], '.5g')}  {grad}  {e['seconds']:.1f}s")


_SPLIT_NAME = {"train": "training", "val": "validation"}
_NAIVE_NAME = {"constant": "the constant guess", "persistence": "persistence"}
BEATS_BELOW = 0.9    # an error counts as beating a baseline only below 0.9× the baseline's (not at 0.998×)


def _baseline_line(naive: dict, split: str) -> str:
    """The header of the epoch lines: what the losses mean and what a guess that learns nothing scores."""
    guesses = [f"the constant guess (training mean) scores {_fmt(naive['constant'], '.4g')}"]
    if naive["persistence"] is not None:
        guesses.append(f"persistence (ŷ = last value) {_fmt(naive['persistence'], '.4g')}")
    return (f"Losses are MSE in scaled units; on the {_SPLIT_NAME[split]} windows "
            f"{' and '.join(guesses)}; a loss must fall clearly below "
            f"{'these' if len(guesses) > 1 else 'that'} to show learning.")


def _versus(error: float, baseline: float | None, name: str) -> str | None:
    """'0.031× the constant guess: beats it' — beating needs a clear margin (BEATS_BELOW)."""
    if baseline is None or not baseline > 0 or not math.isfinite(error):
        return None
    ratio = error / baseline
    verdict = ("beats it" if ratio < BEATS_BELOW else "no better" if ratio <= 1 / BEATS_BELOW
               else "worse")
    return f"{ratio:.2g}× {name}: {verdict}"


def _verdict_line(loss: float | None, naive: dict, split: str) -> str:
    if loss is None or not math.isfinite(loss):
        return f"Final {_SPLIT_NAME[split]} loss: undefined."
    parts = [v for k, base in naive.items() if (v := _versus(loss, base, _NAIVE_NAME[k])) is not None]
    return f"Final {_SPLIT_NAME[split]} loss {loss:.4g}" + (f" = {'; '.join(parts)}." if parts else ".")


def _end_line(end: dict) -> str:
    if end["status"] == "diverged":
        return f"Diverged at epoch {end['epoch']}, step {end['step']}: {end['reason']}"
    return f"{end['status'].capitalize()}: {end['reason'].rstrip('.')}, {end['seconds']:.1f} s of training."


def _metrics_summary(evaluation: dict) -> dict:
    keys = ("rmse", "mae", "mape", "directional_accuracy", "naive_rmse", "skill_score", "best_lag", "n")
    return {split: {k: evaluation[split]["metrics"]["model"][k] for k in keys}
            for split in ("train", "val", "test")}


def _baselines(evaluation: dict) -> dict:
    """Test-split metrics of each baseline (persistence and moving average, or the constant guess)."""
    return {name: m for name, m in evaluation["test"]["metrics"].items() if name != "model"}


def _metrics_line(summary: dict, baseline: str) -> str:
    from rnn_core.measure.evaluate import SKILL_FORMULA

    m = summary["test"]
    if m["rmse"] is None:
        return "Test metrics: undefined (the predictions are not finite)."
    against = "tomorrow = today" if baseline == "persistence" else "the constant guess (training mean)"
    verdict = ""
    if m["skill_score"] is not None:
        ratio = 1.0 - m["skill_score"]                      # RMSE / baseline RMSE
        verdict = (f", {SKILL_FORMULA} = {_fmt(m['skill_score'], '.3f')}: " +
                   ("beats " if ratio < BEATS_BELOW else "is no better than " if ratio <= 1 / BEATS_BELOW
                    else "is worse than ") + against)
    extra = ""
    if baseline == "persistence":
        mape = "— (undefined: the series reaches zero)" if m["mape"] is None else f"{m['mape']:.2f}%"
        direction = m["directional_accuracy"]
        extra = (f"; MAE {_fmt(m['mae'])}, MAPE {mape}, direction right "
                 f"{'—' if direction is None else format(100 * direction, '.1f') + '%'}"
                 f", best lag {_fmt(m['best_lag'], 'd')}")
        if m["best_lag"] == 1:
            extra += " (the predictions trail the truth by one step: mostly a copy of the last value)"
    return (f"Test RMSE {_fmt(m['rmse'])} (baseline {_fmt(m['naive_rmse'])}){verdict}{extra}.")


def _text_epoch_line(rec: dict, unigram: float) -> str:
    """Bits per character against the unigram baseline, and the sample the model wrote this epoch."""
    return (f"  bits/char: train {_fmt(rec['train_loss'], '.3f')}, val {_fmt(rec['val_loss'], '.3f')} "
            f"(unigram baseline {unigram:.3f}) · sample at τ = {rec['text']['temperature']:g}: "
            f"{json.dumps(rec['text']['sample'], ensure_ascii=False)}")


def _text_summary(evaluation: dict) -> dict:
    return {split: dict(evaluation[split]["metrics"]["model"]) for split in ("train", "val", "test")}


def _text_metrics_line(evaluation: dict) -> str:
    m, H = evaluation["test"]["metrics"]["model"], evaluation["unigram_bits"]
    if m["bits"] is None:
        return "Test: no held-out windows."
    verdict = "beats" if m["bits"] < H else "does not beat"
    line = (f"Test {m['bits']:.3f} bits per character ({verdict} the unigram baseline {H:.3f}); "
            f"next character right {100 * m['accuracy']:.1f}% of the time")
    if m["memory_accuracy"] is not None:
        line += (f"; the matching closer {100 * m['memory_accuracy']:.1f}% of the time (span "
                 f"{evaluation['span']}; without memory about 33%)")
    return line + "."


def _write_json(path: str, obj: Any) -> None:
    from rnn_core.serve.runs import json_safe

    try:
        Path(path).expanduser().write_text(json.dumps(json_safe(obj), allow_nan=False, indent=1))
    except OSError as e:
        raise CliError(f"Cannot write '{path}': {e.strerror or e}.") from None


# ----------------------------------------------------------------------------- gradients
def cmd_gradients(args) -> int:
    if args.json:
        parent = Path(args.json).expanduser().resolve().parent
        if not parent.is_dir():
            raise CliError(f"Cannot write --json '{args.json}': the folder '{parent}' does not exist.")
    DataConfig(timesteps=args.timesteps).validate()            # the same limits as training
    if not 1 <= args.batch <= 1024:
        raise CliError(f"--batch must be between 1 and 1024, got {args.batch}.")
    model_cfg = ModelConfig(cell=args.cell, hidden_size=args.hidden, num_layers=args.layers, init=args.init,
                            gain=args.gain, forget_bias=args.forget_bias).validate()

    from rnn_core.nn.models import build_model
    from rnn_core.nn.probe import probe

    model = build_model(model_cfg, seed=args.seed)
    X, y = _probe_batch(args.data, args.batch, args.timesteps, args.seed)
    result = probe(model, X, y)
    T = result["timesteps"]
    _say(f"{CELLS[model_cfg.cell]}, {model_cfg.num_layers}×{model_cfg.hidden_size} units, init "
         f"{model_cfg.init} (gain {model_cfg.gain:g}), {T} timesteps, {args.batch} {args.data} sequences; "
         f"loss {result['loss']:.4g}")
    decades, theory = [], []
    matrix = CELL_SPECS[model_cfg.cell].spectrum_of
    for l, g in enumerate(result["grad_h"]):
        decades.append(_decades(g[-1], g[0]))
        theory.append(_theory_decades(result, l, T))
        _say(f"layer {l + 1}: ‖∂L/∂h_t‖ {g[-1]:.3g} at t={T} → {g[0]:.3g} at t=1: "
             f"{_decades_text(decades[-1], g)}; {matrix}: σ_max {result['sigma_max'][l]:.3f}, spectral radius "
             f"{result['spectral_radius'][l]:.3f}{_governs_text(model_cfg.cell, result, l, theory[-1])}")
    if args.json:
        _write_json(args.json, {"config": asdict(model_cfg), "timesteps": T, "batch": args.batch,
                                "data": args.data, "seed": args.seed, "loss": result["loss"],
                                "grad_h": result["grad_h"], "grad_c": result["grad_c"],
                                "decades": decades, "theory_decades": theory, "sigma_max": result["sigma_max"],
                                "spectral_radius": result["spectral_radius"], "gamma": result["gamma"],
                                "theory": result["theory"], "gate_path": result["gate_path"]})
        _say(f"Wrote the gradient profile to {args.json}")
    return 0


def _probe_batch(kind: str, B: int, T: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """X (B, T, 1), y (B, 1): N(0, 1) noise, or sine waves (random phase) and their next value."""
    rng = np.random.default_rng(seed)
    if kind == "random":
        return rng.normal(size=(B, T, 1)), rng.normal(size=(B, 1))
    phase = rng.uniform(0, 2 * np.pi, size=(B, 1))
    t = np.arange(T + 1)[None, :]                                # (1, T+1)
    wave = np.sin(phase + 2 * np.pi * t / 25)                    # (B, T+1): period 25 steps
    return wave[:, :T, None], wave[:, T:]


def _decades(g_last: float, g_first: float) -> float | None:
    """log10(‖∂L/∂h_T‖ / ‖∂L/∂h_1‖): decades lost from the last timestep back to the first (< 0: grows)."""
    if g_last > 0 and g_first > 0:
        return math.log10(g_last) - math.log10(g_first)
    return None


def _decades_text(d: float | None, g: list[float]) -> str:
    if d is None:
        return ("no gradient reaches the first timestep (it underflowed to 0: more than 300 decades lost)"
                if g[-1] > 0 else "no gradient at all")
    if abs(d) < 0.05:
        return "about constant (0.0 decades)"
    return f"vanishes by {d:.1f} decades" if d > 0 else f"explodes by {-d:.1f} decades"


def _theory_decades(result: dict, l: int, T: int) -> float | None:
    """Decades the Pascanu et al. bound ‖∂L/∂h_T‖·(σ_max·γ)^(T−1−t) forces to be lost by t = 1:
    −(T−1)·log10(σ_max·γ) (< 0: it allows growth); None where the bound is none (`probe.bound_holds`)."""
    if not result["theory"][l]:
        return None
    rate = result["sigma_max"][l] * result["gamma"]
    return -(T - 1) * math.log10(rate) if rate > 0 else None


def _governs_text(cell: str, result: dict, l: int, theory: float | None) -> str:
    """What bounds or governs layer l's gradient, as the end of its line."""
    if theory is not None and abs(theory) < 0.05:
        return "; the bound (σ_max·γ)^(T−1) ≈ 1 forces no loss and allows no growth"
    if theory is not None:
        return (f"; the bound (σ_max·γ)^(T−1) says at least {theory:.1f} decades are lost" if theory >= 0
                else f"; the bound (σ_max·γ)^(T−1) allows growth by up to {-theory:.1f} decades (not forces it)")
    if CELL_SPECS[cell].bounded:
        return "; no σ_max bound for a lower layer: gradient enters it from the layer above at every step"
    path = (result.get("gate_path") or [[]] * (l + 1))[l]
    if not path:
        return "; no σ_max bound for a gated cell (the gates add paths it does not cover)"
    d = _decades(path[-1], path[0])
    along = ("the cell state alone (the product of forget gates)" if CELL_SPECS[cell].cell_state
             else "the update gate's copy alone (the product of update gates)")
    lost = "more than 300" if d is None else f"{d:.1f}"
    return f"; no σ_max bound for a gated cell: along {along} {lost} decades are lost"


# ----------------------------------------------------------------------------- sweep
def _sweep_parser(p: argparse.ArgumentParser) -> None:
    from rnn_core.sweep.trials import BACKENDS

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
    data = DataConfig(dataset=ds.name, params=_dataset_params(ds.name, _params(args.param)))
    clip = "norm" if args.clip_norm > 0 else "off"
    train = TrainConfig(optimizer=args.optimizer, lr=args.lr, batch_size=args.batch_size, epochs=args.epochs,
                        clip=clip, clip_value=args.clip_norm if args.clip_norm > 0 else 1.0)
    cells = [c.strip() for c in args.cell.split(",") if c.strip()]
    return grid(cells, _number_list(args.timesteps, "--timesteps", int), _number_list(args.gain, "--gain"),
                args.seeds, _number_list(args.hidden, "--hidden", int), model, data, train)


def cmd_sweep(args) -> int:
    import time

    from rnn_core.sweep.trials import (
        RecordWriter,
        eta,
        finished_keys,
        parquet_available,
        ray_available,
        read_records,
        run_sweep,
        write_parquet,
    )

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
    _say(f"{len(trials)} runs in the grid, {len(done)} already in {args.out}, {todo} to train "
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
        _fail(f"Interrupted: {n} of {todo} runs finished and are kept in {args.out}; run the same command "
              "again to train the rest.")
        return 130
    if tty and not args.quiet:
        print(file=sys.stderr)
    records = read_records(out)
    _say(f"Finished: {n} runs trained in {time.monotonic() - t0:.1f} s; {args.out} holds {len(records)} runs.")
    if args.parquet:
        write_parquet(records, args.parquet)
        _say(f"Wrote {args.parquet}")
    return 0


def _progress(done: int, total: int, seconds: float, eta, tty: bool) -> None:
    left = eta(done, total, seconds)
    width = 30
    bar = "#" * round(width * done / max(1, total))
    line = (f"[{bar:<{width}}] {done}/{total} runs · {seconds:.0f} s · ETA "
            f"{'—' if left is None else f'{left:.0f} s'}")
    print(("\r" + line) if tty else line, end="" if tty else "\n", file=sys.stderr, flush=True)
