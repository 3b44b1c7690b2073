"""Tests for rnn_core/nn/train.py: the records, reproducibility, clipping, divergence, learning."""

from __future__ import annotations

import json
import math
import types

import numpy as np
import pytest
import torch

from rnn_core.config import TrainConfig
from rnn_core.nn.model_config import ModelConfig
from rnn_core.nn.models import build_model
from rnn_core.nn.train import run_to_end, steps_per_epoch, train

STEP_KEYS = {"kind", "epoch", "step", "loss", "grad_norm", "clipped"}
EPOCH_KEYS = {"kind", "epoch", "step", "train_loss", "val_loss", "probe", "spectra", "param_grad_norms",
              "seconds"}
END_KEYS = {"kind", "status", "epoch", "step", "reason", "seconds"}


def sine_windows(n: int = 120, T: int = 10, n_train: int = 80):
    """A stand-in for windows.Windows: next value of sin(0.3 t) from the last T values."""
    s = np.sin(0.3 * np.arange(n + T, dtype=np.float32))
    X = np.stack([s[i:i + T] for i in range(n)])[:, :, None].astype(np.float32)   # (N, T, 1)
    y = s[T:T + n][:, None].astype(np.float32)                                     # (N, 1)
    return types.SimpleNamespace(X_train=X[:n_train], y_train=y[:n_train],
                                 X_val=X[n_train:], y_val=y[n_train:])


def tiny(cell: str = "rnn", **model) -> ModelConfig:
    return ModelConfig(cell=cell, hidden_size=model.pop("hidden_size", 8), **model)


def params_vector(model) -> torch.Tensor:
    return torch.cat([p.detach().flatten().clone() for p in model.parameters()])


def without_seconds(records):
    return [{k: v for k, v in r.items() if k != "seconds"} for r in records]


@pytest.mark.parametrize("cell", ["rnn", "lstm", "gru", "jordan"])
def test_records_have_the_documented_keys_and_serialise(cell):
    cfg = TrainConfig(epochs=2, batch_size=32, probe_batch=4, probe_every=2)
    _, records = run_to_end(tiny(cell), cfg, sine_windows())
    json.loads(json.dumps(records))
    steps = [r for r in records if r["kind"] == "step"]
    epochs = [r for r in records if r["kind"] == "epoch"]
    assert all(set(r) == STEP_KEYS for r in steps)
    assert all(set(r) == EPOCH_KEYS for r in epochs)
    assert set(records[-1]) == END_KEYS and records[-1]["status"] == "completed"
    assert [r["kind"] for r in records].count("end") == 1
    # steps count from 1; epoch 0 is the network at initialisation
    n = steps_per_epoch(80, 32)
    assert [r["step"] for r in steps] == list(range(1, 2 * n + 1))
    assert [(r["epoch"], r["step"]) for r in epochs] == [(0, 0), (1, n), (2, 2 * n)]
    assert records[-1]["step"] == 2 * n and records[-1]["epoch"] == 2
    # probe every 2 epochs (and at epoch 0 and the last one), spectra and grad norms every epoch
    assert [r["probe"] is not None for r in epochs] == [True, False, True]
    assert epochs[0]["probe"]["timesteps"] == 10
    assert all(len(r["spectra"]) == 1 and set(r["spectra"][0]) == {"sigma_max", "spectral_radius"}
               for r in epochs)
    names = {name for name, _ in build_model(tiny(cell)).named_parameters()}
    assert all(set(r["param_grad_norms"]) == names for r in epochs)
    assert all(v > 0 for r in epochs for v in r["param_grad_norms"].values())
    assert all(isinstance(r["loss"], float) and isinstance(r["clipped"], bool) for r in steps)
    assert all(r["val_loss"] is not None for r in epochs)
    seconds = [r["seconds"] for r in epochs] + [records[-1]["seconds"]]
    assert seconds == sorted(seconds) and seconds[0] >= 0


def test_step_loss_is_the_batch_mse_before_the_update():
    w = sine_windows()
    cfg = TrainConfig(epochs=1, batch_size=80, clip="off", probe_every=0)   # one full-batch step
    model = build_model(tiny(), seed=0)
    records = train(model, w, cfg)
    epoch0 = next(records)
    step1 = next(records)
    assert step1["loss"] == pytest.approx(epoch0["train_loss"], rel=1e-5)
    assert epoch0["probe"] is None


def test_same_seed_same_records_and_other_seed_differs():
    w = sine_windows()
    cfg = TrainConfig(epochs=2, batch_size=16, probe_batch=4, seed=3)
    a = without_seconds(run_to_end(tiny("lstm"), cfg, w)[1])
    b = without_seconds(run_to_end(tiny("lstm"), cfg, w)[1])
    c = without_seconds(run_to_end(tiny("lstm"), TrainConfig(**{**cfg.__dict__, "seed": 4}), w)[1])
    assert json.dumps(a) == json.dumps(b)
    assert [r["loss"] for r in a if r["kind"] == "step"] != [r["loss"] for r in c if r["kind"] == "step"]


def test_clip_by_norm_bounds_the_applied_update():
    # SGD, lr 1, no momentum: Δθ = −g_clipped, so ‖Δθ‖ is the norm of the gradient actually applied
    c = 0.05
    cfg = TrainConfig(optimizer="sgd", lr=1.0, momentum=0.0, clip="norm", clip_value=c, epochs=1,
                      batch_size=16, probe_every=0)
    model = build_model(tiny(), seed=0)
    records = train(model, sine_windows(), cfg)
    next(records)                                   # epoch 0
    for _ in range(5):
        before = params_vector(model)
        rec = next(records)
        applied = float(torch.linalg.vector_norm(params_vector(model) - before))
        assert rec["clipped"] == (rec["grad_norm"] > c)
        if rec["clipped"]:
            assert applied == pytest.approx(c, rel=1e-3)
        else:
            assert applied == pytest.approx(rec["grad_norm"], rel=1e-3)
    assert rec["clipped"]                           # the threshold is small enough to bite


def test_clipped_flags_match_the_threshold_over_a_run():
    w = sine_windows()
    free = [r["grad_norm"] for r in run_to_end(tiny(), TrainConfig(clip="off", epochs=2, batch_size=8,
                                                                     probe_every=0), w)[1]
            if r["kind"] == "step"]
    c = float(np.median(free))
    steps = [r for r in run_to_end(tiny(), TrainConfig(clip="norm", clip_value=c, epochs=2, batch_size=8,
                                                       probe_every=0), w)[1] if r["kind"] == "step"]
    flags = [r["clipped"] for r in steps]
    assert flags == [r["grad_norm"] > c for r in steps]
    assert any(flags) and not all(flags)


def test_clip_by_value_bounds_every_component():
    c = 1e-3
    cfg = TrainConfig(optimizer="sgd", lr=1.0, momentum=0.0, clip="value", clip_value=c, epochs=1,
                      batch_size=16, probe_every=0)
    model = build_model(tiny(), seed=0)
    records = train(model, sine_windows(), cfg)
    next(records)
    before = params_vector(model)
    rec = next(records)
    delta = (params_vector(model) - before).abs()
    assert rec["clipped"]
    assert float(delta.max()) <= c * (1 + 1e-5)
    assert float(delta.max()) == pytest.approx(c, rel=1e-4)      # clipped components sit at ±c


def test_exploding_run_ends_diverged_and_keeps_its_history():
    # tanh RNN, W_hh = 3·I, plain SGD with lr 10 and no clipping: the head's weights blow up in epoch 3
    cfg = TrainConfig(optimizer="sgd", lr=10.0, momentum=0.0, clip="off", epochs=10, batch_size=16,
                      probe_batch=4)
    model = build_model(tiny(init="identity", gain=3.0), seed=0)
    records, last_good = [], None
    for r in train(model, sine_windows(), cfg):
        records.append(r)
        if r["kind"] == "step":
            last_good = params_vector(model)
    end = records[-1]
    assert end["status"] == "diverged"
    assert end["step"] == 11 and end["epoch"] == 3
    assert "step 11 (epoch 3)" in end["reason"] and "gradient clipping" in end["reason"]
    history = records[:-1]
    assert [r["step"] for r in history if r["kind"] == "step"] == list(range(1, 11))
    assert [r["epoch"] for r in history if r["kind"] == "epoch"] == [0, 1, 2]
    assert all(math.isfinite(r["loss"]) and math.isfinite(r["grad_norm"])
               for r in history if r["kind"] == "step")
    json.loads(json.dumps(records))
    # the diverged step's update was not applied
    assert torch.equal(params_vector(model), last_good)
    assert torch.isfinite(params_vector(model)).all()


def test_training_reduces_the_loss_on_a_sine():
    for optimizer, lr in (("adam", 0.01), ("rmsprop", 0.005), ("sgd", 0.1)):
        cfg = TrainConfig(optimizer=optimizer, lr=lr, epochs=6, batch_size=16, probe_every=0)
        _, records = run_to_end(tiny(hidden_size=16), cfg, sine_windows())
        epochs = [r for r in records if r["kind"] == "epoch"]
        assert epochs[-1]["train_loss"] < 0.3 * epochs[0]["train_loss"], optimizer
        assert epochs[-1]["val_loss"] < 0.3 * epochs[0]["val_loss"], optimizer


def test_truncated_bptt_reaches_the_model_and_the_probe():
    cfg = TrainConfig(bptt_truncate=3, epochs=1, batch_size=32, probe_batch=4)
    _, records = run_to_end(tiny(), cfg, sine_windows())
    grad_h = records[0]["probe"]["grad_h"][0]                  # (T,) at initialisation
    assert all(g == 0.0 for g in grad_h[:-3]) and all(g > 0 for g in grad_h[-3:])
    assert records[-1]["status"] == "completed"


def test_control_stops_the_run_between_steps():
    calls = []

    def control():
        calls.append(1)
        return len(calls) <= 4                  # take 4 steps, refuse the 5th

    records = list(train(build_model(tiny(), seed=0), sine_windows(),
                         TrainConfig(epochs=5, batch_size=16, probe_every=0), control=control))
    assert [r["step"] for r in records if r["kind"] == "step"] == [1, 2, 3, 4]
    assert records[-1]["status"] == "stopped" and records[-1]["step"] == 4 and records[-1]["reason"]


def test_no_training_windows_is_one_sentence():
    w = sine_windows()
    w.X_train, w.y_train = w.X_train[:0], w.y_train[:0]
    with pytest.raises(ValueError, match="no training windows"):
        next(train(build_model(tiny()), w, TrainConfig()))


def test_epoch_train_loss_is_the_batch_weighted_mean_of_its_steps_and_epoch0_is_exact():
    w = sine_windows(n=110, n_train=70)             # 70 windows, batch 32: batches of 32, 32, 6
    cfg = TrainConfig(epochs=2, batch_size=32, probe_every=0)
    model = build_model(tiny(), seed=cfg.seed)
    with torch.no_grad():
        exact0 = torch.mean((model(torch.from_numpy(w.X_train)) - torch.from_numpy(w.y_train)) ** 2).item()
    records = list(train(model, w, cfg))
    epochs = [r for r in records if r["kind"] == "epoch"]
    assert epochs[0]["train_loss"] == pytest.approx(exact0, rel=1e-5)
    for e in epochs[1:]:
        losses = [r["loss"] for r in records if r["kind"] == "step" and r["epoch"] == e["epoch"]]
        sizes = [32, 32, 6]
        assert e["train_loss"] == pytest.approx(sum(l * b for l, b in zip(losses, sizes)) / 70, rel=1e-9)
        assert e["val_loss"] is not None and math.isfinite(e["val_loss"])


def test_probe_runs_at_the_first_and_last_epoch_and_every_probe_every():
    cfg = TrainConfig(epochs=5, batch_size=64, probe_batch=4)          # default cadence: every 2 epochs
    _, records = run_to_end(tiny(), cfg, sine_windows())
    probed = [r["epoch"] for r in records if r["kind"] == "epoch" and r["probe"] is not None]
    assert probed == [0, 2, 4, 5]


@pytest.mark.parametrize("chunk_macs", [None, 16 * 72 * 3])      # the whole window; chunks of 3 steps
def test_the_numbers_do_not_depend_on_an_interrupt_check(chunk_macs, monkeypatch):
    """The CLI (Ctrl-C), a live run and a worker (Stop) train under an interrupt check, run_to_end and
    the benchmarks without one: all of them compute the same numbers, bit for bit."""
    from rnn_core.interrupt import interruptible
    from rnn_core.nn import models

    if chunk_macs is not None:
        monkeypatch.setattr(models, "CHUNK_MACS", chunk_macs)     # hidden 8: 72 MACs per window and step
    assert models.chunk_steps(tiny(), 16) == (3 if chunk_macs else 14563)
    w = sine_windows()
    cfg = TrainConfig(epochs=2, batch_size=16, probe_batch=4, clip="off", seed=5)
    plain = without_seconds(run_to_end(tiny(), cfg, w)[1])
    with interruptible(lambda: False):
        checked = without_seconds(run_to_end(tiny(), cfg, w)[1])
    assert json.dumps(checked) == json.dumps(plain)


def test_the_seed_004_window_is_one_fused_call():
    """3 × 20 Elman, T = 100, batch 32 (the seed article's stock setup): one nn.RNN call per forward."""
    from rnn_core.nn.models import chunk_steps

    assert chunk_steps(ModelConfig(cell="rnn", hidden_size=20, num_layers=3), 32) >= 100
