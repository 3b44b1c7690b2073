"""A live chart built only as far as it changed: the loss and gradient-norm charts updated in place at the
next poll (`plots.spec.reusing`), lines told apart in the build (`spec.figure(…, told_apart=True)`), the
gradient through time built with its overlays at once — each the very figure a new build gives."""

import numpy as np
import plotly.io as pio
import pytest

from plots.gradients import Profile, add_profile, gradient_time_figure
from plots.series import grad_norm_figure, loss_figure
from plots.spec import edition, figure, freeze, reusing, scatter
from plots.style import COLORS, tell_apart


def _records(n_steps: int, per_epoch: int = 7) -> tuple[list[dict], list[dict]]:
    """Step and epoch records of a run `n_steps` long: a falling, noisy loss, some steps clipped, a spike."""
    rng = np.random.default_rng(0)
    steps = [{"kind": "step", "step": s, "epoch": 1 + (s - 1) // per_epoch,
              "loss": float(np.exp(-s / 80) + 0.05 * rng.random()), "grad_norm": float(1 + 3 * (s % 37 == 0)),
              "clipped": s % 37 == 0} for s in range(1, n_steps + 1)]
    epochs = [{"kind": "epoch", "epoch": e, "step": e * per_epoch, "train_loss": float(np.exp(-e / 10)),
               "val_loss": float(1.1 * np.exp(-e / 10)) if e % 13 else None} for e in range(n_steps // per_epoch + 1)]
    return steps, epochs


def _same(live, fresh) -> None:
    assert live.to_dict() == fresh.to_dict()
    assert pio.to_json(live, validate=False) == pio.to_json(fresh, validate=False)    # key order too


@pytest.mark.parametrize("log_y", [True, False])
def test_a_live_chart_updated_at_each_poll_is_the_chart_a_new_build_gives(log_y):
    """Polls of 1 to 40 new steps from 1 to 1,000 steps (the epoch lines pass `FEW_POINTS`, where their
    markers give way to dashes, and the log axis changes its ticks): each figure equals a new build."""
    loss = norm = None
    in_place = 0
    n = 0
    for new in [1, 3, 40, 17, 2, 40, 40, 40, 5, 200, 40, 300, 1, 270]:
        n += new
        steps, epochs = _records(n)
        with reusing(loss):
            updated = loss_figure(steps, epochs, 0.3, log_y, baseline_label="persistence")
        with reusing(norm):
            updated_norm = grad_norm_figure(steps, "norm", 2.0, log_y)
        in_place += (updated is loss) + (updated_norm is norm)
        loss, norm = updated, updated_norm
        _same(loss, loss_figure(steps, epochs, 0.3, log_y, baseline_label="persistence"))
        _same(norm, grad_norm_figure(steps, "norm", 2.0, log_y))
    assert in_place >= 14                             # most polls updated the figure shown, not a new one


def test_a_chart_of_another_structure_is_built_anew():
    steps, epochs = _records(30)
    first = loss_figure(steps, epochs, 0.3)
    with reusing(first):                              # not a live chart's: nothing to update in place
        assert loss_figure(steps, epochs, 0.3) is not first
    with reusing(None):
        live = loss_figure(steps, epochs, 0.3)
    with reusing(live):                               # a baseline gone: another structure
        other = loss_figure(steps, epochs, None)
    assert other is not live
    _same(other, loss_figure(steps, epochs, None))


def test_a_frozen_chart_is_never_updated_in_place():
    """A figure several sessions draw (`freeze`, `ui.shared_charts`) stays as built: the next poll builds anew."""
    steps, epochs = _records(30)
    with reusing(None):
        shared = freeze(loss_figure(steps, epochs, 0.3))
    before = shared.to_dict()
    more, more_epochs = _records(40)
    with reusing(shared):
        later = loss_figure(more, more_epochs, 0.3)
    assert later is not shared and shared.to_dict() == before
    _same(later, loss_figure(more, more_epochs, 0.3))


def _lines(n: int, group: str | None = None) -> list[dict]:
    x = np.arange(n)
    extra = {"legendgroup": group} if group else {}
    return [scatter(x, x + i, mode="lines", name=f"line {i}", line={"color": COLORS["train"]}, **extra)
            for i in range(3)]


@pytest.mark.parametrize("n", [5, 120, 121, 2000])
def test_lines_told_apart_in_the_build_are_those_tell_apart_gives_after_it(n):
    traces = [*_lines(n, "g"), scatter(np.arange(n), np.ones(n), mode="lines", name="piece", showlegend=False,
                                       legendgroup="g", line={"color": COLORS["train"]}),
              scatter(np.arange(n), np.ones(n), mode="lines+markers", name="marked")]
    built = figure(traces, "Lines", "x", "y", told_apart=True)
    after = tell_apart(figure(traces, "Lines", "x", "y"))
    assert built.to_dict() == after.to_dict()                 # (a trace's keys may come in another order)
    assert built.to_dict() != figure(traces, "Lines", "x", "y").to_dict()     # there was something to change


def _probe(scale: float, T: int = 20, layers: int = 1) -> dict:
    g = [list(scale * 0.7 ** np.arange(T)[::-1]) for _ in range(layers)]
    return {"grad_h": g, "timesteps": T, "theory": [list(0.9 ** np.arange(T)[::-1]) for _ in range(layers)],
            "sigma_max": [0.9] * layers, "gamma": 1.0}


@pytest.mark.parametrize("log_y", [True, False])
@pytest.mark.parametrize("layers", [1, 2])
@pytest.mark.parametrize("overlays", [(), ("first",), ("ghost",), ("first", "ghost")])
def test_overlays_built_at_once_are_what_add_profile_draws(log_y, layers, overlays):
    """The Playground's gradient through time with the epoch-0 profile and a ghost run's, in one build."""
    shown, first, ghost = _probe(1.0, layers=layers), _probe(1e-3, layers=layers), _probe(30.0, layers=layers)
    title = "Gradient through time ‖∂L/∂hₜ‖: epoch 8, dotted epoch 0"
    fig = gradient_time_figure(shown, log_y, True)
    drawn = []
    if "first" in overlays:
        add_profile(fig, first, "epoch 0 (start)", log_y, color=COLORS["baseline"], dash="dot", opacity=0.9)
        drawn.append(Profile(first, "epoch 0 (start)", COLORS["baseline"], "dot", 0.9))
    if "ghost" in overlays:
        add_profile(fig, ghost, "ghost: LSTM", log_y, color=COLORS["ghost"], dash="dash", opacity=0.85)
        drawn.append(Profile(ghost, "ghost: LSTM", COLORS["ghost"], "dash", 0.85))
    fig.update_layout(title_text=title)
    # as drawn: `ui.charts.chart` tells its lines apart (the one build has them told apart already)
    assert gradient_time_figure(shown, log_y, True, title=title, overlays=drawn).to_dict() == tell_apart(fig).to_dict()


def test_what_a_live_chart_was_built_from_does_not_keep_it_alive():
    """A session's charts go with the session: what `reusing` remembers of a figure holds no reference to it."""
    import gc
    import weakref

    with reusing(None):
        fig = loss_figure(*_records(30), 0.3)
    assert edition(fig) == 1
    gone = weakref.ref(fig)
    del fig
    gc.collect()
    assert gone() is None


def test_a_frozen_chart_sends_what_it_shows():
    """A frozen figure's `to_dict()` (what `st.plotly_chart` sends), computed once, is the figure's own, and
    what a caller does to the dict it got changes nothing for the next."""
    steps, epochs = _records(30)
    fig = freeze(loss_figure(steps, epochs, 0.3))
    fresh = loss_figure(steps, epochs, 0.3)
    _same(fig, fresh)
    fig.to_dict()["layout"] = {}
    _same(fig, fresh)
