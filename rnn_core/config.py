"""Configuration dataclasses: what a run is made of.

`ModelConfig` (the network), `DataConfig` (the series and its windows) and `TrainConfig`
(the optimisation) are built once from widgets, CLI flags or a URL, and passed down as they are.
Each round-trips through a plain dict (`asdict` / `from_dict`) and through URL query parameters
(`to_query` / `from_query`), so a run record's JSON and a shared link both restore the setup.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import asdict, dataclass, field, fields
from typing import Any

# Cell types, in the order the app lists them.
CELLS: dict[str, str] = {
    "rnn": "Elman RNN (tanh)",
    "rnn_relu": "Elman RNN (ReLU)",
    "jordan": "Jordan network",
    "lstm": "LSTM",
    "gru": "GRU",
}
# Cells with a fixed number of layers. A Jordan network feeds the network's own output ŷ_{t−1} back
# into its hidden layer, so it has exactly one hidden layer (the one the head reads).
MAX_LAYERS: dict[str, int] = {"jordan": 1}
# Recurrent-weight initialisation schemes.
INITS: dict[str, str] = {
    "default": "PyTorch default (uniform ±1/√H)",
    "orthogonal": "Orthogonal × gain",
    "identity": "Identity × gain (IRNN)",
    "gaussian": "Gaussian N(0, gain²/H)",
}
OPTIMIZERS: dict[str, str] = {"adam": "Adam", "sgd": "SGD (momentum)", "rmsprop": "RMSprop"}
CLIPPING: dict[str, str] = {"off": "Off", "norm": "By norm (Pascanu)", "value": "By value"}
SCALERS: dict[str, str] = {"minmax": "Min-max to [0, 1]", "standard": "Standardise (z-score)"}

# Limits the UI states and the CLI enforces.
LIMITS = {
    "timesteps": (1, 1000),
    "hidden_size": (1, 512),
    "num_layers": (1, 4),
    "epochs": (1, 500),
    "batch_size": (1, 4096),
    "lr": (1e-6, 10.0),
    "gain": (0.0, 5.0),
    "input_size": (1, 128),      # features per timestep a run may read (CSV columns, tickers…; text: the
                                 # characters of its vocabulary, one-hot)
    "output_size": (1, 128),     # values predicted per window (text: one logit per character)
    "seed": (0, 2**31 - 1),
    "train_frac": (0.1, 0.95),
    "val_frac": (0.0, 0.5),
    # ranges of the app's widgets (a shared link is clamped to them; the CLI accepts any finite value)
    "forget_bias": (-3.0, 5.0),
    "clip_value": (1e-4, 1e6),
    "bptt_truncate": (0, 1000),
    "probe_every": (1, 100),
}


class ConfigError(ValueError):
    """A setting out of range or unknown; its message is one sentence a user can act on."""


LABELS = {"timesteps": "Timesteps", "hidden_size": "Hidden size", "num_layers": "Layers", "epochs": "Epochs",
          "batch_size": "Batch size", "lr": "Learning rate", "gain": "Gain", "input_size": "Input features",
          "output_size": "Outputs", "seed": "Seed", "train_frac": "Train part", "val_frac": "Validation part",
          "forget_bias": "Forget-gate bias", "clip_value": "Clipping threshold",
          "bptt_truncate": "Truncated BPTT k", "probe_every": "Probe every N epochs"}


def _check_range(name: str, value: float) -> None:
    lo, hi = LIMITS[name]
    if not (lo <= value <= hi) or (isinstance(value, float) and math.isnan(value)):
        raise ConfigError(f"{LABELS[name]}: {name} must be between {lo} and {hi}, got {value}; "
                          "choose a value in that range.")


def layers_error(cell: str, num_layers: int) -> str | None:
    """The sentence refusing `num_layers` for `cell`, or None when the pair is allowed."""
    most = MAX_LAYERS.get(cell)
    if most is None or num_layers <= most:
        return None
    return (f"A {CELLS[cell]} feeds its own output back into its one hidden layer, so it has exactly "
            f"{most} layer: set layers to {most}, got {num_layers}.")


def check_layers(cell: str, num_layers: int) -> None:
    """Raise ConfigError with `layers_error`'s sentence when `cell` cannot have `num_layers` layers."""
    message = layers_error(cell, num_layers)
    if message:
        raise ConfigError(message)


@dataclass
class ModelConfig:
    cell: str = "rnn"            # one of CELLS
    hidden_size: int = 32        # units per recurrent layer (H)
    num_layers: int = 1          # stacked recurrent layers (1–4)
    input_size: int = 1          # features per timestep (F); set from the data
    output_size: int = 1         # values predicted per window; set from the data
    init: str = "default"        # recurrent-weight init, one of INITS
    gain: float = 1.0            # multiplies the orthogonal / identity / gaussian W_hh
    forget_bias: float = 0.0     # added to the LSTM forget-gate bias (1.0 is the classic choice)

    def validate(self) -> ModelConfig:
        if self.cell not in CELLS:
            raise ConfigError(f"Unknown cell '{self.cell}': choose one of {', '.join(CELLS)}.")
        if self.init not in INITS:
            raise ConfigError(f"Unknown init '{self.init}': choose one of {', '.join(INITS)}.")
        _check_range("hidden_size", self.hidden_size)
        _check_range("num_layers", self.num_layers)
        check_layers(self.cell, self.num_layers)
        _check_range("gain", self.gain)
        _check_range("input_size", self.input_size)
        _check_range("output_size", self.output_size)
        return self


@dataclass
class DataConfig:
    dataset: str = "sine"        # a key of rnn_core.datasets.DATASETS
    timesteps: int = 50          # window length T fed to the network
    params: dict[str, Any] = field(default_factory=dict)  # the dataset's own parameters (length, noise, ticker…)
    features: list[str] = field(default_factory=list)      # input columns; empty = the dataset's default
    target: str = ""             # column to predict; empty = the dataset's default
    train_frac: float = 0.7      # chronological split: first part trains…
    val_frac: float = 0.15       # …next part validates, the rest tests
    scaler: str = "minmax"       # one of SCALERS, fitted on the training part only

    def validate(self) -> DataConfig:
        _check_range("timesteps", self.timesteps)
        _check_range("train_frac", self.train_frac)
        if not (0.0 <= self.val_frac <= 0.5) or self.train_frac + self.val_frac >= 1.0:
            raise ConfigError("val_frac must be between 0 and 0.5 and leave room for a test part.")
        if self.scaler not in SCALERS:
            raise ConfigError(f"Unknown scaler '{self.scaler}': choose one of {', '.join(SCALERS)}.")
        return self


@dataclass
class TrainConfig:
    optimizer: str = "adam"      # one of OPTIMIZERS
    lr: float = 0.01             # learning rate
    momentum: float = 0.9        # SGD momentum
    batch_size: int = 32         # windows per step
    epochs: int = 20             # passes over the training windows
    clip: str = "norm"           # one of CLIPPING
    clip_value: float = 1.0      # threshold: max ‖g‖ (norm) or max |g_i| (value)
    bptt_truncate: int = 0       # gradient flows back at most k steps; 0 = the whole window
    seed: int = 0                # same config + seed → same numbers
    probe_every: int = 2         # run the gradient probe every N epochs (and at the first and last)
    probe_batch: int = 16        # windows in the fixed probe batch
    device: str = "cpu"          # "cpu" or "cuda"

    def validate(self) -> TrainConfig:
        if self.optimizer not in OPTIMIZERS:
            raise ConfigError(f"Unknown optimizer '{self.optimizer}': choose one of {', '.join(OPTIMIZERS)}.")
        if self.clip not in CLIPPING:
            raise ConfigError(f"Unknown clipping '{self.clip}': choose one of {', '.join(CLIPPING)}.")
        _check_range("lr", self.lr)
        _check_range("epochs", self.epochs)
        _check_range("batch_size", self.batch_size)
        _check_range("seed", self.seed)
        if self.clip != "off" and not self.clip_value > 0:
            raise ConfigError("The clipping threshold must be positive.")
        if self.bptt_truncate < 0:
            raise ConfigError("Truncated BPTT length must be 0 (off) or a positive number of steps.")
        return self


def clamp_to_limits(cfg) -> tuple[Any, list[str]]:
    """A copy of `cfg` with every field that has a LIMITS range moved into it (a value that is not a
    finite number takes the default), and one sentence per change saying what was changed."""
    changes, notes, default = {}, [], type(cfg)()
    for f in fields(cfg):
        if f.name not in LIMITS:
            continue
        lo, hi = LIMITS[f.name]
        value = getattr(cfg, f.name)
        if isinstance(value, float) and not math.isfinite(value):
            new = getattr(default, f.name)
        else:
            new = min(max(value, lo), hi)
        if new != value:
            changes[f.name] = type(getattr(default, f.name))(new)
            notes.append(f"{LABELS[f.name]} {_short(value)} is outside {_short(lo)}–{_short(hi)}; "
                         f"set to {_short(changes[f.name])}.")
    return (dataclasses.replace(cfg, **changes) if changes else cfg), notes


def _short(value: Any) -> str:
    return f"{value:,}" if isinstance(value, int) and not isinstance(value, bool) else f"{value:g}"


def from_dict(cls: type, data: dict[str, Any]):
    """Build a config dataclass from a dict, ignoring unknown keys and casting to the field's type."""
    kwargs = {}
    defaults = cls()
    for f in fields(cls):
        if f.name not in data:
            continue
        value, default = data[f.name], getattr(defaults, f.name)
        if isinstance(default, bool):
            value = value if isinstance(value, bool) else str(value).lower() in ("1", "true", "yes")
        elif isinstance(default, int):
            value = int(float(value))
        elif isinstance(default, float):
            value = float(value)
        elif isinstance(default, list):
            value = [str(v) for v in value] if isinstance(value, list | tuple) else [
                v for v in str(value).split(",") if v]
        elif isinstance(default, dict):
            value = dict(value)
        else:
            value = str(value)
        kwargs[f.name] = value
    return cls(**kwargs)


# URL query parameters: short prefixes keep the three configs apart in one flat query string.
_PREFIX = {ModelConfig: "m.", DataConfig: "d.", TrainConfig: "t."}


def to_query(*configs) -> dict[str, str]:
    """Flatten configs into string query params, keeping only values that differ from the defaults."""
    query: dict[str, str] = {}
    for cfg in configs:
        prefix, default = _PREFIX[type(cfg)], type(cfg)()
        for name, value in asdict(cfg).items():
            if value == getattr(default, name):
                continue
            if isinstance(value, dict):
                for k, v in value.items():
                    query[f"{prefix}{name}.{k}"] = str(v)
            elif isinstance(value, list):
                query[prefix + name] = ",".join(value)
            else:
                query[prefix + name] = str(value)
    return query


def from_query(cls: type, query: dict[str, str]):
    """Inverse of `to_query` for one config class. Values are only ever parsed, never used as paths."""
    prefix = _PREFIX[cls]
    flat: dict[str, Any] = {}
    nested: dict[str, dict[str, Any]] = {}
    for key, value in query.items():
        if not key.startswith(prefix):
            continue
        name = key[len(prefix):]
        if "." in name:
            outer, inner = name.split(".", 1)
            nested.setdefault(outer, {})[inner] = _parse_scalar(value)
        else:
            flat[name] = value
    flat.update(nested)
    return from_dict(cls, flat)


def _parse_scalar(text: str) -> Any:
    """'3' → 3, '0.5' → 0.5, 'true' → True, anything else stays a string."""
    for cast in (int, float):
        try:
            return cast(text)
        except ValueError:
            pass
    if text.lower() in ("true", "false"):
        return text.lower() == "true"
    return text


def replace(cfg, **changes):
    """dataclasses.replace, re-exported so callers need one import."""
    return dataclasses.replace(cfg, **changes)
