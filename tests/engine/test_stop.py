"""Stop stops: a heavy live run of every cell (T = 1000, H = 256, 4 layers where it stacks) ends when asked
in the middle of a computation (the epoch-0 loss over the whole split), as stopped by the user, and the
CLI stops on Ctrl-C (SIGINT) with one sentence, keeping what finished. How long that takes is measured,
not asserted, by bench/stop_latency.py."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

import pytest

from rnn_core.config import DataConfig, TrainConfig
from rnn_core.data.windows import prepare
from rnn_core.nn.cells import CELLS, cell_of
from rnn_core.nn.model_config import ModelConfig
from rnn_core.nn.train import warm_up
from rnn_core.serve.live import LiveRun


@pytest.mark.slow
@pytest.mark.parametrize("cell", list(CELLS))
def test_stop_ends_a_heavy_run_mid_computation(cell):
    warm_up()                                        # torch's one-off imports, as the app does at start
    windows = prepare(DataConfig(dataset="sine", timesteps=1000, params={"length": 1200}))
    # as heavy as the memory budget lets one step and probe be at T = 1000 (nn/step_memory.py)
    model_cfg = ModelConfig(cell=cell, hidden_size=256, num_layers=min(4, cell_of(cell).max_layers or 4))
    run = LiveRun(model_cfg, TrainConfig(epochs=5, batch_size=4, probe_batch=1), windows, idle_timeout=None)
    run.start()
    time.sleep(1.5)                                  # inside the epoch-0 full-split loss
    assert run.status == "running"
    run.stop()
    assert run.join(timeout=600), "the run did not end"
    snap = run.snapshot()
    assert snap.status == "stopped" and "Stopped by the user" in snap.end["reason"]


@pytest.mark.slow
def test_ctrl_c_stops_the_cli_with_one_sentence_and_keeps_what_finished(tmp_path):
    out = tmp_path / "run"
    cmd = [sys.executable, "-m", "rnn_core", "train", "--cell", "lstm", "--hidden", "100", "--layers", "4",
           "--dataset", "sine", "--timesteps", "1000", "--param", "length=1200", "--epochs", "3",
           "--batch-size", "8", "--probe-every", "0", "--save", str(out)]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            env={**os.environ, "OMP_NUM_THREADS": "1"})
    first = proc.stdout.readline()                   # printed just before training starts
    assert "LSTM" in first, (first, proc.communicate())
    time.sleep(1.5)                                  # into the first computation (epoch 0)
    assert proc.poll() is None, proc.communicate()
    proc.send_signal(signal.SIGINT)
    try:
        _rest, err = proc.communicate(timeout=600)
    finally:
        proc.kill()
    assert proc.returncode == 130 and "Traceback" not in err, err
    assert "Interrupted (Ctrl-C)" in err and len(err.strip().splitlines()) == 1, err
    assert (out / "weights.safetensors").is_file() and (out / "config.json").is_file()   # kept what finished


def test_lab_computations_end_at_the_first_checkpoint():
    """The Gradient Lab's probes and Jacobian products stop as soon as their thread's check fires."""
    from rnn_core.interrupt import Interrupted, interruptible
    from rnn_core.lessons import lab

    cfg = lab.LabConfig(cell="lstm", timesteps=400, hidden_size=64, seeds=3)
    calls = []

    def check() -> bool:
        calls.append(1)
        return len(calls) > 5                   # a few chunks in, the tab is closed
    for compute in (lambda: lab.profile_stats(cfg), lambda: lab.jacobian_stats(cfg.replace(cell="rnn"))):
        calls.clear()
        with pytest.raises(Interrupted), interruptible(check):
            compute()
        assert len(calls) == 6


def test_one_tab_trains_one_thing_at_a_time():
    from streamlit.testing.v1 import AppTest

    def script():
        import streamlit as st

        from ui.live import one_at_a_time
        from ui.state import slot

        class Running:
            status = "running"

        slot("pg").run = Running()
        st.text(one_at_a_time("cmp") or "free")
        st.text(one_at_a_time("pg") or "free")

    at = AppTest.from_function(script)
    at.run()
    assert not at.exception
    refused, own = (t.value for t in at.text)
    assert "already training a Playground run" in refused and "one thing at a time" in refused
    assert own == "free"
