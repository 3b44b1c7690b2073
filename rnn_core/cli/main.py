"""The command line: `python -m rnn_core datasets | train | gradients | sweep | warm`, for scripts and notebooks.

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
    python -m rnn_core warm --presets all          # every preset computed once into the run store

`train --preset NAME` starts from a Playground preset (`presets.py`); every flag given explicitly
overrides it (the train flags default to None for that reason; the help states the real defaults).
`train` prints one line per epoch (train loss, validation loss, gradient norm, seconds) under a header
saying what the constant guess and persistence score in the same scaled units, a verdict against
them (the app's one rule, `verdict.judge`: within ±10 % of a baseline is "no better"), then the test
metrics next to the baseline (text
datasets: bits per character against the unigram baseline and a sample per epoch, then bits per
character and accuracy on the held-out text); `--json` writes the whole run record, `--save` a run
folder (`runs.py`). `gradients` probes ‖∂L/∂h_t‖ at initialisation, no training, and prints how many
decades the gradient loses (or gains) from the last timestep back to the first. `sweep` trains every
combination of a grid (`sweep.py`) on worker processes or Ray, appends one CSV row per finished run,
skips the runs the file already holds, and shows runs done and the time left; Ctrl-C keeps what finished.
`warm` computes Playground presets into the run store ahead of a lecture (`warm.py`).
Bad input (unknown dataset, unreadable CSV, sizes out of range …) exits with status 2 and one line
on stderr; a run that diverges exits 0 and says when and why.
Holds only argument parsing and printing: configs (`config.py`), data (`datasets.py`, `windows.py`),
the model (`models.py`), the trainer (`train.py`), the probe (`probe.py`), metrics (`evaluate.py`)
and run folders (`runs.py`) do the work.
"""

from __future__ import annotations

import argparse
import os
import sys

from rnn_core.cli.common import PROG, CliError, Parser, fail
from rnn_core.cli.datasets import cmd_datasets
from rnn_core.cli.gradients import cmd_gradients, gradients_parser
from rnn_core.cli.sweep import cmd_sweep, sweep_parser
from rnn_core.cli.train import cmd_train, train_parser
from rnn_core.cli.warm import cmd_warm, warm_parser
from rnn_core.config import ConfigError
from rnn_core.data.errors import DataError

# torch and the modules that need it are imported inside the commands, after the input is checked:
# `datasets` and a bad flag answer in a second instead of waiting for torch to load.


def build_parser() -> argparse.ArgumentParser:
    parser = Parser(prog=PROG, description="RNN Playground from the command line: list the datasets, "
                     "train a recurrent network, or probe its gradients through time at initialisation.")
    sub = parser.add_subparsers(dest="command", required=True, metavar="{datasets,train,gradients,sweep,warm}")
    sub.add_parser("datasets", help="list the datasets", description="List the datasets of the registry.")
    train_parser(sub.add_parser("train", help="train a network and report honest metrics",
                                 description="Train a recurrent network, print one line per epoch, then "
                                 "the test metrics next to the persistence baseline."))
    gradients_parser(sub.add_parser("gradients", help="‖∂L/∂h_t‖ per timestep at initialisation",
                                     description="Probe the gradient through time at initialisation "
                                     "(no training) and print its decay in decades."))
    sweep_parser(sub.add_parser("sweep", help="train every combination of a grid, one CSV row per run",
                                 description="Train every cell × timesteps × gain × hidden size × seed of a "
                                 "grid on worker processes (or Ray), one CSV row per finished run; runs the "
                                 "file already holds are not run again."))
    warm_parser(sub.add_parser("warm", help="compute presets once into the run store, for a lecture",
                               description="Compute Playground presets into the run store, so that the app "
                               "replays them instead of computing them (presets already stored are kept)."))
    return parser


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
        if args.command == "warm":
            return cmd_warm(args)
        return cmd_gradients(args)
    except (ConfigError, DataError, CliError, ValueError) as e:   # runs.RunFileError is a ValueError too
        fail(str(e))
        return 2
    except KeyboardInterrupt:
        fail("Interrupted.")
        return 130
    except Exception as e:  # a bug, not bad input: still one line, the traceback on request
        if os.environ.get("RNN_PLAYGROUND_DEBUG"):
            raise
        fail(f"Unexpected {type(e).__name__}: {e} (set RNN_PLAYGROUND_DEBUG=1 to see the traceback).")
        return 1
