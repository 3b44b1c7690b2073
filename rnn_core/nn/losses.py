"""The losses the tasks minimise, in the units the app reports: MSE in scaled units, bits per character.

    mse_sum(ŷ, y)    Σ (ŷ − y)², float64 (a split's MSE is this over the number of terms)
    bits(ŷ, y)       mean −log₂ p(next character): what a text run's optimiser minimises
    bits_sum(ŷ, y)   the same summed, float64

Read by the task table (`tasks.py`), the probe (`probe.py`) and the text evaluation (`text_eval.py`).
"""

from __future__ import annotations

import math

from torch import Tensor
from torch.nn import functional as F

LN2 = math.log(2.0)


def mse_sum(y_hat: Tensor, y: Tensor) -> Tensor:
    # Σ (ŷ − y)² in float64
    return ((y_hat.double() - y.double()) ** 2).sum()


def bits(y_hat: Tensor, y: Tensor) -> Tensor:
    """Mean −log₂ p(next character): logits ŷ (B, V), one-hot targets y (B, V)."""
    # L = −(1/B) Σ_b log softmax(ŷ_b)[y_b] / ln 2
    return F.cross_entropy(y_hat, y.to(y_hat.dtype)) / LN2


def bits_sum(y_hat: Tensor, y: Tensor) -> Tensor:
    # Σ_b −log softmax(ŷ_b)[y_b] / ln 2, float64
    return F.cross_entropy(y_hat.double(), y.double(), reduction="sum") / LN2
