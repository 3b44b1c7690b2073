"""The trainable network: stacked recurrent layers of one cell plus a linear head.

Holds `RNNModel`, `build_model(cfg, seed)`, `parameter_shapes(cfg)`, `recurrent_matrix(model, layer)`,
`spectra(model)` and `chunk_steps(cfg, batch)` (how many timesteps one call of the recurrent module runs:
a long window runs in chunks, so Stop and Ctrl-C take effect between them).
Leaves to the cell registry (`rnn_core.nn.cells`) everything that differs between cells: the module
(`Cell.module`: a fused torch.nn kernel or a hand-written one), how the init schemes set its recurrent
weights (`Cell.init`), which square matrix its spectrum is of (`Cell.recurrent_matrix`) and the
written-out equations; to others the gradient probe (`probe.py`) and the training loop (`train.py`).

Every module is batch_first and called as nn.RNN is, (x, state) → (out (B, T, H), state), except a cell
fed its own output back (`Cell.output_feedback`, the Jordan network), whose module is called with the
head, runs it at every step and predicts with the last output ŷ_T. Weights keep the `torch.nn` names
(`rnn.weight_ih_l{k}`, `rnn.weight_hh_l{k}`, `rnn.bias_ih_l{k}`, `rnn.bias_hh_l{k}`; each cell's file
says its shapes), so the written-out equations re-run them step by step.

Init schemes (`cfg.init`, one of `config.INITS`) act on the recurrent weights, as each cell says:
    default     torch's own init (uniform ±1/√H) for everything
    orthogonal  W_hh = gain · Q, Q orthogonal (per gate block)
    identity    W_hh = gain · I  (IRNN, Le et al. 2015)
    gaussian    W_hh ~ N(0, gain²/H)
W_ih and the head keep torch's default init.

Spectra: for each layer the square matrix that maps h_{t-1} into the pre-activation of h_t
(`Cell.recurrent_matrix`); a cell fed its output back has a loop of rank ≤ O, so only its O largest
singular values are reported.
"""

from __future__ import annotations

import contextlib

import torch
from torch import Tensor, nn

from rnn_core import interrupt
from rnn_core.interrupt import checkpoint
from rnn_core.nn.cells import cell_of
from rnn_core.nn.inputs import as_input
from rnn_core.nn.model_config import ModelConfig


class RNNModel(nn.Module):
    """Stacked recurrent layers (`self.rnn`) and a linear head on the top layer's last output."""

    def __init__(self, cfg: ModelConfig):
        super().__init__()
        self.cfg = cfg
        self.rnn = self.cell.module(cfg)                                 # the cell's layers
        self.head = nn.Linear(cfg.hidden_size, cfg.output_size)

    @property
    def cell(self):
        """The cell's registry entry (`rnn_core.nn.cells.Cell`)."""
        return cell_of(self.cfg.cell)

    def forward(self, x: Tensor, bptt_truncate: int = 0) -> Tensor:
        """x (B, T, F), or character ids (B, T) → ŷ (B, O). With 0 < k < T the first T−k steps run
        without grad."""
        x = as_input(x, self.cfg.input_size, self.head.weight.dtype)      # (B, T, F)
        T = x.shape[1]
        if self.cell.output_feedback:
            return self._feedback_forward(x, bptt_truncate)
        state = None
        if 0 < bptt_truncate < T:
            with torch.no_grad():
                _, state = self._run(x[:, : T - bptt_truncate])
            state = _detach(state)
            x = x[:, T - bptt_truncate:]
        out, _ = self._run(x, state)                                     # (B, T', H)
        # ŷ = W_out h_T + b_out
        return self.head(out[:, -1])                                     # (B, O)

    def forward_steps(self, x: Tensor, state=None):
        """Many-to-many, from a carried state: x (B, T, F), or character ids (B, T) → (ŷ_t at every step
        (B, T, O), the state after step T). `state` is what the last call returned (None = zeros): the cell's
        module's (h (L, B, H), or (h, c) for the LSTM); a cell fed its output carries that output, ŷ_T (B, O)."""
        x = as_input(x, self.cfg.input_size, self.head.weight.dtype)      # (B, T, F)
        if self.cell.output_feedback:
            _, y_hat = self.rnn(x, self.head, state)                     # (B, T, O)
            return y_hat, y_hat[:, -1]
        out, state = self._run(x, state)                                 # (B, T, H)
        # ŷ_t = W_out h_t + b_out   for every t
        return self.head(out), state                                     # (B, T, O)

    def _feedback_forward(self, x: Tensor, bptt_truncate: int) -> Tensor:
        """The head runs at every step (its output is fed back); the prediction is the last one, ŷ_T."""
        T = x.shape[1]
        y_prev = None
        if 0 < bptt_truncate < T:
            with torch.no_grad():
                _, y_hat = self.rnn(x[:, : T - bptt_truncate], self.head)
            y_prev = y_hat[:, -1].detach()                               # ŷ_{T−k} (B, O)
            x = x[:, T - bptt_truncate:]
        _, y_hat = self.rnn(x, self.head, y_prev)                        # (B, T', O)
        return y_hat[:, -1]                                              # ŷ_T (B, O)

    def _run(self, x: Tensor, state=None):
        """self.rnn over x (B, T, F), in chunks of `chunk_steps` timesteps with the state carried over.
        The chunks depend on the sizes only, never on who runs the model, so the CLI, a live run, a
        worker and `run_to_end` compute the same numbers; while an interrupt check is installed
        (`rnn_core.interrupt`) each chunk is checked before it runs and, in the backward pass, at its
        boundary state."""
        B, T, _ = x.shape
        size = chunk_steps(self.cfg, B)
        if size >= T:
            checkpoint()
            return self.rnn(x, state)
        outs = []
        watched = interrupt.active()
        for start in range(0, T, size):
            checkpoint()
            out, state = self.rnn(x[:, start:start + size], state)      # (B, ≤size, H)
            if watched:
                for s in state if isinstance(state, tuple) else (state,):
                    interrupt.hook(s)
            outs.append(out)
        return torch.cat(outs, dim=1), state                             # (B, T, H)


# Multiply-adds one chunk of a fused forward may hold: a Stop waits for at most one chunk (a few ms
# forward, a few more backward), and a window that fits (seed-004: B 32, T 100, 3 × 20) runs as one
# fused call, the same computation as a plain nn.RNN loop.
CHUNK_MACS = 2 ** 24


def chunk_steps(cfg: ModelConfig, batch: int) -> int:
    """Timesteps per fused call for a batch of `batch` windows: as many as fit CHUNK_MACS, at least 1.
    Per timestep and window each layer costs blocks · H · (F_in + H) multiply-adds."""
    blocks, H = cell_of(cfg.cell).blocks, cfg.hidden_size
    per_step = sum(blocks * H * ((cfg.input_size if layer == 0 else H) + H) for layer in range(cfg.num_layers))
    return max(1, CHUNK_MACS // max(1, batch * per_step))


def _detach(state):
    if isinstance(state, tuple):
        return tuple(s.detach() for s in state)
    return state.detach()


def build_model(cfg: ModelConfig, seed: int | None = None) -> RNNModel:
    """Build the model for `cfg` on the CPU with its init scheme; the same seed gives the same weights.

    A seed draws from its own RNG stream, leaving torch's global RNG as it was.
    """
    cfg.validate()
    rng = torch.random.fork_rng(devices=[]) if seed is not None else contextlib.nullcontext()
    with rng:
        if seed is not None:
            torch.random.default_generator.manual_seed(seed)   # the CPU stream the weights are drawn from
        model = RNNModel(cfg)
        model.cell.init(model)
    return model


def parameter_shapes(cfg: ModelConfig) -> dict[str, tuple[int, ...]]:
    """The model's state-dict names and shapes for `cfg`, built on the meta device: no memory is
    allocated for the weights, so a saved run can be checked before anything is built."""
    cfg.validate()
    with torch.device("meta"):
        model = RNNModel(cfg)
    return {name: tuple(t.shape) for name, t in model.state_dict().items()}


def recurrent_matrix(model: RNNModel, layer: int, dtype: torch.dtype | None = None) -> Tensor:
    """The square (H, H) matrix mapping h_{t-1} into layer `layer`'s pre-activation (see module doc),
    optionally cast to `dtype` (before the Jordan product, so float64 is exact)."""
    dtype = dtype or model.head.weight.dtype
    return model.cell.recurrent_matrix({n: p.to(dtype) for n, p in model.named_parameters()}, layer)


@torch.no_grad()
def spectra(model: RNNModel) -> list[dict]:
    """Per layer: σ_max, spectral radius and all singular values of `recurrent_matrix` (float64, CPU),
    and "matrix", which matrix that is (`Cell.spectrum_of`)."""
    out = []
    for k in range(model.cfg.num_layers):
        W = recurrent_matrix(model, k, torch.float64).detach().cpu()
        s = torch.linalg.svdvals(W)
        if model.cell.output_feedback:
            s = s[:model.cfg.output_size]                                # the loop through ŷ has rank ≤ O
        rho = torch.linalg.eigvals(W).abs().max()
        out.append({"sigma_max": float(s[0]), "spectral_radius": float(rho),
                    "singular_values": [float(v) for v in s], "matrix": model.cell.spectrum_of})
    return out
