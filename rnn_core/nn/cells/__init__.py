"""The recurrent cells, one file each, and their registry.

    registry.py   CELLS (one row per cell), cell_of, label_of, labels_where, layers_error, check_cell, cell_help
    cell.py       the `Cell` record every cell file fills in; `Unrolled`; helpers the stacked cells share
    unroll.py     unrolled_forward (the written-out forward, float64), unroll_stack (N networks at once),
                  copy_params, step_jacobians
    <cell>.py     one file per cell: its equations, Jacobian, module, init, recurrent matrix, bound,
                  colour and sentence, filled into one `Cell` (elman.py holds the tanh and ReLU cells)

Adding a cell: one file here and one row in `registry.CELLS` (docs/architecture.md).
"""

from rnn_core.nn.cells.cell import Cell, Unrolled
from rnn_core.nn.cells.registry import CELLS, cell_help, cell_of, check_cell, label_of, labels_where, layers_error
from rnn_core.nn.cells.unroll import (
    copy_params,
    final_state,
    initial_state,
    step_jacobians,
    unroll_stack,
    unrolled_forward,
)

__all__ = ["CELLS", "Cell", "Unrolled", "cell_help", "cell_of", "check_cell", "copy_params", "final_state",
           "initial_state", "label_of", "labels_where", "layers_error", "step_jacobians", "unroll_stack",
           "unrolled_forward"]
