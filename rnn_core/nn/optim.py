"""The three optimisers the trainer offers (Adam, SGD with momentum, RMSprop), written out.

Why not `torch.optim`: building a process's first `torch.optim` optimiser imports `torch._dynamo`
(1.0–1.5 s on a quiet machine, several seconds on a busy one), which every CLI run and the first
run after a server start paid before its first step. Each update below is a handful of
multi-tensor (`torch._foreach_*`) kernels, the same ones `torch.optim`'s `foreach=True`
implementation calls in the same order with the same scalars, so the weights are bitwise identical
to `torch.optim.Adam/SGD/RMSprop(params, lr=…, foreach=True)` (tests/engine/test_optim.py holds this, step
by step, for every optimiser). Parameters whose `.grad` is None are skipped, as torch skips them.

    opt = make_optimizer("adam", params, lr=1e-3)      # or "sgd" (momentum=0.9), "rmsprop"
    opt.zero_grad(set_to_none=True); loss.backward(); opt.step()

Leaves to others: clipping and the refusal of non-finite updates (`train._step`).
"""

from __future__ import annotations

import torch

Tensors = list[torch.Tensor]


class _Optimizer:
    """What the trainer needs of an optimiser: `step()` and `zero_grad()`; state per parameter."""

    def __init__(self, params: Tensors, lr: float):
        self.params = list(params)
        self.lr = float(lr)
        self.state: dict[int, dict] = {}          # id(param) → its buffers, made at its first update

    def zero_grad(self, set_to_none: bool = True) -> None:
        for p in self.params:
            if p.grad is None:
                continue
            if set_to_none:
                p.grad = None
            else:
                p.grad.detach_().zero_()

    def _with_grads(self) -> tuple[Tensors, Tensors, list[dict]]:
        """The parameters that have a gradient this step, their gradients and their state."""
        params = [p for p in self.params if p.grad is not None]
        return params, [p.grad for p in params], [self._state(p) for p in params]

    def _state(self, p: torch.Tensor) -> dict:
        if id(p) not in self.state:
            self.state[id(p)] = self._new_state(p)
        return self.state[id(p)]

    def _new_state(self, p: torch.Tensor) -> dict:
        return {}


class Adam(_Optimizer):
    """Kingma & Ba 2015, β₁ = 0.9, β₂ = 0.999, ε = 1e-8 (torch's defaults)."""

    def __init__(self, params: Tensors, lr: float, betas: tuple[float, float] = (0.9, 0.999),
                 eps: float = 1e-8):
        super().__init__(params, lr)
        self.beta1, self.beta2 = betas
        self.eps = eps

    def _new_state(self, p):
        return {"t": 0, "m": torch.zeros_like(p, memory_format=torch.preserve_format),
                "v": torch.zeros_like(p, memory_format=torch.preserve_format)}

    @torch.no_grad()
    def step(self) -> None:
        params, g, states = self._with_grads()
        if not params:
            return
        beta1, beta2, lr = self.beta1, self.beta2, self.lr
        for s in states:
            s["t"] += 1
        m, v = [s["m"] for s in states], [s["v"] for s in states]
        # m_t = β₁ m_{t−1} + (1 − β₁) g_t
        torch._foreach_lerp_(m, g, 1 - beta1)
        # v_t = β₂ v_{t−1} + (1 − β₂) g_t²
        torch._foreach_mul_(v, beta2)
        torch._foreach_addcmul_(v, g, g, 1 - beta2)
        # θ_t = θ_{t−1} − lr / (1 − β₁ᵗ) · m_t / (√v_t / √(1 − β₂ᵗ) + ε)
        step_size = [(lr / (1 - beta1 ** s["t"])) * -1 for s in states]
        bias_correction2_sqrt = [(1 - beta2 ** s["t"]) ** 0.5 for s in states]
        denom = torch._foreach_sqrt(v)
        torch._foreach_div_(denom, bias_correction2_sqrt)
        torch._foreach_add_(denom, self.eps)
        torch._foreach_addcdiv_(params, m, denom, step_size)


class SGD(_Optimizer):
    """Gradient descent with (heavy-ball) momentum μ, no dampening (torch's convention)."""

    def __init__(self, params: Tensors, lr: float, momentum: float = 0.0):
        super().__init__(params, lr)
        self.momentum = float(momentum)

    @torch.no_grad()
    def step(self) -> None:
        params, g, states = self._with_grads()
        if not params:
            return
        if self.momentum != 0:
            g = self._momentum_buffers(g, states)
        # θ_t = θ_{t−1} − lr · b_t   (b_t = g_t without momentum)
        torch._foreach_add_(params, g, alpha=-self.lr)

    def _momentum_buffers(self, g: Tensors, states: list[dict]) -> Tensors:
        # b_1 = g_1;  b_t = μ b_{t−1} + g_t
        if all("b" in s for s in states):
            b = [s["b"] for s in states]
            torch._foreach_mul_(b, self.momentum)
            torch._foreach_add_(b, g, alpha=1)
            return b
        for s, g_i in zip(states, g, strict=True):
            if "b" not in s:
                s["b"] = g_i.detach().clone()
            else:
                s["b"].mul_(self.momentum).add_(g_i, alpha=1)
        return [s["b"] for s in states]


class RMSprop(_Optimizer):
    """Hinton's RMSprop as torch writes it: α = 0.99, ε = 1e-8 added outside the square root."""

    def __init__(self, params: Tensors, lr: float, alpha: float = 0.99, eps: float = 1e-8):
        super().__init__(params, lr)
        self.alpha, self.eps = alpha, eps

    def _new_state(self, p):
        return {"v": torch.zeros_like(p, memory_format=torch.preserve_format)}

    @torch.no_grad()
    def step(self) -> None:
        params, g, states = self._with_grads()
        if not params:
            return
        v = [s["v"] for s in states]
        # v_t = α v_{t−1} + (1 − α) g_t²
        torch._foreach_mul_(v, self.alpha)
        torch._foreach_addcmul_(v, g, g, value=1 - self.alpha)
        # θ_t = θ_{t−1} − lr · g_t / (√v_t + ε)
        denom = torch._foreach_sqrt(v)
        torch._foreach_add_(denom, self.eps)
        torch._foreach_addcdiv_(params, g, denom, value=-self.lr)


def make_optimizer(name: str, params: Tensors, lr: float, momentum: float = 0.9) -> _Optimizer:
    """`name` is a key of `config.OPTIMIZERS`; `momentum` is used by SGD only."""
    if name == "sgd":
        return SGD(params, lr=lr, momentum=momentum)
    if name == "rmsprop":
        return RMSprop(params, lr=lr)
    if name == "adam":
        return Adam(params, lr=lr)
    raise ValueError(f"Unknown optimizer '{name}'.")
