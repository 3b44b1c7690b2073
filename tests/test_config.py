"""Config dataclasses: validation sentences, dict and URL round-trips."""

import json
from dataclasses import asdict

import pytest

from rnn_core.config import (
    ConfigError,
    DataConfig,
    ModelConfig,
    TrainConfig,
    from_dict,
    from_query,
    to_query,
)


def test_defaults_validate():
    ModelConfig().validate()
    DataConfig().validate()
    TrainConfig().validate()


@pytest.mark.parametrize(
    "build, words",
    [
        (lambda: ModelConfig(cell="transformer"), "Unknown cell"),
        (lambda: ModelConfig(hidden_size=0), "hidden_size must be between 1 and 512"),
        (lambda: ModelConfig(hidden_size=513), "hidden_size"),
        (lambda: ModelConfig(num_layers=5), "num_layers"),
        (lambda: DataConfig(timesteps=1001), "timesteps must be between 1 and 1000"),
        (lambda: DataConfig(train_frac=0.9, val_frac=0.1), "leave room for a test part"),
        (lambda: TrainConfig(lr=float("nan")), "lr must be between"),
        (lambda: TrainConfig(lr=11.0), "lr must be between"),
        (lambda: TrainConfig(clip="norm", clip_value=0.0), "threshold must be positive"),
        (lambda: TrainConfig(optimizer="lbfgs"), "Unknown optimizer"),
    ],
)
def test_bad_settings_give_one_sentence(build, words):
    cfg = build()
    with pytest.raises(ConfigError, match=words) as err:
        cfg.validate()
    assert str(err.value).endswith(".")


def test_dict_round_trip_through_json():
    m = ModelConfig(cell="lstm", hidden_size=64, num_layers=2, init="orthogonal", gain=1.5, forget_bias=1.0)
    d = DataConfig(dataset="yahoo", timesteps=100, params={"ticker": "NFLX", "noise": 0.1},
                   features=["Close", "Volume"], target="Close")
    t = TrainConfig(optimizer="sgd", lr=0.05, clip="value", clip_value=10.0, bptt_truncate=5, seed=7)
    for cfg in (m, d, t):
        back = from_dict(type(cfg), json.loads(json.dumps(asdict(cfg))))
        assert back == cfg


def test_from_dict_ignores_unknown_keys_and_casts():
    cfg = from_dict(ModelConfig, {"cell": "gru", "hidden_size": "16", "gain": "2", "bogus": 1})
    assert cfg == ModelConfig(cell="gru", hidden_size=16, gain=2.0)


def test_query_round_trip_keeps_only_changes():
    m = ModelConfig(cell="gru", hidden_size=8)
    d = DataConfig(dataset="echo", timesteps=30, params={"lag": 10, "noise": 0.05}, features=["a", "b"])
    t = TrainConfig(lr=0.001, epochs=3)
    q = to_query(m, d, t)
    assert q["m.cell"] == "gru" and "m.num_layers" not in q
    assert q["d.params.lag"] == "10"
    assert all(isinstance(v, str) for v in q.values())
    assert from_query(ModelConfig, q) == m
    assert from_query(DataConfig, q) == d
    assert from_query(TrainConfig, q) == t
