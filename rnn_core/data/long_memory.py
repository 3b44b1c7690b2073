"""Long-memory tasks: independent samples whose answer lies far back in the sequence.

`adding_problem` (the sum of two marked values) and `delayed_echo` (the input k steps before the
last) return raw X (N, T, F) and y (N, 1), float64, from the seed, after asking the memory budget
(`budget.py`) for the N windows they become. Registry entries: `datasets.py`.
"""

from __future__ import annotations

import numpy as np

from rnn_core.data.budget import ask
from rnn_core.data.errors import DataError
from rnn_core.readable import count


def _check_size(n_samples: int, timesteps: int, n_features: int) -> None:
    """Ask the budget for the windows N samples become: T × F float32 values, a target and a row each."""
    ask("windows", n_samples, timesteps * n_features * 4 + 4 + 8, "samples",
        fits=lambda most: f"use at most {count(most)} samples at T = {timesteps}, or fewer timesteps")


def adding_problem(timesteps: int, n_samples: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Channel 0: values u_t ~ U(0, 1); channel 1: markers, 1 at one step in the first half and one in
    the second half. Target: the sum of the two marked values (the constant guess 1 has MSE 1/6)."""
    if timesteps < 2:
        raise DataError("The adding problem needs at least 2 timesteps to place its two markers; "
                        "raise the timesteps.")
    _check_size(n_samples, timesteps, 2)
    rng = np.random.default_rng(seed)
    half = timesteps // 2
    values = rng.uniform(0.0, 1.0, (n_samples, timesteps))                 # (N, T)
    first = rng.integers(0, half, n_samples)                                 # (N,)
    second = rng.integers(half, timesteps, n_samples)                        # (N,)
    markers = np.zeros((n_samples, timesteps))                               # (N, T)
    rows = np.arange(n_samples)
    markers[rows, first] = 1.0
    markers[rows, second] = 1.0
    X = np.stack([values, markers], axis=-1)                                 # (N, T, 2)
    # y = u_{t1} + u_{t2}
    y = (values[rows, first] + values[rows, second])[:, None]                # (N, 1)
    return X, y


def delayed_echo(timesteps: int, n_samples: int, lag: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Input x_t ~ U(0, 1); target the input `lag` steps before the last one: y = x_{T−1−k}."""
    if timesteps <= lag:
        raise DataError(f"The delayed echo needs more timesteps than its lag: with lag {lag} the window "
                        f"must hold at least {lag + 1} timesteps; raise the timesteps or lower the lag.")
    _check_size(n_samples, timesteps, 1)
    rng = np.random.default_rng(seed)
    x = rng.uniform(0.0, 1.0, (n_samples, timesteps))                        # (N, T)
    # y = x_{T−1−k}
    y = x[:, timesteps - 1 - lag][:, None]                                   # (N, 1)
    return x[:, :, None], y                                                  # (N, T, 1), (N, 1)
