"""`python -m rnn_core train`: a preset or the defaults with every flag given over them, checked by the
one settings table; the data loaded (registry, --csv or --text); training with one line per epoch, Ctrl-C
keeping what finished; then the verdict, the test metrics, and the run written (--json, --save).
What it prints is written in `report.py`."""

from __future__ import annotations

import argparse
import signal
import threading
from dataclasses import asdict
from pathlib import Path
from typing import Any

from rnn_core.cli.common import (
    CliError,
    dataset_params,
    fail,
    model_flags,
    parse_params,
    range_text,
    say,
    write_json,
)
from rnn_core.cli.page import check_report_path, report_flags, report_run
from rnn_core.cli.report import (
    baseline_line,
    baselines,
    end_line,
    epoch_line,
    epoch_summary,
    metrics_line,
    metrics_summary,
    stateful_line,
    text_epoch_line,
    text_metrics_line,
    text_summary,
    verdict_line,
)
from rnn_core.config import FIELDS, OPTIMIZERS, SCALERS, STATE_RESETS, DataConfig, TrainConfig, validate_run
from rnn_core.config import replace as cfg_replace
from rnn_core.data.csv_upload import MAX_UPLOAD_BYTES
from rnn_core.data.registry import get_dataset
from rnn_core.interrupt import interruptible
from rnn_core.lessons.presets import PRESETS, preset_configs, preset_note
from rnn_core.nn.cells import label_of
from rnn_core.nn.model_config import ModelConfig
from rnn_core.readable import readable


def train_parser(p: argparse.ArgumentParser) -> None:
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
    data.add_argument("--timesteps", type=int, help=f"window length T ({d.timesteps}; {range_text('timesteps')})")
    data.add_argument("--split", type=float,
                      help=f"fraction of the windows that train, chronologically first ({d.train_frac}; "
                      f"{range_text('train_frac')})")
    data.add_argument("--val-split", type=float,
                      help=f"fraction that validates, the rest tests ({d.val_frac}; {range_text('val_frac')})")
    data.add_argument("--scaler", choices=list(SCALERS), help=f"({d.scaler})")

    model = p.add_argument_group("model")
    model_flags(model, m, defaults=False)

    opt = p.add_argument_group("training")
    opt.add_argument("--epochs", type=int, help=f"({t.epochs}; {range_text('epochs')})")
    opt.add_argument("--batch-size", type=int, help=f"({t.batch_size}; {range_text('batch_size')})")
    opt.add_argument("--lr", type=float, help=f"learning rate ({readable(t.lr)}; {range_text('lr')})")
    opt.add_argument("--optimizer", choices=list(OPTIMIZERS), help=f"({t.optimizer})")
    opt.add_argument("--momentum", type=float, help=f"SGD momentum ({readable(t.momentum)}; {range_text('momentum')})")
    clip = opt.add_mutually_exclusive_group()
    clip.add_argument("--clip-norm", type=float, metavar="C",
                      help=f"clip the gradient norm at C (the default, C = {readable(t.clip_value)})")
    clip.add_argument("--clip-value", type=float, metavar="C", help="clip every gradient entry to ±C")
    clip.add_argument("--no-clip", action="store_true", default=None, help="no gradient clipping")
    opt.add_argument("--bptt-truncate", type=int, metavar="K",
                     help=f"gradient flows back at most K steps, at most T; 0 = the whole window "
                     f"({t.bptt_truncate})")
    _stateful_flags(opt, t)
    opt.add_argument("--seed", type=int, help=f"({t.seed})")
    opt.add_argument("--probe-every", type=int, metavar="N",
                     help=f"probe the gradient through time every N epochs ({t.probe_every} when the run is "
                     "written with --json, --save or --report; otherwise 0, since no printed line reads it)")
    opt.add_argument("--probe-batch", type=int, metavar="N",
                     help=f"{_lower(FIELDS['probe_batch'].help)} ({t.probe_batch}; {range_text('probe_batch')})")
    opt.add_argument("--device", choices=["cpu", "cuda"], help=f"({t.device})")
    opt.add_argument("--threads", type=_threads, default=1, metavar="N",
                     help="torch CPU threads (1, as each run in the app and the tests: the same preset and "
                          "seed give the same numbers everywhere; more can be faster for large nets, and "
                          "the numbers then differ in their last digits, or more on the edge of divergence)")

    out = p.add_argument_group("output")
    out.add_argument("--json", metavar="PATH", help="write the whole run record as JSON")
    out.add_argument("--save", metavar="DIR", help="save the run folder (config, history, weights)")
    out.add_argument("--quiet", action="store_true", help="no per-epoch lines")
    report_flags(out)


def _lower(text: str) -> str:
    """A settings-table help sentence as a flag's help begins it: first letter lower case, no final stop."""
    return text[0].lower() + text[1:].rstrip(".")


def _stateful_flags(opt, t: TrainConfig) -> None:
    """--stateful and its settings, their words and ranges from the one settings table."""
    opt.add_argument("--stateful", action="store_true", default=None,
                     help="stateful training: " + FIELDS["stateful"].help[0].lower() + FIELDS["stateful"].help[1:]
                     + " --bptt-truncate K is then the steps back-propagated per update (0 = T)")
    opt.add_argument("--stateful-streams", type=int, metavar="B",
                     help=f"parallel streams ({t.stateful_streams}; {range_text('stateful_streams')})")
    opt.add_argument("--stateful-step", type=int, metavar="K1", help="new steps per update, at most K "
                     f"({t.stateful_step}: K; {range_text('stateful_step')})")
    opt.add_argument("--state-reset", choices=list(STATE_RESETS), help="when the carried state is set to "
                     f"zero: each epoch, never, or every N updates ({t.state_reset})")
    opt.add_argument("--state-reset-every", type=int, metavar="N",
                     help=f"with --state-reset steps: N updates ({t.state_reset_every}; "
                     f"{range_text('state_reset_every')})")


# flag → (config, field) for the flags that set one field as they are
_MODEL_FLAGS = {"cell": "cell", "hidden": "hidden_size", "layers": "num_layers", "init": "init", "gain": "gain",
                "forget_bias": "forget_bias"}


_DATA_FLAGS = {"timesteps": "timesteps", "split": "train_frac", "val_split": "val_frac", "scaler": "scaler"}


_TRAIN_FLAGS = {"optimizer": "optimizer", "lr": "lr", "momentum": "momentum", "batch_size": "batch_size",
                "epochs": "epochs", "bptt_truncate": "bptt_truncate", "seed": "seed", "probe_every": "probe_every",
                "probe_batch": "probe_batch",
                "device": "device", "stateful": "stateful", "stateful_streams": "stateful_streams",
                "stateful_step": "stateful_step", "state_reset": "state_reset",
                "state_reset_every": "state_reset_every"}


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
    params.update(dataset_params(dataset, parse_params(args.param or [])))
    columns = list(args.column or [])
    data_cfg = cfg_replace(data_cfg, dataset=dataset, params=params,
                           **{f: given[k] for k, f in _DATA_FLAGS.items() if k in given})
    if columns or dataset != base_dataset:
        data_cfg = cfg_replace(data_cfg, features=columns, target="")
    if args.target or (args.csv and columns):
        data_cfg = cfg_replace(data_cfg, target=args.target or columns[0])
    return validate_run(model_cfg, data_cfg, train_cfg)     # the checks every front end makes


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
    if args.probe_every is None and not (args.json or args.save or args.report):
        train_cfg = cfg_replace(train_cfg, probe_every=0)      # only a written record keeps the probe
    _check_output_paths(args)
    check_report_path(args)
    if args.preset and not (args.dataset or args.csv) and (note := preset_note(args.preset)):
        print(f"note: {note}")
    windows = _load_windows(args, data_cfg)

    import torch

    from rnn_core.measure.evaluate import evaluate
    from rnn_core.nn.models import build_model
    from rnn_core.nn.stateful import streams_read
    from rnn_core.nn.train import train, warm_up
    from rnn_core.serve.runs import save_run

    if train_cfg.device == "cuda" and not torch.cuda.is_available():
        raise CliError("A GPU (cuda) was requested but none is available; use --device cpu.")
    torch.set_num_threads(args.threads)          # the app trains each run on one thread: the same numbers
    asked_data = cfg_replace(data_cfg)          # as given, before the data names its columns: what a link reopens
    if not data_cfg.features:
        data_cfg.features = list(windows.feature_names)
    data_cfg.target = windows.target_name
    model_cfg.input_size, model_cfg.output_size = windows.n_features, windows.y_train.shape[1]
    model = build_model(model_cfg.validate(), seed=train_cfg.seed)

    sizes = {s: len(getattr(windows, f"X_{s}")) for s in ("train", "val", "test")}
    split = "val" if sizes["val"] else "train"         # the loss the verdict reads
    text_task = windows.task == "text"           # judged in bits per character against its unigram baseline
    naive = None if text_task else windows.naive_losses(split)
    warm_up()                         # torch's one-off imports now, not inside the (interruptible) run
    if not args.quiet:
        preset = f"preset '{args.preset}': " if args.preset else ""
        say(f"{preset}{label_of(model_cfg.cell)}, {model_cfg.num_layers}×{model_cfg.hidden_size} units, "
             f"{data_cfg.timesteps} timesteps on '{data_cfg.dataset}' → {windows.target_name} "
             f"({sizes['train']}/{sizes['val']}/{sizes['test']} train/val/test windows), "
             f"{train_cfg.epochs} epochs on {train_cfg.device}")
        if train_cfg.stateful:
            say(stateful_line(train_cfg, data_cfg.timesteps))
        if naive is not None:
            say(baseline_line(naive, split))

    records, epochs, end = [], [], None
    steps: list[dict] = []
    ctrl_c = _CtrlC()
    with ctrl_c, interruptible(ctrl_c.pressed.is_set):     # Ctrl-C ends the computation in flight
        for rec in train(model, windows, train_cfg):
            records.append(rec)
            if rec["kind"] == "step":
                steps.append(rec)
            elif rec["kind"] == "epoch":
                epochs.append(epoch_summary(rec, steps))
                steps = []
                if not args.quiet:
                    say(epoch_line(epochs[-1], train_cfg.epochs))
                    if "text" in rec:              # text tasks: bits per character and the epoch's sample
                        say(text_epoch_line(rec, windows.text.unigram_bits))
            else:
                end = rec
    if ctrl_c.pressed.is_set():
        if line := report_run(args, (model_cfg, asked_data, train_cfg), records, {}, windows):   # not evaluated
            say(line)
        return _interrupted_run(args, model, model_cfg, data_cfg, train_cfg, records, end)

    evaluation = evaluate(model, windows, stateful_streams=streams_read(train_cfg))
    text_task = evaluation["task"] == "text"
    summary = text_summary(evaluation) if text_task else metrics_summary(evaluation)
    say(end_line(end))
    if end["status"] != "diverged" and epochs and not text_task:
        say(verdict_line(epochs[-1][f"{split}_loss"], naive, split))
    say(text_metrics_line(evaluation) if text_task else metrics_line(summary, evaluation["baseline"]))
    if "reading" in evaluation:
        say(evaluation["reading"])
    record = {"config": {"model": asdict(model_cfg), "data": asdict(data_cfg), "train": asdict(train_cfg)},
              "status": end["status"], "reason": end["reason"], "end": end,
              "train_seconds": end["seconds"], "windows": sizes, "epochs": epochs,
              "metrics": summary["test"], "splits": summary, "baselines": baselines(evaluation),
              "naive_losses": {"split": split, **naive} if naive is not None else None}
    if steps:   # the steps of an epoch that did not finish (a diverged run)
        partial = epoch_summary({"epoch": end["epoch"], "step": end["step"], "train_loss": None,
                                  "val_loss": None, "seconds": end["seconds"]}, steps)
        record["partial_epoch"] = {k: v for k, v in partial.items() if v is not None}
    if args.json:
        write_json(args.json, record)
        say(f"Wrote the run record to {args.json}")
    if args.save:
        try:
            folder = save_run(args.save, model, model_cfg, data_cfg, train_cfg, records, evaluation)
        except OSError as e:
            raise CliError(f"Cannot save the run to '{args.save}': {e.strerror or e}.") from None
        say(f"Saved the run to {folder}")
    if line := report_run(args, (model_cfg, asked_data, train_cfg), records, evaluation, windows, model):
        say(line)
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
        write_json(args.json, {"config": {"model": asdict(model_cfg), "data": asdict(data_cfg),
                                           "train": asdict(train_cfg)},
                                "status": "stopped", "reason": "Interrupted (Ctrl-C).", "end": end,
                                "records": len(records)})
    fail(f"Interrupted (Ctrl-C): training stopped at step {step} (epoch {epoch}) after {finished} "
          f"finished epoch(s){kept}.")
    return 130
