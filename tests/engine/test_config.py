"""Config dataclasses: validation sentences, dict and URL round-trips."""

import json
from dataclasses import asdict, fields

import pytest

from rnn_core.config import ConfigError, DataConfig, TrainConfig, from_dict, from_query, to_query
from rnn_core.nn.model_config import ModelConfig


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
        (lambda: DataConfig(timesteps=1001), "timesteps must be between 1 and 1,000"),
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


# ----------------------------------------------------------------------------- validate_run, FIELDS
def test_validate_run_refuses_a_truncation_longer_than_the_window():
    from rnn_core.config import validate_run

    with pytest.raises(ConfigError, match=r"Truncated BPTT k = 100 is longer than the window \(T = 10\)") as err:
        validate_run(ModelConfig(), DataConfig(timesteps=10), TrainConfig(bptt_truncate=100))
    assert str(err.value).endswith(".") and "\n" not in str(err.value)
    configs = (ModelConfig(), DataConfig(timesteps=10), TrainConfig(bptt_truncate=10))
    assert validate_run(*configs) == configs                    # k = T is the whole window: allowed


@pytest.mark.parametrize("configs, words", [
    ((ModelConfig(cell="jordan", num_layers=2), DataConfig(), TrainConfig()), "exactly 1 layer"),
    ((ModelConfig(forget_bias=40.0), DataConfig(), TrainConfig()), "forget_bias must be between −3 and 6"),
    ((ModelConfig(), DataConfig(train_frac=0.9, val_frac=0.1), TrainConfig()), "room for a test part"),
    ((ModelConfig(), DataConfig(), TrainConfig(clip="value", clip_value=1e9)), "clip_value must be between"),
])
def test_validate_run_makes_every_configs_own_checks(configs, words):
    from rnn_core.config import validate_run

    with pytest.raises(ConfigError, match=words):
        validate_run(*configs)


def test_clip_threshold_is_not_checked_when_clipping_is_off():
    TrainConfig(clip="off", clip_value=1e9).validate()


def test_every_limit_is_a_view_of_the_one_fields_table():
    from rnn_core.config import FIELDS, HELP, LABELS, LIMITS

    assert {n: (f.lo, f.hi) for n, f in FIELDS.items() if f.lo is not None} == LIMITS
    assert {n: f.label for n, f in FIELDS.items()} == LABELS
    for name, f in FIELDS.items():
        if f.lo is not None:
            assert f.lo < f.hi, name
    from rnn_core.lessons.compare import SweepDefaults
    from rnn_core.lessons.lab import LabConfig

    # every row is a real setting: of a run's configs, or of a place with its own ranges ("lab.", …)
    places = {"": (ModelConfig, DataConfig, TrainConfig), "lab.": (LabConfig,), "race.": (ModelConfig,),
              "sweep.": (SweepDefaults,)}
    for name in FIELDS:
        prefix = name[:name.index(".") + 1] if "." in name else ""
        assert name[len(prefix):] in {f.name for cls in places[prefix] for f in fields(cls)}, name
    assert {"cell", "hidden_size", "forget_bias", "timesteps", "lr", "bptt_truncate"} <= set(HELP)


def test_every_range_a_widget_reads_is_a_row_of_the_table():
    """The Lab, Compare's race and its sweeps take their ranges from config.FIELDS (no second table): the race
    offers the Playground's forget-bias range, the Lab its own smaller ones, under "lab.<setting>"."""
    from rnn_core.config import FIELDS, fields_of
    from rnn_core.lessons.compare import RACE_FIELDS, SWEEP_FIELDS
    from rnn_core.lessons.lab import LAB_LIMITS, LAB_SETTINGS

    assert fields_of("lab.") == LAB_SETTINGS and fields_of("sweep.") == SWEEP_FIELDS
    assert all(any(f is row for row in FIELDS.values()) for f in RACE_FIELDS.values())
    assert RACE_FIELDS["forget_bias"] is FIELDS["forget_bias"]
    assert LAB_LIMITS["timesteps"] == (FIELDS["lab.timesteps"].lo, FIELDS["lab.timesteps"].hi)


def test_the_lab_forget_bias_range_is_the_models():
    """One forget-bias limit: the Lab's slider covers exactly the range ModelConfig accepts."""
    from rnn_core.config import FIELDS
    from rnn_core.lessons.lab import LAB_SETTINGS, LabConfig, clamp_lab

    lab = LAB_SETTINGS["forget_bias"]
    assert (lab.lo, lab.hi) == (FIELDS["forget_bias"].lo, FIELDS["forget_bias"].hi)
    assert clamp_lab(LabConfig(forget_bias=40.0, gain=9.0)).forget_bias == lab.hi
    with pytest.raises(ConfigError, match="forget_bias"):
        LabConfig(forget_bias=40.0).validate()


def test_dataset_params_and_configs_cast_through_one_routine():
    from rnn_core.config import cast_like
    from rnn_core.data.registry import Param

    assert cast_like(1, "3.0") == 3 and cast_like(0.5, "2") == 2.0 and cast_like(True, "yes") is True
    assert cast_like([], "a,b") == ["a", "b"] and cast_like("", ["x", "y"]) == "x,y"
    assert Param("n", "N", 5, 1, 10).coerce("7") == 7 == cast_like(5, "7")
