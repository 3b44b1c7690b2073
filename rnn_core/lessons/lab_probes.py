"""The Gradient Lab's probes at initialisation: many fresh networks of one cell in one pass, each kept while it
may be asked for again.

Holds `lab_batch` (the inputs the Lab feeds a fresh network), `lab_probes(cfg, cell, seeds, gains)` (the probe
of the network of `cell` drawn with each seed, at each gain, on its `lab_batch`), `lab_jacobians(cfg, seeds)`
(its Jacobian products, per seed), `what_matters` and `probe_key` (the settings that decide one such
network), `forget_probes`, `lab_networks(cfg, cell, seeds, gains)` (the fresh networks themselves with their
spectra, kept apart from the probes: a step of T or of the input scale draws the same weights) and
`check_lab_probe(cfg, cell)`: the memory budget asked before a probe is made.
Every Lab chart averages these over seeds (`lab.py`).

Why: a slider step of the Lab used to probe about twenty networks one at a time (the three seeds of every
cell for the overlay, fifteen gains for the phase diagram), each an unroll of T small steps whose cost is
their count, not their size. Here the networks a chart needs are unrolled side by side (`probe.probe_lines`:
one pass for the seeds of a cell, one for the gains of the phase diagram), giving each network exactly the
numbers `probe` gives it alone, and a probe is kept under the settings that decide it (`probe_key`): a change
of the forget bias reprobes the LSTM only, a gain under the default init (which ignores it) nothing, one
more seed that seed only, and a network is kept under the settings that draw it (`network_key`: not T, not the
input scale), with its spectra. Kept: the last `KEEP` probes (and Jacobian products) and the networks of at most
`NETWORK_FLOATS` weights, least recently used first out.
Memory: a visitor's sliders decide it (LSTM, H = 256, 4 layers, T = 500 took 537 MB in the server), so every
probe asks the budget's "step" row first with the probe's own estimate (`nn/step_memory.py`: PROBE_BYTES per
float of T · (H · L · (blocks + 2) + F), LAB_BATCH windows a network), refused in one sentence that says which
T, H or layers would fit; a pass stacks no more networks than that row holds. The Jacobian products bound
themselves (`probe.JACOBIAN_ELEMENTS`).
Leaves to others: the probe (`rnn_core.nn.probe`), the models (`models.py`), what is drawn (`lab.py`), the
budget (`data/budget.py`) and the probe's estimate (`nn/step_memory.py`).
"""

from __future__ import annotations

import threading
from collections import OrderedDict

import numpy as np

from rnn_core.config import FIELDS
from rnn_core.data.budget import LIMITS, ask
from rnn_core.interrupt import checkpoint
from rnn_core.nn.cells import cell_of
from rnn_core.nn.step_memory import PROBE_BYTES, window_floats
from rnn_core.threads import one_thread

LAB_BATCH = 8                    # sequences in the Lab's random probe batch
KEEP = 512                       # probes kept (one network each; ~T·L·4 floats)
STACK_FLOATS = 4_000_000         # at most N·B·T·H·L·blocks per pass: the autograd graph of a pass grows with it
NETWORK_FLOATS = 8_000_000       # weights of the networks kept (float32: 32 MB; H = 32: about 2,000 networks)


def lab_batch(cfg, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """The random batch a fresh network is probed on: x_t ~ N(0, input_scale²), targets ~ N(0, 1).

    X (B, T, 1), y (B, 1), float64; the same seed gives the same batch. `cfg` a `lab.LabConfig`.
    """
    rng = np.random.default_rng(10_000 + seed)
    X = rng.normal(0.0, cfg.input_scale, size=(LAB_BATCH, cfg.timesteps, 1))   # (B, T, 1)
    y = rng.normal(0.0, 1.0, size=(LAB_BATCH, 1))                              # (B, 1)
    return X, y


def probe_bytes(cfg, cell: str) -> float:
    """What probing one fresh network of `cell` on its `lab_batch` may hold, by the budget's estimate of a
    probe (`step_memory`): LAB_BATCH windows of PROBE_BYTES per float of T · (H · L · (blocks + 2) + F)."""
    return LAB_BATCH * PROBE_BYTES * window_floats(cfg.model_config(cell), cfg.timesteps)


def check_lab_probe(cfg, cell: str) -> None:
    """Ask the budget's "step" row for the probe of one network of `cell` at `cfg`'s sizes (what every Lab chart
    of it makes); BudgetError, one sentence naming the limit and the T, H or layers that fit, when it is over."""
    c = cfg.model_config(cell)
    layers = f", {c.num_layers} layers" if c.num_layers > 1 else ""
    ask("step", LAB_BATCH, probe_bytes(cfg, cell) / LAB_BATCH,
        f"sequences the Lab probes a fresh {cell_of(cell).label} on (T = {cfg.timesteps}, H = {c.hidden_size}"
        f"{layers})", fits=lambda _: _what_fits(cfg, cell))


# what a refusal offers instead: the largest of each size that fits with the others as they are
_SIZES = (("timesteps", "T ≤ {}"), ("hidden_size", "H ≤ {}"), ("num_layers", "{} layers"))


def _what_fits(cfg, cell: str) -> str:
    """"T ≤ 184, H ≤ 94 or 1 layer would fit": each size alone at its largest value the budget holds."""
    limit, said = LIMITS["step"].bytes, []
    for name, words in _SIZES:
        now, lo = getattr(cfg, name), FIELDS[f"lab.{name}"].lo
        most = next((v for v in range(now - 1, lo - 1, -1)
                     if probe_bytes(cfg.replace(**{name: v}), cell) <= limit), None)
        if most is not None:
            said.append(words.format(most).replace("1 layers", "1 layer"))
    if not said:
        return "use fewer timesteps, hidden units or layers"
    return (", ".join(said[:-1]) + " or " if len(said) > 1 else "") + said[-1] + " would fit"


def what_matters(cfg, cells: tuple[str, ...]):
    """`cfg` (a `lab.LabConfig`) with the settings that change no fresh network of `cells` set to their
    defaults: the gain under the default init (which ignores it), the forget bias where no cell has a
    forget gate. Two settings that give the same `what_matters` give the same networks, probes and charts."""
    default = type(cfg)()
    changes = {}
    if cfg.init == "default":
        changes["gain"] = default.gain
    if not any("forget" in cell_of(c).gates for c in cells):
        changes["forget_bias"] = default.forget_bias
    return cfg.replace(**changes) if changes else cfg


def probe_key(cfg, cell: str, seed: int, gain: float | None = None) -> tuple:
    """What decides the probe of one fresh network: the cell, its sizes, the init with the gain where the init
    uses it, the forget bias where the cell has a forget gate (`what_matters`), the input scale and the seed
    (which draws the weights and the batch). `cfg` a `lab.LabConfig`."""
    c = what_matters(cfg if gain is None else cfg.replace(gain=gain), (cell,))
    return (cell, c.timesteps, c.hidden_size, c.num_layers, c.init, float(c.gain), float(c.forget_bias),
            float(c.input_scale), int(seed))


def network_key(cfg, cell: str, seed: int, gain: float | None = None) -> tuple:
    """What draws one fresh network: `probe_key` less what it is probed on (T, the input scale)."""
    key = probe_key(cfg, cell, seed, gain)
    return (*key[:1], *key[2:7], key[-1])


_kept: OrderedDict[tuple, dict] = OrderedDict()
_networks: OrderedDict[tuple, tuple] = OrderedDict()     # network_key → (model, spectra(model), its weights)
_network_floats = [0]                                     # the weights of the networks kept
_lock = threading.Lock()
# Probes being computed: key → an event set when the thread computing it is done with it (kept, or given up:
# interrupted). Another thread that needs one waits for it rather than computing it twice (two sessions pressing
# the same step; a step whose probes the look-ahead, `lab_ahead.py`, is computing).
_in_flight: dict[tuple, threading.Event] = {}
_asked = [0]                 # bumped when a page's computation needs probes no thread is computing: it ends the
_local = threading.local()   # look-ahead's (whose thread has `_local.ahead` set), which would hold the cores


def foreground_asks() -> int:
    """How many times a computation outside the look-ahead has needed probes no thread was computing (the
    look-ahead ends its work when this changes)."""
    return _asked[0]


def mark_look_ahead() -> None:
    """Mark the calling thread as the look-ahead's: its needs never end its own work."""
    _local.ahead = True


def _claim(keys: list[tuple]) -> tuple[list[tuple], dict[tuple, dict]]:
    """(the keys this thread is to compute, marked in flight; the kept probes of the others). A key another
    thread is computing is waited for (and computed here if that thread gave it up); needing one that no thread
    computes ends the look-ahead's work first (`foreground_asks`). Release the first with `_release`."""
    while True:
        with _lock:
            found = {k: _kept[k] for k in keys if k in _kept}
            for k in found:
                _kept.move_to_end(k)
            missing = [k for k in dict.fromkeys(keys) if k not in found]
            busy = [_in_flight[k] for k in missing if k in _in_flight]
            if not getattr(_local, "ahead", False) and len(busy) < len(missing):
                _asked[0] += 1                     # probes no one computes: the look-ahead makes way
            if not busy:
                for k in missing:
                    _in_flight[k] = threading.Event()
                return missing, found
        busy[0].wait(0.05)
        checkpoint()                               # a closed tab ends the wait too


def _release(keys: list[tuple]) -> None:
    """These keys are no longer computed here (kept, or given up): wake whoever waits for them."""
    with _lock:
        for k in keys:
            event = _in_flight.pop(k, None)
            if event is not None:
                event.set()


def forget_probes() -> None:
    """Drop every kept probe and network."""
    with _lock:
        _kept.clear()
        _networks.clear()
        _network_floats[0] = 0


def lab_networks(cfg, cell: str, seeds, gains=None) -> list[tuple]:
    """(the model, `models.spectra` of it) of the fresh network of `cell` drawn with seeds[i] at gains[i] (None:
    the config's gain), as `build_model` draws it; kept while asked for again. Read-only: they are shared."""
    from rnn_core.nn.models import build_model, spectra

    gains = list(gains) if gains is not None else [None] * len(seeds)
    out = []
    for seed, gain in zip(seeds, gains):
        key = network_key(cfg, cell, seed, gain)
        with _lock:
            kept = _networks.get(key)
            if kept is not None:
                _networks.move_to_end(key)
        if kept is None:
            model = build_model(cfg.model_config(cell, gain), seed=seed)
            kept = (model, spectra(model), sum(p.numel() for p in model.parameters()))
            with _lock:
                if key not in _networks:
                    _networks[key] = kept
                    _network_floats[0] += kept[2]
                while _network_floats[0] > NETWORK_FLOATS and len(_networks) > 1:
                    _network_floats[0] -= _networks.popitem(last=False)[1][2]
        out.append(kept[:2])
    return out


def lab_probes(cfg, cell: str, seeds: list[int] | range, gains: list[float | None] | None = None) -> list[dict]:
    """The probe (`probe.probe_lines`: loss, grad_h, grad_c, gate_path, theory, sigma_max, spectral_radius,
    gamma) of the network of `cell` drawn with seeds[i] at gains[i] (None or left out: the config's gain), on
    `lab_batch(cfg, seeds[i])`; the ones not kept are computed together. Read-only: the dicts are shared."""
    from rnn_core.nn.probe import probe_lines

    check_lab_probe(cfg, cell)                                           # before anything is allocated
    gains = list(gains) if gains is not None else [None] * len(seeds)
    keys = [probe_key(cfg, cell, s, g) for s, g in zip(seeds, gains)]
    todo, found = _claim(keys)                                              # each missing network once
    wanted = {k: (s, g) for k, s, g in zip(keys, seeds, gains)}
    try:
        for part in _passes(cfg, cell, todo):
            with one_thread():
                networks = lab_networks(cfg, cell, [wanted[k][0] for k in part], [wanted[k][1] for k in part])
                batches = [lab_batch(cfg, wanted[k][0]) for k in part]
                X = np.stack([b[0] for b in batches])                       # (N, B, T, 1)
                y = np.stack([b[1] for b in batches])                       # (N, B, 1)
                probes = probe_lines([m for m, _ in networks], X, y, [s for _, s in networks])
            found.update(zip(part, probes))
            _keep(dict(zip(part, probes)))
            _release(part)
    finally:
        _release(todo)
    return [found[k] for k in keys]


def _passes(cfg, cell: str, keys: list[tuple]) -> list[list[tuple]]:
    """`keys` cut into passes of at most STACK_FLOATS floats of state each, and no more networks than the
    budget's "step" row holds (`check_lab_probe` has asked for one), at least one network a pass."""
    per_network = LAB_BATCH * cfg.timesteps * cfg.hidden_size * cfg.num_layers * cell_of(cell).blocks
    size = max(1, min(STACK_FLOATS // per_network, int(LIMITS["step"].bytes // probe_bytes(cfg, cell))))
    return [keys[i:i + size] for i in range(0, len(keys), size)]


def lab_jacobians(cfg, seeds: list[int] | range, layer: int = 0) -> list[dict]:
    """Per seed, of the network of `cfg.cell` drawn with it, along the first sample of its `lab_batch`:
    {"norms": `probe.jacobian_product_norms`, "gate_path": `probe.gate_path_norms` (a cell with a gate
    path, else []), "sigma_max": σ_max of the layer}, kept like the probes; the seeds not kept are computed
    together (`jacobian_stack.jacobian_stack`, each seed's numbers those it gets alone). Read-only."""
    from rnn_core.nn.jacobian_stack import jacobian_stack

    keys = {seed: ("jacobian", layer, *probe_key(cfg, cfg.cell, seed)) for seed in seeds}
    claimed, kept = _claim(list(keys.values()))
    found = {seed: kept[k] for seed, k in keys.items() if k in kept}
    todo = [seed for seed in dict.fromkeys(seeds) if seed not in found]
    try:
        if todo:
            with one_thread():
                networks = lab_networks(cfg, cfg.cell, todo)
                X = [lab_batch(cfg, seed)[0] for seed in todo]               # N × (B, T, 1)
                lines = jacobian_stack([m for m, _ in networks], X, layer=layer)
                new = {seed: {**line, "sigma_max": spec[layer]["sigma_max"]}
                       for seed, (_, spec), line in zip(todo, networks, lines)}
            found.update(new)
            _keep({keys[seed]: kept for seed, kept in new.items()})
    finally:
        _release(claimed)
    return [found[seed] for seed in seeds]


def _keep(found: dict) -> None:
    with _lock:
        _kept.update(found)
        while len(_kept) > KEEP:
            _kept.popitem(last=False)
