"""What every command of the command line shares: the program name, one-sentence errors, printing,
the model flags, --param values, numbers as the app writes them, and writing JSON."""

from __future__ import annotations

import argparse
import json
import math
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from rnn_core.config import FIELDS, INITS
from rnn_core.data.errors import DataError
from rnn_core.data.registry import DATASETS
from rnn_core.nn.cells import CELLS, cell_help
from rnn_core.nn.model_config import ModelConfig
from rnn_core.readable import readable

PROG = "python -m rnn_core"


class CliError(ValueError):
    """Bad command-line input; the message is one sentence."""


class Parser(argparse.ArgumentParser):
    """argparse that reports a usage error as one line on stderr (exit status 2)."""

    def error(self, message: str):
        self.exit(2, f"{self.prog}: error: {message}; see '{self.prog} --help'.\n")


def range_text(name: str) -> str:
    """'lo to hi' of a setting, from the one settings table (config.FIELDS) that validate() enforces."""
    f = FIELDS[name]
    return f"{readable(f.lo)} to {readable(f.hi)}"


def model_flags(p: argparse.ArgumentParser, m: ModelConfig, defaults: bool = True, place: str = "") -> None:
    """The model flags; with defaults=False each flag not given stays None (so a preset can fill it). Their
    ranges are FIELDS' rows for `place` ("lab." for the gradients command: the Lab's), else the Playground's."""
    d = (lambda v: v) if defaults else (lambda v: None)
    p.add_argument("--cell", choices=list(CELLS), default=d(m.cell),
                   help=f"recurrent cell (default {m.cell}). " + cell_help())
    p.add_argument("--hidden", type=int, default=d(m.hidden_size),
                   help=f"hidden units per layer ({m.hidden_size}; {range_text(place + 'hidden_size')})")
    p.add_argument("--layers", type=int, default=d(m.num_layers),
                   help=f"stacked layers ({m.num_layers}; {range_text(place + 'num_layers')})")
    p.add_argument("--init", choices=list(INITS), default=d(m.init), help=f"W_hh init scheme ({m.init})")
    p.add_argument("--gain", type=float, default=d(m.gain),
                   help=f"gain of the W_hh init ({readable(m.gain)}; {range_text(place + 'gain')})")
    p.add_argument("--forget-bias", type=float, default=d(m.forget_bias),
                   help=f"added to the LSTM forget-gate bias ({readable(m.forget_bias)}; "
                        f"{range_text(place + 'forget_bias')})")


def fail(message: str) -> None:
    print(f"{PROG}: error: {' '.join(message.split())}", file=sys.stderr, flush=True)


def say(text: str = "") -> None:
    print(text, flush=True)


def parse_params(pairs: list[str]) -> dict[str, Any]:
    params = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key.strip():
            raise CliError(f"--param takes KEY=VALUE (e.g. length=2000), got '{pair}'.")
        params[key.strip()] = value.strip()
    return params


def dataset_params(dataset: str, given: dict[str, Any]) -> dict[str, Any]:
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


def fmt(x: float | None, write: Callable[[float], str] | None = None) -> str:
    """x written by rnn_core.readable (`write`, by default `readable` with 4 significant digits), as the app
    writes it — a diverged run's 1.82 × 10¹⁹ included; "—" for a value that is missing or not finite."""
    if x is None or (isinstance(x, float) and not math.isfinite(x)):
        return "—"
    return write(x) if write else readable(x, 4)


def write_json(path: str, obj: Any) -> None:
    from rnn_core.serve.runs import json_safe

    try:
        Path(path).expanduser().write_text(json.dumps(json_safe(obj), allow_nan=False, indent=1))
    except OSError as e:
        raise CliError(f"Cannot write '{path}': {e.strerror or e}.") from None
