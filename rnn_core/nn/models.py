"""The trainable networks: stacked recurrent layers plus a linear head, and their init schemes.

Holds `RNNModel`, `build_model(cfg, seed)`, `parameter_shapes(cfg)`, `JordanRNN` (the one cell without a fused kernel),
`recurrent_matrix(model, layer)`, `spectra(model)` and `chunk_steps(cfg, batch)` (how many timesteps one
fused call runs: a long window runs in chunks, so Stop and Ctrl-C take effect between them).
Leaves to others: the written-out equations used for exact gradients (`cells.py`), the gradient
probe (`probe.py`) and the training loop (`train.py`).

Weights keep the `torch.nn` layout and names for every cell (`rnn.weight_ih_l{k}`, `rnn.weight_hh_l{k}`,
`rnn.bias_ih_l{k}`, `rnn.bias_hh_l{k}`; LSTM rows i, f, g, o; GRU rows r, z, n), so the fused kernels
train them and `cells.py` can re-run them step by step.

Jordan network (Jordan 1986): the hidden layer is fed the network's own previous output ŷ_{t−1},
the head's prediction (dimension O = output size); there is no H × H recurrent matrix:
    h_t = tanh(W_ih x_t + b_ih + W_yh ŷ_{t−1} + b_yh)      # h_t (B, H), ŷ_0 = 0
    ŷ_t = W_out h_t + b_out                                # the head, applied at every step
The prediction is the last one, ŷ_T (the training target stays the window's next value). Parameters:
`rnn.weight_ih_l0` (H, F), `rnn.bias_ih_l0` (H,), `rnn.weight_yh_l0` (H, O), `rnn.bias_yh_l0` (H,) and the
head. A Jordan network has exactly one hidden layer (`config.MAX_LAYERS`): the output it feeds back
is the network's, so "stacked Jordan layers" are not defined.

Init schemes (`cfg.init`) set each layer's W_hh; for LSTM/GRU each gate block of W_hh separately:
    default     torch's own init (uniform ±1/√H) for everything
    orthogonal  W_hh = gain · Q, Q orthogonal
    identity    W_hh = gain · I  (IRNN, Le et al. 2015)
    gaussian    W_hh ~ N(0, gain²/H)
Non-default schemes also set b_ih = b_hh = 0 (as the IRNN paper does). W_ih and the head keep torch's
default init. `cfg.forget_bias` is then added to the LSTM forget-gate rows of b_hh (rows H:2H).
For Jordan the scheme sets the feedback W_yh (H, O) instead, through the loop h_{t−1} → ŷ_{t−1} → h_t,
the matrix W_yh·W_out: orthogonal and identity set W_yh = gain · W_out⁺ (the head's pseudo-inverse), so
W_yh·W_out = gain × the projector onto the head's rows — all its non-zero singular values and
eigenvalues equal the gain, as for gain × an orthogonal W_hh (in the linear regime ŷ_t ≈ gain · ŷ_{t−1}
+ the input's share); gaussian draws W_yh ~ N(0, 1/H) scaled by gain / σ_max(W_out).
b_ih = b_yh = b_out = 0 (every bias on the loop, as for the other cells).

Spectra: for each layer the square matrix that maps h_{t-1} into the pre-activation of h_t:
Elman W_hh; Jordan W_yh·W_out (rank ≤ O: only its O largest singular values are reported);
LSTM the cell-candidate block W_hg (rows 2H:3H); GRU the candidate block W_hn (rows 2H:3H).
`recurrent_weights()` still returns the full W_hh in torch layout (Jordan: W_yh).
"""

from __future__ import annotations

import contextlib

import torch
from torch import Tensor, nn

from rnn_core import interrupt
from rnn_core.config import CELL_SPECS, ModelConfig
from rnn_core.interrupt import CHUNK_STEPS, checkpoint

# Which matrix each cell's spectrum is of (a view of config.CELL_SPECS, kept for the pages that read it).
SPECTRUM_OF: dict[str, str] = {name: spec.spectrum_of for name, spec in CELL_SPECS.items()}


class JordanRNN(nn.Module):
    """One Jordan layer fed the network's own previous output ŷ_{t−1}, unrolled in Python (no fused
    kernel); batch_first like nn.RNN. The output layer is the model's head, passed in at each call.

    forward(x, head, y_prev=None) -> (h, y_hat): x (B, T, F), y_prev (B, O) the output fed back
    before the first step (ŷ_0 = 0 when None), h (B, T, H) the hidden states h_1..h_T and y_hat (B, T, O)
    the head's prediction ŷ_1..ŷ_T at every step (each one fed back into the next step).
    """

    def __init__(self, input_size: int, hidden_size: int, output_size: int):
        super().__init__()
        self.input_size, self.hidden_size, self.output_size = input_size, hidden_size, output_size
        self.num_layers = 1
        self.batch_first = True
        self.nonlinearity = "tanh"
        H, F, O = hidden_size, input_size, output_size
        self.weight_ih_l0 = nn.Parameter(torch.empty(H, F))
        self.bias_ih_l0 = nn.Parameter(torch.empty(H))
        self.weight_yh_l0 = nn.Parameter(torch.empty(H, O))
        self.bias_yh_l0 = nn.Parameter(torch.empty(H))
        self.reset_parameters()

    def reset_parameters(self) -> None:
        """torch's RNN default: every weight and bias uniform in ±1/√H."""
        bound = 1.0 / self.hidden_size**0.5
        for p in self.parameters():
            nn.init.uniform_(p, -bound, bound)

    def forward(self, x: Tensor, head: nn.Linear, y_prev: Tensor | None = None) -> tuple[Tensor, Tensor]:
        B, T, _ = x.shape
        # W_ih x_t + b_ih for all t at once
        xw = x @ self.weight_ih_l0.T + self.bias_ih_l0                  # (B, T, H)
        y_t = x.new_zeros(B, self.output_size) if y_prev is None else y_prev   # ŷ_0 (B, O)
        hs, ys = [], []
        for t in range(T):
            if t % CHUNK_STEPS == 0:
                checkpoint()                                             # Stop ends a long unroll here
                interrupt.hook(y_t)                                      # …and its backward pass
            # h_t = tanh(W_ih x_t + b_ih + W_yh ŷ_{t−1} + b_yh)
            h_t = torch.tanh(xw[:, t] + y_t @ self.weight_yh_l0.T + self.bias_yh_l0)   # (B, H)
            # ŷ_t = W_out h_t + b_out   (the head)
            y_t = head(h_t)                                              # (B, O)
            if t % CHUNK_STEPS == 0:
                interrupt.hook(h_t)                                      # …and its backward pass here
            hs.append(h_t)
            ys.append(y_t)
        return torch.stack(hs, dim=1), torch.stack(ys, dim=1)            # (B, T, H), (B, T, O)


class RNNModel(nn.Module):
    """Stacked recurrent layers (`self.rnn`) and a linear head on the top layer's last output."""

    def __init__(self, cfg: ModelConfig):
        super().__init__()
        self.cfg = cfg
        F, H, L = cfg.input_size, cfg.hidden_size, cfg.num_layers
        spec = CELL_SPECS[cfg.cell]
        if spec.output_feedback:
            self.rnn = JordanRNN(F, H, cfg.output_size)
        elif spec.torch_module == "RNN":
            self.rnn = nn.RNN(F, H, num_layers=L, nonlinearity=spec.activation, batch_first=True)
        else:
            self.rnn = getattr(nn, spec.torch_module)(F, H, num_layers=L, batch_first=True)   # nn.LSTM, nn.GRU
        self.head = nn.Linear(H, cfg.output_size)

    def forward(self, x: Tensor, bptt_truncate: int = 0) -> Tensor:
        """x (B, T, F) → ŷ (B, O). With 0 < k < T the first T−k steps run without grad."""
        x = x.to(self.head.weight.dtype)
        T = x.shape[1]
        if CELL_SPECS[self.cfg.cell].output_feedback:
            return self._jordan_forward(x, bptt_truncate)
        state = None
        if 0 < bptt_truncate < T:
            with torch.no_grad():
                _, state = self._run(x[:, : T - bptt_truncate])
            state = _detach(state)
            x = x[:, T - bptt_truncate:]
        out, _ = self._run(x, state)                                     # (B, T', H)
        # ŷ = W_out h_T + b_out
        return self.head(out[:, -1])                                     # (B, O)

    def _jordan_forward(self, x: Tensor, bptt_truncate: int) -> Tensor:
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

    def recurrent_weights(self) -> list[Tensor]:
        """The weights each layer's recurrence goes through, in torch layout: W_hh (H, H), LSTM (4H, H),
        GRU (3H, H); Jordan its feedback W_yh (H, O) (the loop also passes the head's W_out)."""
        if CELL_SPECS[self.cfg.cell].output_feedback:
            return [self.rnn.weight_yh_l0]
        return [getattr(self.rnn, f"weight_hh_l{k}") for k in range(self.cfg.num_layers)]


# Multiply-adds one chunk of a fused forward may hold: a Stop waits for at most one chunk (a few ms
# forward, a few more backward), and a window that fits (seed-004: B 32, T 100, 3 × 20) runs as one
# fused call, the same computation as a plain nn.RNN loop.
CHUNK_MACS = 2 ** 24


def chunk_steps(cfg: ModelConfig, batch: int) -> int:
    """Timesteps per fused call for a batch of `batch` windows: as many as fit CHUNK_MACS, at least 1.
    Per timestep and window each layer costs blocks · H · (F_in + H) multiply-adds."""
    blocks, H = CELL_SPECS[cfg.cell].blocks, cfg.hidden_size
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
    cfg, spec = model.cfg, CELL_SPECS[model.cfg.cell]
    if spec.output_feedback:
        _init_jordan(model)
        return
    H, n_blocks = cfg.hidden_size, spec.blocks
    for k in range(cfg.num_layers):
        W_hh = getattr(model.rnn, f"weight_hh_l{k}")
        if cfg.init != "default":
            for b in range(n_blocks):
                _init_square(W_hh[b * H:(b + 1) * H], cfg.init, cfg.gain)
            getattr(model.rnn, f"bias_ih_l{k}").zero_()
            getattr(model.rnn, f"bias_hh_l{k}").zero_()
        if "forget" in spec.gates and cfg.forget_bias:
            # b_f += forget_bias  (LSTM: rows H:2H of b_hh, the forget gate's block)
            f = spec.gates.index("forget")
            getattr(model.rnn, f"bias_hh_l{k}")[f * H:(f + 1) * H] += cfg.forget_bias


def _init_jordan(model: RNNModel) -> None:
    """The scheme sets the feedback W_yh (H, O) so that the loop W_yh·W_out has the gain (module doc)."""
    cfg, rnn = model.cfg, model.rnn
    if cfg.init == "default":
        return
    W_out = model.head.weight.double()                                   # (O, H)
    if cfg.init in ("orthogonal", "identity"):
        # W_yh = gain · W_out⁺  ⇒  W_yh·W_out = gain · (projector onto the head's rows)
        W_yh = cfg.gain * torch.linalg.pinv(W_out)                       # (H, O)
    else:
        # W_yh ~ N(0, 1/H), scaled so that σ_max(W_yh·W_out) ≈ gain
        W_yh = torch.randn(cfg.hidden_size, cfg.output_size, dtype=torch.float64) / cfg.hidden_size**0.5
        W_yh *= cfg.gain / float(torch.linalg.matrix_norm(W_out, ord=2))
    rnn.weight_yh_l0.copy_(W_yh)
    for b in (rnn.bias_ih_l0, rnn.bias_yh_l0, model.head.bias):         # every bias on the loop
        b.zero_()


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
    spec, H = CELL_SPECS[model.cfg.cell], model.cfg.hidden_size
    dtype = dtype or model.head.weight.dtype
    if spec.output_feedback:
        # h_{t-1} → ŷ_{t-1} = W_out h_{t-1} + b_out → W_yh ŷ_{t-1}
        return model.rnn.weight_yh_l0.to(dtype) @ model.head.weight.to(dtype)
    W_hh = getattr(model.rnn, f"weight_hh_l{layer}").to(dtype)
    b = spec.candidate
    return W_hh[b * H:(b + 1) * H]


@torch.no_grad()
def spectra(model: RNNModel) -> list[dict]:
    """Per layer: σ_max, spectral radius and all singular values of `recurrent_matrix` (float64, CPU),
    and "matrix", which matrix that is (a label from SPECTRUM_OF)."""
    out = []
    for k in range(model.cfg.num_layers):
        W = recurrent_matrix(model, k, torch.float64).detach().cpu()
        s = torch.linalg.svdvals(W)
        if CELL_SPECS[model.cfg.cell].output_feedback:
            s = s[:model.cfg.output_size]                                # W_yh·W_out has rank ≤ O
        rho = torch.linalg.eigvals(W).abs().max()
        out.append({"sigma_max": float(s[0]), "spectral_radius": float(rho),
                    "singular_values": [float(v) for v in s], "matrix": CELL_SPECS[model.cfg.cell].spectrum_of})
    return out
