"""`python -m rnn_core warm --presets all` (or a list): compute every named Playground preset once into the
run store, so that a lecture's Train replays it instead of computing it (`serve/store.py`).

Each preset is built as the Playground builds it (its windows from `data.windows.prepare`, the network's
sizes from them), keyed as the app keys it (`store.run_key`, with the torch threads a server's run uses:
`admission.run_threads()`, or `--threads`, which sets RNN_PLAYGROUND_TORCH_THREADS so the servers must
use the same) and trained once, in this process, through the same `shared.Computation` a server uses;
a preset already in the store is left as it is. One line per preset; exit status 2 for an unknown preset
or a store that is switched off, 1 when a preset could not be stored.
Run it where the servers' store lives: in the image build (the store then ships in the image and seeds
a fresh volume) or in an init container (docs/classroom.md, deploy/).
"""

from __future__ import annotations

import argparse
import os
import time

from rnn_core.cli.common import CliError, say
from rnn_core.config import replace, validate_run
from rnn_core.lessons.presets import PRESETS, preset_configs, preset_note
from rnn_core.readable import count, seconds


def warm_parser(p: argparse.ArgumentParser) -> None:
    p.add_argument("--presets", default="all", metavar="NAMES",
                   help="'all' or a comma-separated list of Playground presets (" + ", ".join(PRESETS) + ")")
    p.add_argument("--store", metavar="DIR", help="the run store's folder (default: $RNN_PLAYGROUND_RUN_STORE, "
                   "else the cache folder's runs/, as the app)")
    p.add_argument("--threads", type=int, metavar="N", help="torch threads per run: must be what the servers "
                   "use (default: theirs, RNN_PLAYGROUND_TORCH_THREADS or CPUs ÷ RNN_PLAYGROUND_MAX_RUNS, "
                   "at most 4)")


def _presets(text: str) -> list[str]:
    names = list(PRESETS) if text.strip() == "all" else [n.strip() for n in text.split(",") if n.strip()]
    unknown = [n for n in names if n not in PRESETS]
    if unknown or not names:
        raise CliError(f"Unknown preset {', '.join(map(repr, unknown)) or '(none given)'}: choose 'all' or "
                       f"some of {', '.join(PRESETS)}.")
    return names


def cmd_warm(args) -> int:
    names = _presets(args.presets)
    if args.store:
        os.environ["RNN_PLAYGROUND_RUN_STORE"] = args.store
    if args.threads is not None:
        if args.threads < 1:
            raise CliError(f"--threads must be at least 1, got {args.threads}.")
        os.environ["RNN_PLAYGROUND_TORCH_THREADS"] = str(args.threads)

    from rnn_core.data.windows import prepare
    from rnn_core.serve.admission import run_threads, shared_admission
    from rnn_core.serve.live import LiveRun
    from rnn_core.serve.shared import Computation
    from rnn_core.serve.store import default_store, run_key, storable

    store = default_store()
    if store is None:
        raise CliError("The run store is switched off (RNN_PLAYGROUND_RUN_STORE=off): name a folder with --store.")
    threads = run_threads(shared_admission().slots)
    say(f"run store {store.root} ({count(store.max_bytes)} bytes at most), {threads} torch thread(s) per run")
    failed = 0
    for name in names:
        if note := preset_note(name):
            say(f"{name}: note: {note}")
        model_cfg, data_cfg, train_cfg = preset_configs(name)
        windows = prepare(data_cfg)
        model_cfg = replace(model_cfg, input_size=windows.n_features, output_size=int(windows.y_train.shape[1]))
        validate_run(model_cfg, data_cfg, train_cfg)
        key = run_key(model_cfg, train_cfg, windows, threads)
        if store.get(key) is not None:
            say(f"{name}: already in the store ({key[:12]}…)")
            continue
        begun = time.monotonic()
        engine = LiveRun(model_cfg, train_cfg, windows, idle_timeout=None)     # here, on this process's threads
        computation = Computation(key, model_cfg, data_cfg, train_cfg, windows, store, engine=engine)
        engine.start()
        engine.join()
        computation.stored.wait()
        end = computation.records[-1]
        why = storable(computation.records)
        if why is None and store.get(key) is not None:
            say(f"{name}: stored ({count(len(computation.records))} records, {end['status']} after "
                f"{count(end['step'])} steps, {seconds(time.monotonic() - begun)})")
        else:
            failed += 1
            say(f"{name}: not stored: {why or 'the store refused it (see the log line above)'}.")
    say(f"the store holds {len(store.entries())} run(s), {count(store.size())} bytes")
    return 1 if failed else 0
