"""The app's own chart element (`ui.chart_element`) through AppTest: every chart is drawn by it, with the
themed figure's JSON, Plotly's own bundle in place to be served, and the element keyed by the chart's key
(what keeps it on the page across redraws); where Plotly.js cannot be put in place, the charts are still
drawn, by `st.plotly_chart`, and the log says why."""

import json
import logging

from streamlit.testing.v1 import AppTest

from tests.conftest import ROOT, charts
from tests.pages.test_lab_page import TINY, _lab_app
from ui import chart_element


def _lab() -> AppTest:
    """The Lab at a small setup (`tests.pages.test_lab_page._lab_app`)."""
    return _lab_app(state=TINY)


def test_every_chart_is_our_element_with_its_figure_and_plotly_in_place():
    at = _lab()
    ours = [e for e in at.get("bidi_component") if e.proto.component_name == chart_element.NAME]
    assert len(ours) == 3 and not at.get("plotly_chart")
    for element in ours:
        given = json.loads(element.proto.bytes)
        assert given["bundle"] == "/app/static/plotly.min.js"
        assert given["config"]["displaylogo"] is False and given["fill"] is False
        figure = given["figure"]
        assert figure["data"] and figure["layout"]["title"]["text"]
        assert "template" not in figure["layout"]              # themed by value (plots/theme.py)
    # keyed by the chart's key, whatever the figure: the element stays on the page when its data changes
    assert any(e.proto.id.endswith("lab_gradient") for e in ours)
    served = ROOT / "static" / chart_element.BUNDLE
    assert served.read_bytes() == chart_element.SOURCE.read_bytes()


def test_the_same_figure_gives_the_same_bytes_and_a_rerun_the_same_element():
    at = _lab()
    before = {e.proto.id: e.proto.bytes for e in at.get("bidi_component")}
    at.run()
    after = {e.proto.id: e.proto.bytes for e in at.get("bidi_component")}
    assert before == after
    at.slider(key="lab.timesteps").set_value(14).run()
    changed = {e.proto.id: e.proto.bytes for e in at.get("bidi_component")}
    assert set(changed) == set(before)                         # the same elements …
    assert changed != before                                   # … given the new figures


def test_without_plotly_in_place_the_charts_are_drawn_by_streamlit_and_the_log_says_why(monkeypatch, caplog,
                                                                                      tmp_path):
    monkeypatch.setattr(chart_element, "SOURCE", tmp_path / "no-such-bundle.js")
    monkeypatch.setattr(chart_element, "_READY", {})
    with caplog.at_level(logging.WARNING, logger="ui.chart_element"):
        at = _lab()
    assert not at.get("bidi_component") and len(at.get("plotly_chart")) == 3
    assert len(charts(at)) == 3
    assert "charts fall back to st.plotly_chart" in caplog.text and "no-such-bundle.js" in caplog.text


def test_plotly_js_is_loaded_under_the_servers_base_path():
    from streamlit import config

    before = config.get_option("server.baseUrlPath")
    try:
        config.set_option("server.baseUrlPath", "/rnn/")
        assert chart_element.bundle_url() == "/rnn/app/static/plotly.min.js"
        config.set_option("server.baseUrlPath", "")
        assert chart_element.bundle_url() == "/app/static/plotly.min.js"
    finally:
        config.set_option("server.baseUrlPath", before)
