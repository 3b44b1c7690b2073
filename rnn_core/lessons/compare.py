"""What the Compare page races and sweeps: its default runs, the ranges of its own settings, the check a
race must pass, and one short run through the sweep engine.

The race trains two cells or more (every cell at most) on the same windows, seed and settings:
`RACE_MODEL`, `RACE_DATA` (with `RACE_PARAMS` per dataset) and `RACE_TRAIN` are its defaults,
`RACE_DATASETS` what it offers, `RACE_FIELDS` its model widgets, `race_error(cells, num_layers)` the
sentence refusing a race that cannot start. The timesteps sweep
and the trainability map start from `SWEEP_DEFAULTS` and `MAP_DEFAULTS`, choose from `SWEEP_TIMESTEPS`
and `MAP_GAINS`, take their other settings' ranges from `SWEEP_FIELDS`, and run at most
`MAX_APP_RUNS` trials from the app. `run_one` trains one cell to the
end, as a sweep's trial does.
Leaves to others: the sweep engine (`sweep.py`), the live runs (`live.py`), the widgets (`ui/compare.py`,
`ui/sweep.py`). Never imports streamlit.

Measured facts behind the defaults (tests/engine/test_presets.py holds the first part): the adding problem over
25 steps, where in 10 epochs the GRU and the LSTM get far below the constant guess and the tanh RNN stays
on it. The sweep's defaults (T = 5…50, 10 epochs, 2000 samples, lr 0.01, forget bias 1) show the order
its caption states, measured on seed 0: the RNN learns at T = 5 and stays on the constant guess from
T = 25, the LSTM learns to T = 25 and not at 50, the GRU learns at every T of the sweep.
"""

from __future__ import annotations

from dataclasses import dataclass
from types import SimpleNamespace

from rnn_core.config import FIELDS, DataConfig, TrainConfig, fields_of
from rnn_core.config import replace as cfg_replace
from rnn_core.nn.cells import CELLS, layers_error
from rnn_core.nn.model_config import ModelConfig

# ------------------------------------------------------------------------------------------ the race
RACE_DATASETS = ("adding", "echo", "sine", "mackey_glass", "sines", "brackets", "pydoc")
RACE_CELLS = ("rnn", "lstm", "gru")          # raced by default
TEXT_RACE_CELLS = ("rnn", "lstm")            # the Playground's "tanh RNN vs LSTM" on a text dataset
MIN_RACE_CELLS, MAX_RACE_CELLS = 2, len(CELLS)   # every cell may race
RACE_MODEL = ModelConfig(hidden_size=32, num_layers=1, forget_bias=1.0)
RACE_DATA = DataConfig(dataset="adding", timesteps=25)
RACE_PARAMS = {"adding": {"n_samples": 2000}, "echo": {"n_samples": 2000, "lag": 10}}
RACE_TRAIN = TrainConfig(epochs=10, lr=0.01, batch_size=32, clip="norm", clip_value=1.0)
RACE_TRAIN_FIELDS = ("epochs", "lr", "batch_size", "clip", "clip_value")   # the ones the page sets
# The race's model settings, as its widgets show them (label, range, step: config.FIELDS)
RACE_FIELDS = {"hidden_size": FIELDS["race.hidden_size"], "num_layers": FIELDS["num_layers"],
               "forget_bias": FIELDS["forget_bias"]}


def race_error(cells: list[str], num_layers: int) -> str | None:
    """The sentence refusing a race of `cells` with `num_layers` layers, or None when it can start."""
    if len(cells) < MIN_RACE_CELLS:
        return "Pick at least two cells to race."
    # a cell that cannot have this many layers (Jordan has one): say so before the race starts
    return next((m for m in (layers_error(c, num_layers) for c in cells) if m), None)


# ---------------------------------------------------------------------------------------- the sweeps
@dataclass(frozen=True)
class SweepDefaults:
    """Where a sweep's widgets start."""

    timesteps: tuple[int, ...]
    epochs: int
    n_samples: int
    seeds: int
    gains: tuple[float, ...] = ()


SWEEP_TIMESTEPS = (5, 10, 15, 20, 25, 30, 40, 50, 60, 75, 100, 150, 200)   # the window lengths offered
MAP_GAINS = (0.25, 0.5, 0.75, 0.9, 1.0, 1.1, 1.25, 1.5, 2.0, 3.0)          # the gains offered
SWEEP_DEFAULTS = SweepDefaults(timesteps=(5, 10, 25, 50), epochs=10, n_samples=2000, seeds=1)
# the map's defaults draw its lesson (tests/engine/test_presets.py): the plain RNN learns at T = 5 at every gain,
# at T = 10 only near gain 1, not from T = 25; the LSTM at T = 50 only near gain 1; the GRU everywhere
# (48 runs, about 20 s on two cores; 3 epochs of 600 samples drew an all-white map)
MAP_DEFAULTS = SweepDefaults(timesteps=(5, 10, 25, 50), epochs=10, n_samples=2000, seeds=1,
                             gains=(0.5, 0.9, 1.1, 1.5))
# A sweep's settings, as its widgets show them (label, range, step: config.FIELDS, "sweep.<setting>")
SWEEP_FIELDS = fields_of("sweep.")
MAX_APP_RUNS = 240                 # one sweep from the app: bounded so that a shared server stays shared


# ------------------------------------------------------------------------------ one short run
def run_one(cell: str, timesteps: int, data_cfg: DataConfig, model_cfg: ModelConfig,
            train_cfg: TrainConfig) -> SimpleNamespace:
    """Train one cell on windows of length `timesteps` to the end through the sweep engine
    (`sweep.run_trial`); the record's fields (status, val_loss, baseline_mse, …) as attributes."""
    from rnn_core.sweep.trials import Trial, run_trial

    trial = Trial(cfg_replace(model_cfg, cell=cell), cfg_replace(data_cfg, timesteps=timesteps), train_cfg)
    return SimpleNamespace(**run_trial(trial))
