"""Overlays and lecture style on the Playground's figures: the epoch-0 profile and a ghost run drawn
over the latest one, readable parameter names, whole-epoch heatmap ticks, the presenter's ≥ 18 px
style; and the redraw interval that follows the redraw's cost."""

import numpy as np

from plots.gradients import add_profile, gradient_heatmap_figure, gradient_time_figure
from plots.series import add_ghost_loss, loss_figure, param_label, param_norms_figure
from plots.style import COLORS, present


def _probe(scale: float, T: int = 20, layers: int = 1) -> dict:
    g = [list(scale * 0.7 ** np.arange(T)[::-1]) for _ in range(layers)]
    return {"grad_h": g, "timesteps": T, "theory": [list(0.9 ** np.arange(T)[::-1]) for _ in range(layers)],
            "sigma_max": [0.9] * layers, "gamma": 1.0}


def test_param_label_reads_like_the_equations():
    assert param_label("rnn.weight_hh_l0") == "W_hh, layer 1"
    assert param_label("rnn.weight_ih_l1") == "W_xh, layer 2"
    assert param_label("rnn.bias_hh_l0") == "b_hh, layer 1"
    assert param_label("head.weight") == "W_out (output layer)"
    assert param_label("something.else") == "something.else"
    fig = param_norms_figure([{"epoch": 1, "param_grad_norms": {"rnn.weight_hh_l0": 0.1, "head.bias": 0.2}}])
    assert [t.name for t in fig.data] == ["W_hh, layer 1", "b_out (output layer)"]


def test_epoch0_and_ghost_profiles_join_the_latest_one():
    fig = gradient_time_figure(_probe(1.0))
    n = len(fig.data)
    add_profile(fig, _probe(1e-3), "epoch 0 (start)")
    add_profile(fig, _probe(10.0), "ghost: LSTM", color=COLORS["ghost"], dash="dash")
    names = [t.name for t in fig.data]
    assert len(fig.data) == n + 2 and names[-2:] == ["epoch 0 (start)", "ghost: LSTM"]
    assert fig.layout.legend.yref == "container" and fig.layout.legend.y == 0   # four entries: under the plot
    lo, hi = fig.layout.yaxis.range or (None, None)
    if lo is not None:                                   # a range, if any, shows every measured line
        assert lo <= np.log10(1e-3 * 0.7 ** 19) and hi >= np.log10(10.0)
    empty = gradient_time_figure(None)
    assert len(add_profile(empty, _probe(1.0), "epoch 0").data) == 0


def test_ghost_loss_is_drawn_per_epoch_at_its_step():
    steps = [{"step": s, "loss": 1.0 / (s + 1)} for s in range(1, 31)]
    epochs = [{"epoch": e, "step": 10 * e, "train_loss": 0.5 / (e + 1), "val_loss": 0.6 / (e + 1)} for e in range(4)]
    fig = loss_figure(steps, epochs, 0.05)
    add_ghost_loss(fig, epochs, "ghost: LSTM (epoch)")
    ghost = fig.data[-1]
    assert ghost.name == "ghost: LSTM (epoch)"
    assert list(ghost.x) == [0, 10, 20, 30] and np.allclose(ghost.y, [0.6, 0.3, 0.2, 0.15])


def test_single_row_heatmap_has_whole_epoch_ticks():
    fig = gradient_heatmap_figure([{"epoch": 0, "probe": _probe(1.0)}])
    assert list(fig.layout.yaxis.tickvals) == [0]


def test_present_makes_every_text_large_and_keeps_the_legend_off_the_title():
    fig = gradient_time_figure(_probe(1.0, layers=2))
    big = present(fig, height=440)
    assert big is not fig and fig.layout.height != 440          # a copy: memoised figures stay as they were
    assert big.layout.height == 440 and big.layout.font.size >= 18 and big.layout.title.font.size > 18
    assert big.layout.xaxis.tickfont.size >= 18 and big.layout.yaxis.tickfont.size >= 18
    assert big.layout.legend.orientation == "v" and big.layout.legend.x > 1.0    # beside the plot
    assert big.layout.yaxis.dtick is not None                   # log axis: decades only (no ¾-size 2…9)
    heat = present(gradient_heatmap_figure([{"epoch": 0, "probe": _probe(1.0)}]))
    assert heat.data[0].colorbar.tickfont.size >= 18


def test_poll_interval_follows_the_redraw_cost():
    from ui.live import MAX_POLL_SECONDS, POLL_SECONDS, poll_interval

    assert poll_interval(0.0) == POLL_SECONDS                   # cheap redraws: the usual half second
    assert poll_interval(0.8) == 2.0                            # a redraw may take 40 % of the interval
    assert poll_interval(60.0) == MAX_POLL_SECONDS              # a very slow machine still sees movement


def test_a_page_whose_runs_all_wait_in_the_queue_polls_slowly(monkeypatch):
    """A room waiting for slots: a queued run's page redraws every QUEUED_POLL_SECONDS, not twice a second
    (K = 32 students, 30 of them queued, took the server from the two runs that trained); a page with a
    run that trains (its ghost may wait) polls as usual."""
    import types

    import ui.live as live

    runs = {"pg": "queued", "pg.ghost": None}
    monkeypatch.setattr(live, "get_run", lambda slot: types.SimpleNamespace(status=runs[slot]) if runs[slot] else None)
    assert live.poll_floor(("pg",), live.POLL_SECONDS) == live.QUEUED_POLL_SECONDS > live.POLL_SECONDS
    assert live.poll_interval(0.0, live.poll_floor(("pg", "pg.ghost"), live.POLL_SECONDS)) == live.QUEUED_POLL_SECONDS
    runs["pg"] = "running"                                       # out of the queue: the usual half second
    assert live.poll_floor(("pg",), live.POLL_SECONDS) == live.POLL_SECONDS
    runs["pg.ghost"] = "queued"                                  # the ghost waits, the run trains: still fast
    assert live.poll_floor(("pg", "pg.ghost"), live.POLL_SECONDS) == live.POLL_SECONDS
