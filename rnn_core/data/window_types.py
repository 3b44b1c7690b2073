"""The two records every kind of windowing makes, and their floor: `Scaler` (per-column affine scaling,
fitted on training rows only), `Windows` (X, y, split, scaler and what a task needs beside them) and
`MIN_WINDOWS`. A leaf: forecast and sequence windowing (`windows.py`), text windowing (`text.py`) and
the bytes codec (`windows_codec.py`) all build or read these, and none of them imports another for it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from rnn_core.config import SCALERS, quoted
from rnn_core.data.errors import DataError

MIN_WINDOWS = 30     # fewest windows (or samples) worth splitting into train / validation / test


# ----------------------------------------------------------------------------- scaler
@dataclass
class Scaler:
    """Per-column affine scaling x' = (x − offset) / scale, fitted on training rows only.

    minmax: offset = min, scale = max − min (→ [0, 1] on the training rows);
    standard: offset = mean, scale = std (population). A column constant on the training rows gets
    scale 1, so it is shifted but never divided by zero.
    """

    kind: str
    columns: list[str]
    offset: np.ndarray   # (C,)
    scale: np.ndarray    # (C,)

    @classmethod
    def fit(cls, kind: str, values: np.ndarray, columns: list[str]) -> Scaler:
        """values (N, C) in real units, one column per name."""
        if kind not in SCALERS:
            raise DataError(f"Unknown scaler {quoted(kind)}; choose one of {', '.join(SCALERS)}.")
        values = np.asarray(values, dtype=np.float64)
        if kind == "minmax":
            offset, scale = values.min(axis=0), values.max(axis=0) - values.min(axis=0)
        else:
            offset, scale = values.mean(axis=0), values.std(axis=0)
        scale = np.where(scale > 0, scale, 1.0)
        return cls(kind, list(columns), offset, scale)

    def _cols(self, columns: list[str] | None) -> list[int]:
        return list(range(len(self.columns))) if columns is None else [self.columns.index(c) for c in columns]

    def transform(self, values: np.ndarray, columns: list[str] | None = None) -> np.ndarray:
        """(…, C) real → scaled, for `columns` (default: all, in order)."""
        k = self._cols(columns)
        return (np.asarray(values, dtype=np.float64) - self.offset[k]) / self.scale[k]

    def inverse(self, values: np.ndarray, columns: list[str] | None = None) -> np.ndarray:
        """(…, C) scaled → real units."""
        k = self._cols(columns)
        return np.asarray(values, dtype=np.float64) * self.scale[k] + self.offset[k]

    def to_dict(self) -> dict:
        """Plain JSON-ready record of the fitted statistics."""
        return {"kind": self.kind, "columns": list(self.columns),
                "offset": [float(v) for v in self.offset], "scale": [float(v) for v in self.scale]}


# ----------------------------------------------------------------------------- windows
@dataclass
class Windows:
    X_train: np.ndarray          # (N, T, F) float32, scaled; text: (N, T) uint8 character ids
    y_train: np.ndarray          # (N, 1) float32, scaled
    X_val: np.ndarray
    y_val: np.ndarray
    X_test: np.ndarray
    y_test: np.ndarray
    idx_train: np.ndarray        # (N,) row in `frame` of each window's target
    idx_val: np.ndarray
    idx_test: np.ndarray
    frame: pd.DataFrame          # the data in real units (dates or steps; sequence tasks: one row per sample)
    feature_names: list[str]
    target_name: str
    scaler: Scaler               # fitted on the training part only
    task: str                    # "forecast" | "sequence"
    target_in_features: int | None   # column of the target among the inputs (persistence baseline)
    baseline_mse: float | None   # sequence tasks: constant-guess MSE in scaled units
    text: Any = None             # text tasks: a `text.TextInfo` (vocabulary, held-out text, baseline)
    # `naive_losses` per split, computed once: windows are never changed once made, and every page watching a run
    # (a room of them) asks for the naive guess's loss at every redraw
    _naive: dict = field(default_factory=dict, init=False, repr=False, compare=False)

    def inverse_target(self, y_scaled) -> np.ndarray:
        """Scaled target values (any shape) → real units (dollars, index points …), float64."""
        y = np.asarray(y_scaled, dtype=np.float64)
        return y * self.scaler.scale[-1] + self.scaler.offset[-1]

    @property
    def timesteps(self) -> int:
        return int(self.X_train.shape[1])

    @property
    def n_features(self) -> int:
        """F, the features the network reads per timestep (text: V, the one-hot of each id)."""
        return int(self.X_train.shape[2]) if self.X_train.ndim == 3 else len(self.feature_names)

    def sizes(self) -> dict[str, int]:
        """{"train": N_train, "val": N_val, "test": N_test}."""
        return {"train": len(self.X_train), "val": len(self.X_val), "test": len(self.X_test)}

    def naive_losses(self, split: str = "val") -> dict[str, float | None]:
        """The loss (MSE, scaled units) two guesses that learn nothing score on `split` ("train", "val",
        "test"): {"constant": ŷ = mean of the training targets, "persistence": ŷ = the target's last
        input value (None when the target is not an input, e.g. the adding problem)}."""
        if split not in self._naive:
            self._naive[split] = self._naive_losses(split)
        return dict(self._naive[split])

    def _naive_losses(self, split: str) -> dict[str, float | None]:
        X = getattr(self, f"X_{split}")
        y = getattr(self, f"y_{split}").astype(np.float64)              # (N, 1)
        if len(y) == 0:
            return {"constant": None, "persistence": None}
        # constant guess: MSE = mean((y − ȳ_train)²)
        constant = float(np.mean((y - self.y_train.astype(np.float64).mean()) ** 2))
        persistence = None
        if self.target_in_features is not None:
            # persistence: ŷ = x_{T−1}[target]
            persistence = float(np.mean((X[:, -1, self.target_in_features].astype(np.float64) - y[:, 0]) ** 2))
        return {"constant": constant, "persistence": persistence}
