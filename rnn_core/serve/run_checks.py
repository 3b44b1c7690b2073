"""What a saved run's records and metrics must hold for the app to draw them: every field of every record
and of the evaluation typed and sized as the trainer and `measure.evaluate` write it, checked before
anything is drawn, with one sentence for the first field that is not.

    record_problem(record) -> str | None       a step / epoch / end record (its probe, spectra, sample …)
    metrics_problem(metrics) -> str | None     metrics.json: the evaluation's task, splits and series
    data_problem(model_cfg, windows) -> str | None   the network's sizes against the data its config rebuilds

A field the app does not read may be there (a newer version's); a field it reads must have the type and
length it expects. `run_format.py` turns a problem into a `RunFileError`; the Playground's upload shows
it. Leaves to others: the member caps and the config's ranges (`run_format.py`, `config.FIELDS`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from rnn_core.config import LIMITS, quoted
from rnn_core.readable import count

# ----------------------------------------------------------------------------- a small schema language
NUM, INT, STR, BOOL = "a number", "a whole number", "text", "true or false"


@dataclass(frozen=True)
class ListOf:
    item: Any


@dataclass(frozen=True)
class MapOf:                  # an object with any names, each value of one shape
    item: Any


@dataclass(frozen=True)
class Fields:                 # an object with these fields (`required` must be there)
    required: dict
    optional: dict


@dataclass(frozen=True)
class Maybe:                  # null allowed
    shape: Any


def _problem(value: Any, shape: Any, where: str) -> str | None:
    """Where `value` first differs from `shape` ("probe.grad_h[0][3] is not a number"), or None."""
    if shape == NUM:
        ok = value is None or (isinstance(value, int | float) and not isinstance(value, bool))
        return None if ok else f"{where} is not a number"
    if shape == INT:
        return None if isinstance(value, int) and not isinstance(value, bool) else f"{where} is not a whole number"
    if shape == STR:
        return None if isinstance(value, str) else f"{where} is not text"
    if shape == BOOL:
        return None if isinstance(value, bool) else f"{where} is not true or false"
    if isinstance(shape, Maybe):
        return None if value is None else _problem(value, shape.shape, where)
    if isinstance(shape, tuple):                                     # one of these values
        return None if value in shape else f"{where} is not one of {', '.join(map(str, shape))}"
    if isinstance(shape, ListOf):
        if not isinstance(value, list):
            return f"{where} is not a list"
        return next((p for i, v in enumerate(value) if (p := _problem(v, shape.item, f"{where}[{i}]"))), None)
    if isinstance(shape, MapOf):
        if not isinstance(value, dict):
            return f"{where} is not an object"
        return next((p for k, v in value.items() if (p := _problem(v, shape.item, f"{where}.{k}"))), None)
    if isinstance(shape, Fields):
        if not isinstance(value, dict):
            return f"{where} is not an object"
        missing = next((k for k in shape.required if k not in value), None)
        if missing is not None:
            return f"{where} has no {missing}"
        for k, sub in (*shape.required.items(), *shape.optional.items()):
            if k in value and (p := _problem(value[k], sub, f"{where}.{k}")):
                return p
        return None
    raise TypeError(f"unknown shape {shape!r}")


# ----------------------------------------------------------------------------- records
PROFILE = ListOf(ListOf(NUM))                       # one list of T numbers per layer
PROBE = Fields({"timesteps": INT, "grad_h": PROFILE},
               {"loss": NUM, "grad_c": Maybe(PROFILE), "gates": ListOf(MapOf(ListOf(NUM))), "gate_path": PROFILE,
                "param_grad_norms": MapOf(NUM), "sigma_max": ListOf(NUM), "spectral_radius": ListOf(NUM),
                "gamma": NUM, "theory": PROFILE, "cut": INT})
RECORDS = {
    "step": Fields({"epoch": INT, "step": INT, "loss": NUM, "grad_norm": NUM}, {"clipped": BOOL, "seconds": NUM}),
    "epoch": Fields({"epoch": INT, "step": INT, "train_loss": NUM},
                    {"val_loss": NUM, "probe": Maybe(PROBE), "seconds": NUM, "param_grad_norms": MapOf(NUM),
                     "spectra": ListOf(Fields({}, {"sigma_max": NUM, "spectral_radius": NUM,
                                                   "singular_values": ListOf(NUM)})),
                     "text": Fields({}, {"prompt": STR, "sample": STR, "temperature": NUM})}),
    "end": Fields({"epoch": INT, "step": INT, "status": ("completed", "stopped", "diverged")},
                  {"reason": STR, "seconds": NUM}),
}


def record_problem(record: Any) -> str | None:
    """Why the app could not draw this record ("probe.grad_h[0] has 7 values for 12 timesteps"), or None."""
    if not isinstance(record, dict) or not isinstance(record.get("kind"), str) or record["kind"] not in RECORDS:
        return f"a record's kind is not one of {', '.join(RECORDS)}"
    problem = _problem(record, RECORDS[record["kind"]], record["kind"])
    if problem is None and isinstance(record.get("probe"), dict):
        problem = _probe_sizes(record["probe"])
    return problem


def _probe_sizes(probe: dict) -> str | None:
    """Every per-timestep list of a probe holds T values (a reference line may be empty: [])."""
    T, most = probe["timesteps"], int(LIMITS["timesteps"][1])
    if not 1 <= T <= most:
        return f"probe.timesteps is {T}, outside 1–{most}"
    if not 0 <= probe.get("cut", 0) < T:
        return f"probe.cut is {probe['cut']}, outside 0–{T - 1}"
    layers = len(probe["grad_h"])
    if not 1 <= layers <= int(LIMITS["num_layers"][1]):
        return f"probe.grad_h has {layers} layers"
    lists = [("grad_h", probe["grad_h"], False), ("grad_c", probe.get("grad_c") or [], False),
             ("theory", probe.get("theory") or [], True), ("gate_path", probe.get("gate_path") or [], True)]
    gates = probe.get("gates") or []
    lists += [(f"gates[{i}].{name}", [v], False) for i, g in enumerate(gates) for name, v in g.items()]
    for name, per_layer, may_be_empty in lists:
        for values in per_layer:
            if len(values) != T and not (may_be_empty and not values):
                return f"probe.{name} has {len(values)} values for {T} timesteps"
    return None


# ----------------------------------------------------------------------------- metrics
SERIES = ("y_true", "y_pred", "persistence", "moving_average", "constant")
SPLITS = ("train", "val", "test")
METRIC_VALUES = MapOf(NUM)                          # {"rmse": 0.1, "mape": None, …}


def metrics_problem(metrics: Any) -> str | None:
    """Why the app could not draw this evaluation (a split's y_pred shorter than its y_true …), or None.
    An evaluation without a task is not drawn at all and passes; text runs' metrics are numbers only."""
    if not isinstance(metrics, dict):
        return "it is not an object"
    task = metrics.get("task")
    if task is None:
        return None
    if task not in ("forecast", "sequence", "text"):
        return f"its task {quoted(task)} is not forecast, sequence or text"
    if "target" in metrics and not isinstance(metrics["target"], str):
        return "its target is not text"
    for split in SPLITS:
        if split in metrics and (problem := _split_problem(metrics[split], split, task)):
            return problem
    return None


def _split_problem(d: Any, split: str, task: str) -> str | None:
    if task == "text":
        return _problem(d, Fields({}, {"metrics": MapOf(METRIC_VALUES)}), split)
    if not isinstance(d, dict):
        return f"its {split} part is not an object"
    index = d.get("index")
    if not isinstance(index, list) or not (all(isinstance(i, str) for i in index)
                                           or all(isinstance(i, int) and not isinstance(i, bool) for i in index)):
        return f"{split}.index is not a list of dates or of step numbers"
    if (problem := _problem(d.get("metrics", {}), MapOf(METRIC_VALUES), f"{split}.metrics")):
        return problem
    width = None
    for name in SERIES:
        values = d.get(name)
        if values is None and name in ("y_true", "y_pred"):
            return f"{split} has no {name}"
        if values is None:
            continue
        if not isinstance(values, list) or len(values) != len(index):
            n = len(values) if isinstance(values, list) else 0
            return f"{split}.{name} has {count(n)} values for {count(len(index))} targets"
        w = _width(values)
        if w is None or (width is not None and w != width):
            return f"{split}.{name} is not a column of numbers as wide as y_true"
        width = w
    return None


def _width(values: list) -> int | None:
    """0 for a list of numbers, k for a list of lists of k numbers each (k ≥ 1), None for anything else."""
    if all(v is None or (isinstance(v, int | float) and not isinstance(v, bool)) for v in values):
        return 0
    if not all(isinstance(v, list) for v in values):
        return None
    widths = {len(v) for v in values}
    ok = len(widths) == 1 and widths != {0} and all(_problem(v, ListOf(NUM), "") is None for v in values)
    return widths.pop() if ok else None


# ----------------------------------------------------------------------------- weights against the data
def data_problem(model_cfg: Any, windows: Any) -> str | None:
    """Why this network cannot read the data its config rebuilds (its input or output size differs)."""
    F, O = windows.n_features, int(windows.y_train.shape[1])
    if (model_cfg.input_size, model_cfg.output_size) == (F, O):
        return None
    return (f"its network reads {model_cfg.input_size} input feature(s) and predicts {model_cfg.output_size}, "
            f"but the data its config names ({F} feature(s), {O} output(s)) does not fit it")
