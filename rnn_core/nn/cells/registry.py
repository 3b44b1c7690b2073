"""The cell registry: every cell the app offers, in the order it lists them, one row per cell.

Adding a cell is one file in this folder (its `Cell`: step, Jacobian, module, init, recurrent matrix,
bound, colour, sentence) and one row below; every front end (widgets, Lab, Compare, sweeps, CLI,
saved runs, Learn) and every test iterates over `CELLS`. Also: `cell_of(name)` (the entry, or one
sentence refusing an unknown name), `label_of(name)`, `labels_where(has)` ("LSTM and GRU"),
`layers_error` / `check_cell` (a cell's fixed number of layers) and `cell_help()` (every cell's
sentence, for a tooltip or --help).
"""

from __future__ import annotations

from rnn_core.config import FIELDS, ConfigError, quoted
from rnn_core.nn.cells import elman, gru, indrnn, jordan, lstm
from rnn_core.nn.cells.cell import Cell

CELLS: dict[str, Cell] = {c.name: c for c in (
    elman.TANH,
    elman.RELU,
    jordan.CELL,
    lstm.CELL,
    gru.CELL,
    indrnn.CELL,
)}


def cell_of(name: str) -> Cell:
    """The registry entry of cell `name`; ConfigError (one sentence) for a name that is not a cell."""
    if name not in CELLS:
        raise ConfigError(f"Unknown cell {quoted(name)}: choose one of {', '.join(CELLS)}.")
    return CELLS[name]


def label_of(name: str) -> str:
    """The cell's label, or `name` itself for a name that is not a cell (a record from an older file)."""
    return CELLS[name].label if name in CELLS else name


def labels_where(has) -> str:
    """The labels of the cells for which `has(cell)` is true, as a sentence lists them: "LSTM and GRU"."""
    names = [c.label for c in CELLS.values() if has(c)]
    return " and ".join([", ".join(names[:-1]), names[-1]] if len(names) > 1 else names)


def layers_error(name: str, num_layers: int) -> str | None:
    """The sentence refusing `num_layers` for cell `name`, or None when the pair is allowed."""
    cell = cell_of(name)
    most = cell.max_layers
    if most is None or num_layers <= most:
        return None
    has = f"{cell.layers_why}, so it has" if cell.layers_why else "has"
    return (f"A {cell.label} {has} exactly {most} layer{'s' if most > 1 else ''}: set layers to {most}, "
            f"got {num_layers}.")


def check_cell(name: str, num_layers: int) -> None:
    """Raise ConfigError (one sentence) for an unknown cell or a number of layers it cannot have."""
    message = layers_error(name, num_layers)
    if message:
        raise ConfigError(message)


def cell_help(lead: str = "") -> str:
    """`lead` (by default the cell setting's help, `config.FIELDS["cell"]`) and every cell's sentence, a
    paragraph each: the cell widgets' tooltip and the CLI's --cell help."""
    return "\n\n".join([lead or FIELDS["cell"].help, *(f"{c.label}: {c.sentence}" for c in CELLS.values())])
