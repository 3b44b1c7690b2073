"""The written-out optimisers (rnn_core/nn/optim.py) update weights bitwise like torch.optim's foreach
implementations, step by step; the trainer's records are unchanged by the swap; and a training run
never imports torch._dynamo (the 1–5 s that torch.optim's first optimiser costs a process)."""

import subprocess
import sys
from pathlib import Path

import pytest
import torch

from rnn_core.config import DataConfig, TrainConfig
from rnn_core.data.windows import prepare
from rnn_core.nn import train as train_module
from rnn_core.nn.model_config import ModelConfig
from rnn_core.nn.optim import make_optimizer
from rnn_core.nn.train import run_to_end

ROOT = Path(__file__).resolve().parents[2]


def _torch_optimizer(name, params, lr, momentum=0.9):
    if name == "sgd":
        return torch.optim.SGD(params, lr=lr, momentum=momentum, foreach=True)
    if name == "rmsprop":
        return torch.optim.RMSprop(params, lr=lr, foreach=True)
    return torch.optim.Adam(params, lr=lr, foreach=True)


def _params(seed, dtype):
    g = torch.Generator().manual_seed(seed)
    shapes = [(8, 3), (8, 8), (8,), (1, 8), (1,)]
    return [torch.randn(s, generator=g, dtype=dtype).requires_grad_() for s in shapes]


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
@pytest.mark.parametrize("name,lr,momentum", [("adam", 0.01, 0.9), ("sgd", 0.1, 0.9), ("sgd", 0.1, 0.0),
                                              ("rmsprop", 0.005, 0.9)])
def test_updates_are_bitwise_those_of_torch_optim(name, lr, momentum, dtype):
    ours, theirs = _params(0, dtype), _params(0, dtype)
    opt_ours = make_optimizer(name, ours, lr=lr, momentum=momentum)
    opt_theirs = _torch_optimizer(name, theirs, lr=lr, momentum=momentum)
    g = torch.Generator().manual_seed(1)
    for step in range(40):
        opt_ours.zero_grad(set_to_none=True)
        opt_theirs.zero_grad(set_to_none=True)
        for i, (a, b) in enumerate(zip(ours, theirs, strict=True)):
            if step % 7 == 3 and i == 2:
                continue                              # a parameter without a gradient this step: skipped
            grad = torch.randn(a.shape, generator=g, dtype=dtype) * (10.0 ** (step % 5 - 2))
            a.grad, b.grad = grad.clone(), grad.clone()
        opt_ours.step()
        opt_theirs.step()
        for a, b in zip(ours, theirs, strict=True):
            assert torch.equal(a, b), (name, step)
    assert not torch.equal(ours[0], _params(0, dtype)[0])     # the weights did move


def test_a_parameter_first_seen_late_starts_its_own_history():
    # SGD's momentum buffers: one parameter gets its first gradient at step 3, after the others
    ours, theirs = _params(2, torch.float32), _params(2, torch.float32)
    opt_ours = make_optimizer("sgd", ours, lr=0.05, momentum=0.9)
    opt_theirs = _torch_optimizer("sgd", theirs, lr=0.05, momentum=0.9)
    for step in range(6):
        for a, b in zip(ours, theirs, strict=True):
            a.grad = b.grad = None
        for i, (a, b) in enumerate(zip(ours, theirs, strict=True)):
            if i == 1 and step < 3:
                continue
            a.grad = torch.full_like(a, 0.5 + step)
            b.grad = a.grad.clone()
        opt_ours.step()
        opt_theirs.step()
    for a, b in zip(ours, theirs, strict=True):
        assert torch.equal(a, b)


@pytest.mark.parametrize("optimizer,clip", [("adam", "norm"), ("sgd", "value"), ("rmsprop", "off")])
def test_training_records_are_unchanged_by_the_swap(monkeypatch, optimizer, clip):
    windows = prepare(DataConfig(dataset="sine", timesteps=12))
    model_cfg = ModelConfig(cell="lstm", hidden_size=6, input_size=1, output_size=1)
    train_cfg = TrainConfig(optimizer=optimizer, lr=0.01, epochs=2, batch_size=32, clip=clip,
                            clip_value=0.05, seed=3, probe_every=1)
    _, ours = run_to_end(model_cfg, train_cfg, windows)
    monkeypatch.setattr(train_module, "make_optimizer", _torch_optimizer)
    _, theirs = run_to_end(model_cfg, train_cfg, windows)
    strip = [{k: v for k, v in r.items() if k != "seconds"} for r in ours]
    assert strip == [{k: v for k, v in r.items() if k != "seconds"} for r in theirs]
    assert any(r["kind"] == "step" for r in ours)


def test_a_training_run_does_not_import_torch_dynamo():
    code = ("import sys\n"
            "from rnn_core.config import DataConfig, TrainConfig\nfrom rnn_core.nn.model_config import ModelConfig\n"
            "from rnn_core.nn.train import run_to_end, warm_up\n"
            "from rnn_core.data.windows import prepare\n"
            "warm_up()\n"
            "w = prepare(DataConfig(dataset='sine', timesteps=8))\n"
            "for opt in ('adam', 'sgd', 'rmsprop'):\n"
            "    run_to_end(ModelConfig(cell='gru', hidden_size=4, input_size=1, output_size=1),\n"
            "               TrainConfig(optimizer=opt, epochs=1, clip='norm'), w)\n"
            "print('torch._dynamo' in sys.modules)\n")
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "False"
