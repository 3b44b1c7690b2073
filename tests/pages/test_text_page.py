"""The text task in the app (AppTest): a character model trains, its samples and connectivity read back;
pasted text that cannot be used gets one sentence; user text is escaped, never rendered as HTML."""

from __future__ import annotations

from tests.conftest import PAGE_DIR, chart, open_page, run_of, wait_for_run

PAGE = f"{PAGE_DIR}/playground.py"
TINY = {"m.cell": "lstm", "m.hidden_size": "8", "d.dataset": "brackets", "d.timesteps": "8",
        "d.params.span": "4", "d.params.length": "3000", "d.params.windows": "300", "t.epochs": "2",
        "t.lr": "0.02"}


def _frame(at, column: str):
    return next(d.value for d in at.dataframe if column in d.value.columns)


def _html(at) -> str:
    return "\n".join(h.proto.body for h in at.get("html"))


def test_the_brackets_preset_trains_and_shows_samples_and_connectivity():
    # the preset, shortened through the link's overrides (the preset applies first, the rest over it)
    at = open_page(PAGE, {"preset": "char_brackets", "m.cell": "lstm", "m.hidden_size": "8",
                          "d.params.length": "4000", "d.params.windows": "300", "t.epochs": "2"})
    assert at.selectbox(key="pg.d.dataset").value == "brackets" and at.number_input(key="pg.d.timesteps").value == 12
    assert any("tanh vs LSTM on brackets" in c.value for c in at.caption)
    at.button(key="pg.btn.train").click().run()
    assert wait_for_run(at) == "completed"
    assert not at.exception, [e.value for e in at.exception]
    vocab = set("()[]{}ab ")
    samples = _frame(at, "sample")
    assert list(samples["epoch"]) == [2, 1, 0]                       # one sample per epoch, newest first
    assert all(len(s) == 200 and set(s) <= vocab for s in samples["sample"])
    assert at.code[0].value == samples["sample"].iloc[0]              # the latest sample, in full
    body = _html(at)
    assert 'title="predicted next"' in body and "‖∂ log p/∂x‖" in body  # coloured connectivity
    spec = chart(at, "pg.chart.connectivity")
    assert spec["data"][0]["name"] == "lstm"
    assert any("the opener" in str(a.get("text")) for a in spec["layout"].get("annotations", []))   # span 10 marked
    scores = _frame(at, "bits/char")
    assert set(scores["split"]) >= {"train", "test (held out)"}
    assert (scores["bits/char"] > 0).all() and "closer right" in scores.columns
    loss = chart(at, "pg.chart.loss")
    assert loss["layout"]["yaxis"]["title"]["text"] == "bits per character"
    assert any(t.get("name", "").startswith("unigram baseline") for t in loss["data"])   # "… (validation)"


def test_pasted_text_is_checked_and_escaped():
    at = open_page(PAGE, {"d.dataset": "text", "d.timesteps": "8", "d.params.windows": "200", "t.epochs": "1",
                          "m.hidden_size": "4"})
    assert any("Paste some text" in e.value for e in at.sidebar.error)
    at.text_area(key="pg.d.text_paste").set_value("too short").run()
    assert any("has 9 characters; paste at least 200" in e.value for e in at.sidebar.error)
    hostile = "<script>alert(1)</script> **bold** $x$ <b>tag</b>\n" * 20
    at.text_area(key="pg.d.text_paste").set_value(hostile).run()
    assert not at.sidebar.error
    at.button(key="pg.btn.train").click().run()
    assert wait_for_run(at) == "completed"
    assert not at.exception, [e.value for e in at.exception]
    body = _html(at)
    # characters, not markup (the page's own script, ui/keys.py, is not the user's)
    assert "<script>alert" not in body and "<b>tag" not in body and "&lt;" in body


def test_race_button_puts_tanh_rnn_and_lstm_side_by_side_on_compare():
    import time

    at = open_page(PAGE, {**TINY, "t.epochs": "1"})
    at.button(key="pg.race_text").click().run()
    assert not at.exception, [e.value for e in at.exception]
    assert at.session_state["cmp.m.cells"] == ["rnn", "lstm"]
    at.switch_page(f"{PAGE_DIR}/compare.py")          # AppTest follows st.switch_page only when told
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        at.run()
        runs = [r for c in ("rnn", "lstm") if (r := run_of(at, f"cmp.{c}")) is not None]
        if len(runs) == 2 and all(r.status in ("completed", "stopped", "diverged") for r in runs):
            break
        time.sleep(0.3)
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    assert [r.status for r in runs] == ["completed", "completed"]
    assert _html(at).count('title="predicted next"') == 2            # one coloured window per cell
    spec = chart(at, "cmp.chart.connectivity")
    assert [t["name"] for t in spec["data"]] == ["Elman RNN (tanh)", "LSTM"]


def test_the_data_page_shows_a_text_dataset_as_characters():
    at = open_page(f"{PAGE_DIR}/data.py")
    at.selectbox(key="data.dataset").set_value("brackets").run()
    assert not at.exception, [e.value for e in at.exception]
    assert at.code[0].value.startswith(("(", "[", "{"))
    assert any(c.value.startswith("next character:") for c in at.code)
