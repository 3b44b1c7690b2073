"""What the network reads at each timestep: `as_input(x, size, dtype)`.

Features arrive as floats (B, T, F) and are read as they are; a text window arrives as its characters'
ids (B, T) (`data.text_windows`: N · T bytes instead of N · T · V floats) and is read one-hot, x_t =
one-hot(id_t) ∈ {0, 1}^V, made here per batch: exactly the numbers a materialised one-hot window holds,
so every forward (the fused model, the written-out unroll, the probe) computes the same bits either way.
A leaf of nn/: `models.py` and `cells.py` both import it.
"""

from __future__ import annotations

import torch
from torch import Tensor


def as_input(x: Tensor, size: int, dtype: torch.dtype) -> Tensor:
    """x as the network reads it, in `dtype`: features (B, T, F) as they are; integer character ids
    (B, T) as one-hot vectors (B, T, size)."""
    if x.is_floating_point():
        return x.to(dtype)
    # x_t = one-hot(id_t), written straight into `dtype` (no int64 one-hot in between)
    return torch.zeros(*x.shape, size, dtype=dtype, device=x.device).scatter_(-1, x.long().unsqueeze(-1), 1.0)
