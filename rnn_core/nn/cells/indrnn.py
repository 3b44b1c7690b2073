"""The independently recurrent network, IndRNN (Li et al. 2018): a recurrent weight that is a vector.

    h_t = ReLU(W_ih x_t + b_ih + u ⊙ h_{t−1} + b_hh)       u (H,): each unit feeds back only itself
    ∂h_t/∂h_{t−1} = diag(1[a_t > 0] ⊙ u)                   a diagonal Jacobian

so unit i's gradient through time is multiplied by u_i at every step back while it is on: after k steps
|∂h_T,i/∂h_{T−k},i| = |u_i|^k or 0. Gradients do not mix across units; the layer's ‖∏J‖ is the largest
unit's product, at most (|u|_max·γ)^k with γ = 1 — the Pascanu bound with σ_max(diag(u)) = |u|_max,
reached exactly while the unit with the largest |u_i| stays on. Layers stack as for the Elman RNN.
No fused kernel: the module `IndRNN` unrolls in Python.
The init schemes act on diag(u): the default draws u uniform in ±1/√H as torch does for every weight;
orthogonal × gain gives u_i = ±gain (a diagonal orthogonal matrix is diag(±1)), identity × gain u_i =
gain, gaussian u_i ~ N(0, gain²/H); a scheme other than the default sets b_ih = b_hh = 0.
Parameters `rnn.weight_ih_l{k}` (H, F or H), `rnn.weight_hh_l{k}` = u (H,), `rnn.bias_ih_l{k}`,
`rnn.bias_hh_l{k}` (H,). Holds `indrnn_step`, the module `IndRNN` and the registry entry `CELL`.
"""

from __future__ import annotations

import torch
from torch import Tensor, nn

from rnn_core.nn.cells.cell import Cell, times_T


def indrnn_step(x_t: Tensor, h_prev: Tensor, W_ih: Tensor, u: Tensor, b_ih: Tensor, b_hh: Tensor) -> Tensor:
    """One IndRNN step. x_t (B, F), h_prev (B, H), W_ih (H, F), u (H,) → h_t (B, H)."""
    # h_t = ReLU(W_ih x_t + b_ih + u ⊙ h_{t−1} + b_hh)
    return torch.relu(times_T(x_t, W_ih) + b_ih + u * h_prev + b_hh)    # (B, H)


class IndRNN(nn.Module):
    """Stacked IndRNN layers, batch_first like nn.RNN: forward(x (B, T, F), h_0 (L, B, H) or None) →
    (out (B, T, H) of the top layer, h_T (L, B, H)). torch's default init: every weight uniform in ±1/√H."""

    def __init__(self, input_size: int, hidden_size: int, num_layers: int = 1):
        super().__init__()
        self.input_size, self.hidden_size, self.num_layers = input_size, hidden_size, num_layers
        self.batch_first = True
        H = hidden_size
        for k in range(num_layers):
            self.register_parameter(f"weight_ih_l{k}", nn.Parameter(torch.empty(H, input_size if k == 0 else H)))
            self.register_parameter(f"weight_hh_l{k}", nn.Parameter(torch.empty(H)))      # u, a vector
            self.register_parameter(f"bias_ih_l{k}", nn.Parameter(torch.empty(H)))
            self.register_parameter(f"bias_hh_l{k}", nn.Parameter(torch.empty(H)))
        self.reset_parameters()

    def reset_parameters(self) -> None:
        bound = 1.0 / self.hidden_size**0.5
        for p in self.parameters():
            nn.init.uniform_(p, -bound, bound)

    def forward(self, x: Tensor, h_0: Tensor | None = None) -> tuple[Tensor, Tensor]:
        B, T, _ = x.shape
        layer_in, h_last = x, []
        for k in range(self.num_layers):
            W_ih, u, b_ih, b_hh = (getattr(self, f"{n}_l{k}") for n in ("weight_ih", "weight_hh", "bias_ih", "bias_hh"))
            # W_ih x_t + b_ih + b_hh for all t at once
            xw = layer_in @ W_ih.T + (b_ih + b_hh)                          # (B, T, H)
            h_t = x.new_zeros(B, self.hidden_size) if h_0 is None else h_0[k]   # h_0 (B, H)
            hs = []
            for t in range(T):
                # h_t = ReLU(W_ih x_t + b_ih + u ⊙ h_{t−1} + b_hh)
                h_t = torch.relu(xw[:, t] + u * h_t)                         # (B, H)
                hs.append(h_t)
            layer_in = torch.stack(hs, dim=1)                               # (B, T, H): the layer above's x
            h_last.append(h_t)
        return layer_in, torch.stack(h_last)                                 # (B, T, H), (L, B, H)


def _module(cfg) -> nn.Module:
    return IndRNN(cfg.input_size, cfg.hidden_size, cfg.num_layers)


def _step(x_t: Tensor, h_prev: Tensor, c_prev: Tensor, W: tuple[Tensor, ...]):
    return indrnn_step(x_t, h_prev, *W), c_prev, {}


def _jacobian(P: dict[str, Tensor], layer: int, inputs: Tensor, s_prev: Tensor, b_y) -> Tensor:
    """∂h_t/∂h_{t−1} = diag(1[a_t > 0] ⊙ u) for every t: (T, H, H)."""
    W_ih, u, b_ih, b_hh = (P[f"rnn.{n}_l{layer}"] for n in ("weight_ih", "weight_hh", "bias_ih", "bias_hh"))
    # a_t = W_ih x_t + b_ih + u ⊙ h_{t−1} + b_hh
    a = inputs @ W_ih.T + b_ih + u * s_prev + b_hh                        # (T, H)
    return torch.diag_embed((a > 0).to(a.dtype) * u)


@torch.no_grad()
def _init(model) -> None:
    """cfg.init × cfg.gain on diag(u) of every layer (module doc); the biases 0 unless the default."""
    cfg = model.cfg
    if cfg.init == "default":
        return
    for k in range(cfg.num_layers):
        u = getattr(model.rnn, f"weight_hh_l{k}")                        # (H,)
        if cfg.init == "orthogonal":
            # diag(u) orthogonal × gain: u_i = ±gain
            u.copy_(cfg.gain * torch.where(torch.rand_like(u) < 0.5, -1.0, 1.0))
        elif cfg.init == "identity":
            u.fill_(cfg.gain)
        else:
            nn.init.normal_(u, mean=0.0, std=cfg.gain / cfg.hidden_size**0.5)
        getattr(model.rnn, f"bias_ih_l{k}").zero_()
        getattr(model.rnn, f"bias_hh_l{k}").zero_()


def _recurrent_matrix(P: dict[str, Tensor], layer: int) -> Tensor:
    return torch.diag(P[f"rnn.weight_hh_l{layer}"])                      # diag(u) (H, H)


CELL = Cell("indrnn", "IndRNN (ReLU)",
            "hₜ = ReLU(W xₜ + u ⊙ hₜ₋₁ + b): the recurrent weight is a vector u, each unit feeds back only "
            "itself, so unit i's gradient is multiplied by uᵢ at every step back while it is on: |uᵢ|ᵏ, unit by "
            "unit, at most (|u|_max·γ)ᵏ.",
            "#800015", module=_module, init=_init, step=_step, jacobian=_jacobian,
            recurrent_matrix=_recurrent_matrix, spectrum_of="diag(u) (the recurrent vector u)", activation="relu",
            bounded=True)
