"""The Playground's scrubber through AppTest: after a run, a timeline over every recorded step and the key
moments as one-click pills; the chosen moment is marked on the charts and kept in the address bar
(`at=`); a link with `at=` trains its run when the session has none and lands on the moment; presenter
view steps from key moment to key moment."""

from __future__ import annotations

import base64
import math
import time

import numpy as np

from rnn_core.measure.moments import NAMES, key_moments
from tests.conftest import chart, open_page, run_of, slot_of
from ui.run_files import run_records

PAGE = "app_pages/playground.py"
FINISHED = ("completed", "stopped", "diverged")
STEP, MOMENT = "pg.scrub.step", "pg.scrub.moment"


def _wait(at, limit: float = 120.0) -> str:
    deadline = time.monotonic() + limit
    while time.monotonic() < deadline:
        at.run()
        run = run_of(at)
        if run is not None and run.status in FINISHED:
            at.run()
            return run.status
        time.sleep(0.2)
    raise AssertionError("the run did not end")


def _figure(at, name: str) -> dict:
    return chart(at, name)


def _marks(spec: dict) -> list[float]:
    """The x of every vertical line drawn across the plot (the scrubber's mark)."""
    return [s["x0"] for s in spec["layout"].get("shapes", []) if s.get("yref") == "y domain" and s["x0"] == s["x1"]]


def _values(array) -> list[float]:
    """A trace's y from the figure JSON: a list, or Plotly's typed array {"dtype", "bdata"}."""
    if isinstance(array, dict):
        return np.frombuffer(base64.b64decode(array["bdata"]), dtype=array["dtype"]).tolist()
    return list(array or [])


def _rises_plainly(spec: dict) -> None:
    """The gradient chart of Exploding's explosion: its solid line (layer 1) is the profile at initialisation
    rising more than 100× toward t = 0, on a log axis under 8 decades tall where that rise takes more than a
    quarter of the height (as tests/engine/test_preset_frames.py holds for the figure the engine builds)."""
    assert "epoch 0" in spec["layout"]["title"]["text"], spec["layout"]["title"]
    line = _values(next(t for t in spec["data"] if t.get("name") == "layer 1 ‖∂L/∂hₜ‖")["y"])
    assert line[0] > 100 * line[-1], (line[0], line[-1])
    axis = spec["layout"]["yaxis"]
    assert axis.get("type") == "log"
    if axis.get("range"):
        bottom, top = axis["range"]
    else:
        ys = [v for t in spec["data"] for v in _values(t.get("y")) if v is not None and v > 0]
        bottom, top = math.log10(min(ys)), math.log10(max(ys))
    rise = math.log10(line[0] / line[-1])
    assert top - bottom < 8 and rise > 0.25 * (top - bottom), (bottom, top, rise)


def _param(at, name: str):
    value = at.query_params.get(name)
    return value[0] if isinstance(value, list) else value


def _slider(at):
    found = [w for w in at.get("select_slider") if w.key == STEP]
    return found[0] if found else None


def _pills(at):
    found = [w for w in at.get("button_group") if w.key == MOMENT]
    return found[0] if found else None


def test_a_link_to_a_moment_trains_the_run_and_lands_on_it():
    at = open_page(PAGE, {"preset": "exploding", "at": "diverged"})
    run = run_of(at)
    assert run is not None                                # the link started its run: no Train pressed
    if run.status not in FINISHED:                        # while it trains, the page says what it does
        assert any("This link opens the run at “diverges”" in i.value for i in at.info)
        assert _slider(at) is None                        # the charts follow the run live meanwhile
    assert _wait(at) == "diverged"
    end = run_of(at).snapshot().end
    assert _slider(at).value == end["step"] and _pills(at).value == "diverged"
    assert _param(at, "at") == "diverged" and _param(at, "preset") == "exploding"
    assert end["step"] in _marks(_figure(at, "chart.loss")) and end["step"] in _marks(_figure(at, "chart.grad_norm"))
    # its sentence under the charts, in numbers
    assert any(f"diverges** (step {end['step']}" in c.value for c in at.caption)
    # the gradient chart there: the profile that exploded, rising toward t = 0, plainly
    _rises_plainly(_figure(at, "chart.grad_time"))
    assert any("before its next probe: the solid line is the profile at initialisation" in c.value
               for c in at.caption)
    # and the run's last frame shows the same, nothing chosen (the timeline at its end)
    at.button(key="pg.btn.reset").click().run()
    at.button(key="pg.btn.train").click().run()
    assert _wait(at) == "diverged" and _param(at, "at") is None
    _rises_plainly(_figure(at, "chart.grad_time"))
    assert not at.exception


def test_scrubbing_marks_every_chart_and_keeps_the_moment_in_the_link():
    at = open_page(PAGE, {"preset": "clipping_rescue", "t.epochs": "4"})
    assert _slider(at) is None                            # no run, no scrubber
    at.button(key="pg.btn.train").click().run()
    assert _wait(at) == "completed"
    slider = _slider(at)
    steps = slider.proto.options
    assert slider.value == int(steps[-1].split()[1]) and _param(at, "at") is None    # the run as it ended
    assert _marks(_figure(at, "chart.loss")) == []        # nothing chosen: nothing marked
    # a few steps into epoch 2: the step charts marked there, the epoch charts at the last epoch closed
    # before it (1), the gradient profile of the last probe before it, its heatmap row framed
    snap = run_of(at).snapshot()
    closed = next(r for r in snap.epochs if r["epoch"] == 1)
    mid = closed["step"] + 5
    probed = max(r["epoch"] for r in snap.epochs if r.get("probe") and r["step"] <= mid)
    slider.set_value(mid).run()
    assert _param(at, "at") == str(mid)
    assert mid in _marks(_figure(at, "chart.loss")) and mid in _marks(_figure(at, "chart.grad_norm"))
    assert 1 in _marks(_figure(at, "chart.spectra")) and 1 in _marks(_figure(at, "chart.param_norms"))
    title = _figure(at, "chart.grad_time")["layout"]["title"]["text"]
    assert f"epoch {probed}" in title
    heat = _figure(at, "chart.heatmap")["layout"]["shapes"]
    assert any(s["type"] == "rect" and s["y0"] < probed < s["y1"] for s in heat)     # that profile's row framed
    assert any("not recorded per step" in c.value for c in at.caption)           # predictions: the end's
    # one click on a key moment: the slider goes there, the link names the moment
    pills = _pills(at)
    assert "first clipped step" in pills.options                    # shown by name, picked by kind
    pills.set_value("first_clip").run()
    first_clip = next(r for r in run_of(at).snapshot().steps if r["clipped"])["step"]
    assert _slider(at).value == first_clip and _param(at, "at") == "first_clip"
    assert first_clip in _marks(_figure(at, "chart.loss"))
    # Reset forgets the run and the moment
    at.button(key="pg.btn.reset").click().run()
    assert _slider(at) is None and _param(at, "at") is None
    assert not at.exception


def test_presenter_view_steps_from_key_moment_to_key_moment():
    at = open_page(PAGE, {"preset": "exploding", "at": "start", "presenter": "1", "chart": "gradient"})
    assert _wait(at) == "diverged"
    assert _slider(at).value == 0 and _param(at, "at") == "start"
    title = _figure(at, "present.gradient")["layout"]["title"]["text"]
    assert "epoch 0" in title
    seen = [0]
    while not at.button(key="pg.scrub.next").disabled:
        at.button(key="pg.scrub.next").click().run()
        seen.append(_slider(at).value)
    assert seen == sorted(seen) and len(set(seen)) == len(seen) and seen[-1] == run_of(at).snapshot().end["step"]
    assert _param(at, "at") == "diverged" and at.button(key="pg.scrub.back").disabled is False
    _rises_plainly(_figure(at, "present.gradient"))                       # the explosion, on the big screen
    kinds = {m.kind for m in key_moments(run_records(run_of(at)))}
    assert {"grows_most", "diverged"} <= kinds, kinds
    at.button(key="pg.scrub.back").click().run()
    assert _slider(at).value == seen[-2]
    assert not at.exception


def test_a_link_moment_that_is_not_one_is_a_sentence_and_trains_nothing():
    at = open_page(PAGE, {"preset": "exploding", "at": "explosion"})
    notes = " ".join(w.value for w in at.warning).replace("\\", "")          # shown Markdown-escaped
    assert "'explosion' is neither a step number nor one of the key moments" in notes
    assert run_of(at) is None and not at.exception
    state = slot_of(at)
    assert state.at is None and state.at_link is None


def test_a_moment_this_run_lacks_lands_on_its_last_step_with_a_sentence():
    at = open_page(PAGE, {"preset": "exploding", "at": "first_clip"})          # clipping is off
    assert _wait(at) == "diverged"
    end = run_of(at).snapshot().end["step"]
    assert _slider(at).value == end
    assert any("no moment 'first_clip'" in c.value for c in at.caption)
    assert NAMES["first_clip"] == "first clipped step"


def test_a_paused_run_steps_back_through_its_moments_and_step_goes_on_from_its_latest():
    """Presenter view of a run paused by Step: its "later moment" button (`pg.scrub.later`, which leaves the
    remote's PageDown to Step at the latest step) walks the moments back up to the latest step; Step goes on
    from there and the charts follow it."""
    at = open_page(PAGE, {"preset": "exploding", "presenter": "1", "chart": "norms"})
    for _ in range(4):
        at.button(key="pg.btn.step").click().run()
    assert run_of(at).status == "paused" and _slider(at).value == 4
    assert not [b for b in at.button if b.key == "pg.scrub.next"]          # a finished run's key only
    later, back = (lambda: at.button(key="pg.scrub.later")), (lambda: at.button(key="pg.scrub.back"))
    assert later().disabled and not back().disabled                       # at its latest step
    back().click().run()
    earlier = _slider(at).value
    assert earlier < 4 and not later().disabled and _param(at, "at") is not None
    while not later().disabled:
        later().click().run()
    assert _slider(at).value == 4                                          # back at its latest step
    back().click().run()
    at.button(key="pg.btn.step").click().run()                             # Step: the run goes on, charts follow
    assert _slider(at).value == 5 and later().disabled and _param(at, "at") is None
    assert 5 not in _marks(_figure(at, "present.norms")) and not at.exception
