"""The one memory budget: what a visitor's request may make this process hold, asked before it is allocated.

Every path a visitor controls sizes what it is about to allocate from its inputs alone (a count and
the bytes each costs) and calls `ask(item, count, each, unit)` first: the windows of a run (forecast,
sequence and text, for the Playground, Compare, the Data page's preview, the CLI and a run zip whose
config rebuilds them), an uploaded CSV, an uploaded or pasted text, a sweep CSV, the members of a run
zip, a stateful run's streams, and what a run's training step and probe hold (`nn/step_memory.py`). A
request above its item's limit is refused with one sentence that names the limit and what would fit,
before anything was allocated:

    "999,400 windows need 2.4 GB of memory, above the 80 MB one run's windows may use; use at most
     33,333 windows (33,933 rows) at T = 600, or fewer timesteps or columns."

`LIMITS` is the one table. `each` is what one unit costs in the process's memory, measured as the
peak-RSS growth of the real path (tests/…/test_budget.py measures each item in a subprocess); the
limits keep a 2 GB replica (deploy/compose.yaml) alive with a few such requests at once.
Leaves to others: what a unit is and what it costs (the callers know their own shapes).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from rnn_core.data.errors import DataError
from rnn_core.readable import count as readable_count
from rnn_core.readable import megabytes

MB = 1_000_000
# The most one uploaded file may hold (a CSV, a sweep CSV, a run zip): the readers refuse more with a
# sentence, and `.streamlit/config.toml`'s server.maxUploadSize (in MiB) is this number, so Streamlit
# lets every file through that a reader then explains (tests/engine/test_reliability.py holds them equal).
UPLOAD_BYTES = 5 * MB


@dataclass(frozen=True)
class Limit:
    bytes: int          # the most one request may hold
    what: str           # who may use it, in the sentence: "one run's windows"


LIMITS: dict[str, Limit] = {
    # X and y of every split (text: character ids, one-hot only per batch inside the model)
    "windows": Limit(80 * MB, "one run's windows"),
    # the parsed cells of an uploaded CSV (strings, then floats) before any column is chosen
    "csv": Limit(150 * MB, "reading one CSV upload"),
    # a pasted or uploaded text: its characters, lines and vocabulary
    "text": Limit(100 * MB, "reading one text"),
    # the records of an uploaded sweep CSV (only the columns a sweep writes are kept)
    "sweep_csv": Limit(100 * MB, "reading one sweep file"),
    # the unpacked members of an uploaded run zip (its windows ask "windows" when they are rebuilt)
    "run_zip": Limit(160 * MB, "reading one run zip"),
    # one training step's batch and the probe's (activations kept for the backward pass: nn/step_memory.py)
    "step": Limit(500 * MB, "one training step or probe"),
}


class BudgetError(DataError):
    """A request above its memory limit; the message says which limit and what would fit."""


def ask(item: str, count: int, each: float, unit: str, *,
        fits: Callable[[int], str] | None = None, error: type[Exception] = BudgetError) -> None:
    """Refuse (`error`, one sentence) when `count` units of `each` bytes exceed `LIMITS[item]`.

    `fits(most)` words what would fit, given the most units that do (default "use at most {most} {unit}")."""
    limit = LIMITS[item]
    need = count * each
    if need <= limit.bytes:
        return
    most = int(limit.bytes // each) if each > 0 else count
    advice = fits(most) if fits is not None else f"use at most {readable_count(most)} {unit}"
    raise error(f"{readable_count(count)} {unit} need {megabytes(need)} of memory, above the {megabytes(limit.bytes)} "
                f"{limit.what} may use; {advice}.")
