"""Stateful mode from every front end that reads the settings table: the CLI's flags, a link, a saved run."""

from __future__ import annotations

import json

import pytest

from rnn_core.cli.main import main
from rnn_core.config import FIELDS, DataConfig, TrainConfig, from_query, to_query
from rnn_core.data.windows import prepare
from rnn_core.nn.model_config import ModelConfig
from rnn_core.nn.models import build_model
from rnn_core.nn.train import train
from rnn_core.serve.run_format import load_run_zip
from rnn_core.serve.runs import run_zip_bytes
from ui.links import PLAYGROUND, link_params, read_link

SINE = ["--dataset", "sine", "--param", "length=200", "--timesteps", "10", "--hidden", "4", "--epochs", "1"]


def _main(argv: list[str]) -> int:
    try:
        return main(argv)
    except SystemExit as e:                          # argparse errors exit through SystemExit
        return int(e.code)


def test_cli_trains_stateful_and_says_how_it_reads_the_data(tmp_path, capsys):
    out = tmp_path / "run.json"
    code = _main(["train", *SINE, "--stateful", "--bptt-truncate", "5", "--stateful-streams", "2",
                  "--stateful-step", "3", "--state-reset", "never", "--json", str(out)])
    captured = capsys.readouterr()
    assert code == 0, captured.err
    assert ("Stateful: 2 stream(s) read in order; each update reads 3 new step(s) from the carried state and "
            "back-propagates 5; the state is reset never.") in captured.out
    assert "the data is read as one stream, not as windows" in captured.out   # the evaluation says so
    record = json.loads(out.read_text())
    t = record["config"]["train"]
    assert (t["stateful"], t["stateful_streams"], t["bptt_truncate"], t["stateful_step"], t["state_reset"]) == \
        (True, 2, 5, 3, "never")
    steps_per_stream = (len(prepare(DataConfig(dataset="sine", timesteps=10,
                                               params={"length": 200})).idx_train) + 9) // 2
    assert record["epochs"][1]["steps"] == -(-steps_per_stream // 3)          # ⌈m / k1⌉ updates
    assert record["epochs"][-1]["probe"]["cut"] == 5 and "carry" in record["epochs"][-1]["probe"]


@pytest.mark.parametrize("argv, words", [
    (["--stateful", "--bptt-truncate", "4", "--stateful-step", "6"], "exceed the truncation k = 4"),
    (["--stateful", "--stateful-streams", "100"], "use at most"),
    (["--stateful", "--stateful-streams", "600"], "stateful_streams must be between 1 and 512"),
    (["--stateful", "--state-reset-every", "0"], "state_reset_every must be between"),
])
def test_cli_refuses_a_stateful_setup_in_one_sentence(argv, words, capsys):
    assert _main(["train", *SINE, *argv]) == 2
    err = capsys.readouterr().err
    assert words in err and "Traceback" not in err and len(err.strip().splitlines()) == 1


def test_the_stateful_flags_state_the_ranges_of_the_settings_table(capsys):
    assert _main(["train", "--help"]) == 0
    out = " ".join(capsys.readouterr().out.split())
    f = FIELDS["stateful_streams"]
    assert "--stateful-streams B" in out and f"{f.lo:g} to {f.hi:g}" in out
    assert "--state-reset {epoch,never,steps}" in out


def test_a_link_carries_the_stateful_settings_and_clamps_them():
    cfg = TrainConfig(stateful=True, stateful_streams=4, stateful_step=2, bptt_truncate=6, state_reset="steps",
                      state_reset_every=50)
    query = to_query(cfg)
    assert query["t.stateful"] == "True" and query["t.state_reset"] == "steps"
    assert from_query(TrainConfig, query) == cfg
    settings = (ModelConfig(), DataConfig(timesteps=10), cfg)
    link = read_link(PLAYGROUND, link_params(PLAYGROUND, settings))
    assert link.settings[2] == cfg and link.note is None
    wild = read_link(PLAYGROUND, {"t.stateful": "true", "t.stateful_streams": "9999"})
    assert wild.settings[2].stateful and wild.settings[2].stateful_streams == 512
    assert "Streams 9,999 is outside 1–512; set to 512." in wild.note
    assert read_link(PLAYGROUND, {"preset": "stateful_sine"}).settings[2].stateful


def test_a_saved_stateful_run_loads_with_its_settings():
    d = DataConfig(dataset="sine", timesteps=10, params={"length": 200})
    w = prepare(d)
    m = ModelConfig(cell="gru", hidden_size=4)
    t = TrainConfig(epochs=1, stateful=True, stateful_streams=3, bptt_truncate=4, probe_every=1)
    model = build_model(m, seed=0)
    records = list(train(model, w, t))
    loaded = load_run_zip(run_zip_bytes(model, m, d, t, records, {}))
    assert loaded.train_cfg == t
    assert loaded.records[-2]["probe"]["carry"] == records[-2]["probe"]["carry"]
