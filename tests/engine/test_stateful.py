"""Stateful training: the schedule of updates, the streams' targets, the carried state, the exact probe
against an independent autograd reference over carried chunks, and evaluation read as one stream."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from torch import nn

from rnn_core.config import ConfigError, DataConfig, TrainConfig, validate_run
from rnn_core.data.streams import streams_of
from rnn_core.data.windows import prepare
from rnn_core.measure.evaluate import evaluate
from rnn_core.nn.cells import CELLS
from rnn_core.nn.model_config import ModelConfig
from rnn_core.nn.models import build_model
from rnn_core.nn.stateful import StreamData, stream_loss, updates
from rnn_core.nn.tasks import task_of
from rnn_core.nn.train import train

CPU = torch.device("cpu")


# ----------------------------------------------------------------------------- the schedule
def test_updates_read_k1_new_steps_and_back_propagate_k2():
    sched = updates(10, 3, 5)
    assert [(u.new, u.end) for u in sched] == [(0, 3), (3, 6), (6, 9), (9, 10)]   # every step once
    assert [u.start for u in sched] == [0, 1, 4, 5]                               # k2 = 5 back, not before 0
    # the state handed on is the one where the next update starts back-propagating
    assert [u.keep for u in sched] == [1, 4, 5, 10]
    assert [u.reset for u in sched] == [True, False, False, False]


def test_resets_each_epoch_never_or_every_n_updates():
    assert [u.reset for u in updates(8, 2, 2, reset_rule="never")] == [False] * 4
    every = updates(8, 2, 4, first_update=3, reset_rule="steps", every=2)
    assert [u.reset for u in every] == [False, True, False, True]
    # nothing before a reset is back-propagated, and the state before it is not carried into it
    assert [(u.start, u.keep) for u in every] == [(0, 2), (2, 2), (2, 6), (6, 8)]


# ----------------------------------------------------------------------------- the streams
def test_forecast_stream_predicts_the_next_row_and_holds_the_windows_targets():
    w = prepare(DataConfig(dataset="sine", timesteps=10, params={"length": 200}))
    s = streams_of(w)
    scaled = w.scaler.transform(w.frame[w.scaler.columns].to_numpy())
    assert np.allclose(s.train.x[:, 0], scaled[:-1, 0][: len(s.train)], atol=1e-6)
    assert np.allclose(s.train.y[:, 0], scaled[1:, -1][: len(s.train)], atol=1e-6)       # next value
    for split in ("val", "test"):
        part = s.part(split)
        assert part.first == 0 and part.warm == getattr(w, f"idx_{split}")[0] - 1   # all before it, unscored
        four = streams_of(w, 4).part(split)                      # four training streams: from the last one's start
        assert four.first == 3 * (len(s.train) // 4) and np.array_equal(four.w[four.warm:], part.w[part.warm:])
        rows = part.first + 1 + np.flatnonzero(part.w)           # the data row each scored step predicts
        assert np.array_equal(rows, getattr(w, f"idx_{split}"))  # exactly the windows' targets


def test_text_stream_predicts_every_next_character():
    w = prepare(DataConfig(dataset="brackets", timesteps=12, params={"span": 3, "length": 2000, "windows": 200}))
    s, info = streams_of(w), w.text
    text = info.train_text + info.val_text + info.test_text
    x, y, _ = s.train.read(np.arange(5))                       # x: character ids, read one-hot by the model
    assert x.dtype.kind == "i" and info.vocab.decode(x) == text[:5] and info.vocab.decode(y.argmax(1)) == text[1:6]
    assert int(s.test.w.sum()) == len(info.test_text)            # every held-out character is a target


def test_sequence_stream_scores_each_sample_at_its_end():
    w = prepare(DataConfig(dataset="echo", timesteps=6, params={"lag": 3, "n_samples": 100}))
    s = streams_of(w)
    assert int(s.train.w.sum()) == len(w.X_train)
    assert np.allclose(s.train.y[np.flatnonzero(s.train.w)], w.y_train)


def test_k1_beyond_k_is_refused_in_one_sentence():
    with pytest.raises(ConfigError, match="k₁ = 6 exceed the truncation k = 4"):
        validate_run(ModelConfig(), DataConfig(timesteps=10),
                     TrainConfig(stateful=True, bptt_truncate=4, stateful_step=6))


# ----------------------------------------------------------------------------- an independent reference
def leaves(model) -> dict[str, torch.Tensor]:
    """float64 copies of the model's parameters, leaves that collect their own gradient."""
    return {n: p.detach().double().clone().requires_grad_(True) for n, p in model.named_parameters()}


def indrnn_kernel(x_t, h, W_ih, u, b_ih, b_hh):
    # IndRNN (Li et al. 2018), written here: h_t = ReLU(W_ih x_t + b_ih + u ⊙ h_{t−1} + b_hh)
    return torch.relu(x_t @ W_ih.T + b_ih + u * h + b_hh)


def torch_step(model, P: dict[str, torch.Tensor], layer: int):
    """One step of layer `layer` with its weights: torch's own one-step cell kernels (as nn.RNNCell /
    LSTMCell / GRUCell use) for the cells that train on a fused kernel, the equation written here else."""
    W = [P[f"rnn.{n}_l{layer}"] for n in ("weight_ih", "weight_hh", "bias_ih", "bias_hh")]
    module = model.rnn
    if isinstance(module, nn.RNN):
        kernel = torch.rnn_tanh_cell if module.nonlinearity == "tanh" else torch.rnn_relu_cell
    else:
        kernel = {nn.LSTM: torch.lstm_cell, nn.GRU: torch.gru_cell}.get(type(module), indrnn_kernel)
    return lambda x_t, s: kernel(x_t, s, *W)


def reference(model, P: dict[str, torch.Tensor], x: torch.Tensor, cut: int | None):
    """From a zero state at step 0 of x (B, e, F), one step at a time in float64 with torch's cell kernels
    (Jordan: its equations written here), the weights P, the state detached before step `cut`.
    Returns (ŷ (B, e, O), h[l][t] each retaining its gradient)."""
    spec = CELLS[model.cfg.cell]
    B, e, _ = x.shape
    H, L = model.cfg.hidden_size, model.cfg.num_layers
    steps = None if spec.output_feedback else [torch_step(model, P, layer) for layer in range(L)]
    hs, ys = [[] for _ in range(L)], []
    h = [x.new_zeros(B, H) for _ in range(L)]
    c = [x.new_zeros(B, H) for _ in range(L)]
    y_prev = x.new_zeros(B, model.cfg.output_size)
    for t in range(e):
        if t == cut:
            h, c, y_prev = [v.detach() for v in h], [v.detach() for v in c], y_prev.detach()
        inp = x[:, t]
        if steps is None:      # Jordan: h_t = tanh(W_ih x_t + b_ih + W_yh ŷ_{t−1} + b_yh), ŷ_t = W_out h_t + b_out
            inp = torch.tanh(inp @ P["rnn.weight_ih_l0"].T + P["rnn.bias_ih_l0"] + y_prev @ P["rnn.weight_yh_l0"].T
                             + P["rnn.bias_yh_l0"])
            h[0] = inp
            hs[0].append(inp)
        for layer, step in enumerate(steps or []):
            if spec.cell_state:
                h[layer], c[layer] = step(inp, (h[layer], c[layer]))
            else:
                h[layer] = step(inp, h[layer])
            hs[layer].append(h[layer])
            inp = h[layer]
        y_prev = inp @ P["head.weight"].T + P["head.bias"]
        ys.append(y_prev)
    for h_l in hs:
        for h_t in h_l:
            if h_t.requires_grad:
                h_t.retain_grad()
    return torch.stack(ys, dim=1), hs


STATEFUL_CASES = [(cell, layers) for cell in CELLS for layers in (1, 2) if layers <= (CELLS[cell].max_layers or 2)]


@pytest.mark.parametrize(("cell", "layers"), STATEFUL_CASES)
def test_stateful_probe_is_exact_over_carried_chunks(cell, layers):
    """The probe of a stateful update (k1 = 2 new steps, k2 = 5 back, T = 8 in view, the state carried from
    the stream's start) equals an independent float64 autograd reference, both ‖∂L/∂h_t‖ and ‖∂h_T/∂x_t‖."""
    w = prepare(DataConfig(dataset="sine", timesteps=8, params={"length": 200, "noise": 0.1}))
    cfg = TrainConfig(stateful=True, stateful_streams=3, bptt_truncate=5, stateful_step=2, probe_batch=2)
    model = build_model(ModelConfig(cell=cell, hidden_size=5, num_layers=layers), seed=1)
    data = StreamData(w, cfg, CPU)
    got = data.probe(model)
    e = data.probe_batch(model)["end"]
    assert e > 8                                                 # the window starts from a carried state
    xs, ys, _ = data.streams.train.read(data.probe_rows[:, :e])
    x, y = torch.tensor(xs, dtype=torch.float64), torch.tensor(ys, dtype=torch.float64)
    y_hat, hs = reference(model, leaves(model), x, cut=e - 5)
    L = torch.mean((y_hat[:, e - 2:] - y[:, e - 2:]) ** 2)      # the update's new steps
    L.backward()
    for layer in range(layers):
        want = [0.0 if h.grad is None else float(h.grad.norm()) for h in hs[layer][e - 8:]]
        assert got["grad_h"][layer] == pytest.approx(want, rel=1e-9, abs=1e-300)
    assert got["grad_h"][-1][:3] == [0.0, 0.0, 0.0] and got["cut"] == 3      # cut k2 = 5 steps back
    assert got["loss"] == pytest.approx(L.item(), rel=1e-9) and got["new_from"] == 6
    # ‖∂h_T/∂x_t‖ from the same reference, never truncated: how far back the state holds the input
    x = x.clone().requires_grad_(True)
    _, hs = reference(model, leaves(model), x, cut=None)
    h_T = hs[-1][-1]
    rows = [torch.autograd.grad(h_T[:, j].sum(), x, retain_graph=True)[0][:, e - 8:] for j in range(5)]
    want = torch.stack(rows).pow(2).sum(dim=(0, 1, 3)).sqrt().tolist()
    assert got["carry"] == pytest.approx(want, rel=1e-9, abs=1e-300)
    assert min(got["carry"][:3]) > 0                             # beyond the cut, the state still holds it


@pytest.mark.parametrize("cell", list(CELLS))
def test_a_stateful_update_takes_the_gradient_of_its_own_chunk_from_the_carried_state(cell):
    """The third update's gradient (the state carried through two earlier updates, detached) equals the
    reference's: from step 0, detached k2 steps before the update's end, loss over its k1 new steps."""
    w = prepare(DataConfig(dataset="sine", timesteps=8, params={"length": 120}))
    cfg = TrainConfig(stateful=True, stateful_streams=2, bptt_truncate=4, stateful_step=3)
    model = build_model(ModelConfig(cell=cell, hidden_size=4), seed=2).double()
    data = StreamData(w, cfg, CPU)
    batches = data.batches(model, 1)
    for _ in range(3):
        model.zero_grad()
        batch = next(batches)
        batch.loss().backward()
    got = {n: p.grad.clone() for n, p in model.named_parameters()}
    assert batch.terms == 2 * 3                                  # B streams × k1 new steps
    xs, ys, _ = data.streams.train.read(data.rows[:, :9])
    P = leaves(model)
    y_hat, _ = reference(model, P, torch.tensor(xs, dtype=torch.float64), cut=9 - 4)
    torch.mean((y_hat[:, 6:9] - torch.tensor(ys[:, 6:9], dtype=torch.float64)) ** 2).backward()
    for name, g in got.items():
        assert torch.allclose(g, P[name].grad, rtol=1e-9, atol=1e-12), name


# ----------------------------------------------------------------------------- training and evaluation
def test_stateful_training_records_and_an_evaluation_that_reads_one_stream():
    w = prepare(DataConfig(dataset="sine", timesteps=10, params={"length": 300}))
    cfg = TrainConfig(stateful=True, stateful_streams=4, bptt_truncate=5, epochs=2, probe_every=1, lr=0.01)
    model = build_model(ModelConfig(cell="gru", hidden_size=8), seed=0)
    records = list(train(model, w, cfg))
    m = len(streams_of(w).train) // 4
    steps = [r for r in records if r["kind"] == "step"]
    assert len(steps) == 2 * -(-m // 5)                           # ⌈m / k1⌉ updates per epoch
    last = [r for r in records if r["kind"] == "epoch"][-1]
    assert last["probe"]["cut"] == 5 and "carry" in last["probe"]
    # the validation loss: the series read as one stream from where the last of the 4 training streams starts
    start = 3 * (len(streams_of(w).train) // 4)
    sc = w.scaler
    rows = torch.tensor(sc.transform(w.frame[sc.columns].to_numpy()), dtype=torch.float32)   # (n, 2)
    with torch.no_grad():
        y_hat, _ = model.forward_steps(rows[None, start:-1, :1], None)                       # ŷ for rows start + 1 …
    val = torch.as_tensor(w.idx_val)
    want = float(torch.mean((y_hat[0, val - 1 - start, 0].double() - rows[val, 1].double()) ** 2))
    assert last["val_loss"] == pytest.approx(want, rel=1e-5)
    ev = evaluate(model, w, stateful_streams=4)
    assert "the data is read as one stream" in ev["reading"]
    assert ev["val"]["metrics"]["model"]["rmse"] == pytest.approx(np.sqrt(want) * w.scaler.scale[-1], rel=1e-5)
    assert "reading" not in evaluate(model, w)                   # a window evaluation says nothing of streams


def test_text_evaluation_in_stateful_mode_scores_every_held_out_character():
    w = prepare(DataConfig(dataset="brackets", timesteps=12, params={"span": 3, "length": 3000, "windows": 200}))
    model = build_model(ModelConfig(cell="lstm", hidden_size=8, input_size=w.n_features,
                                    output_size=w.n_features), seed=0)
    ev = evaluate(model, w, stateful_streams=1)
    assert ev["test"]["metrics"]["model"]["n"] == len(w.text.test_text)
    assert ev["test"]["metrics"]["model"]["bits"] == pytest.approx(
        stream_loss(model, streams_of(w).test, task_of(w)), rel=1e-9)
    assert "the text is read as one stream" in ev["reading"]


def test_a_sequence_task_trains_stateful_on_its_samples_ends():
    """The echo's samples end to end: an update whose new steps hold no sample's end takes no step (it
    only moves the state on), and every step's loss is over the samples that end in it."""
    w = prepare(DataConfig(dataset="echo", timesteps=6, params={"lag": 3, "n_samples": 200}))
    cfg = TrainConfig(stateful=True, stateful_streams=2, bptt_truncate=4, epochs=1, probe_every=1)
    records = list(train(build_model(ModelConfig(cell="gru", hidden_size=4), seed=0), w, cfg))
    m = len(streams_of(w).train) // 2
    ends = {t for t in range(m) if t % 6 == 5}                   # each stream holds whole samples (m = 6 · 70)
    with_a_target = sum(1 for u in updates(m, 4, 4) if any(u.new <= t < u.end for t in ends))
    assert records[-1]["status"] == "completed" and m % 6 == 0
    assert sum(r["kind"] == "step" for r in records) == with_a_target < len(updates(m, 4, 4))
