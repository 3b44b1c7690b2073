"""Configuration dataclasses: what a run is made of, and the one table of their settings.

`DataConfig` (the series and its windows) and `TrainConfig` (the optimisation), with `ModelConfig`
(the network; `rnn_core/nn/model_config.py`, beside the cell registry it names a cell of), are built
once from widgets, CLI flags or a URL, and passed down as they are.
Each round-trips through a plain dict (`asdict` / `from_dict`) and through URL query parameters
(`to_query` / `from_query`), so a run record's JSON and a shared link both restore the setup.

`FIELDS` holds, per setting, its label, help tooltip, range and widget step: the widgets, `validate()`,
the CLI's help and checks and the URL clamping all read it (`LIMITS` and `LABELS` are views of it).
`validate_run(model, data, train)` adds the checks that span two configs (truncated BPTT within the
window); every front end (CLI, Playground, Compare, a loaded run) calls it before a run starts.
Leaves to others: the cells' own facts (the registry, `rnn_core.nn.cells.CELLS`), the datasets'
parameters (`datasets.Param`).
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import asdict, dataclass, field, fields
from typing import Any, ClassVar

from rnn_core.readable import count, readable

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
DEVICES: tuple[str, ...] = ("cpu", "cuda")     # where a run trains (the CLI's --device; the app trains on cpu)
STATE_RESETS: dict[str, str] = {"epoch": "Each epoch", "never": "Never", "steps": "Every N updates"}


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
    # the widgets and --help add each cell's own sentence (rnn_core.nn.cells.cell_help)
    "cell": Field("Cell", "What carries hₜ₋₁ into hₜ, and so what the gradient is multiplied by at every step "
                  "back."),
    "hidden_size": Field("Hidden size", "Units per layer (H). The default init draws W_hh uniform in ±1/√H: σ_max ≈ "
                         "1.1 but spectral radius ≈ 0.6, and with tanh′ < 1 a tanh RNN's gradient still vanishes "
                         "(19–27 decades over 100 steps at H = 32, five seeds).", 1, 512, 1),
    "num_layers": Field("Layers", "Stacked recurrent layers. The gradient also flows down through the stack, adding "
                        "one more product of Jacobians per layer. A Jordan network has one.", 1, 4, 1),
    "init": Field("Recurrent init", "How W_hh starts (Jordan: its output loop W_yh·W_out). Orthogonal × gain sets "
                  "every singular value to the gain: below 1 a plain RNN's gradient must vanish, above 1 it may grow "
                  "(saturation usually stops it). Identity × gain (IRNN) with ReLU keeps it nearly flat at gain 1: "
                  "units that switch off drop their share, 0.6–2.1 decades over 200 steps (five seeds)."),
    "gain": Field("Gain", "Multiplies the orthogonal / identity / Gaussian W_hh. (σ_max·γ)^k is an upper bound on the "
                  "gradient through time, not its size: over 100 steps (five seeds, Gradient Lab inputs) a tanh RNN at "
                  "gain 0.9 loses 4.8–5.1 decades (the bound forces 4.5), at 1.0 loses 1.0–1.4, and at 1.5 grows "
                  "2.8–4.1 where the bound allows 17.4. For "
                  "LSTM / GRU it scales every gate block and bounds nothing.", 0.0, 5.0, 0.05),
    "forget_bias": Field("Forget-gate bias", "LSTM only: added to the forget-gate bias, so fₜ starts near σ(bias): "
                         "0.73 at 1, 0.95 at 3. Measured at initialisation over 300 steps (five seeds): bias 1 "
                         "still loses 17–24 decades of gradient, bias 3 under 4 (bias 0 loses 36–42 over 200).",
                         -3.0, 6.0, 0.5),
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
    "stateful": Field("Stateful", "Read the data in order as parallel streams, the state carried from update to "
                      "update (detached; reset only where you choose): it flows forward for ever, the gradient only "
                      "k steps back. Every step is a target; held-out data is read as one stream; T is the history "
                      "the probe and the warm-up read."),
    "stateful_streams": Field("Streams", "Stateful: parallel streams, each read in order (every update's batch).",
                              1, 512, 1),
    "stateful_step": Field("New steps per update", "Stateful: new steps k₁ per update (0 = k); the gradient goes "
                           "k ≥ k₁ steps back.", 0, 1000, 1, widget="New steps k₁"),
    "state_reset": Field("State reset", "Stateful: when the carried state is set to zero."),
    "state_reset_every": Field("Reset every N updates", "Stateful: N.", 1, 1_000_000, 1, widget="Reset every N"),
    "seed": Field("Seed", "Same settings + seed → the same numbers, every time.", 0, 2**31 - 1, 1),
    # the CLI also takes 0 (never probe) and any larger N
    "probe_every": Field("Probe every N epochs", "Measure ‖∂L/∂hₜ‖ exactly (float64, written-out equations) every N "
                         "epochs.", 1, 100, 1, enforced=False),
    "probe_batch": Field("Probe batch", "Windows in the fixed batch the probe measures ‖∂L/∂hₜ‖ on (the gradients "
                         "command: sequences).", 1, 1024, 1),

    # --- the Gradient Lab, `lab.<setting>` (rnn_core.lessons.lab.LabConfig): one network at initialisation, redrawn
    # at every change, so its own smaller ranges; the `gradients` command measures the same and takes them too
    "lab.cell": Field("Cell", "The cell whose gradient the charts measure; the overlay chart shows every cell anyway."),
    "lab.timesteps": Field("Timesteps T", "Sequence length: how far back the gradient has to travel.", 2, 500, 1),
    "lab.hidden_size": Field("Hidden size H", "Units per layer: the size of W_hh (H × H).", 1, 256, 1),
    "lab.num_layers": Field("Layers", "Stacked recurrent layers (a Jordan network has one).", 1, 4, 1),
    "lab.init": Field("W_hh init", "Orthogonal × gain and identity × gain set σ_max = gain exactly, of the recurrent "
                      "matrix the singular-value chart names for each cell (Jordan: its output loop W_yh·W_out)."),
    "lab.gain": Field("Gain", "Scales W_hh. Where the bound is drawn, σ_max·γ < 1 forces the gradient to vanish and "
                      "> 1 allows it to grow (it need not); for a gated cell it scales every gate block and forces "
                      "nothing. No effect with the PyTorch default init.", 0.0, 3.0, 0.05),
    "lab.input_scale": Field("Input scale", "Standard deviation of the random inputs x_t. Small inputs keep tanh in "
                             "its linear part, where the upper bound (σ_max·γ)^k is tight.", 0.0, 2.0, 0.05),
    "lab.seeds": Field("Seeds", "Networks drawn with different seeds; lines are their geometric mean, bands min–max.",
                       1, 10, 1),

    # --- Compare: the race's model (`race.<setting>`; its layers and forget bias are the Playground's) and
    # the sweeps' own settings (`sweep.<setting>`), smaller so that a shared server stays shared
    "race.hidden_size": Field("Hidden size", "Units per layer of every cell in the race.", 1, 256, 1),
    "sweep.epochs": Field("Epochs per run", "Passes over the training windows in each run of the sweep.", 1, 50, 1),
    "sweep.n_samples": Field("Samples", "Sequences the task draws for each run.", 100, 20_000, 100),
    "sweep.seeds": Field("Seeds", "Runs per setting, seeds 0 … N−1: the spread says how much is luck.", 1, 5, 1),
}

# the Lab's forget bias: the Playground's range, a finer step
FIELDS["lab.forget_bias"] = dataclasses.replace(
    FIELDS["forget_bias"], label="Forget-gate bias (LSTM)", step=0.25,
    help="Added to b_f: f_t = σ(… + b_f) near 1 keeps c_t, and its gradient, alive.")


def fields_of(prefix: str) -> dict[str, Field]:
    """The settings of one place with its own ranges ("lab.", "race.", "sweep."), by their names there."""
    return {name[len(prefix):]: f for name, f in FIELDS.items() if name.startswith(prefix)}


# Views of FIELDS, for the callers that want only one fact.
LIMITS: dict[str, tuple[float, float]] = {n: (f.lo, f.hi) for n, f in FIELDS.items() if f.lo is not None}
LABELS: dict[str, str] = {n: f.label for n, f in FIELDS.items()}
HELP: dict[str, str] = {n: f.help for n, f in FIELDS.items() if f.help}


class ConfigError(ValueError):
    """A setting out of range or unknown; its message is one sentence a user can act on."""


def check_range(name: str, value: float) -> None:
    """Raise ConfigError (one sentence) when `value` is outside setting `name`'s FIELDS range."""
    lo, hi = LIMITS[name]
    if not (lo <= value <= hi) or (isinstance(value, float) and math.isnan(value)):
        raise ConfigError(f"{LABELS[name]}: {name} must be between {readable(lo)} and {readable(hi)}, got "
                          f"{readable(value) if isinstance(value, int | float) else value}; "
                          "choose a value in that range.")


@dataclass
class DataConfig:
    QUERY_PREFIX: ClassVar[str] = "d."   # its settings in a URL: d.<name>
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
            raise ConfigError(f"Unknown scaler {quoted(self.scaler)}: choose one of {', '.join(SCALERS)}.")
        return self


@dataclass
class TrainConfig:
    QUERY_PREFIX: ClassVar[str] = "t."   # its settings in a URL: t.<name>
    optimizer: str = "adam"      # one of OPTIMIZERS
    lr: float = 0.01             # learning rate
    momentum: float = 0.9        # SGD momentum
    batch_size: int = 32         # windows per step
    epochs: int = 20             # passes over the training windows
    clip: str = "norm"           # one of CLIPPING
    clip_value: float = 1.0      # threshold: max ‖g‖ (norm) or max |g_i| (value)
    bptt_truncate: int = 0       # gradient flows back at most k steps; 0 = the whole window
    seed: int = 0                # same config + seed → same numbers
    stateful: bool = False       # read the data as streams in order, the state carried between updates
    stateful_streams: int = 8    # stateful: B parallel streams (the batch of every update)
    stateful_step: int = 0       # stateful: k1 new steps per update; 0 = bptt_truncate (k2)
    state_reset: str = "epoch"   # stateful: one of STATE_RESETS
    state_reset_every: int = 100  # stateful: N updates between resets when state_reset == "steps"
    probe_every: int = 2         # run the gradient probe every N epochs (and at the first and last)
    probe_batch: int = 16        # windows in the fixed probe batch
    device: str = "cpu"          # "cpu" or "cuda"

    def validate(self) -> TrainConfig:
        if self.optimizer not in OPTIMIZERS:
            raise ConfigError(f"Unknown optimizer {quoted(self.optimizer)}: choose one of {', '.join(OPTIMIZERS)}.")
        if self.clip not in CLIPPING:
            raise ConfigError(f"Unknown clipping {quoted(self.clip)}: choose one of {', '.join(CLIPPING)}.")
        if self.clip != "off" and not self.clip_value > 0:
            raise ConfigError("The clipping threshold must be positive.")
        if self.bptt_truncate < 0:
            raise ConfigError("Truncated BPTT length must be 0 (off) or a positive number of steps.")
        if self.device not in DEVICES:
            raise ConfigError(f"Unknown device {quoted(self.device)}: choose one of {', '.join(DEVICES)}.")
        if self.state_reset not in STATE_RESETS:
            raise ConfigError(f"Unknown state reset {quoted(self.state_reset)}: choose one of "
                              f"{', '.join(STATE_RESETS)}.")
        check_ranges(self, skip=("clip_value",) if self.clip == "off" else ())
        return self


def check_ranges(cfg, skip: tuple[str, ...] = ()) -> None:
    """Raise ConfigError for the first field of `cfg` outside its enforced FIELDS range."""
    for f in fields(cfg):
        spec = FIELDS.get(f.name)
        if spec is not None and spec.lo is not None and spec.enforced and f.name not in skip:
            check_range(f.name, getattr(cfg, f.name))


def bptt_error(train_cfg: TrainConfig, data_cfg: DataConfig) -> str | None:
    """The sentence refusing a truncation longer than the window (stateful: new steps k₁ beyond the
    truncation k), or None when it fits."""
    k, k1 = train_cfg.bptt_truncate, train_cfg.stateful_step
    if k > data_cfg.timesteps:
        return (f"Truncated BPTT k = {k} is longer than the window (T = {data_cfg.timesteps}); "
                "use k ≤ T or 0 for the whole window.")
    if train_cfg.stateful and k1 > (k or data_cfg.timesteps):
        return f"New steps per update k₁ = {k1} exceed the truncation k = {k or data_cfg.timesteps}; use k₁ ≤ k."
    return None


def validate_run(model_cfg: Any, data_cfg: DataConfig, train_cfg: TrainConfig) -> tuple[Any, DataConfig, TrainConfig]:
    """Every check a run's settings must pass before it starts: each config's own ranges and choices (the
    model's, `rnn_core.nn.model_config.ModelConfig.validate`, includes its cell's), then the checks that
    span two of them. Returns the three configs; raises ConfigError (one sentence).
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


def quoted(value: Any, most: int = 60) -> str:
    """User text inside a sentence: 'like this', its whitespace (line breaks too) collapsed to single spaces
    and cut at `most` characters, so a sentence quoting a file's or a link's text stays one short line."""
    text = " ".join(str(value).split())
    return "'" + (text if len(text) <= most else text[: most - 1] + "…") + "'"


def listed(names: Any, most: int = 8) -> str:
    """Names inside a sentence: "a, b, c", or the first `most` and how many more ("a, b, …, and 9,000 more")."""
    names = [" ".join(str(n).split())[:60] for n in names]
    if len(names) <= most:
        return ", ".join(names)
    return f"{', '.join(names[:most])}, … and {count(len(names) - most)} more"


def _short(value: Any) -> str:
    return count(value) if isinstance(value, int) and not isinstance(value, bool) else readable(value)


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


# URL query parameters: a short prefix per config class (`QUERY_PREFIX`: "m.", "d.", "t.") keeps the three
# configs apart in one flat query string.


def to_query(*configs) -> dict[str, str]:
    """Flatten configs into string query params, keeping only values that differ from the defaults."""
    query: dict[str, str] = {}
    for cfg in configs:
        prefix, default = type(cfg).QUERY_PREFIX, type(cfg)()
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
    prefix = cls.QUERY_PREFIX
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
