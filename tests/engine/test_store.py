"""The run store and replays (`rnn_core.serve.store`, `replay`, `shared`): a run computed once is replayed
bitwise (a stateful one too, evaluated as one stream as the page evaluates it); two Trains of the same
run at once compute it once; the store keeps within its bound (least recently used first); a corrupt or
truncated entry is logged, removed and computed again; two writers of one key leave one whole entry;
Pause / Step / Stop act on a replay as on a live run, its model exact at the step it shows. Runs train on
threads here (RNN_PLAYGROUND_WORKERS=0); tests/engine/test_workers.py holds worker processes to the same
records. No duration is asserted.
"""
from __future__ import annotations

import hashlib
import json
import logging
import math
import threading
from dataclasses import replace

import pytest
import torch

from rnn_core.config import DataConfig, TrainConfig
from rnn_core.data.windows import prepare
from rnn_core.measure.evaluate import evaluate
from rnn_core.nn.model_config import ModelConfig
from rnn_core.nn.stateful import streams_read
from rnn_core.nn.train import run_to_end
from rnn_core.serve.live import LiveRun
from rnn_core.serve.replay import ReplayRun, StoredSource
from rnn_core.serve.shared import STORED_PHRASE, start_run
from rnn_core.serve.store import RunStore, StoredRun, run_key
from rnn_core.serve.worker_pool import WORKERS_ENV
from tests.engine.test_live import wait_for

WAIT = 60.0
DATA = DataConfig(dataset="sine", timesteps=10, params={"length": 300})
TRAIN = TrainConfig(epochs=3, batch_size=16)
STATEFUL = {"stateful": True, "stateful_streams": 2, "bptt_truncate": 5, "stateful_step": 5}


@pytest.fixture(autouse=True)
def on_threads(monkeypatch):
    monkeypatch.setenv(WORKERS_ENV, "0")


@pytest.fixture(scope="module")
def windows():
    return prepare(DATA)


def model_cfg(windows, **kw) -> ModelConfig:
    return ModelConfig(hidden_size=4, input_size=windows.n_features, output_size=windows.y_train.shape[1], **kw)


def records_of(run: LiveRun) -> list[dict]:
    """Every record a run showed, in order (its history keeps all of them at this length)."""
    snap = run.snapshot(max_points=10**9)
    body = sorted([*snap.steps, *snap.epochs], key=lambda r: (r["step"], r["kind"] == "epoch", r["epoch"]))
    return body + ([snap.end] if snap.end else [])


def finish(run: ReplayRun) -> ReplayRun:
    run.start()
    assert run.join(WAIT), run.status
    return run


def computed_and_stored(store, windows, **train) -> ReplayRun:
    """A run trained once for everyone (a computation followed by one replay), then stored."""
    run = finish(start_run(model_cfg(windows), DATA, replace(TRAIN, **train), windows, store=store,
                           idle_timeout=None))
    assert run.source.stored.wait(WAIT)
    return run


def weights(model) -> dict:
    return {k: v.clone() for k, v in model.state_dict().items()}


def same_weights(a: dict, b: dict) -> bool:
    return a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)


def trained_to(windows, step: int) -> dict:
    """The weights after exactly `step` optimiser steps of a live run of the same settings."""
    run = LiveRun(model_cfg(windows), TRAIN, windows, idle_timeout=None)
    run.start(paused=True)
    run.step(step)
    assert wait_for(lambda: run.parked and run.snapshot().step == step, WAIT)
    out = weights(run.model)
    run.stop()
    return out


def test_a_replay_is_bitwise_the_run_it_replays(tmp_path, windows):
    store = RunStore(tmp_path)
    computed = computed_and_stored(store, windows)
    _, trained = run_to_end(model_cfg(windows), TRAIN, windows)
    no_seconds = [{k: v for k, v in r.items() if k != "seconds"} for r in trained]
    assert [{k: v for k, v in r.items() if k != "seconds"} for r in records_of(computed)] == no_seconds
    replay = start_run(model_cfg(windows), DATA, TRAIN, windows, store=store, idle_timeout=None)
    assert isinstance(replay.source.stored, StoredRun) and replay.phrase == STORED_PHRASE
    replay.set_speed(math.inf)
    finish(replay)
    assert records_of(replay) == records_of(computed) == computed.source.records       # seconds too
    assert replay.snapshot().replay == STORED_PHRASE                                    # what the page says
    assert same_weights(weights(replay.model), weights(computed.model))


def test_a_replay_starts_at_its_first_record_not_after_the_computations_start_up(tmp_path, windows):
    """A computation's first record comes after its start-up (a worker process starting: seconds); a replay
    at the computed pace shows it at once, and the rest at the pace they followed it."""
    store = RunStore(tmp_path)
    computed = computed_and_stored(store, windows)
    stored = store.get(computed.source.key)
    late = replace(stored, times=[t + 1000.0 for t in stored.times])     # a start-up of 1,000 s
    replay = ReplayRun(model_cfg(windows), TRAIN, windows, StoredSource(late), idle_timeout=None)
    finish(replay)                                                       # at speed 1, within WAIT
    assert records_of(replay) == records_of(computed)


def test_a_stateful_replay_is_bitwise_its_run_and_evaluates_as_it(tmp_path, windows):
    stateful = replace(TRAIN, **STATEFUL)
    store = RunStore(tmp_path)
    computed = computed_and_stored(store, windows, **STATEFUL)
    model, trained = run_to_end(model_cfg(windows), stateful, windows)
    assert [{k: v for k, v in r.items() if k != "seconds"} for r in records_of(computed)] == \
        [{k: v for k, v in r.items() if k != "seconds"} for r in trained]
    replay = start_run(model_cfg(windows), DATA, stateful, windows, store=store, idle_timeout=None)
    assert replay.phrase == STORED_PHRASE
    replay.set_speed(math.inf)
    finish(replay)
    assert same_weights(weights(replay.model), weights(model))
    streams = streams_read(stateful)
    shown = evaluate(replay.model, windows, stateful_streams=streams)     # as the page evaluates a replay
    assert shown["test"] == evaluate(model, windows, stateful_streams=streams)["test"]
    assert shown["test"] != evaluate(model, windows)["test"]             # read as one stream, not as windows


def test_two_trains_at_once_compute_once(tmp_path, windows):
    store = RunStore(tmp_path)
    first = start_run(model_cfg(windows), DATA, TRAIN, windows, store=store, idle_timeout=None)
    second = start_run(model_cfg(windows), DATA, TRAIN, windows, store=store, idle_timeout=None)
    assert second.source is first.source                       # one computation, followed twice
    first.start()
    second.start()
    assert first.join(WAIT) and second.join(WAIT)
    shown = records_of(second)
    assert shown == records_of(first)
    computed = first.source.records
    assert all(a is b for a, b in zip(shown, computed, strict=True))    # the very records, computed once
    assert first.source.stored.wait(WAIT) and len(store.entries()) == 1


def test_the_store_keeps_within_its_bound_least_recently_used_first(tmp_path, windows):
    store = RunStore(tmp_path)
    runs = [computed_and_stored(store, windows, seed=seed) for seed in range(3)]
    keys = [r.source.key for r in runs]
    sizes = dict((k, size) for k, size, _ in store.entries())
    assert set(sizes) == set(keys)
    bounded = RunStore(tmp_path, max_bytes=sizes[keys[0]] + sizes[keys[1]] + sizes[keys[2]] // 2)
    assert bounded.get(keys[0]) is not None                    # used now: the last to go
    bounded.make_room()
    left = [k for k, _, _ in bounded.entries()]
    assert keys[0] in left and keys[1] not in left and len(left) == 2
    assert bounded.size() <= bounded.max_bytes


@pytest.mark.parametrize("damage", ["truncate records", "change weights", "config out of range"])
def test_a_corrupt_entry_is_logged_removed_and_computed_again(tmp_path, windows, caplog, damage):
    store = RunStore(tmp_path)
    key = computed_and_stored(store, windows).source.key
    folder = store.path(key)
    if damage == "truncate records":
        data = (folder / "records.json").read_bytes()
        (folder / "records.json").write_bytes(data[: len(data) // 2])
    else:   # the checksums rewritten too: only the checks every uploaded run passes can refuse it
        name = "weights.safetensors" if damage == "change weights" else "config.json"
        if damage == "change weights":
            data = bytearray((folder / name).read_bytes())
            header = int.from_bytes(data[:8], "little")
            data[8:8 + header] = data[8:8 + header].replace(b'"shape":[4,', b'"shape":[5,', 1)
        else:
            config = json.loads((folder / name).read_text())
            config["model"]["hidden_size"] = 10**6
            data = json.dumps(config).encode()
        (folder / name).write_bytes(bytes(data))
        entry = json.loads((folder / "entry.json").read_text())
        entry["files"][name] = {"bytes": len(data), "sha256": hashlib.sha256(data).hexdigest()}
        (folder / "entry.json").write_text(json.dumps(entry))
    fresh = RunStore(tmp_path)                                 # no copy in memory: it reads the folder
    with caplog.at_level(logging.WARNING, logger="rnn_core.serve.store"):
        assert fresh.get(key) is None
    assert any("unreadable" in r.getMessage() and key[:12] in r.getMessage() for r in caplog.records)
    assert not folder.exists()
    again = finish(start_run(model_cfg(windows), DATA, TRAIN, windows, store=fresh, idle_timeout=None))
    assert again.phrase is None and again.snapshot().status == "completed"       # computed, not replayed
    assert again.source.stored.wait(WAIT) and fresh.get(key) is not None


def test_two_writers_of_one_key_leave_one_whole_entry(tmp_path, windows):
    stored = RunStore(tmp_path / "a")
    run = computed_and_stored(stored, windows)
    entry = stored.get(run.source.key)
    writers, results = [RunStore(tmp_path / "b") for _ in range(4)], []
    threads = [threading.Thread(target=lambda s=s: results.append(s.put(entry))) for s in writers]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert results.count(True) == 1
    assert [p.name for p in (tmp_path / "b").iterdir()] == [entry.key]     # no half-written folder left
    assert RunStore(tmp_path / "b").get(entry.key).records == entry.records


def test_a_key_changes_with_anything_that_decides_the_numbers(windows):
    base = run_key(model_cfg(windows), TRAIN, windows, threads=1)
    # the same numbers: a float setting written as an int, the dataset's defaults written out, new windows
    same_data = prepare(replace(DATA, params={**DATA.params, "noise": 0.0, "seed": 0}))
    assert run_key(model_cfg(windows, gain=1), TRAIN, same_data, threads=1) == base
    other_windows = prepare(replace(DATA, params={"length": 301}))
    assert len({base, run_key(model_cfg(windows, cell="gru"), TRAIN, windows, 1),
                run_key(model_cfg(windows), replace(TRAIN, seed=1), windows, 1),
                run_key(model_cfg(windows), TRAIN, windows, threads=2),
                run_key(model_cfg(windows), TRAIN, other_windows, 1)}) == 5
    # a stateful run: each of its settings decides its numbers
    stateful = replace(TRAIN, **STATEFUL)
    variants = [stateful, replace(stateful, stateful_streams=3), replace(stateful, bptt_truncate=4),
                replace(stateful, stateful_step=4), replace(stateful, state_reset="never"),
                replace(stateful, state_reset="steps", state_reset_every=7),
                replace(stateful, state_reset="steps", state_reset_every=8)]
    keys = {run_key(model_cfg(windows), t, windows, 1) for t in variants}
    assert len(keys) == len(variants) and base not in keys


def test_pause_step_and_stop_act_on_a_replay_as_on_a_live_run(tmp_path, windows):
    store = RunStore(tmp_path)
    computed_and_stored(store, windows)
    replay = start_run(model_cfg(windows), DATA, TRAIN, windows, store=store, idle_timeout=None)
    replay.set_speed(math.inf)
    replay.start(paused=True)
    replay.step(7)                                              # mid-epoch: no checkpoint there
    assert wait_for(lambda: replay.snapshot().step == 7, WAIT)
    assert wait_for(replay.model_ready, WAIT)                           # computed again, exactly
    assert same_weights(weights(replay.model), trained_to(windows, 7))
    assert replay.step() and wait_for(lambda: replay.snapshot().step == 8, WAIT)
    assert wait_for(replay.model_ready, WAIT)
    assert same_weights(weights(replay.model), trained_to(windows, 8))
    replay.stop()
    assert replay.join(WAIT)
    end = replay.snapshot().end
    assert end["status"] == "stopped" and end["step"] == 8 and "Stopped by the user" in end["reason"]


def test_a_lone_replay_pauses_its_computation_with_it(tmp_path, windows):
    run = start_run(model_cfg(windows), DATA, replace(TRAIN, epochs=40), windows, store=RunStore(tmp_path),
                    idle_timeout=None)
    run.start()
    assert wait_for(lambda: run.snapshot().step >= 5, WAIT)
    run.pause()
    engine = run.source.engine
    assert wait_for(lambda: engine.parked and run.source.parked_at(run.snapshot().step), WAIT)
    assert wait_for(lambda: run.parked, WAIT)        # the replay waits, every record in (the page's Pause waits for it)
    step = run.snapshot().step
    assert engine.snapshot().step == step                       # nothing computed that the page does not show
    assert run.model_ready() and same_weights(weights(run.model), weights(engine.model))
    run.stop()
    assert run.join(WAIT)
    assert wait_for(lambda: engine.status == "stopped", WAIT)          # nobody follows it: it stops too
