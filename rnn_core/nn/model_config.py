"""The network's settings: `ModelConfig`, which cell (a key of the registry), its size, layers and init.

Its ranges are rows of the one settings table (`config.FIELDS`); `validate()` also asks the cell registry
(`rnn_core.nn.cells`) whether the cell exists and how many layers it allows, which is why it lives here,
beside the cells, and not in `config.py` (the root every package reads never imports nn/). The run checks
(`config.validate_run`) call `validate()`; `config.to_query` / `from_query` / `from_dict` / `clamp_to_limits`
read and write it like the other two configs.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from rnn_core.config import INITS, ConfigError, check_ranges, quoted
from rnn_core.nn.cells import cell_of, check_cell


@dataclass
class ModelConfig:
    QUERY_PREFIX: ClassVar[str] = "m."   # its settings in a URL: m.<name>
    cell: str = "rnn"            # a key of rnn_core.nn.cells.CELLS
    hidden_size: int = 32        # units per recurrent layer (H)
    num_layers: int = 1          # stacked recurrent layers (1–4)
    input_size: int = 1          # features per timestep (F); set from the data
    output_size: int = 1         # values predicted per window; set from the data
    init: str = "default"        # recurrent-weight init, one of INITS
    gain: float = 1.0            # multiplies the orthogonal / identity / gaussian W_hh
    forget_bias: float = 0.0     # added to the LSTM forget-gate bias (1.0 is the classic choice)

    def validate(self) -> ModelConfig:
        cell_of(self.cell)                                   # ConfigError: unknown cell, one sentence
        if self.init not in INITS:
            raise ConfigError(f"Unknown init {quoted(self.init)}: choose one of {', '.join(INITS)}.")
        check_ranges(self)
        check_cell(self.cell, self.num_layers)
        return self
