"""Presets: named setups that set several controls at once (and `?preset=<key>` in a shared link).

`PRESETS = {key: Preset}`; `preset_configs(key) -> (ModelConfig, DataConfig, TrainConfig)` builds the
configs (input/output sizes are set later from the data); `preset_note(key)` is a sentence to show
after applying one (e.g. the stock preset's offline fallback), or None; `nflx_available()` whether Yahoo
gives the NFLX series (asked once per ten minutes; `forget_yahoo_check()` asks again next time).

The stock preset follows the tutorial it came from (Netflix 2010–2022, three stacked SimpleRNN(20),
100 timesteps, 80/20 chronological split, min-max scaling, Adam, MSE). Yahoo Finance is tried (its
disk cache first); when it gives nothing — offline, as in a lecture hall without Wi-Fi — the preset
uses the offline DJIA daily series instead and says so.
No Streamlit here: the pages apply presets to the widgets through `ui/state.py`, and the CLI
reads them too.
"""

from __future__ import annotations

import copy
import math
import time
from dataclasses import dataclass, field
from typing import Any

from rnn_core.config import DataConfig, TrainConfig
from rnn_core.nn.model_config import ModelConfig


@dataclass(frozen=True)
class Preset:
    title: str
    description: str                   # one sentence: what it shows
    model: dict[str, Any] = field(default_factory=dict)
    data: dict[str, Any] = field(default_factory=dict)
    train: dict[str, Any] = field(default_factory=dict)


NFLX = {"ticker": "NFLX", "start": "2010-01-01", "end": "2022-12-31", "columns": "Close"}
STOCK_FALLBACK = "djia"
STOCK_FALLBACK_PARAMS = {"start": "2000-01-01", "end": "2012-12-31"}   # ≈ 3,270 days, as NFLX 2010–2022

# The exploding run and its rescue share everything but clipping. Measured on seeds 0–7 (one torch thread):
# SGD at lr 0.07 (momentum 0.9) on a sine of 20 steps per cycle diverges at gain 1.6 every time, at step
# 54–58, and at gain 1.0 never; 2,000 points give 43 steps an epoch, so it diverges in epoch 2, before the
# epoch-2 probe, and the last profile is the one rising toward t = 0 (gain 1.5 did not diverge on seed 4;
# lr 0.075 or 0.08 also diverged at gain 1.0; gain 1.75 or 2.0 left more rescues above persistence).
# "Vanishing" and "LSTM remembers" are one setup but for the cell: the same adding problem, the same
# training. Measured on seeds 0–4 (one torch thread, as the app's worker): the tanh RNN sits at the
# constant guess from epoch 1 to the last, with no step spiking and σ_max(W_hh) creeping from 1.1 to at
# most 1.5; the LSTM leaves the guess at epoch 9–12 and ends far below it. Adam at lr 0.01 (with
# clipping) made the RNN's W_hh blow up late (σ_max 1.5 → 8.5, 76 clipped steps) on 3 of those seeds and
# left the LSTM at the guess on 2; lr 0.005 without clipping and twice the samples keep both stories.
ADDING_100 = {"dataset": "adding", "timesteps": 100, "params": {"n_samples": 8000, "seed": 0},
              "train_frac": 0.7, "val_frac": 0.15}
ADDING_TRAIN = {"optimizer": "adam", "lr": 0.005, "batch_size": 32, "epochs": 12, "clip": "off"}
EXPLODING_DATA = {"dataset": "sine", "timesteps": 50, "params": {"length": 2000, "period": 20.0, "noise": 0.0}}
EXPLODING_TRAIN = {"optimizer": "sgd", "lr": 0.07, "momentum": 0.9, "batch_size": 32, "epochs": 20}

# Seed 002's stateful Keras LSTM (16 units, batch_input_shape (1, 1, 1), stateful, reset_states() each epoch,
# Adam, MSE) on sin(t) for t = 0 … 35, then generating the wave from its own predictions: here 37 training
# steps of sin t, one stream, one new step per update. Its pair differs only in how far the gradient goes back.
# seed 002 reads sin t itself (period 2π, 6.3 values a cycle), not the app's default sine of 40 steps a cycle
STATEFUL_SINE_DATA = {"dataset": "sine", "timesteps": 20,
                      "params": {"length": 80, "noise": 0.0, "period": 2 * math.pi},
                      "train_frac": 0.3, "val_frac": 0.0}
STATEFUL_SINE_TRAIN = {"optimizer": "adam", "lr": 0.001, "epochs": 150, "clip": "off", "stateful": True,
                       "stateful_streams": 1, "stateful_step": 1, "state_reset": "epoch", "probe_every": 10}

PRESETS: dict[str, Preset] = {
    "vanishing": Preset(
        "Vanishing: tanh RNN, 100 steps",
        "A plain tanh RNN must remember across 100 steps of the adding problem: at every probe ‖∂L/∂hₜ‖ fades "
        "by 12–27 orders of magnitude toward early timesteps, no step spikes, and from the first epoch to the "
        "last the loss stays at the constant guess.",
        # forget_bias does nothing to a tanh RNN; it is here so that the ghost run with an LSTM (the same
        # setup, another cell) is exactly "LSTM remembers"
        model={"cell": "rnn", "hidden_size": 32, "num_layers": 1, "init": "default", "gain": 1.0,
               "forget_bias": 3.0},
        data=dict(ADDING_100),
        train=dict(ADDING_TRAIN)),
    "exploding": Preset(
        "Exploding: RNN, gain 1.6, no clipping",
        "Orthogonal W_hh × 1.6 puts a tanh RNN past σ_max·γ = 1: at initialisation ‖∂L/∂hₜ‖ grows "
        "390–2,200× from the last timestep back to the first, and without clipping SGD's steps then grow "
        "step after step until the loss overflows and the run diverges at step 54–57, before its epoch-2 "
        "probe, so the chart keeps that rising profile (at gain 1.0 the same settings never diverge and end "
        "3,000–25,000× below persistence).",
        model={"cell": "rnn", "hidden_size": 32, "num_layers": 1, "init": "orthogonal", "gain": 1.6},
        data=dict(EXPLODING_DATA),
        train={**EXPLODING_TRAIN, "clip": "off"}),
    "lstm_remembers": Preset(
        "LSTM remembers",
        "The same adding problem over 100 steps with an LSTM (forget-gate bias 3): the cell state "
        "carries the gradient back, and after 8–11 epochs near the constant guess the loss drops to under 2% "
        "of it.",
        model={"cell": "lstm", "hidden_size": 32, "num_layers": 1, "init": "default", "gain": 1.0,
               "forget_bias": 3.0},
        data=dict(ADDING_100),
        train=dict(ADDING_TRAIN)),
    "stock_nflx": Preset(
        "Stock forecast (NFLX-style, 3 stacked RNNs of 20, 100 steps)",
        "The NFLX tutorial's model — three stacked tanh RNN layers of 20 units reading 100 days of "
        "closing prices to predict the next — judged against persistence (tomorrow = today): its loss "
        "falls far below the constant guess, yet it does not beat copying the last price (offline, on the "
        "DJIA series: a training loss of 1–2% of the constant guess's, and a skill score of −0.3 to −0.6 on "
        "the test days).",
        model={"cell": "rnn", "hidden_size": 20, "num_layers": 3, "init": "default"},
        data={"dataset": "yahoo", "timesteps": 100, "params": dict(NFLX), "train_frac": 0.8,
              "val_frac": 0.0, "scaler": "minmax"},
        train={"optimizer": "adam", "lr": 0.001, "batch_size": 32, "epochs": 10, "clip": "off"}),
    "sine_scratch": Preset(
        "Sine wave (from scratch tutorial)",
        "The from-scratch NumPy article's sizes — windows of 50, 100 hidden units, truncated BPTT over 5 "
        "steps, gradients clipped to ±10 — on a sine of 40 steps per cycle (the article's sin t has 6.3, "
        "which draws as a solid block and makes copying the last value a weak baseline), with the app's "
        "tanh RNN with biases and PyTorch's init, trained on batches of 32 with the true truncated gradient "
        "instead of the article's sigmoid, bias-free U(0, 1) network updated one record at a time at lr "
        "1e-4 (its update is not a gradient: Learn, step 7): the gradient through time stops 5 steps back "
        "and the sine is learned far better than persistence (its validation loss 180–590× smaller).",
        model={"cell": "rnn", "hidden_size": 100, "num_layers": 1},
        data={"dataset": "sine", "timesteps": 50, "params": {"length": 1000, "noise": 0.0},
              "train_frac": 0.7, "val_frac": 0.15},
        train={"optimizer": "sgd", "lr": 0.01, "batch_size": 32, "epochs": 25, "clip": "value",
               "clip_value": 10.0, "bptt_truncate": 5}),
    "gru_echo": Preset(
        "GRU on the delayed echo (lag 20)",
        "A GRU must output the input it saw 20 steps before the end: for 8 to 22 epochs (it depends on the "
        "seed) the loss sits at the constant guess, then the update gate learns to hold the value and by "
        "epoch 30 the loss is under 1% of the guess's.",
        model={"cell": "gru", "hidden_size": 32, "num_layers": 1},
        data={"dataset": "echo", "timesteps": 30, "params": {"lag": 20, "n_samples": 4000, "seed": 0}},
        train={"optimizer": "adam", "lr": 0.01, "batch_size": 64, "epochs": 30, "clip": "norm",
               "clip_value": 1.0}),
    "clipping_rescue": Preset(
        "Clipping rescues the exploding RNN",
        "The exploding run again — same seed, same settings — with the gradient norm clipped at 1: the "
        "spikes far above the median are cut (red crosses on 230–580 of its 860 steps), no step runs away, "
        "and the loss ends 120–5,700× below persistence instead of overflowing (seeds 0–4; on seeds 5 and 7 "
        "the clipped run still ends above persistence).",
        model={"cell": "rnn", "hidden_size": 32, "num_layers": 1, "init": "orthogonal", "gain": 1.6},
        data=dict(EXPLODING_DATA),
        train={**EXPLODING_TRAIN, "clip": "norm", "clip_value": 1.0}),
    "char_brackets": Preset(
        "Char RNN: tanh vs LSTM on brackets",
        "Every closing bracket must match the one opened 11 characters before: a tanh RNN gets 25–75% of "
        "its closers right on validation (a guess gets a third), while an LSTM (switch the cell, or race "
        "both side by side) gets them all right.",
        model={"cell": "rnn", "hidden_size": 32, "num_layers": 1, "init": "default", "forget_bias": 3.0},
        data={"dataset": "brackets", "timesteps": 12,
              "params": {"span": 10, "length": 60000, "windows": 4000, "temperature": 0.5, "seed": 0},
              "train_frac": 0.7, "val_frac": 0.15},
        train={"optimizer": "adam", "lr": 0.02, "batch_size": 32, "epochs": 8, "clip": "norm",
               "clip_value": 1.0}),
    "stateful_sine": Preset(
        "Stateful LSTM generates a sine (gradient 1 step back)",
        "Seed 002's stateful LSTM: 16 units read sin t one value per update from the state they carry (one "
        "stream, reset each epoch), the gradient cut 1 step back (red line) while the state still holds inputs "
        "20 steps back (teal line); its training loss ends more than 50× below persistence and, fed its own "
        "predictions, it generates the wave within 0.2 of the true sine (RMSE, amplitude 1).",
        model={"cell": "lstm", "hidden_size": 16, "num_layers": 1},
        data=dict(STATEFUL_SINE_DATA),
        train={**STATEFUL_SINE_TRAIN, "bptt_truncate": 1}),
    "stateful_sine_k20": Preset(
        "The same stateful LSTM, gradient 20 steps back",
        "The same stateful LSTM and the same one-value updates with the gradient 20 steps back instead of 1: on "
        "every seed its training loss ends below the 1-step run's, which is what truncation at 1 step costs, "
        "and it generates the wave within 0.2 of the true sine.",
        model={"cell": "lstm", "hidden_size": 16, "num_layers": 1},
        data=dict(STATEFUL_SINE_DATA),
        train={**STATEFUL_SINE_TRAIN, "bptt_truncate": 20}),
    "stateful_brackets": Preset(
        "The state carries it, the gradient never sees it (brackets, k = 4)",
        "A tanh RNN reads the brackets as 16 streams with its state carried and its gradient cut 4 steps back: "
        "the teal line shows its last state still depends on the opener 11 characters back, yet it gets the "
        "closer right no more often than a guess (about a third), while the same run with k = 16 gets nearly "
        "every one.",
        model={"cell": "rnn", "hidden_size": 32, "num_layers": 1},
        data={"dataset": "brackets", "timesteps": 24,
              "params": {"span": 10, "length": 30000, "windows": 200, "temperature": 0.5, "seed": 0},
              "train_frac": 0.7, "val_frac": 0.15},
        train={"optimizer": "adam", "lr": 0.005, "epochs": 6, "clip": "norm", "clip_value": 1.0, "stateful": True,
               "stateful_streams": 16, "bptt_truncate": 4, "stateful_step": 4, "probe_every": 1}),
    "char_pydoc": Preset(
        "Learn to write Python docs",
        "An LSTM reads 32 characters of Python's own documentation at a time and writes a sample every "
        "epoch: watch it go from noise to spaces and short words (the, as, is) while its bits per "
        "character fall 0.8–0.9 below the unigram baseline on the validation text (0.7 on the test text).",
        model={"cell": "lstm", "hidden_size": 64, "num_layers": 1, "init": "default", "forget_bias": 1.0},
        data={"dataset": "pydoc", "timesteps": 32,
              "params": {"length": 100_000, "start": 0, "windows": 4000, "temperature": 0.7},
              "train_frac": 0.8, "val_frac": 0.1},
        train={"optimizer": "adam", "lr": 0.005, "batch_size": 32, "epochs": 12, "clip": "norm",
               "clip_value": 1.0}),
}

_yahoo_checked: dict[str, tuple[float, bool]] = {}
_YAHOO_RECHECK_S = 600.0


def forget_yahoo_check() -> None:
    """Forget whether Yahoo was reachable: the next `nflx_available()` asks it again."""
    _yahoo_checked.clear()


def offline_djia_error() -> str | None:
    """Why the offline DJIA series (the NFLX fallback) cannot be read, or None when it can."""
    from rnn_core.data.errors import DataError
    from rnn_core.data.registry import DATASETS

    try:
        DATASETS["djia"].load()
    except DataError as e:
        return str(e).split("; ")[0]
    return None


def nflx_available() -> bool:
    """Whether Yahoo (or its disk cache) gives NFLX prices now; remembered for 10 minutes."""
    from rnn_core.data.errors import DataError
    from rnn_core.data.yahoo import fetch_yahoo

    now = time.monotonic()
    hit = _yahoo_checked.get("NFLX")
    if hit and now - hit[0] < _YAHOO_RECHECK_S:
        return hit[1]
    try:
        frame, _ = fetch_yahoo(NFLX["ticker"], NFLX["start"], NFLX["end"], NFLX["columns"])
        ok = len(frame) > 200
    except (DataError, OSError, ValueError):
        ok = False
    _yahoo_checked["NFLX"] = (now, ok)
    return ok


def preset_configs(key: str) -> tuple[ModelConfig, DataConfig, TrainConfig]:
    """The preset's three configs (defaults for everything it does not set)."""
    p = copy.deepcopy(PRESETS[key])                       # the caller may change what it gets
    data = p.data
    if key == "stock_nflx" and not nflx_available():
        data.update(dataset=STOCK_FALLBACK, params=dict(STOCK_FALLBACK_PARAMS))
    return ModelConfig(**p.model), DataConfig(**data), TrainConfig(**p.train)


def preset_note(key: str | None) -> str | None:
    """A sentence to show once a preset is applied, or None."""
    if key == "stock_nflx" and not nflx_available():
        djia_error = offline_djia_error()
        if djia_error:     # neither: one sentence that says so, not "uses DJIA" next to "DJIA failed"
            return ("Yahoo Finance is unreachable, NFLX is not in the cache, and the offline Dow Jones series "
                    f"cannot be read either ({djia_error.rstrip('.')}); pick a synthetic preset.")
        return ("Yahoo Finance is unreachable and NFLX is not in the cache, so this preset uses the offline "
                "Dow Jones daily series (2000–2012, about as many days as NFLX 2010–2022) with the same model; "
                "with a network it loads NFLX.")
    return None
