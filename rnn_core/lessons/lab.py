"""Gradient Lab computations: what the gradient does at initialisation, no training.

Holds `LabConfig` (the Lab's settings, to/from URL query params), `LAB_SETTINGS` (their ranges, a view of
`config.FIELDS`) and `LAB_PRESETS`; the probe of one fresh network (`probe_at_init`, the reference
`lab_probes` equals); ‖∂L/∂h_t‖ at initialisation averaged over seeds with the spread (`profile_stats`)
and for every cell at once (`overlay`); the gain × timestep phase diagram of log10 ‖∂L/∂h_t‖
(`phase_diagram`); the singular values of W_hh (`singular_values`); the norm of the product of Jacobians
over k steps (`jacobian_stats`); and what the headline numbers say (`lab_verdict`).
Leaves to others: the exact gradient read-out (`probe.py`), the inputs and the probes of many networks
in one pass, kept while asked for again, each asking the memory budget first (`lab_probes.py`), the models
(`models.py`), the thread limit (`threads.py`), the from-scratch BPTT report (`scratch.py`), the Compare
page's runs (`compare.py`) and the figures (`plots/lab.py`). Never imports streamlit.

Averages over seeds are taken in log space (a geometric mean), because the norms span many decades;
the band is the min–max over seeds. "Normalised" profiles divide each seed's ‖∂L/∂h_t‖ by its value
at the last step t = T−1: the fraction of the last step's gradient that reaches t.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, fields

import numpy as np

from rnn_core.config import INITS, ConfigError, Field, fields_of, from_dict, quoted
from rnn_core.config import replace as cfg_replace
from rnn_core.lessons.lab_probes import check_lab_probe, lab_batch, lab_jacobians, lab_probes
from rnn_core.measure.reach import Reach, reach
from rnn_core.nn.cells import CELLS, cell_of, check_cell, layers_error
from rnn_core.nn.model_config import ModelConfig
from rnn_core.readable import readable, times_ten
from rnn_core.threads import one_thread

# The Lab's settings: label, tooltip, the slider's range and step, from the one table (`config.FIELDS`,
# "lab.<setting>"). LabConfig.validate() refuses values outside them, a link's values are clamped into them
# (`clamp_lab`), and the Lab's sliders and the `gradients` command read them.
LAB_SETTINGS: dict[str, Field] = fields_of("lab.")
LAB_LIMITS = {n: (f.lo, f.hi) for n, f in LAB_SETTINGS.items() if f.lo is not None}   # a view of LAB_SETTINGS
# Phase-diagram gains: 0.3 → 1 in steps of 0.1, then 1 → 3 in steps of 0.25 (1.0 is on the grid).
PHASE_GAINS = tuple(round(g, 3) for g in [*np.arange(0.3, 1.0001, 0.1), *np.arange(1.25, 3.0001, 0.25)])


@dataclass
class LabConfig:
    cell: str = "rnn"            # a key of rnn_core.nn.cells.CELLS
    timesteps: int = 100         # T
    hidden_size: int = 32        # H
    num_layers: int = 1          # stacked layers
    init: str = "orthogonal"     # one of INITS; the gain only acts on non-default schemes
    gain: float = 1.0            # σ_max(W_hh) for orthogonal / identity
    forget_bias: float = 0.0     # added to the LSTM forget-gate bias
    seeds: int = 3               # networks drawn; averaged, with the spread shown
    input_scale: float = 0.5     # std of the random inputs x_t (small → the linear regime of tanh)

    def validate(self) -> LabConfig:
        cell_of(self.cell)
        if self.init not in INITS:
            raise ConfigError(f"Unknown init {quoted(self.init)}: choose one of {', '.join(INITS)}.")
        for name, (lo, hi) in LAB_LIMITS.items():
            value = getattr(self, name)
            if not lo <= value <= hi or (isinstance(value, float) and math.isnan(value)):
                raise ConfigError(f"{name} must be between {readable(lo)} and {readable(hi)} in the Gradient Lab "
                                  f"(and the gradients command), got {readable(value)}.")
        check_cell(self.cell, self.num_layers)
        return self

    def model_config(self, cell: str | None = None, gain: float | None = None) -> ModelConfig:
        """The ModelConfig of one network in the Lab (one input feature, one output)."""
        return ModelConfig(cell=cell or self.cell, hidden_size=self.hidden_size, num_layers=self.num_layers,
                           input_size=1, output_size=1, init=self.init,
                           gain=self.gain if gain is None else gain, forget_bias=self.forget_bias)

    def to_query(self) -> dict[str, str]:
        """`lab.<field>` query params for the values that differ from the defaults."""
        default = LabConfig()
        return {f"lab.{k}": str(v) for k, v in asdict(self).items() if v != getattr(default, k)}

    @classmethod
    def from_query(cls, query: dict[str, str]) -> LabConfig:
        """Inverse of `to_query`; unknown keys are ignored, bad numbers raise ConfigError."""
        data = {k[4:]: v for k, v in query.items() if k.startswith("lab.")}
        try:
            return clamp_lab(from_dict(cls, data))
        except ValueError as exc:
            raise ConfigError(f"A Gradient Lab setting in the link is not a number ({exc}).") from None

    def replace(self, **changes) -> LabConfig:
        return cfg_replace(self, **changes)


LAB_FIELDS = tuple(f.name for f in fields(LabConfig))


def clamp_lab(cfg: LabConfig) -> LabConfig:
    """`cfg` with every number moved into its LAB_SETTINGS range (a NaN takes the default)."""
    changes, default = {}, LabConfig()
    for name, (lo, hi) in LAB_LIMITS.items():
        value = getattr(cfg, name)
        new = getattr(default, name) if isinstance(value, float) and math.isnan(value) else min(max(value, lo), hi)
        if new != value:
            changes[name] = type(getattr(default, name))(new)
    return cfg.replace(**changes) if changes else cfg

# Lab presets: a title, one sentence of what it shows (each range measured over seeds 0–4, decades over
# the part of the profile that is not 0; tests/engine/test_lab.py recomputes each one), and the settings.
LAB_PRESETS: dict[str, dict] = {
    "vanishing": {"title": "Vanishing: tanh RNN, gain 0.8",
                  "note": "σ_max·γ = 0.8 < 1: the upper bound 0.8^k forces at least 9.6 decades lost over "
                          "100 steps, and the gradient loses 9.8–9.9 — tanh′ < 1 takes a little more than the bound.",
                  "config": LabConfig(cell="rnn", timesteps=100, init="orthogonal", gain=0.8)},
    "exploding": {"title": "Exploding: tanh RNN, gain 1.5",
                  "note": "σ_max·γ = 1.5 > 1: the upper bound allows growth by up to 10.4 decades over 60 "
                          "steps; the gradient grows 2.9–3.3 of them, because tanh saturates as h_t grows "
                          "(falling below the bound is allowed).",
                  "config": LabConfig(cell="rnn", timesteps=60, init="orthogonal", gain=1.5, input_scale=0.1)},
    "edge": {"title": "Edge of chaos: tanh RNN, gain 1",
             "note": "σ_max·γ = 1: over 200 steps the gradient loses only 0.3–0.5 decades — neither "
                     "vanishing nor exploding while tanh stays near its linear part.",
             "config": LabConfig(cell="rnn", timesteps=200, init="orthogonal", gain=1.0, input_scale=0.1)},
    "lstm_keeps": {"title": "LSTM keeps it: forget bias 3",
                   "note": "A forget bias of 3 opens f_t ≈ σ(3) ≈ 0.95: over 200 steps the LSTM loses only "
                           "0.2–2.8 decades, against 36–42 with forget bias 0 — and no σ_max bound applies: "
                           "the dash-dotted line is what the forget gates' product alone carries.",
                   "config": LabConfig(cell="lstm", timesteps=200, init="default", forget_bias=3.0)},
    "identity_relu": {"title": "IRNN: ReLU with W_hh = I",
                      "note": "The Jacobian is diag(1[a>0])·I: active units pass the gradient unchanged, units "
                              "that switch off drop their share — over 200 steps it loses 0.6–2.1 decades: "
                              "nearly flat, not flat.",
                      "config": LabConfig(cell="rnn_relu", timesteps=200, init="identity", gain=1.0,
                                          input_scale=0.1)},
    "default_init": {"title": "PyTorch default init, 100 steps",
                     "note": "torch's uniform ±1/√H init gives σ_max ≈ 1.1 (above 1: the bound allows growth), "
                             "but its spectral radius is only ≈ 0.6 and tanh′ < 1: over 100 steps the gradient "
                             "loses 19–27 decades anyway.",
                     "config": LabConfig(cell="rnn", timesteps=100, init="default")},
    "indrnn_vector": {"title": "IndRNN: a recurrent weight that is a vector",
                      "note": "Unit i's gradient is multiplied by its own u_i at every step back, so the layer's "
                              "bound is (|u|_max·γ)^k; torch's default init draws u in ±1/√H (|u|_max ≈ 0.17 "
                              "here), the bound forces about 75 decades lost over 100 steps, and the gradient "
                              "loses 75–104: nearly the bound, where a tanh RNN's σ_max ≈ 1.1 allows growth.",
                      "config": LabConfig(cell="indrnn", timesteps=100, init="default")},
}


# ------------------------------------------------------------------------------------------ verdict
EDGE = 0.01        # |σ_max·γ − 1| below this is "on the edge"


@dataclass(frozen=True)
class LabVerdict:
    """What the Lab's headline numbers say about one `profile_stats` result: what the gradient did
    (`reach`, `outcome`), and what the σ_max bound says about it (`verdict`, `why`)."""

    sigma_max: float     # σ_max of the top layer (the one the bound speaks about), mean over seeds
    rate: float          # σ_max·γ
    reach: str           # ‖∂L/∂h₀‖ / ‖∂L/∂h_T‖ of the first layer in words: "≈ 1", "1.6 × 10⁻¹⁰", "0 (blocked)"
    bounded: bool        # the bound (σ_max·γ)^k holds for this cell (`Cell.bounded`)
    verdict: str         # the bound's verdict: "must vanish", "on the edge", "may grow" or "gates decide"
    why: str             # one sentence
    outcome: str = ""    # what happened: "loses 9.8 decades", "gains 3.1 decades", "blocked before t = 11"


def lab_verdict(stats: dict) -> LabVerdict:
    """Read `profile_stats(cfg)`: how much of the last step's gradient reaches t = 0 and what it did on
    the way (a geometric mean over seeds, first layer; an exact 0 says why: `reach.py`), and σ_max·γ of
    the top layer against 1 (the bound)."""
    sigma = stats["sigma_max"][-1]
    rate = sigma * stats["gamma"]
    first = stats["grad_h"][0]
    bounded = cell_of(stats["cell"]).bounded
    verdict, why = _verdict(rate, bounded)
    # the geometric mean is 0 wherever one seed is; the seeds' minimum says whether that was an underflow
    lowest = (stats.get("grad_h_lo") or [first])[0]
    mean, low = reach(first), reach(lowest)
    zeros = low.zeros if low is not None and low.zeros else (mean.zeros if mean is not None else None)
    return LabVerdict(sigma, rate, _reach(first, zeros), bounded, verdict, why, _outcome(mean, zeros))


def _reach(profile: list[float], zeros: str | None) -> str:
    """‖∂L/∂h₀‖ / ‖∂L/∂h_T‖ in words; an exact 0 says why (blocked, underflow)."""
    if not profile or not profile[-1] > 0:
        return "no gradient"
    ratio = profile[0] / profile[-1]
    if not ratio > 0:
        return f"0 ({zeros or 'underflow'})"
    if abs(math.log10(ratio)) < 0.05:
        return "≈ 1"
    return times_ten(ratio)                                           # "1.6 × 10⁻¹⁰"


def _outcome(mean: Reach | None, zeros: str | None) -> str:
    """What the gradient did from the last timestep back to the first, in a few words."""
    if mean is None or mean.decades is None:
        return "no gradient"
    if mean.first > 0:
        return f"{zeros or mean.zeros} before t = {mean.first}"
    if abs(mean.decades) < 0.05:
        return "flat (0.0 decades)"
    return mean.change()


def _verdict(rate: float, bounded: bool) -> tuple[str, str]:
    """(verdict, why) of σ_max·γ = `rate` (Pascanu et al., 2013); gated cells: the measured line decides."""
    if not bounded:
        return "gates decide", ("The bound (σ_max·γ)^k holds only where the step Jacobian is diag(φ′)·M; gates add "
                                "paths it does not cover, so read the measured line.")
    if abs(rate - 1) < EDGE:
        return "on the edge", "σ_max·γ ≈ 1: neither guaranteed to vanish nor free to explode."
    if rate < 1:
        return "must vanish", ("σ_max·γ < 1 guarantees a geometric decay of the top layer's gradient "
                               "(Pascanu et al., 2013).")
    return "may grow", ("σ_max·γ > 1 allows growth, it does not force it: saturation and a spectral radius below 1 "
                        "usually still shrink the gradient.")


# ------------------------------------------------------------------------------------------ inputs
def probe_at_init(cfg: LabConfig, cell: str, seed: int, gain: float | None = None) -> dict:
    """The probe of one freshly initialised network of `cell` (seed `seed`, gain `gain` or the config's) on
    its `lab_batch`, alone: what every Lab chart averages over seeds. The charts take it from `lab_probes`
    (many networks in one pass, the same numbers bit for bit; tests/engine hold them equal)."""
    from rnn_core.nn.models import build_model
    from rnn_core.nn.probe import probe

    with one_thread():
        model = build_model(cfg.model_config(cell, gain), seed=seed)
        X, y = lab_batch(cfg, seed)
        return probe(model, X, y)


# ------------------------------------------------------------------------------ statistics over seeds
def seed_stats(rows: np.ndarray) -> tuple[list[float], list[float], list[float]]:
    """How the Lab averages over seeds: rows (S, N) non-negative numbers → geometric mean, min, max over S.
    A column where one seed is 0 (its gradient underflowed) has geometric mean 0: leaving that seed out made
    the mean jump up to the seeds that survived, a line that seemed to grow back through time while it was
    vanishing."""
    rows = np.asarray(rows, dtype=float)
    with np.errstate(divide="ignore"):
        # (Π_s x_s)^(1/S) = exp(mean log x_s); log 0 = −inf, so one zero makes it 0
        mean = np.exp(np.log(np.where(rows > 0, rows, 0.0)).mean(axis=0))
    return [float(v) for v in mean], [float(v) for v in rows.min(axis=0)], [float(v) for v in rows.max(axis=0)]


def _normalise(profile: np.ndarray) -> np.ndarray:
    """Divide by the value at the last step (0 stays 0)."""
    last = profile[-1]
    return profile / last if last > 0 else profile * 0.0


def profile_stats(cfg: LabConfig, cell: str | None = None, normalise: bool = False) -> dict:
    """‖∂L/∂h_t‖ at initialisation over `cfg.seeds` networks: geometric mean and min–max per layer.

    Returns a probe-shaped dict (so `figures.gradient_time_figure` draws it) plus the band:
    {"cell", "timesteps", "seeds", "normalised", "grad_h": [mean per layer], "grad_h_lo", "grad_h_hi",
     "grad_c": [mean per layer] | None, "theory": [per layer], "gate_path": [per layer],
     "sigma_max": [mean per layer], "gamma", "loss"}. The theory line is the bound
     ‖∂L/∂h_T‖·(σ_max·γ)^(T−1−t) (× 1/‖∂L/∂h_T‖ if normalised), [] where it is none (see `probe.py`);
     gate_path is the probe's gate-path line of gated cells, [] elsewhere.
    """
    cfg.validate()
    cell = cell or cfg.cell
    probes = lab_probes(cfg, cell, range(cfg.seeds))                     # every seed in one pass, or kept
    L = len(probes[0]["grad_h"])
    prep = _normalise if normalise else (lambda p: p)
    out: dict = {"cell": cell, "timesteps": cfg.timesteps, "seeds": cfg.seeds, "normalised": normalise,
                 "gamma": float(probes[0]["gamma"]), "grad_h": [], "grad_h_lo": [], "grad_h_hi": [],
                 "theory": [], "gate_path": [], "sigma_max": [], "grad_c": None,
                 "loss": float(np.mean([p["loss"] for p in probes]))}
    for l in range(L):
        grads = np.array([prep(np.asarray(p["grad_h"][l], dtype=float)) for p in probes])   # (S, T)
        mean, lo, hi = seed_stats(grads)
        out["grad_h"].append(mean)
        out["grad_h_lo"].append(lo)
        out["grad_h_hi"].append(hi)
        out["theory"].append(_seed_mean(probes, "theory", l, prep))
        out["gate_path"].append(_seed_mean(probes, "gate_path", l, prep))
        out["sigma_max"].append(float(np.mean([p["sigma_max"][l] for p in probes])))
    if probes[0].get("grad_c"):
        out["grad_c"] = [seed_stats(np.array([prep(np.asarray(p["grad_c"][l], dtype=float))
                                              for p in probes]))[0] for l in range(L)]
    return out


def _seed_mean(probes: list[dict], name: str, l: int, prep) -> list[float]:
    """Geometric mean over seeds of one probe line (`theory`, `gate_path`) of layer l; [] where the
    probe has none (no bound there, or not a gated cell)."""
    if not all(p.get(name) and p[name][l] for p in probes):
        return []
    return seed_stats(np.array([prep(np.asarray(p[name][l], dtype=float)) for p in probes]))[0]


def overlay(cfg: LabConfig, cells: tuple[str, ...] = tuple(CELLS), normalise: bool = True,
            layer: int = 0) -> dict[str, dict]:
    """One layer's ‖∂L/∂h_t‖ for every cell with the same settings, over the same seeds:
    {cell: {"t", "mean", "lo", "hi", "sigma_max"}}. Cells that cannot have `cfg.num_layers` layers
    (Jordan has one) are left out (`overlay_left_out` says which)."""
    drawn = [cell for cell in cells if not layers_error(cell, cfg.num_layers)]
    for cell in drawn:
        check_lab_probe(cfg, cell)                     # the budget asked for every cell before any is probed
    out = {}
    for cell in drawn:
        s = profile_stats(cfg, cell, normalise=normalise)
        out[cell] = {"t": list(range(cfg.timesteps)), "mean": s["grad_h"][layer], "lo": s["grad_h_lo"][layer],
                     "hi": s["grad_h_hi"][layer], "sigma_max": s["sigma_max"][layer], "gamma": s["gamma"]}
    return out


def overlay_left_out(cfg: LabConfig, cells: tuple[str, ...] = tuple(CELLS)) -> list[str]:
    """The sentences saying why `overlay` leaves a cell out (one per cell left out)."""
    return [m for m in (layers_error(cell, cfg.num_layers) for cell in cells) if m]


# ---------------------------------------------------------------------------------------- phase diagram
def phase_diagram(cfg: LabConfig, gains: tuple[float, ...] = PHASE_GAINS, seeds: int = 1) -> dict:
    """log10 of the normalised ‖∂L/∂h_t‖ (first layer) for each gain × timestep, at initialisation.

    The default init ignores the gain, so it is replaced by orthogonal × gain here. Returns
    {"cell", "init", "gains", "t", "z": [[log10 ratio per t] per gain], "sigma_gamma": [σ_max·γ per gain],
     "border_gain": the gain where σ_max·γ crosses 1 (interpolated) or None}.
    """
    cfg = cfg.replace(init="orthogonal" if cfg.init == "default" else cfg.init).validate()
    # every gain × seed network in one pass (or kept from before)
    probes = lab_probes(cfg, cfg.cell, [s for _ in gains for s in range(seeds)],
                        [g for g in gains for _ in range(seeds)])
    z, sigma_gamma = [], []
    for i in range(len(gains)):
        rows, sg = [], []
        for p in probes[i * seeds:(i + 1) * seeds]:
            rows.append(_normalise(np.asarray(p["grad_h"][0], dtype=float)))
            sg.append(p["sigma_max"][0] * p["gamma"])
        mean = np.array(seed_stats(np.array(rows))[0])
        with np.errstate(divide="ignore"):
            z.append([float(v) if np.isfinite(v) else None for v in np.log10(mean)])
        sigma_gamma.append(float(np.mean(sg)))
    return {"cell": cfg.cell, "init": cfg.init, "gains": [float(g) for g in gains],
            "t": list(range(cfg.timesteps)), "z": z, "sigma_gamma": sigma_gamma,
            "border_gain": _crossing(list(gains), sigma_gamma, 1.0)}


def _crossing(x: list[float], y: list[float], level: float) -> float | None:
    """The first x where y crosses `level`, linearly interpolated; None if it never does."""
    for (x0, y0), (x1, y1) in zip(zip(x, y), zip(x[1:], y[1:])):
        if (y0 - level) * (y1 - level) <= 0 and y1 != y0:
            return float(x0 + (level - y0) * (x1 - x0) / (y1 - y0))
    return None


# --------------------------------------------------------------------------- W_hh and the Jacobians
def singular_values(cfg: LabConfig, seed: int = 0) -> list[dict]:
    """`models.spectra` of one network: per layer {"sigma_max", "spectral_radius", "singular_values"}."""
    from rnn_core.nn.models import build_model, spectra

    with one_thread():                       # the orthogonal init's QR on many threads cost 15× more
        return spectra(build_model(cfg.validate().model_config(), seed=seed))


def jacobian_stats(cfg: LabConfig, layer: int = 0) -> dict:
    """‖∏ ∂h_j/∂h_{j−1}‖₂ over k = 1…T steps (first layer), over seeds, with what governs it.

    {"k": [...], "mean", "lo", "hi", "theory", "gate_path", "sigma_max", "gamma"}: "theory" is the bound
    (σ_max·γ)^k for cells whose step Jacobian is diag(φ′)·M (`Cell.bounded`), else []; "gate_path" is,
    for a cell with a gate path (LSTM / GRU), ‖∏ diag(g_j)‖₂ of the additive path's gate
    (`probe.gate_path_norms`, geometric mean over seeds), else [].
    """
    cfg.validate()
    spec = cell_of(cfg.cell)
    seeds = lab_jacobians(cfg, range(cfg.seeds), layer)                  # kept per seed
    rows = [np.asarray(s["norms"], dtype=float) for s in seeds]
    paths = [np.asarray(s["gate_path"], dtype=float) for s in seeds if spec.gate_path]
    sigmas = [s["sigma_max"] for s in seeds]
    n = min(len(r) for r in rows)
    mean, lo, hi = seed_stats(np.array([r[:n] for r in rows]))
    gamma = spec.gamma
    k = list(range(1, n + 1))
    sg = float(np.mean(sigmas)) * gamma
    theory = [sg**kk for kk in k] if spec.bounded else []
    gate_path = seed_stats(np.array([p[:n] for p in paths]))[0] if paths else []
    return {"k": k, "mean": mean, "lo": lo, "hi": hi, "theory": theory, "gate_path": gate_path,
            "sigma_max": float(np.mean(sigmas)), "gamma": gamma}
