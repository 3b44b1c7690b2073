"""The trainable networks: stacked recurrent layers plus a linear head, and their init schemes.

Holds `RNNModel`, `build_model(cfg, seed)`, `parameter_shapes(cfg)`, `JordanRNN` (the one cell without a fused kernel),
`recurrent_matrix(model, layer)` and `spectra(model)`.
Leaves to others: the written-out equations used for exact gradients (`cells.py`), the gradient
probe (`probe.py`) and the training loop (`train.py`).

Weights keep the `torch.nn` layout and names for every cell (`rnn.weight_ih_l{k}`, `rnn.weight_hh_l{k}`,
`rnn.bias_ih_l{k}`, `rnn.bias_hh_l{k}`; LSTM rows i, f, g, o; GRU rows r, z, n), so the fused kernels
train them and `cells.py` can re-run them step by step.

Jordan network (per layer k, sizes chosen so that layers stack and W_hh stays square):
    h_t = tanh(W_ih x_t + b_ih + W_hh y_{t-1} + b_hh)     # h_t (B, H), y_0 = 0
    y_t = W_hy h_t + b_hy                                  # y_t (B, H): the layer's output, fed back
The layer's output sequence is y_1..y_T (the next layer's input); the head reads the top layer's y_T.
Extra parameters: `rnn.weight_hy_l{k}` (H, H) and `rnn.bias_hy_l{k}` (H,).

Init schemes (`cfg.init`) set each layer's W_hh; for LSTM/GRU each gate block of W_hh separately:
    default     torch's own init (uniform ±1/√H) for everything
    orthogonal  W_hh = gain · Q, Q orthogonal
    identity    W_hh = gain · I  (IRNN, Le et al. 2015)
    gaussian    W_hh ~ N(0, gain²/H)
Non-default schemes also set b_ih = b_hh = 0 (as the IRNN paper does) and, for Jordan, W_hy orthogonal
(identity for the identity scheme) and b_hy = 0, so the effective recurrence W_hh·W_hy has exactly the
singular values of the W_hh the scheme drew. W_ih and the head keep torch's default init.
`cfg.forget_bias` is then added to the LSTM forget-gate rows of b_hh (rows H:2H).

Spectra: for each layer the square matrix that maps h_{t-1} into the pre-activation of h_t:
Elman W_hh; Jordan W_hh·W_hy; LSTM the cell-candidate block W_hg (rows 2H:3H); GRU the candidate
block W_hn (rows 2H:3H). `recurrent_weights()` still returns the full W_hh in torch layout.
"""

from __future__ import annotations

import contextlib

import torch
from torch import Tensor, nn

from rnn_core import interrupt
from rnn_core.config import ModelConfig
from rnn_core.interrupt import CHUNK_STEPS, checkpoint

# How many row blocks each cell stacks in W_ih / W_hh (LSTM: i, f, g, o; GRU: r, z, n).
GATE_BLOCKS: dict[str, int] = {"rnn": 1, "rnn_relu": 1, "jordan": 1, "lstm": 4, "gru": 3}
# The row block of W_hh used for spectra (the cell candidate for LSTM / GRU), and its label.
CANDIDATE_BLOCK: dict[str, int] = {"rnn": 0, "rnn_relu": 0, "jordan": 0, "lstm": 2, "gru": 2}
SPECTRUM_OF: dict[str, str] = {"rnn": "W_hh", "rnn_relu": "W_hh", "jordan": "W_hh·W_hy",
                               "lstm": "W_hg (candidate block of W_hh)", "gru": "W_hn (candidate block of W_hh)"}


class JordanRNN(nn.Module):
    """Stacked Jordan layers, unrolled in Python (no fused kernel); batch_first like nn.RNN.

    forward(x, hx=None) -> (out, y_n): x (B, T, F), hx/y_n (L, B, H) the last outputs y_T of each
    layer (the recurrent state of a Jordan network), out (B, T, H) the top layer's y_1..y_T.
    """

    def __init__(self, input_size: int, hidden_size: int, num_layers: int = 1):
        super().__init__()
        self.input_size, self.hidden_size, self.num_layers = input_size, hidden_size, num_layers
        self.batch_first = True
        self.nonlinearity = "tanh"
        H = hidden_size
        for k in range(num_layers):
            F = input_size if k == 0 else H
            self.register_parameter(f"weight_ih_l{k}", nn.Parameter(torch.empty(H, F)))
            self.register_parameter(f"weight_hh_l{k}", nn.Parameter(torch.empty(H, H)))
            self.register_parameter(f"bias_ih_l{k}", nn.Parameter(torch.empty(H)))
            self.register_parameter(f"bias_hh_l{k}", nn.Parameter(torch.empty(H)))
            self.register_parameter(f"weight_hy_l{k}", nn.Parameter(torch.empty(H, H)))
            self.register_parameter(f"bias_hy_l{k}", nn.Parameter(torch.empty(H)))
        self.reset_parameters()

    def reset_parameters(self) -> None:
        """torch's RNN default: every weight and bias uniform in ±1/√H."""
        bound = 1.0 / self.hidden_size**0.5
        for p in self.parameters():
            nn.init.uniform_(p, -bound, bound)

    def forward(self, x: Tensor, hx: Tensor | None = None) -> tuple[Tensor, Tensor]:
        B, T, _ = x.shape
        H = self.hidden_size
        layer_in = x                                                     # (B, T, F)
        y_last = []
        for k in range(self.num_layers):
            W_ih, W_hh = getattr(self, f"weight_ih_l{k}"), getattr(self, f"weight_hh_l{k}")
            b_ih, b_hh = getattr(self, f"bias_ih_l{k}"), getattr(self, f"bias_hh_l{k}")
            W_hy, b_hy = getattr(self, f"weight_hy_l{k}"), getattr(self, f"bias_hy_l{k}")
            # W_ih x_t + b_ih for all t at once
            xw = layer_in @ W_ih.T + b_ih                                # (B, T, H)
            y_t = x.new_zeros(B, H) if hx is None else hx[k]             # (B, H)
            ys = []
            for t in range(T):
                if t % CHUNK_STEPS == 0:
                    checkpoint()                                         # Stop ends a long unroll here
                # h_t = tanh(W_ih x_t + b_ih + W_hh y_{t-1} + b_hh)
                h_t = torch.tanh(xw[:, t] + y_t @ W_hh.T + b_hh)         # (B, H)
                # y_t = W_hy h_t + b_hy
                y_t = h_t @ W_hy.T + b_hy                                # (B, H)
                ys.append(y_t)
            layer_in = torch.stack(ys, dim=1)                            # (B, T, H)
            y_last.append(y_t)
        return layer_in, torch.stack(y_last, dim=0)                      # (B, T, H), (L, B, H)


class RNNModel(nn.Module):
    """Stacked recurrent layers (`self.rnn`) and a linear head on the top layer's last output."""

    def __init__(self, cfg: ModelConfig):
        super().__init__()
        self.cfg = cfg
        F, H, L = cfg.input_size, cfg.hidden_size, cfg.num_layers
        if cfg.cell in ("rnn", "rnn_relu"):
            act = "tanh" if cfg.cell == "rnn" else "relu"
            self.rnn = nn.RNN(F, H, num_layers=L, nonlinearity=act, batch_first=True)
        elif cfg.cell == "lstm":
            self.rnn = nn.LSTM(F, H, num_layers=L, batch_first=True)
        elif cfg.cell == "gru":
            self.rnn = nn.GRU(F, H, num_layers=L, batch_first=True)
        else:
            self.rnn = JordanRNN(F, H, num_layers=L)
        self.head = nn.Linear(H, cfg.output_size)

    def forward(self, x: Tensor, bptt_truncate: int = 0) -> Tensor:
        """x (B, T, F) → ŷ (B, O). With 0 < k < T the first T−k steps run without grad."""
        x = x.to(self.head.weight.dtype)
        T = x.shape[1]
        state = None
        if 0 < bptt_truncate < T:
            with torch.no_grad():
                _, state = self._run(x[:, : T - bptt_truncate])
            state = _detach(state)
            x = x[:, T - bptt_truncate:]
        out, _ = self._run(x, state)                                     # (B, T', H)
        # ŷ = W_out h_T + b_out   (Jordan: the top layer's y_T)
        return self.head(out[:, -1])                                     # (B, O)

    def _run(self, x: Tensor, state=None):
        """self.rnn over x (B, T, F). While an interrupt check is installed (`rnn_core.interrupt`), in
        chunks of CHUNK_STEPS timesteps with the state carried over (the same numbers), checking before
        each chunk and, in the backward pass, at each chunk's boundary state."""
        T = x.shape[1]
        if not interrupt.active() or T <= CHUNK_STEPS:
            return self.rnn(x, state)
        outs = []
        for start in range(0, T, CHUNK_STEPS):
            checkpoint()
            out, state = self.rnn(x[:, start:start + CHUNK_STEPS], state)   # (B, ≤CHUNK_STEPS, H)
            for s in state if isinstance(state, tuple) else (state,):
                interrupt.hook(s)
            outs.append(out)
        return torch.cat(outs, dim=1), state                             # (B, T, H)

    def recurrent_weights(self) -> list[Tensor]:
        """W_hh of each layer in torch layout: (H, H), LSTM (4H, H), GRU (3H, H)."""
        return [getattr(self.rnn, f"weight_hh_l{k}") for k in range(self.cfg.num_layers)]


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
            torch.manual_seed(seed)
        model = RNNModel(cfg)
        _init_recurrent(model)
    return model


def parameter_shapes(cfg: ModelConfig) -> dict[str, tuple[int, ...]]:
    """The model's state-dict names and shapes for `cfg`, built on the meta device: no memory is
    allocated for the weights, so a saved run can be checked before anything is built."""
    cfg.validate()
    with torch.device("meta"):
        model = RNNModel(cfg)
    return {name: tuple(t.shape) for name, t in model.state_dict().items()}


@torch.no_grad()
def _init_recurrent(model: RNNModel) -> None:
    cfg = model.cfg
    H, n_blocks = cfg.hidden_size, GATE_BLOCKS[cfg.cell]
    for k in range(cfg.num_layers):
        W_hh = getattr(model.rnn, f"weight_hh_l{k}")
        if cfg.init != "default":
            for b in range(n_blocks):
                _init_square(W_hh[b * H:(b + 1) * H], cfg.init, cfg.gain)
            getattr(model.rnn, f"bias_ih_l{k}").zero_()
            getattr(model.rnn, f"bias_hh_l{k}").zero_()
            if cfg.cell == "jordan":
                W_hy = getattr(model.rnn, f"weight_hy_l{k}")
                _init_square(W_hy, "identity" if cfg.init == "identity" else "orthogonal", 1.0)
                getattr(model.rnn, f"bias_hy_l{k}").zero_()
        if cfg.cell == "lstm" and cfg.forget_bias:
            # b_f += forget_bias  (rows H:2H of b_hh)
            getattr(model.rnn, f"bias_hh_l{k}")[H:2 * H] += cfg.forget_bias


def _init_square(W: Tensor, scheme: str, gain: float) -> None:
    """Fill the (H, H) block W in place with one init scheme."""
    H = W.shape[0]
    if scheme == "orthogonal":
        nn.init.orthogonal_(W, gain=gain)
    elif scheme == "identity":
        W.copy_(gain * torch.eye(H, dtype=W.dtype, device=W.device))
    elif scheme == "gaussian":
        nn.init.normal_(W, mean=0.0, std=gain / H**0.5)
    else:
        raise ValueError(f"Unknown init scheme '{scheme}'.")


def recurrent_matrix(model: RNNModel, layer: int, dtype: torch.dtype | None = None) -> Tensor:
    """The square (H, H) matrix mapping h_{t-1} into layer `layer`'s pre-activation (see module doc),
    optionally cast to `dtype` (before the Jordan product, so float64 is exact)."""
    cell, H = model.cfg.cell, model.cfg.hidden_size
    W_hh = getattr(model.rnn, f"weight_hh_l{layer}").to(dtype or model.head.weight.dtype)
    if cell == "jordan":
        # h_{t-1} → y_{t-1} = W_hy h_{t-1} + b_hy → W_hh y_{t-1}
        return W_hh @ getattr(model.rnn, f"weight_hy_l{layer}").to(W_hh.dtype)
    b = CANDIDATE_BLOCK[cell]
    return W_hh[b * H:(b + 1) * H]


@torch.no_grad()
def spectra(model: RNNModel) -> list[dict]:
    """Per layer: σ_max, spectral radius and all singular values of `recurrent_matrix` (float64, CPU),
    and "matrix", which matrix that is (a label from SPECTRUM_OF)."""
    out = []
    for k in range(model.cfg.num_layers):
        W = recurrent_matrix(model, k, torch.float64).detach().cpu()
        s = torch.linalg.svdvals(W)
        rho = torch.linalg.eigvals(W).abs().max()
        out.append({"sigma_max": float(s[0]), "spectral_radius": float(rho),
                    "singular_values": [float(v) for v in s], "matrix": SPECTRUM_OF[model.cfg.cell]})
    return out
