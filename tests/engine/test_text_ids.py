"""Text windows hold character ids, and every number is bitwise what materialised one-hot windows give:
the records of training (losses, gradient norms, probes, samples), the evaluation, the connectivity
(∂log p/∂x_t needs a one-hot x: it differentiates one), and a run in a worker process. A stateful run's
streams read ids too (the network's outputs bitwise those of one-hot inputs), and its text views read a
long held-out text in chunks, with the numbers of one call over all of it."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
import torch

from rnn_core.config import DataConfig, TrainConfig
from rnn_core.data.streams import streams_of
from rnn_core.data.windows import prepare
from rnn_core.measure.text_eval import evaluate_text, next_char_table, text_connectivity
from rnn_core.nn.inputs import as_input
from rnn_core.nn.model_config import ModelConfig
from rnn_core.nn.models import build_model
from rnn_core.nn.train import run_to_end
from rnn_core.serve.worker_pool import WorkerPool
from rnn_core.serve.workers import WorkerRun
from tests.engine.test_workers import WAIT, without_seconds

BRACKETS = DataConfig(dataset="brackets", timesteps=16,
                      params={"span": 6, "length": 6000, "windows": 600, "temperature": 0.5})


def one_hot(w):
    """The same windows with X materialised one-hot (N, T, V) float32, as text windows used to be."""
    eye = np.eye(w.n_features, dtype=np.float32)
    return dataclasses.replace(w, X_train=eye[w.X_train], X_val=eye[w.X_val], X_test=eye[w.X_test])


def test_text_windows_are_ids_the_network_reads_one_hot():
    w = prepare(BRACKETS)
    assert w.X_train.dtype == np.uint8 and w.X_train.ndim == 2 and w.n_features == len(w.text.vocab.chars)
    ids = torch.as_tensor(w.X_train[:5])
    x = as_input(ids, w.n_features, torch.float32)                       # (5, T, V)
    assert torch.equal(x, torch.as_tensor(one_hot(w).X_train[:5]))


@pytest.mark.parametrize("cell", ["rnn", "lstm", "gru", "jordan"])
def test_a_text_run_is_bitwise_the_one_hot_run(cell):
    w = prepare(BRACKETS)
    model_cfg = ModelConfig(cell=cell, hidden_size=8, input_size=w.n_features, output_size=w.n_features)
    train_cfg = TrainConfig(epochs=2, batch_size=32, probe_every=1, bptt_truncate=6 if cell == "gru" else 0)
    model_a, a = run_to_end(model_cfg, train_cfg, w)
    model_b, b = run_to_end(model_cfg, train_cfg, one_hot(w))
    assert without_seconds(a) == without_seconds(b)          # steps, epochs, probes and samples
    epochs = [r for r in a if r["kind"] == "epoch"]
    assert a[-1]["status"] == "completed" and epochs[-1]["probe"] is not None and "text" in epochs[-1]
    assert evaluate_text(model_a, w) == evaluate_text(model_b, one_hot(w))
    position = len(w.text.train_text) // 2
    assert text_connectivity(model_a, w.text, position) == text_connectivity(model_b, w.text, position)


def test_a_text_run_in_a_worker_gives_the_in_process_records():
    w = prepare(BRACKETS)
    model_cfg = ModelConfig(cell="lstm", hidden_size=8, input_size=w.n_features, output_size=w.n_features)
    train_cfg = TrainConfig(epochs=2, batch_size=32, probe_every=1)
    _, here = run_to_end(model_cfg, train_cfg, one_hot(w))
    pool = WorkerPool(spares=1)
    try:
        run = WorkerRun(model_cfg, train_cfg, w, idle_timeout=None, pool=pool)   # the ids cross the pipe
        run.start()
        assert run.join(WAIT)
        snap = run.snapshot()
    finally:
        pool.close()
    there = [*snap.steps, *snap.epochs]
    there.sort(key=lambda r: (r["step"], r["kind"] == "epoch"))
    assert snap.status == "completed"
    assert without_seconds(there) == without_seconds([r for r in here if r["kind"] != "end"])


# ----------------------------------------------------------------------------- stateful runs on text
def tensors(state) -> tuple:
    """A carried state's tensors: (h, c), or (h,)."""
    return state if isinstance(state, tuple) else (state,)


@pytest.mark.parametrize("cell", ["lstm", "indrnn", "jordan"])
def test_a_stateful_text_run_reads_character_ids_as_one_hot(cell):
    w = prepare(BRACKETS)
    V = w.n_features
    model = build_model(ModelConfig(cell=cell, hidden_size=8, input_size=V, output_size=V), seed=0)
    ids = torch.as_tensor(w.text.vocab.encode(w.text.heldout[:300]), dtype=torch.long)[None]   # (1, n)
    with torch.no_grad():
        (z_ids, state_ids), (z_hot, state_hot) = model.forward_steps(ids), model.forward_steps(torch.eye(V)[ids])
    assert torch.equal(z_ids, z_hot) and z_ids.shape == (1, 300, V)
    assert all(torch.equal(a, b) for a, b in zip(tensors(state_ids), tensors(state_hot), strict=True))
    x, y, _ = streams_of(w, 4).train.read(np.arange(12).reshape(4, 3))   # what an update reads
    assert x.shape == (4, 3) and x.dtype.kind == "i" and y.shape == (4, 3, V)
    train_cfg = TrainConfig(epochs=1, stateful=True, stateful_streams=4, bptt_truncate=8, probe_every=1)
    model, records = run_to_end(ModelConfig(cell=cell, hidden_size=8, input_size=V, output_size=V), train_cfg, w)
    epochs = [r for r in records if r["kind"] == "epoch"]
    assert records[-1]["status"] == "completed" and "carry" in epochs[-1]["probe"] and "text" in epochs[-1]
    ev = evaluate_text(model, w, streams_of(w, 4))
    assert ev["test"]["metrics"]["model"]["n"] == len(w.text.test_text) and ev["test"]["metrics"]["model"]["bits"] > 0


def test_a_stateful_text_view_reads_a_long_held_out_text_in_chunks_with_the_numbers_of_one_call():
    w = prepare(dataclasses.replace(BRACKETS, params={**BRACKETS.params, "length": 40_000}))
    info, V = w.text, w.n_features
    model = build_model(ModelConfig(cell="lstm", hidden_size=8, input_size=V, output_size=V), seed=0)
    start = len(info.heldout) - 20
    assert start > 2 * 2048                                            # three chunks of the stream
    rows = next_char_table(model, info, start, 10, k=2, stateful=True)
    ids = torch.as_tensor(info.vocab.encode(info.heldout[:start + 10]), dtype=torch.long)
    with torch.no_grad():
        z = model.forward_steps(torch.eye(V)[ids[:-1]][None])[0][0].double()   # one call over all of it
    p = torch.softmax(z[start - 1:], dim=1)                                     # (10, V)
    assert [r["actual"] for r in rows] == list(info.heldout[start:start + 10])
    assert np.allclose([r["p_actual"] for r in rows], [float(p[i, ids[start + i]]) for i in range(10)],
                       rtol=1e-5, atol=1e-7)
    c = text_connectivity(model, info, start, stateful=True)
    assert c["stateful"] and len(c["grad_x"]) == info.timesteps and np.isfinite(c["bits"])
