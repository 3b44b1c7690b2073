"""Synthetic series, generated from a seed: `sine`, `sines`, `square`, `sawtooth`, `mackey_glass`.

Each takes (length, its shape parameter, noise σ, seed) and returns a one-column frame `value` on a
step index; the same arguments give the same series. The registry entries are in `datasets.py`.
"""

from __future__ import annotations

import numpy as np
import pandas as pd


def _steps(length: int) -> pd.RangeIndex:
    return pd.RangeIndex(length, name="step")


def _with_noise(x: np.ndarray, noise: float, seed: int) -> np.ndarray:
    """x_t + σ·ε_t, ε_t ~ N(0, 1) from the seed."""
    rng = np.random.default_rng(seed)
    return x + noise * rng.standard_normal(len(x))


def sine(length: int, period: float, noise: float, seed: int) -> pd.DataFrame:
    t = np.arange(length, dtype=np.float64)
    # x_t = sin(2π t / P) + σ ε_t      (P = 2π gives the tutorials' sin(t), t = 0, 1, 2, …)
    x = np.sin(2 * np.pi * t / period)
    return pd.DataFrame({"value": _with_noise(x, noise, seed)}, index=_steps(length))


def sines(length: int, components: int, noise: float, seed: int) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    t = np.arange(length, dtype=np.float64)
    periods = rng.uniform(8.0, 120.0, components)
    amplitudes = rng.uniform(0.3, 1.0, components)
    phases = rng.uniform(0.0, 2 * np.pi, components)
    # x_t = Σ_k a_k sin(2π t / P_k + φ_k) + σ ε_t
    x = (amplitudes[:, None] * np.sin(2 * np.pi * t[None, :] / periods[:, None] + phases[:, None])).sum(0)
    return pd.DataFrame({"value": _with_noise(x, noise, seed + 1)}, index=_steps(length))


def square(length: int, period: float, noise: float, seed: int) -> pd.DataFrame:
    t = np.arange(length, dtype=np.float64)
    # x_t = +1 in the first half of each period, −1 in the second
    x = np.where((t % period) < period / 2, 1.0, -1.0)
    return pd.DataFrame({"value": _with_noise(x, noise, seed)}, index=_steps(length))


def sawtooth(length: int, period: float, noise: float, seed: int) -> pd.DataFrame:
    t = np.arange(length, dtype=np.float64)
    # x_t = 2·frac(t / P) − 1   (rises from −1 to 1, then drops)
    x = 2.0 * ((t / period) % 1.0) - 1.0
    return pd.DataFrame({"value": _with_noise(x, noise, seed)}, index=_steps(length))


def mackey_glass(length: int, tau: int, noise: float, seed: int) -> pd.DataFrame:
    """dx/dt = β x(t−τ) / (1 + x(t−τ)^n) − γ x(t), β = 0.2, γ = 0.1, n = 10, x(t ≤ 0) = 1.2;
    Euler steps of dt = 0.1, one sample per time unit, after a burn-in of 200 time units."""
    beta, gamma, n, dt, per_unit, burn_in = 0.2, 0.1, 10, 0.1, 10, 200
    history = tau * per_unit                         # delay in Euler steps
    total = (burn_in + length) * per_unit
    x = np.empty(history + total + 1)
    x[: history + 1] = 1.2
    for i in range(history, history + total):
        x_tau = x[i - history]
        # x_{i+1} = x_i + dt (β x_{i−τ} / (1 + x_{i−τ}^n) − γ x_i)
        x[i + 1] = x[i] + dt * (beta * x_tau / (1.0 + x_tau**n) - gamma * x[i])
    series = x[history + 1 + burn_in * per_unit:: per_unit][:length]
    return pd.DataFrame({"value": _with_noise(series, noise, seed)}, index=_steps(length))
