"""A run's HTML page (`plots/report.py` over `rnn_core/lessons/run_page.py`): one small run, written once,
read back. The page inlines Plotly and loads nothing else; its charts and scrubber data cover every recorded
step and every probe; it says the preset's sentence, the verdict (the one rule), the metrics of the final
weights and the settings, with a link the app reads back as the same settings; it weighs under 8 MB."""

from __future__ import annotations

import base64
import json
import re
from dataclasses import replace
from urllib.parse import parse_qsl, urlsplit

import numpy as np
import pytest

from plots.report import MAX_BYTES, report_html
from plots.tables import metrics_display, metrics_frame
from rnn_core.cli.page import page_closed_loop
from rnn_core.config import DataConfig, TrainConfig
from rnn_core.data.windows import naive_loss, prepare
from rnn_core.lessons.presets import PRESETS, preset_configs
from rnn_core.lessons.run_page import RunPage, page_facts
from rnn_core.lessons.share import playground_link
from rnn_core.measure.evaluate import evaluate
from rnn_core.measure.moments import frame_at, key_moments, timeline
from rnn_core.measure.verdict import run_verdict
from rnn_core.nn.model_config import ModelConfig
from rnn_core.nn.train import run_to_end
from rnn_core.readable import readable

BASE = "https://rnn.example.edu/"


def decoded(values) -> list:
    """A trace's values as the page holds them: a list, or Plotly's typed array ({"dtype", "bdata": base64})."""
    if isinstance(values, dict):
        return np.frombuffer(base64.b64decode(values["bdata"]), dtype=np.dtype(values["dtype"])).tolist()
    return list(values)


@pytest.fixture(scope="module")
def written():
    """A small forecast run (3 epochs, a probe every epoch) and its page."""
    data = DataConfig(dataset="sine", timesteps=12, params={"length": 260, "noise": 0.05})
    model = ModelConfig(cell="lstm", hidden_size=6)
    train = TrainConfig(epochs=3, batch_size=32, lr=0.01, probe_every=1)
    windows = prepare(data)
    sized = replace(model, input_size=windows.n_features, output_size=int(windows.y_train.shape[1]))
    net, records = run_to_end(sized, train, windows)
    page = RunPage(sized, data, train, records, evaluate(net, windows), naive_loss(windows), windows.task,
                   target_name=windows.target_name, closed=page_closed_loop(net, windows, train))
    text = report_html(page, BASE)
    data_json = re.search(r"<script type='application/json' id='run-data'>(.*?)</script>", text, re.S).group(1)
    return page, text, json.loads(data_json)


def test_the_page_inlines_plotly_and_loads_nothing(written):
    from plotly.offline import get_plotlyjs

    _, text, _ = written
    assert get_plotlyjs() in text
    assert not re.search(r"<(script|img|iframe|link)[^>]*\b(src|href)=", text)      # nothing fetched
    assert len(text.encode("utf-8")) < MAX_BYTES


def test_every_chart_is_there_with_its_text_alternative(written):
    page, text, data = written
    assert set(data["figures"]) == {"loss", "grad_norm", "param_norms", "spectra", "heatmap", "predictions"}
    for key in [*data["figures"], "gradient", "gates"]:
        assert f"id='chart-{key}'" in text and f"id='alt-{key}'" in text
    probes = [r for r in page.records if isinstance(r.get("probe"), dict)]
    assert len(data["profiles"]) == len(probes) == 4          # initialisation and each of the 3 epochs
    assert all(p["gates"]["layout"]["title"]["text"].startswith("Mean gate activations") for p in data["profiles"])
    assert [p["layout"]["title"]["text"].split(":")[-1] for p in data["profiles"]][-1].strip().startswith("epoch 3")


def test_a_forecast_page_draws_the_closed_loop_forecast_as_the_playground_does(written):
    """The final weights fed their own predictions: the same trace the Playground's predictions chart draws,
    value for value, past the end of the data."""
    page, _, data = written
    traces = {t["name"]: t for t in data["figures"]["predictions"]["data"]}
    closed = traces["closed-loop forecast (own predictions fed back)"]
    assert len(page.closed["y_pred"]) > page.closed["n_known"]             # it runs on past the data
    assert decoded(closed["y"]) == pytest.approx(page.closed["y_pred"])


def test_the_scrubber_holds_every_recorded_step(written):
    page, _, data = written
    steps = [r for r in page.records if r["kind"] == "step"]
    assert [s["step"] for s in data["stops"]] == timeline(page.records) == [0, *(r["step"] for r in steps)]
    by_step = {s["step"]: s for s in data["stops"]}
    for r in steps:                       # each stop says that step's loss and gradient norm
        assert f"batch loss {readable(r['loss'])}" in by_step[r["step"]]["text"]
        assert f"‖g‖ {readable(r['grad_norm'])}" in by_step[r["step"]]["text"]
    assert data["stops"][0]["probe"] == 0 and data["stops"][-1]["probe"] == 3
    assert data["stops"][-1]["x_epoch"] == 3


def test_each_stop_shows_what_frame_at_says_the_charts_show_there(written):
    """The stops are found in one pass; at every step they name the records `moments.frame_at` names."""
    page, _, data = written
    probes = [r for r in page.records if isinstance(r.get("probe"), dict)]
    epochs = [r for r in page.records if r["kind"] == "epoch"]
    for stop in data["stops"]:
        frame = frame_at(page.records, stop["step"])
        assert stop["epoch"] == frame.epoch
        assert probes[stop["probe"]] is frame.probe_record and epochs[stop["epoch_index"]] is frame.epoch_record
        assert stop["x_epoch"] == frame.epoch_record["epoch"]


def test_the_key_moments_are_buttons_to_their_steps(written):
    page, text, data = written
    moments = key_moments(page.records, page.baseline, page.task)
    assert [m["kind"] for m in data["moments"]] == [m.kind for m in moments] and len(moments) >= 2
    stop_steps = [s["step"] for s in data["stops"]]
    for m in moments:
        button = re.search(rf"data-stop='(\d+)' data-kind='{m.kind}'", text)
        assert button and stop_steps[int(button.group(1))] == m.step


def test_the_verdict_metrics_and_settings_are_the_runs(written):
    page, text, _ = written
    epochs = [r for r in page.records if r["kind"] == "epoch"]
    end = page.records[-1]
    verdict = run_verdict(epochs, end, page.baseline, page.task, page.train.clip)
    assert f"<strong>Verdict:</strong> {verdict.text}" in text
    table, _ = metrics_display(metrics_frame(page.evaluation))
    assert all(f"<td>{v}</td>" in text for v in table.iloc[0])
    assert "<td>Hidden size</td><td>6</td>" in text and "<td>Epochs</td><td>3</td>" in text


def test_the_link_reopens_the_same_settings_in_the_app(written):
    from ui.links import PLAYGROUND, read_link

    page, text, _ = written
    link = page_facts(page, BASE)["link"]
    assert link.startswith(BASE + "?") and f"href='{link.replace('&', '&amp;')}'" in text
    opened = read_link(PLAYGROUND, dict(parse_qsl(urlsplit(link).query)))
    model, data, train = opened.settings
    assert opened.note is None
    assert (replace(model, input_size=page.model.input_size, output_size=page.model.output_size), data, train) == (
        page.model, page.data, page.train)


def test_the_moment_link_names_what_the_app_reads_as_a_moment(written):
    from ui.links import read_at

    page, _, data = written
    base = page_facts(page, BASE)["moment_link"]
    assert base == page_facts(page, BASE)["link"] + "&at="
    for at in ("diverged", str(data["stops"][-1]["step"])):
        query = dict(parse_qsl(urlsplit(base + at).query))
        assert read_at(query) == ((at if at.isalpha() else int(at)), None)


def test_a_presets_page_says_its_sentence_and_links_to_it(written):
    run, _, _ = written
    model, data, train = preset_configs("exploding")
    page = RunPage(model, data, train, run.records, {}, run.baseline, run.task, preset="exploding")
    facts = page_facts(page, BASE)
    assert facts["title"] == PRESETS["exploding"].title and facts["sentence"] == PRESETS["exploding"].description
    assert facts["link"] == playground_link({"preset": "exploding"}, BASE) == BASE + "?preset=exploding"
    assert facts["moment_link"] == BASE + "?preset=exploding&at="        # + a step or a key moment's kind
    changed = page_facts(replace(page, train=replace(train, epochs=2)), BASE)
    assert "the settings have changed since" in changed["sentence"] and "preset=" not in changed["link"]


def test_a_run_stopped_before_its_first_epoch_still_gives_a_page(written):
    run, _, _ = written
    stopped = {"kind": "end", "status": "stopped", "epoch": 0, "step": 0, "reason": "Interrupted (Ctrl-C).",
               "seconds": 0.1}
    text = report_html(RunPage(run.model, run.data, run.train, [stopped], {}, run.baseline, run.task), BASE)
    data = json.loads(re.search(r"id='run-data'>(.*?)</script>", text, re.S).group(1))
    assert [s["step"] for s in data["stops"]] == [0] and data["profiles"] == [] and data["figures"] == {}
    assert "Run stopped.</strong> Interrupted (Ctrl-C)." in text
    assert "The final weights were not evaluated" in text and "no finished epoch" in text


def test_written_from_the_app_the_charts_keep_the_apps_look_not_streamlits_placeholders(written):
    """Inside the app Plotly's default template is Streamlit's, whose colours ("#000001" … "#000040") only
    Streamlit's page replaces: the report's charts carry the app's theme as their own values instead."""
    import streamlit.elements.plotly_chart  # noqa: F401 - what the app has imported: Streamlit's template

    from plots.report import _fig_json
    from plots.series import grad_norm_figure
    from plots.theme import THEME_LAYOUT

    _, _, data = written
    figures = [*data["figures"].values(), _fig_json(grad_norm_figure([], "off", 1.0, True))]
    for fig in figures:
        layout = fig["layout"]
        assert "template" not in layout and layout["font"] == THEME_LAYOUT["font"], layout.get("template")
        assert not re.search(r'"#0000[0-4]\d"', json.dumps(fig)), "a placeholder colour of Streamlit's theme"
