"""`python -m rnn_core datasets`: the dataset registry, grouped, one line each with its parameters."""

from __future__ import annotations

from rnn_core.cli.common import say
from rnn_core.data.registry import DATASETS
from rnn_core.readable import readable


def cmd_datasets() -> int:
    width = max(len(name) for name in DATASETS)
    group = None
    for name, ds in DATASETS.items():
        if ds.group != group:
            group = ds.group
            say(f"\n{group}")
        say(f"  {name:<{width}}  {ds.title} [{ds.task}] — {ds.description}")
        details = [f"features {', '.join(ds.features)}" if ds.features else "",
                   f"target {ds.target}" if ds.target else "",
                   "params " + ", ".join(f"{p.name}={readable(p.default)}" if isinstance(p.default, float)
                                         else f"{p.name}={p.default}" for p in ds.params) if ds.params else ""]
        details = [d for d in details if d]
        if details:
            say(f"  {'':<{width}}  {'; '.join(details)}")
    return 0
