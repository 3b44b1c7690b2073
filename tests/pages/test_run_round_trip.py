"""A run trained on an uploaded CSV opens again from its own zip: the server does not keep the
upload, so the page shows the history, predictions and metrics saved with the run and says why it
cannot recompute them (it used to raise AttributeError in predictions_section)."""

from __future__ import annotations

import numpy as np
from streamlit.testing.v1 import AppTest

from rnn_core.config import DataConfig, TrainConfig, replace
from rnn_core.data.csv_upload import read_csv_upload
from rnn_core.data.windows import prepare
from rnn_core.measure.evaluate import evaluate
from rnn_core.nn.model_config import ModelConfig
from rnn_core.nn.train import run_to_end
from rnn_core.serve.runs import json_safe, run_zip_bytes
from tests.conftest import slot_of


def _csv_run_zip() -> bytes:
    values = np.round(100 + 10 * np.sin(np.arange(200) / 7.0), 3)
    text = "day,price\n" + "".join(f"{i},{v}\n" for i, v in enumerate(values))
    frame = read_csv_upload(text.encode(), value_columns="price", date_column="")
    data_cfg = DataConfig(dataset="csv", timesteps=8)
    windows = prepare(data_cfg, frame)
    model_cfg = ModelConfig(cell="gru", hidden_size=4, input_size=1, output_size=1)
    train_cfg = TrainConfig(epochs=1, batch_size=64)
    model, records = run_to_end(model_cfg, train_cfg, windows)
    return run_zip_bytes(model, model_cfg, data_cfg, replace(train_cfg), records,
                         json_safe(evaluate(model, windows)))


def _open_zip_script():
    import streamlit as st

    from rnn_core.config import DataConfig, TrainConfig
    from rnn_core.nn.model_config import ModelConfig
    from ui import run_files
    from ui.live import live_area
    from ui.views import draw_run

    class Upload:
        file_id = "the-zip"

        def getvalue(self) -> bytes:
            return st.session_state["zip_bytes"]

    run_files.load_upload("pg", Upload())
    live_area("pg", draw_run("pg"))
    run_files.export_panel("pg", ModelConfig(), DataConfig(), TrainConfig())


def test_a_csv_run_opens_again_from_its_zip():
    at = AppTest.from_function(_open_zip_script, default_timeout=120)
    at.session_state["zip_bytes"] = _csv_run_zip()
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    texts = " ".join(c.value for c in at.caption) + " ".join(i.value for i in at.info)
    assert "not on the server" in texts                                  # the chart says what it shows
    assert "uploaded CSV, which the server does not keep" in texts       # and the panel says why
    assert len(at.table) >= 1                                            # the saved metrics table
    assert slot_of(at).evaluation["evaluation"]["task"] == "forecast"


def test_a_loaded_run_is_thinned_like_a_live_one():
    """StaticRun (a saved run) reuses the engine's downsampling: at most max_points, first and last kept."""
    from types import SimpleNamespace

    from rnn_core.config import TrainConfig
    from rnn_core.serve.history import downsample
    from ui.live import StaticRun

    steps = [{"kind": "step", "epoch": 1 + i // 100, "step": i + 1, "loss": 1.0} for i in range(5000)]
    end = {"kind": "end", "status": "completed", "epoch": 50, "step": 5000, "seconds": 2.0}
    run = StaticRun(SimpleNamespace(model=None, records=[*steps, end], train_cfg=TrainConfig(epochs=50)))
    snap = run.snapshot(max_points=300)
    assert snap.steps == downsample(steps, 300)
    assert len(snap.steps) == 300 and snap.steps[0]["step"] == 1 and snap.steps[-1]["step"] == 5000
    assert snap.status == "completed" and snap.step == 5000 and snap.steps_per_epoch == 100
