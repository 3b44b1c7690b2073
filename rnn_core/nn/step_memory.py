"""What one training step and one probe of a run hold, asked of the memory budget before the run starts.

A link sets the batch B, the window T, the hidden size H, the layers L, the cell and the probe batch P. A
training step's forward keeps every step's activations for its backward pass, and the probe (float64, the
written-out equations) keeps every h_t, c_t and gate with its gradient; both grow with

    floats per window = T · (H · L · (blocks + 2) + F)

(blocks: the cell's row blocks, LSTM 4, GRU 3, else 1; F the inputs, text's one-hot vocabulary). What one
such float costs, measured as the peak-RSS growth of the real path in a subprocess for each of the five
cells at T = 200, is at most STEP_BYTES in a training step (float32 and autograd's saved tensors: 6.8–9.1
bytes measured) and PROBE_BYTES in the probe (14–52 bytes measured); tests/engine/test_budget.py runs the
largest step and probe the budget allows (LSTM, tanh RNN) and holds them under the limit. The budget's
"step" row bounds both:

    check_run_memory(model_cfg, train_cfg, timesteps)   BudgetError (one sentence) unless both fit

A stateful run's step reads B = the streams over k₂ steps (`stateful.chunk_lengths`), its probe min(P, B)
streams over T; the state-carry probe bounds itself (`probe.CARRY_ELEMENTS`); the evaluation reads in
bounded chunks (`batches.EVAL_ELEMENTS`).
Leaves to others: the budget's table (`data/budget.py`), the cells' facts (`cells/`).
"""

from __future__ import annotations

from rnn_core.config import TrainConfig
from rnn_core.data.budget import ask
from rnn_core.nn.cells import cell_of
from rnn_core.nn.model_config import ModelConfig
from rnn_core.readable import count

STEP_BYTES = 10          # bytes of peak memory per float of a training step's windows (6.8–9.1 measured)
PROBE_BYTES = 55         # the same for the probe's windows (14–52 measured)


def window_floats(model_cfg: ModelConfig, steps: int) -> int:
    """T · (H · L · (blocks + 2) + F): what one window of `steps` steps makes a forward and backward hold."""
    blocks = cell_of(model_cfg.cell).blocks
    return steps * (model_cfg.hidden_size * model_cfg.num_layers * (blocks + 2) + model_cfg.input_size)


def run_batches(train_cfg: TrainConfig, timesteps: int, n_windows: int | None = None
                ) -> tuple[tuple[int, int], tuple[int, int]]:
    """((windows, steps) of the largest training forward, (windows, steps) of the probe) of a run on
    `n_windows` training windows (None: as many as the settings ask). The training forward is a batch, or
    the probe batch whose ‖∂L/∂θ‖ every epoch record measures, whichever is larger."""
    most = n_windows if n_windows is not None else max(train_cfg.batch_size, train_cfg.probe_batch)
    if train_cfg.stateful:                  # an update: B streams over ≤ k₂ steps; the probe's: P over T
        B, k2 = train_cfg.stateful_streams, train_cfg.bptt_truncate or timesteps
        P = min(train_cfg.probe_batch, B)
        return max((B, k2), (P, timesteps), key=lambda nt: nt[0] * nt[1]), (P, timesteps)
    P = min(train_cfg.probe_batch, most)
    return (max(min(train_cfg.batch_size, most), P), timesteps), (P, timesteps)


def check_run_memory(model_cfg: ModelConfig, train_cfg: TrainConfig, timesteps: int,
                     n_windows: int | None = None) -> None:
    """Ask the budget's "step" row for the largest training forward and, when the run probes, for the
    probe; the refusal names the largest batch (streams) or probe batch that fits at these settings."""
    (n_step, t_step), (n_probe, t_probe) = run_batches(train_cfg, timesteps, n_windows)
    setting = "Streams" if train_cfg.stateful else "Batch size and Probe batch"
    ask("step", n_step, STEP_BYTES * window_floats(model_cfg, t_step),
        "streams" if train_cfg.stateful else "windows in one step",
        fits=lambda most: (f"set {setting} to at most {count(most)}, or use fewer timesteps, hidden units or layers"
                           if most else "use fewer timesteps, hidden units or layers"))
    if train_cfg.probe_every < 1:
        return
    ask("step", n_probe, PROBE_BYTES * window_floats(model_cfg, t_probe), "probe windows",
        fits=lambda most: (f"set Probe batch to at most {count(most)}, or use fewer timesteps, hidden units or "
                           "layers" if most else "use fewer timesteps, hidden units or layers"))
