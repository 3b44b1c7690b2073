"""The long-memory presets keep the promise their descriptions make, trained exactly as the app trains
them: "Vanishing" leaves a tanh RNN at the constant guess; "LSTM remembers" drops far below it."""

from rnn_core.lab import run_one
from rnn_core.presets import PRESETS, preset_configs


def _final(key: str):
    model, data, train = preset_configs(key)
    return run_one(model.cell, data.timesteps, data, model, train)


def test_the_vanishing_preset_stays_at_the_constant_guess():
    row = _final("vanishing")
    assert row.status == "completed"
    assert row.val_loss > 0.8 * row.baseline_mse, (row.val_loss, row.baseline_mse)


def test_the_lstm_preset_learns_what_the_rnn_cannot():
    assert "below" in PRESETS["lstm_remembers"].description
    row = _final("lstm_remembers")
    assert row.status == "completed"
    assert row.val_loss < 0.1 * row.baseline_mse, (row.val_loss, row.baseline_mse)
