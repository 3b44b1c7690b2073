"""The Jordan network (Jordan 1986): the hidden layer is fed the network's own previous output.

    h_t = tanh(W_ih x_t + b_ih + W_yh ŷ_{t−1} + b_yh)      h_t (B, H), ŷ_0 = 0
    ŷ_t = W_out h_t + b_out                                the head, applied at every step

The prediction is the last output, ŷ_T. There is no H × H recurrent matrix: h_{t−1} reaches h_t
through the output, the loop W_yh·W_out (rank ≤ O), so ∂h_t/∂h_{t−1} = diag(1 − h_t²) W_yh W_out and
the σ_max bound holds for that loop. One layer only: the output it feeds back is the network's.
No fused kernel: `JordanRNN` unrolls in Python, and so does `unroll` (float64, for the probe).
Parameters `rnn.weight_ih_l0` (H, F), `rnn.bias_ih_l0`, `rnn.weight_yh_l0` (H, O), `rnn.bias_yh_l0`, and
the head. The init schemes set the feedback W_yh so that the loop W_yh·W_out has the gain: orthogonal
and identity W_yh = gain · W_out⁺ (the head's pseudo-inverse: gain × a projector, every non-zero
singular value and eigenvalue equal to the gain), gaussian W_yh ~ N(0, 1/H) scaled by
gain / σ_max(W_out); and every bias on the loop is 0. Holds `jordan_step`, `JordanRNN` and `CELL`.
"""

from __future__ import annotations

import torch
from torch import Tensor, nn

from rnn_core import interrupt
from rnn_core.interrupt import CHUNK_STEPS, checkpoint, hook
from rnn_core.nn.cells.cell import Cell, Unrolled, diag_times, times_T

WEIGHTS = ("weight_ih", "bias_ih", "weight_yh", "bias_yh")


def jordan_step(x_t: Tensor, y_prev: Tensor, W_ih: Tensor, b_ih: Tensor, W_yh: Tensor, b_yh: Tensor,
                W_out: Tensor, b_out: Tensor) -> tuple[Tensor, Tensor]:
    """One Jordan step, fed the network's previous output ŷ_{t-1} (B, O). W_yh (H, O), W_out (O, H)
    the head. → (h_t (B, H), ŷ_t (B, O))."""
    # h_t = tanh(W_ih x_t + b_ih + W_yh ŷ_{t-1} + b_yh)
    h_t = torch.tanh(times_T(x_t, W_ih) + b_ih + times_T(y_prev, W_yh) + b_yh)   # (B, H)
    # ŷ_t = W_out h_t + b_out   (the head, at every step)
    y_t = times_T(h_t, W_out) + b_out                                    # (B, O)
    return h_t, y_t


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


def _module(cfg) -> nn.Module:
    return JordanRNN(cfg.input_size, cfg.hidden_size, cfg.output_size)


def _unroll(P: dict[str, Tensor], x: Tensor, retain_grad: bool, cut: int, y_0: Tensor | None = None) -> Unrolled:
    """The Jordan network step by step: the head runs at every t and its ŷ_t is fed back (`y_0`: the
    output carried in from before, a stateful run's; None = 0)."""
    T = x.shape[-2]
    W_out, b_out = P["head.weight"], P["head.bias"]                      # (O, H), (O,)
    y_t = x.new_zeros(*x.shape[:-2], W_out.shape[-2]) if y_0 is None else y_0   # ŷ_0 = 0 (B, O), or carried
    h_l, y_l = [], []
    with torch.enable_grad():
        for t in range(T):
            checkpoint()                             # Stop / a closed tab ends a long unroll here
            if cut and t == cut:
                y_t = y_t.detach()
            h_t, y_t = jordan_step(x[..., t, :], y_t, *(P[f"rnn.{n}_l0"] for n in WEIGHTS), W_out, b_out)
            if retain_grad and h_t.requires_grad:
                h_t.retain_grad()
            if t % 8 == 0:
                hook(h_t)                            # …and its backward pass, every 8 steps back
            h_l.append(h_t)
            y_l.append(y_t)
    # ŷ = ŷ_T, the last step's output
    return Unrolled(y_hat=y_t, h=[h_l], c=None, y=[y_l], gates=[{}], params=P, x=x,
                    y_steps=torch.stack(y_l, dim=-2))


def _transition(P: dict[str, Tensor], layer: int, x_t: Tensor, h_prev: Tensor, b_y: Tensor) -> Tensor:
    """h_{t−1} ↦ h_t through the output fed back, ŷ_{t−1} = W_out h_{t−1} + b_y (b_y = b_out; 0 at t = 0)."""
    W_out, b_out = P["head.weight"], P["head.bias"]
    return jordan_step(x_t, h_prev @ W_out.T + b_y, *(P[f"rnn.{n}_l0"] for n in WEIGHTS), W_out, b_out)[0]


def _jacobian(P: dict[str, Tensor], layer: int, inputs: Tensor, s_prev: Tensor, b_y: Tensor) -> Tensor:
    """∂h_t/∂h_{t−1} through the output fed back; b_y (T, O) is b_out, but 0 at t = 0 where ŷ_0 = 0."""
    W_ih, b_ih, W_yh, b_yh = (P[f"rnn.{n}_l0"] for n in WEIGHTS)
    W_out = P["head.weight"]                                             # (O, H)
    # a_t = W_ih x_t + b_ih + W_yh (W_out h_{t−1} + b_y) + b_yh
    a = inputs @ W_ih.T + b_ih + (s_prev @ W_out.T + b_y) @ W_yh.T + b_yh   # (T, H)
    # ∂h_t/∂h_{t−1} = diag(1 − h_t²) W_yh W_out
    return diag_times(1 - torch.tanh(a) ** 2, W_yh @ W_out)


@torch.no_grad()
def _init(model) -> None:
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


def _recurrent_matrix(P: dict[str, Tensor], layer: int) -> Tensor:
    # h_{t-1} → ŷ_{t-1} = W_out h_{t-1} + b_out → W_yh ŷ_{t-1}
    return P["rnn.weight_yh_l0"] @ P["head.weight"]                      # W_yh·W_out (H, H), rank ≤ O


CELL = Cell("jordan", "Jordan network",
            "hₜ = tanh(W_ih xₜ + W_yh ŷₜ₋₁ + b), ŷₜ = W_out hₜ + b_out: fed the network's own previous prediction "
            "(one number per output) instead of its hidden state, so it has one hidden layer; the gradient goes "
            "back through the loop W_yh·W_out, whose σ_max bounds it as W_hh bounds an Elman RNN's.",
            "#522183", module=_module, init=_init, step=None, jacobian=_jacobian,
            recurrent_matrix=_recurrent_matrix, spectrum_of="W_yh·W_out (output fed back)", bounded=True,
            weights=WEIGHTS, max_layers=1, layers_why="feeds its own output back into its one hidden layer",
            output_feedback=True, unroll=_unroll, transition=_transition)
