"""The Playground in stateful mode through AppTest: the widgets a preset sets, a tiny stateful run, what its
gradient chart and captions say, and the link it writes."""

import time

from streamlit.testing.v1 import AppTest

from tests.conftest import chart, open_page, run_of

PAGE = "app_pages/playground.py"


def _wait(at: AppTest, limit: float = 90.0) -> str:
    deadline = time.monotonic() + limit
    while time.monotonic() < deadline:
        at.run()
        run = run_of(at)
        if run is not None and run.status in ("completed", "stopped", "diverged"):
            at.run()
            return run.status
        time.sleep(0.2)
    raise AssertionError("the run did not finish")


def _figure(at: AppTest, name: str) -> dict:
    return chart(at, name)


def test_the_state_vs_gradient_preset_sets_the_stateful_widgets():
    at = open_page(PAGE, {"preset": "stateful_brackets"})
    assert at.toggle(key="pg.t.stateful").value is True
    assert at.number_input(key="pg.t.stateful_streams").value == 16
    assert at.number_input(key="pg.t.bptt_truncate").value == 4
    assert at.selectbox(key="pg.t.state_reset").value == "epoch"
    assert at.number_input(key="pg.t.state_reset_every").disabled          # only for "every N updates"
    assert not at.exception


def test_a_tiny_stateful_run_shows_where_the_gradient_is_cut_and_how_far_the_state_carries():
    at = open_page(PAGE)
    at.number_input(key="pg.t.epochs").set_value(1)
    at.number_input(key="pg.d.timesteps").set_value(10)
    at.number_input(key="pg.m.hidden_size").set_value(4)
    at.number_input(key="pg.dp.sine.length").set_value(300)
    assert at.number_input(key="pg.t.stateful_streams").disabled           # greyed out while off
    at.toggle(key="pg.t.stateful").set_value(True).run()
    at.number_input(key="pg.t.stateful_streams").set_value(2)
    at.number_input(key="pg.t.bptt_truncate").set_value(4).run()
    assert at.query_params["t.stateful"] == "True" and at.query_params["t.stateful_streams"] == "2"
    at.button(key="pg.btn.train").click().run()
    assert _wait(at) == "completed"
    assert not at.exception and not at.error
    grad = _figure(at, "chart.grad_time")
    names = [t.get("name") for t in grad["data"]]
    assert "state: ‖∂h_T/∂xₜ‖, never truncated" in names
    assert any("gradient cut 4 steps back" in a.get("text", "") for a in grad["layout"]["annotations"])
    captions = " ".join(c.value for c in at.caption)
    assert "its gradient is cut 4 steps back" in captions and "the state carries what the gradient never sees" \
        in captions
    assert "the data is read as one stream, not as windows" in captions   # how the metrics were read
    assert "then is fed its own predictions with the state carried" in captions       # and so does the closed loop
