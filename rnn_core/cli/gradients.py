"""`python -m rnn_core gradients`: ‖∂L/∂h_t‖ per timestep at initialisation (no training), the decades
it loses from the last timestep back to the first (over the part that is not 0: an exact 0 is told
apart as blocked or underflow, `measure/reach.py`), and what bounds or governs that loss. It measures what
the Gradient Lab measures, so it takes the Lab's ranges (`config.FIELDS["lab.*"]`, checked by
`LabConfig.validate`) and the probe batch's (`FIELDS["probe_batch"]`)."""

from __future__ import annotations

import argparse
import math
from dataclasses import asdict
from pathlib import Path

import numpy as np

from rnn_core.cli.common import CliError, model_flags, range_text, say, write_json
from rnn_core.config import TrainConfig, check_range
from rnn_core.lessons.lab import LabConfig
from rnn_core.measure.reach import ZERO_REASONS, reach
from rnn_core.nn.cells import cell_of, label_of
from rnn_core.nn.model_config import ModelConfig
from rnn_core.readable import fixed, readable


def gradients_parser(p: argparse.ArgumentParser) -> None:
    model_flags(p, ModelConfig(), place="lab.")
    p.add_argument("--timesteps", type=int, default=50, help=f"T (%(default)s; {range_text('lab.timesteps')})")
    p.add_argument("--batch", type=int, default=TrainConfig().probe_batch,
                   help=f"sequences in the probe batch (%(default)s; {range_text('probe_batch')})")
    p.add_argument("--data", choices=["random", "sine"], default="random",
                   help="random N(0, 1) inputs and targets, or sine waves with random phases (%(default)s)")
    p.add_argument("--seed", type=int, default=0, help="weights and batch (%(default)s)")
    p.add_argument("--json", metavar="PATH", help="write ‖∂L/∂h_t‖ per layer and timestep as JSON")


def cmd_gradients(args) -> int:
    if args.json:
        parent = Path(args.json).expanduser().resolve().parent
        if not parent.is_dir():
            raise CliError(f"Cannot write --json '{args.json}': the folder '{parent}' does not exist.")
    # the Lab's ranges (it measures the same), then the model's own checks
    lab = LabConfig(cell=args.cell, timesteps=args.timesteps, hidden_size=args.hidden, num_layers=args.layers,
                    init=args.init, gain=args.gain, forget_bias=args.forget_bias).validate()
    check_range("probe_batch", args.batch)
    model_cfg = ModelConfig(cell=lab.cell, hidden_size=lab.hidden_size, num_layers=lab.num_layers, init=lab.init,
                            gain=lab.gain, forget_bias=lab.forget_bias).validate()

    from rnn_core.nn.models import build_model
    from rnn_core.nn.probe import probe

    model = build_model(model_cfg, seed=args.seed)
    X, y = _probe_batch(args.data, args.batch, args.timesteps, args.seed)
    result = probe(model, X, y)
    T = result["timesteps"]
    say(f"{label_of(model_cfg.cell)}, {model_cfg.num_layers}×{model_cfg.hidden_size} units, init "
         f"{model_cfg.init} (gain {readable(model_cfg.gain)}), {T} timesteps, {args.batch} {args.data} sequences; "
         f"loss {readable(result['loss'], 4)}")
    decades, theory = [], []
    matrix = cell_of(model_cfg.cell).spectrum_of
    for l, g in enumerate(result["grad_h"]):
        decades.append(_decades(g))
        theory.append(_theory_decades(result, l, T))
        say(f"layer {l + 1}: ‖∂L/∂h_t‖ {readable(g[-1])} at t={T} → {readable(g[0])} at t=1: "
             f"{_decades_text(g)}; {matrix}: σ_max {fixed(result['sigma_max'][l])}, spectral radius "
             f"{fixed(result['spectral_radius'][l])}{_governs_text(model_cfg.cell, result, l, theory[-1])}")
    if args.json:
        write_json(args.json, {"config": asdict(model_cfg), "timesteps": T, "batch": args.batch,
                                "data": args.data, "seed": args.seed, "loss": result["loss"],
                                "grad_h": result["grad_h"], "grad_c": result["grad_c"],
                                "decades": decades, "theory_decades": theory, "sigma_max": result["sigma_max"],
                                "spectral_radius": result["spectral_radius"], "gamma": result["gamma"],
                                "theory": result["theory"], "gate_path": result["gate_path"]})
        say(f"Wrote the gradient profile to {args.json}")
    return 0


def _probe_batch(kind: str, B: int, T: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """X (B, T, 1), y (B, 1): N(0, 1) noise, or sine waves (random phase) and their next value."""
    rng = np.random.default_rng(seed)
    if kind == "random":
        return rng.normal(size=(B, T, 1)), rng.normal(size=(B, 1))
    phase = rng.uniform(0, 2 * np.pi, size=(B, 1))
    t = np.arange(T + 1)[None, :]                                # (1, T+1)
    wave = np.sin(phase + 2 * np.pi * t / 25)                    # (B, T+1): period 25 steps
    return wave[:, :T, None], wave[:, T:]


def _decades(g: list[float]) -> float | None:
    """log10(‖∂L/∂h_T‖ / ‖∂L/∂h_first‖): decades lost from the last timestep back to the first one that
    gets a gradient (< 0: grows), over the part of the profile that is not 0 (`measure.reach`)."""
    r = reach(g)
    return None if r is None or r.decades is None else -r.decades


def _decades_text(g: list[float]) -> str:
    """What one layer's profile does, in the CLI's 1-based timesteps; an exact 0 says why it is 0."""
    r = reach(g)
    if r is None or r.decades is None:
        return "no gradient at all"
    d = -r.decades
    text = ("about constant (0.0 decades)" if abs(d) < 0.05 else
            f"vanishes by {fixed(d, 1)} decades" if d > 0 else f"explodes by {fixed(-d, 1)} decades")
    if r.first == 0:
        return text
    return f"{text} back to t={r.first + 1}; before that it is exactly 0 — {ZERO_REASONS[r.zeros]}"


def _theory_decades(result: dict, l: int, T: int) -> float | None:
    """Decades the Pascanu et al. bound ‖∂L/∂h_T‖·(σ_max·γ)^(T−1−t) forces to be lost by t = 1:
    −(T−1)·log10(σ_max·γ) (< 0: it allows growth); None where the bound is none (`probe.bound_holds`)."""
    if not result["theory"][l]:
        return None
    rate = result["sigma_max"][l] * result["gamma"]
    return -(T - 1) * math.log10(rate) if rate > 0 else None


def _governs_text(cell: str, result: dict, l: int, theory: float | None) -> str:
    """What bounds or governs layer l's gradient, as the end of its line."""
    if theory is not None and abs(theory) < 0.05:
        return "; the bound (σ_max·γ)^(T−1) ≈ 1 forces no loss and allows no growth"
    if theory is not None:
        return (f"; the bound (σ_max·γ)^(T−1) says at least {fixed(theory, 1)} decades are lost" if theory >= 0
                else f"; the bound (σ_max·γ)^(T−1) allows growth by up to {fixed(-theory, 1)} decades (not forces it)")
    if cell_of(cell).bounded:
        return "; no σ_max bound for a lower layer: gradient enters it from the layer above at every step"
    path = (result.get("gate_path") or [[]] * (l + 1))[l]
    if not path:
        return "; no σ_max bound for a gated cell (the gates add paths it does not cover)"
    r = reach(path)
    gate, state = cell_of(cell).gate_path
    along = (f"the {'cell state' if state == 'c' else 'hidden state'}'s additive path alone (the product of {gate} "
             "gates)")
    if r is None or r.decades is None:
        return f"; no σ_max bound for a gated cell: along {along} no gradient arrives"
    lost = fixed(-r.decades, 1)
    if r.first > 0:
        lost += f" (back to t={r.first + 1}; before that 0: {r.zeros})"
    return f"; no σ_max bound for a gated cell: along {along} {lost} decades are lost"
