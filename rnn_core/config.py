"""Configuration dataclasses: what a run is made of, and the one table of their settings.

`ModelConfig` (the network), `DataConfig` (the series and its windows) and `TrainConfig`
(the optimisation) are built once from widgets, CLI flags or a URL, and passed down as they are.
Each round-trips through a plain dict (`asdict` / `from_dict`) and through URL query parameters
(`to_query` / `from_query`), so a run record's JSON and a shared link both restore the setup.

`FIELDS` holds, per setting, its label, help tooltip, range and widget step: the widgets, `validate()`,
the CLI's help and checks and the URL clamping all read it (`LIMITS` and `LABELS` are views of it).
`validate_run(model, data, train)` adds the checks that span two configs (truncated BPTT within the
window); every front end (CLI, Playground, Compare, a loaded run) calls it before a run starts.
Leaves to others: the cells' own facts (`cells.CELL_SPECS`), the datasets' parameters (`datasets.Param`).
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import asdict, dataclass, field, fields
from typing import Any


@dataclass(frozen=True)
class CellSpec:
    """What the app knows about one recurrent cell: the one place a cell's facts are kept.
    The equations and their Jacobians are in `cells.py` (`step` names its entry in `cells.STEPS`),
    the trainable module in `models.py`; everything else (probe, figures, Lab, CLI, pages) reads this."""

    label: str                      # as the select boxes and charts name it
    step: str                       # its step in cells.STEPS (one signature for all)
    activation: str                 # φ of the hidden update: "tanh" or "relu"
    gamma: float                    # sup |φ′| (tanh′ ≤ 1, ReLU′ ≤ 1): the γ of the bound (σ_max·γ)^k
    blocks: int = 1                 # row blocks stacked in W_ih / W_hh (LSTM i, f, g, o: 4; GRU r, z, n: 3)
    gates: tuple[str, ...] = ()     # gate names, as the probe reports them, in row-block order
    candidate: int = 0              # the row block of W_hh whose singular values are reported
    spectrum_of: str = "W_hh"       # which matrix those singular values are of
    bounded: bool = False           # step Jacobian diag(φ′)·M, so ‖∏J‖ ≤ (σ_max(M)·γ)^k is a bound for it
    gate_path: tuple[str, str] | None = None   # gated cells: (gate, state) of the additive path
    cell_state: bool = False        # carries c_t besides h_t (LSTM)
    output_feedback: bool = False   # feeds the network's output ŷ_{t−1} back (Jordan): its own unrolled module
    max_layers: int | None = None   # a fixed number of layers (Jordan: the output it feeds back is one)
    torch_module: str = ""          # the fused torch.nn module ("RNN", "LSTM", "GRU"); "" = unrolled in Python
    color: str = "#1f2330"          # its line colour in every chart


# The cells, in the order the app lists them.
CELL_SPECS: dict[str, CellSpec] = {
    "rnn": CellSpec("Elman RNN (tanh)", "elman", "tanh", 1.0, bounded=True, torch_module="RNN", color="#3b5bdb"),
    "rnn_relu": CellSpec("Elman RNN (ReLU)", "elman", "relu", 1.0, bounded=True, torch_module="RNN",
                         color="#1098ad"),
    "jordan": CellSpec("Jordan network", "jordan", "tanh", 1.0, spectrum_of="W_yh·W_out (output fed back)",
                       bounded=True, output_feedback=True, max_layers=1, color="#7048e8"),
    "lstm": CellSpec("LSTM", "lstm", "tanh", 1.0, blocks=4, gates=("input", "forget", "cell", "output"),
                     candidate=2, spectrum_of="W_hg (candidate block of W_hh)", gate_path=("forget", "c"),
                     cell_state=True, torch_module="LSTM", color="#d6336c"),
    "gru": CellSpec("GRU", "gru", "tanh", 1.0, blocks=3, gates=("reset", "update"), candidate=2,
                    spectrum_of="W_hn (candidate block of W_hh)", gate_path=("update", "h"), torch_module="GRU",
                    color="#2b8a3e"),
}
# Views of CELL_SPECS for the callers that want one fact.
CELLS: dict[str, str] = {name: spec.label for name, spec in CELL_SPECS.items()}
MAX_LAYERS: dict[str, int] = {name: s.max_layers for name, s in CELL_SPECS.items() if s.max_layers is not None}

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


@dataclass(frozen=True)
class Field:
    """One setting as every front end shows and checks it."""

    label: str                   # in sentences ("Hidden size 600 is outside 1–512")
    help: str = ""               # the widget's tooltip: what the setting does to the gradients
    lo: float | None = None      # range: validate() refuses values outside it (when `enforced`),
    hi: float | None = None      # a shared link is clamped into it, widgets and --help state it
    step: float | None = None    # the widget's step
    widget: str = ""             # the widget's label, when it differs from `label`
    enforced: bool = True        # False: the range of the app's widget only (the CLI may go beyond it)

    @property
    def widget_label(self) -> str:
        return self.widget or self.label


FIELDS: dict[str, Field] = {
    # --- model
    "cell": Field("Cell", "Elman: hₜ = tanh(W_ih xₜ + W_hh hₜ₋₁ + b); the gradient is multiplied by W_hh·diag(tanh′) "
                  "at every step back, so it fades (or blows up) geometrically. LSTM and GRU add gates and an "
                  "additive path that lets the gradient pass many steps almost unchanged. Jordan feeds back the "
                  "network's own previous prediction ŷₜ₋₁ (one number per output) instead of the hidden state, so "
                  "it has one hidden layer."),
    "hidden_size": Field("Hidden size", "Units per layer (H). The default init draws W_hh uniform in ±1/√H: σ_max ≈ "
                         "1.1 but spectral radius ≈ 0.6, and with tanh′ < 1 a tanh RNN's gradient still vanishes "
                         "(19–24 decades over 100 steps at H = 32).", 1, 512, 1),
    "num_layers": Field("Layers", "Stacked recurrent layers. The gradient also flows down through the stack, adding "
                        "one more product of Jacobians per layer. A Jordan network has one.", 1, 4, 1),
    "init": Field("Recurrent init", "How W_hh starts (Jordan: its output loop W_yh·W_out). Orthogonal × gain sets "
                  "every singular value to the gain: below 1 a plain RNN's gradient must vanish, above 1 it may grow "
                  "(saturation usually stops it). Identity × gain (IRNN) with ReLU keeps it nearly flat at gain 1: "
                  "units that switch off drop their share, 1–2 decades over 200 steps."),
    "gain": Field("Gain", "Multiplies the orthogonal / identity / Gaussian W_hh. (σ_max·γ)^k is an upper bound on the "
                  "gradient through time, not its size: over 100 steps a tanh RNN at gain 0.9 loses about 5 decades "
                  "(the bound forces 4.5), at 1.0 about 1, and at 1.5 grows about 3 where the bound allows 17.4. For "
                  "LSTM / GRU it scales every gate block and bounds nothing.", 0.0, 5.0, 0.05),
    "forget_bias": Field("Forget-gate bias", "LSTM only: added to the forget-gate bias, so fₜ starts near σ(bias): "
                         "0.73 at 1, 0.95 at 3. Measured at initialisation over 300 steps: bias 1 still loses 19–24 "
                         "decades of gradient, bias 3 under 4 (bias 0 loses about 40 over 200).", -3.0, 6.0, 0.5),
    # features per timestep a run may read (CSV columns, tickers…; text: the characters of its vocabulary, one-hot)
    "input_size": Field("Input features", lo=1, hi=128),
    "output_size": Field("Outputs", lo=1, hi=128),     # values predicted per window (text: one logit per character)
    # --- data
    "dataset": Field("Dataset", "What the network learns. Long-memory tasks (adding, echo) need the gradient to "
                     "reach far back; series forecasts need only the last few steps."),
    "timesteps": Field("Timesteps", "Window length T: how many steps the network reads, and how far back BPTT must "
                       "carry the gradient. Longer windows make vanishing worse for plain RNNs.", 1, 1000, 1,
                       widget="Timesteps T"),
    "train_frac": Field("Train part", "Chronological split: the first part trains, the next validates, the rest "
                        "tests.", 0.1, 0.95, 0.05),
    "val_frac": Field("Validation part", "Share of windows for validation (0 for the tutorial's 80/20 train/test "
                      "split).", 0.0, 0.5, 0.05),
    "scaler": Field("Scaling", "Fitted on the training part only, so nothing leaks from the future."),
    # --- training
    "optimizer": Field("Optimiser", "Adam rescales each parameter's step by its gradient history, so it copes with "
                       "small gradients better than SGD — but it cannot bring back a gradient that vanished."),
    "lr": Field("Learning rate", "Step size. Too large and an exploding gradient throws the weights far off (the run "
                "diverges).", 1e-6, 10.0, 0.0005),
    "momentum": Field("Momentum", "SGD only: each step adds β times the previous step (0: plain SGD; 1 and above "
                      "never forgets a step and runs away).", 0.0, 0.999, 0.05),
    "batch_size": Field("Batch size", "Windows per optimiser step; larger batches give smoother gradient norms.",
                        1, 4096, 1),
    "epochs": Field("Epochs", "Passes over the training windows.", 1, 500, 1),
    "clip": Field("Clipping", "Gradient clipping. By norm (Pascanu et al.) rescales g when ‖g‖ exceeds the threshold: "
                  "the direction is kept, explosions are cut. By value clamps each component. Clipping never helps "
                  "vanishing."),
    "clip_value": Field("Clipping threshold", "The threshold: the largest ‖g‖ (by norm) or |gᵢ| (by value) allowed.",
                        1e-4, 1e6, 0.5, widget="Threshold"),
    "bptt_truncate": Field("Truncated BPTT k", "Truncated BPTT: the gradient flows back at most k steps (0 = the "
                           "whole window). Cheaper and stabler, but nothing older than k steps can be learned.",
                           0, 1000, 1),
    "seed": Field("Seed", "Same settings + seed → the same numbers, every time.", 0, 2**31 - 1, 1),
    # the CLI also takes 0 (never probe) and any larger N
    "probe_every": Field("Probe every N epochs", "Measure ‖∂L/∂hₜ‖ exactly (float64, written-out equations) every N "
                         "epochs.", 1, 100, 1, enforced=False),
}

# Views of FIELDS, for the callers that want only one fact.
LIMITS: dict[str, tuple[float, float]] = {n: (f.lo, f.hi) for n, f in FIELDS.items() if f.lo is not None}
LABELS: dict[str, str] = {n: f.label for n, f in FIELDS.items()}
HELP: dict[str, str] = {n: f.help for n, f in FIELDS.items() if f.help}


class ConfigError(ValueError):
    """A setting out of range or unknown; its message is one sentence a user can act on."""


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
        check_ranges(self)
        check_layers(self.cell, self.num_layers)
        return self


@dataclass
class DataConfig:
    dataset: str = "sine"        # a key of rnn_core.data.registry.DATASETS
    timesteps: int = 50          # window length T fed to the network
    params: dict[str, Any] = field(default_factory=dict)  # the dataset's own parameters (length, noise, ticker…)
    features: list[str] = field(default_factory=list)      # input columns; empty = the dataset's default
    target: str = ""             # column to predict; empty = the dataset's default
    train_frac: float = 0.7      # chronological split: first part trains…
    val_frac: float = 0.15       # …next part validates, the rest tests
    scaler: str = "minmax"       # one of SCALERS, fitted on the training part only

    def validate(self) -> DataConfig:
        check_ranges(self)
        if self.train_frac + self.val_frac >= 1.0:
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
        if self.clip != "off" and not self.clip_value > 0:
            raise ConfigError("The clipping threshold must be positive.")
        if self.bptt_truncate < 0:
            raise ConfigError("Truncated BPTT length must be 0 (off) or a positive number of steps.")
        check_ranges(self, skip=("clip_value",) if self.clip == "off" else ())
        return self


def check_ranges(cfg, skip: tuple[str, ...] = ()) -> None:
    """Raise ConfigError for the first field of `cfg` outside its enforced FIELDS range."""
    for f in fields(cfg):
        spec = FIELDS.get(f.name)
        if spec is not None and spec.lo is not None and spec.enforced and f.name not in skip:
            _check_range(f.name, getattr(cfg, f.name))


def bptt_error(train_cfg: TrainConfig, data_cfg: DataConfig) -> str | None:
    """The sentence refusing a truncation longer than the window, or None when it fits."""
    if train_cfg.bptt_truncate <= data_cfg.timesteps:
        return None
    return (f"Truncated BPTT k = {train_cfg.bptt_truncate} is longer than the window (T = {data_cfg.timesteps}); "
            "use k ≤ T or 0 for the whole window.")


def validate_run(model_cfg: ModelConfig, data_cfg: DataConfig,
                 train_cfg: TrainConfig) -> tuple[ModelConfig, DataConfig, TrainConfig]:
    """Every check a run's settings must pass before it starts: each config's own ranges and choices,
    then the checks that span two of them. Returns the three configs; raises ConfigError (one sentence).
    The CLI, the Playground, Compare and a loaded run all call this, so they refuse the same runs."""
    model_cfg.validate(), data_cfg.validate(), train_cfg.validate()
    for message in (bptt_error(train_cfg, data_cfg),):
        if message:
            raise ConfigError(message)
    return model_cfg, data_cfg, train_cfg


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


def cast_like(default: Any, value: Any) -> Any:
    """`value` cast to the type of `default` (bool, int, float, list of str, dict or str); raises
    TypeError / ValueError when it cannot be. Configs (`from_dict`) and dataset parameters
    (`datasets.Param.coerce`) both read their values through this."""
    if isinstance(default, bool):
        return value if isinstance(value, bool) else str(value).lower() in ("1", "true", "yes")
    if isinstance(default, int):
        return int(float(value))
    if isinstance(default, float):
        return float(value)
    if isinstance(default, list):
        return [str(v) for v in value] if isinstance(value, list | tuple) else [v for v in str(value).split(",") if v]
    if isinstance(default, dict):
        return dict(value)
    return ",".join(str(v) for v in value) if isinstance(value, list | tuple) else str(value)


def from_dict(cls: type, data: dict[str, Any]):
    """Build a config dataclass from a dict, ignoring unknown keys and casting to the field's type."""
    defaults = cls()
    return cls(**{f.name: cast_like(getattr(defaults, f.name), data[f.name]) for f in fields(cls) if f.name in data})


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
