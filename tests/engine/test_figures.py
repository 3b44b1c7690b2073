"""Figure builders from hand-made records in the documented format: traces, log axes, size bounds."""

import json
import math

import numpy as np
import pandas as pd
import pytest

from plots.gradients import gates_figure, gradient_heatmap_figure, gradient_time_figure
from plots.points import MAX_POINTS, decimate_indices
from plots.predictions import predictions_figure, series_figure, window_figure
from plots.series import grad_norm_figure, loss_figure, param_norms_figure, spectra_figure
from plots.style import SPLIT_FILL, SPLIT_LABEL
from plots.tables import metrics_display, metrics_frame
from rnn_core.measure.metrics import MAPE_UNDEFINED
from rnn_core.nn.cells import CELLS, cell_of, labels_where


def _probe(T=20, layers=2, cell="rnn", decay=0.7):
    grad = [[decay ** (T - 1 - t) * (l + 1) for t in range(T)] for l in range(layers)]
    gates = [{name: [0.5] * T for name in cell_of(cell).gates} for _ in range(layers)] if cell_of(cell).gates else []
    return {"timesteps": T, "loss": 0.1, "grad_h": grad, "grad_c": grad if cell_of(cell).cell_state else None,
            "gates": gates, "param_grad_norms": {"rnn.weight_hh_l0": 0.1},
            "sigma_max": [0.7] * layers, "spectral_radius": [0.6] * layers, "gamma": 1.0,
            "theory": [[g[-1] * 0.7 ** (T - 1 - t) for t in range(T)] for g in grad]}


def _records(n_steps=50, n_epochs=5, T=20, cell="rnn"):
    steps = [{"kind": "step", "epoch": 1 + s // 10, "step": s + 1, "loss": 1.0 / (s + 1),
              "grad_norm": 0.5 + (s % 7), "clipped": s % 7 > 4} for s in range(n_steps)]
    epochs = [{"kind": "epoch", "epoch": e, "step": e * 10, "train_loss": 1.0 / (e + 1),
               "val_loss": 1.2 / (e + 1) if e else None, "probe": _probe(T, cell=cell),
               "spectra": [{"sigma_max": 0.7 + 0.01 * e, "spectral_radius": 0.6}] * 2,
               "param_grad_norms": {"rnn.weight_hh_l0": 0.1 * (e + 1), "rnn.weight_ih_l0": 0.2,
                                    "head.weight": 0.3},
               "seconds": 0.1 * e} for e in range(n_epochs)]
    return steps, epochs


def _names(fig):
    return [t.name for t in fig.data]


def test_loss_figure_has_step_epoch_val_and_dashed_baseline_on_log_axis():
    steps, epochs = _records()
    fig = loss_figure(steps, epochs, baseline=0.05, log_y=True)
    names = _names(fig)
    assert "train (per step)" in names and "train (epoch)" in names and "validation (epoch)" in names
    assert fig.layout.yaxis.type == "log"
    dashed = [s for s in fig.layout.shapes if s.line.dash == "dash"]
    assert dashed and dashed[0].y0 == pytest.approx(0.05)
    # epoch 0 has no validation loss: the validation trace starts at epoch 1
    val = next(t for t in fig.data if t.name == "validation (epoch)")
    assert len(val.x) == len(epochs) - 1
    assert loss_figure(steps, epochs, log_y=False).layout.yaxis.type == "linear"


def test_loss_figure_turns_nan_and_inf_into_gaps_and_json_stays_valid():
    steps, epochs = _records(n_steps=5)
    steps[2]["loss"] = float("nan")
    steps[3]["loss"] = float("inf")
    fig = loss_figure(steps, epochs)
    y = np.asarray(fig.data[0].y, dtype=float)
    assert np.isnan(y[2]) and np.isnan(y[3]) and y[4] == pytest.approx(0.2)   # gaps, not points
    json.loads(fig.to_json())  # a NaN literal would make invalid JSON for the browser


def test_long_runs_are_decimated_but_keep_the_spike():
    n = 100_000
    steps = [{"kind": "step", "epoch": 1, "step": s + 1, "loss": 1.0, "grad_norm": 1.0, "clipped": False}
             for s in range(n)]
    steps[54_321]["grad_norm"] = 1e6
    fig = grad_norm_figure(steps, clip="norm", clip_value=1.0)
    assert len(fig.data[0].y) <= MAX_POINTS
    assert np.nanmax(fig.data[0].y) == 1e6  # min/max buckets keep the exploding step visible
    assert fig.data[0].x[-1] == n           # and the last point
    assert len(loss_figure(steps, []).data[0].x) <= MAX_POINTS


def test_grad_norm_marks_clipped_steps_and_threshold():
    steps, _ = _records()
    fig = grad_norm_figure(steps, clip="norm", clip_value=2.5)
    clipped = next(t for t in fig.data if t.name.startswith("clipped"))
    assert len(clipped.x) == sum(r["clipped"] for r in steps)
    assert any(s.y0 == 2.5 for s in fig.layout.shapes)
    # the threshold is named in the legend, not by a label on the line that the crosses would cover
    assert "clip at ‖g‖ = 2.5" in [t.name for t in fig.data] and not fig.layout.annotations
    assert fig.layout.yaxis.type == "log"
    # no threshold line when clipping is off
    assert not grad_norm_figure(steps, clip="off", clip_value=2.5).layout.shapes


def test_gradient_time_one_line_per_layer_plus_theory_and_lstm_cell_state():
    probe = _probe(T=30, layers=2, cell="lstm")
    fig = gradient_time_figure(probe)
    names = _names(fig)
    assert sum("‖∂L/∂hₜ‖" in n for n in names) == 2
    assert sum("‖∂L/∂cₜ‖" in n for n in names) == 2
    assert sum(n.startswith("theory") for n in names) == 2
    assert fig.layout.yaxis.type == "log"
    assert list(fig.data[0].x) == list(range(30))
    assert fig.data[0].y[-1] == pytest.approx(1.0)  # ‖∂L/∂h_T‖ for layer 1
    no_probe = gradient_time_figure(None)
    assert not no_probe.data and no_probe.layout.annotations


def test_a_loose_theory_bound_does_not_flatten_the_measured_profile():
    probe = _probe(T=100, layers=1, cell="lstm")
    probe["grad_h"] = [[1e-3 * (1 + 0.1 * (t % 3)) for t in range(100)]]          # flat, as an LSTM's
    probe["grad_c"] = [None]
    probe["theory"] = [[1e-3 * 2.2 ** (99 - t) for t in range(100)]]              # 10^34 at t = 0
    lo, hi = gradient_time_figure(probe).layout.yaxis.range
    assert -7.5 < lo < -3 and -2.9 < hi < 1.5                                     # the measured ±4 decades
    probe["theory"] = [[1e-3 * 0.95 ** (99 - t) for t in range(100)]]             # a bound in view
    assert gradient_time_figure(probe).layout.yaxis.range is None               # Plotly's own range


def test_heatmap_is_log10_and_thinned():
    _, epochs = _records(n_epochs=300, T=1000)
    fig = gradient_heatmap_figure(epochs, layer=0, max_cells=5000)
    z = np.array(fig.data[0].z, dtype=float)
    assert z.size <= 5000
    # the last timestep carries ‖∂L/∂h_T‖ = 1 → log10 = 0; earlier ones are negative (vanishing)
    assert z[0, -1] == pytest.approx(0.0)
    assert z[0, 0] < -10
    assert fig.data[0].x[-1] == 999 and fig.data[0].y[-1] == 299


def test_heatmap_colours_survive_streamlits_theme_and_ticks_are_readable():
    # Streamlit's chart theme replaces the hex colours #000001 … #000040 with its own palette
    _, epochs = _records(n_epochs=3, T=100)
    for e in epochs:
        e["probe"]["grad_h"][0] = [10.0 ** (-24 + 24 * t / 99) for t in range(100)]   # 24 decades
    fig = gradient_heatmap_figure(epochs)
    stops = [c for _, c in fig.data[0].colorscale]
    assert stops[0] == "rgb(0, 0, 4)" and len(stops) == 10              # Magma, black first
    assert not any(c.startswith("#0000") for c in stops)
    labels = fig.data[0].colorbar.ticktext
    assert 3 <= len(labels) <= 8 and "10⁻²⁴" in labels and "10⁰" in labels
    # one probed epoch: its own tick only (no epoch 0.5); a few rows: exactly the probed epochs
    one = gradient_heatmap_figure(epochs[:1])
    assert list(one.layout.yaxis.tickvals) == [0]
    assert one.layout.xaxis.dtick == 20 and one.layout.xaxis.tick0 == 0  # 100 timesteps: 0, 20, …, 80
    probed = [dict(epochs[0], epoch=e) for e in (0, 2, 4, 5)]             # every 2nd and the last
    assert list(gradient_heatmap_figure(probed).layout.yaxis.tickvals) == [0, 2, 4, 5]
    many = [dict(epochs[0], epoch=e) for e in range(0, 402, 2)]
    assert gradient_heatmap_figure(many).layout.yaxis.dtick == 50


def _assert_decades_only(fig):
    """A log y axis whose labels sit on powers of ten only, at least two of them in view."""
    axis = fig.layout.yaxis
    assert axis.type == "log"
    assert isinstance(axis.dtick, int) and axis.dtick >= 1 and axis.tick0 == 0, (axis.dtick, axis.tick0)
    if axis.range is not None:
        lo, hi = axis.range
        assert math.floor(hi) - math.ceil(lo) >= 1, axis.range


def test_log_axes_show_decades_only():
    narrow = [{"step": s, "loss": 0.2 + 0.3 / (s + 1), "epoch": 1} for s in range(50)]   # 0.2 … 0.5
    fig = loss_figure(narrow, [])
    _assert_decades_only(fig)
    assert fig.layout.yaxis.range == pytest.approx((-1.05, 0.05))      # widened to 10⁻¹ … 10⁰
    fig = loss_figure(narrow, [], baseline=0.002)                    # a baseline far below counts
    _assert_decades_only(fig)
    assert fig.layout.yaxis.range is None and fig.layout.yaxis.dtick == 1
    wide = [{"step": s, "loss": 10.0 ** -s, "epoch": 1} for s in range(30)]          # 30 decades
    fig = loss_figure(wide, [])
    _assert_decades_only(fig)
    assert fig.layout.yaxis.dtick == 5                                 # 10⁰, 10⁻⁵, …: at most about eight
    steps, epochs = _records()
    for fig in (grad_norm_figure(steps), param_norms_figure(epochs),
                gradient_time_figure(_probe(T=3, decay=0.9))):
        _assert_decades_only(fig)


def test_heatmap_handles_zero_gradients_as_gaps():
    _, epochs = _records(n_epochs=2, T=5)
    epochs[0]["probe"]["grad_h"][0][0] = 0.0
    fig = gradient_heatmap_figure(epochs)
    assert np.isnan(fig.data[0].z[0][0])
    json.loads(fig.to_json())


def test_spectra_has_sigma_radius_and_one_over_gamma_line():
    _, epochs = _records()
    fig = spectra_figure(epochs, gamma=0.25)
    assert sum(n.startswith("σ_max") for n in _names(fig)) == 2
    assert sum(n.startswith("spectral radius") for n in _names(fig)) == 2
    assert fig.layout.shapes[0].y0 == pytest.approx(4.0)


def test_param_norms_one_line_per_parameter():
    _, epochs = _records()
    fig = param_norms_figure(epochs)
    assert set(_names(fig)) == {"W_hh, layer 1", "W_xh, layer 1", "W_out (output layer)"}
    assert fig.layout.yaxis.type == "log"


def _evaluation(n=300):
    dates = pd.date_range("2020-01-01", periods=n, freq="D")
    y = np.sin(np.arange(n) / 10) * 10 + 100
    out, bounds = {}, {"train": (0, 200), "val": (200, 250), "test": (250, n)}
    for split, (a, b) in bounds.items():
        out[split] = {"index": list(dates[a:b]), "y_true": y[a:b].tolist(), "y_pred": (y[a:b] + 0.5).tolist(),
                      "persistence": np.r_[y[a], y[a:b - 1]].tolist(), "moving_average": y[a:b].tolist(),
                      "metrics": {"model": {"rmse": 0.5, "mae": 0.5, "mape": 0.4, "directional_accuracy": 0.6,
                                            "naive_rmse": 1.0, "skill_score": 0.5, "best_lag": 0, "n": b - a},
                                  "persistence": {"rmse": 1.0, "mape": None, "directional_accuracy": None,
                                                  "skill_score": 0.0, "best_lag": 1}}}
    return out


def test_predictions_shade_three_splits_and_draw_closed_loop():
    ev = _evaluation()
    closed = {"index": list(pd.date_range("2020-10-27", periods=20, freq="D")), "y_pred": [100.0] * 20}
    fig = predictions_figure(ev, closed, target_name="Close")
    assert len(fig.layout.shapes) == 3  # train / val / test regions
    names = _names(fig)
    assert names.count("actual") == 3 and names.count("one-step prediction") == 3
    assert any("closed-loop" in n for n in names)
    assert any(n.startswith("persistence") for n in names)
    assert pd.Timestamp(fig.data[0].x[0]) == pd.Timestamp("2020-01-01")
    assert fig.layout.xaxis.title.text == "date"
    json.loads(fig.to_json())
    # evaluate.py labels dates as ISO strings: read as dates too
    ev = _evaluation(300)
    for d in ev.values():
        d["index"] = [t.strftime("%Y-%m-%d") for t in d["index"]]
    fig = predictions_figure(ev)
    assert fig.layout.xaxis.title.text == "date" and len(fig.layout.shapes) == 3


def test_predictions_of_a_broken_model_do_not_flatten_the_actual_series():
    ev = _evaluation()
    assert predictions_figure(ev).layout.yaxis.range is None             # sane predictions: autorange
    ev["test"]["y_pred"] = [-4e20] * len(ev["test"]["y_pred"])             # after a divergence
    fig = predictions_figure(ev)
    lo, hi = fig.layout.yaxis.range
    assert 70 <= lo < 90 and 110 < hi <= 130                               # the sine of 90…110 stays readable
    note = " ".join(a.text for a in fig.layout.annotations)
    assert "off the chart" in note and "−4 × 10²⁰" in note                    # written by rnn_core.readable


def test_predictions_figure_decimates_long_series():
    fig = predictions_figure(_evaluation(n=30_000), target_name="Close")
    assert sum(len(t.x) for t in fig.data) <= 3 * MAX_POINTS


def test_sequence_task_draws_predicted_against_true():
    ev = {"test": {"index": list(range(50)), "y_true": np.linspace(0, 2, 50).reshape(-1, 1).tolist(),
                   "y_pred": np.linspace(0, 2, 50).tolist(), "constant": [1.0] * 50,
                   "metrics": {"model": {"rmse": 0.0}}}}
    fig = predictions_figure(ev, task="sequence", target_name="sum")
    assert len(fig.data[0].x) == 50 and "perfect" in fig.data[1].name
    assert fig.layout.shapes[0].y0 == 1.0  # the constant guess


def test_metrics_frame_rows_per_split_and_predictor():
    frame = metrics_frame(_evaluation())
    assert list(frame.index.get_level_values(0)) == ["train"] * 2 + ["validation"] * 2 + ["test"] * 2
    assert "skill score = 1 − RMSE / baseline RMSE" in frame.columns and "RMSE" in frame.columns
    assert frame.loc[("test", "model"), "RMSE"] == 0.5
    assert frame.loc[("test", "persistence"), "best lag"] == 1
    flat = metrics_frame({"test": {"metrics": {"rmse": 2.0}}})
    assert flat.loc[("test", "model"), "RMSE"] == 2.0


def test_metrics_display_dashes_undefined_cells_and_says_why():
    frame = metrics_frame(_evaluation())
    table, notes = metrics_display(frame)
    persistence, model = table.loc[("test", "persistence")], table.loc[("test", "model")]
    assert persistence["direction right"] == "—" and persistence["MAPE %"] == "—"
    assert model["direction right"] == "60.0%" and model["skill score = 1 − RMSE / baseline RMSE"] == "+0.500"
    assert persistence["skill score = 1 − RMSE / baseline RMSE"] == "+0.000" and persistence["best lag"] == "1"
    assert not (table == "None").any().any() and not table.isna().any().any()
    assert any("no change" in n for n in notes) and any("crosses zero" in n for n in notes)
    # a column undefined everywhere is dropped, except MAPE, which says why; negative numbers get a real minus
    only_mape = metrics_display(metrics_frame({"test": {"metrics": {"model": {"rmse": 1.0, "mape": None}}}}))
    assert list(only_mape[0].columns) == ["RMSE", "MAPE %"] and only_mape[1] == [MAPE_UNDEFINED]
    table, notes = metrics_display(metrics_frame(
        {"test": {"metrics": {"model": {"rmse": 2.0, "directional_accuracy": None, "skill_score": -0.25}}}}))
    assert list(table.columns) == ["RMSE", "skill score = 1 − RMSE / baseline RMSE"] and notes == []
    assert table.iloc[0, 1] == "−0.250"


@pytest.mark.parametrize("cell", list(CELLS))
def test_gates_figure_draws_a_gated_cells_gates_and_names_the_gated_cells_otherwise(cell):
    fig = gates_figure(_probe(T=10, layers=1, cell=cell), cell=cell)
    if CELLS[cell].gates:
        assert set(_names(fig)) == {f"{gate} (layer 1)" for gate in CELLS[cell].gates}
    else:
        text = fig.layout.annotations[0].text
        assert not fig.data and text == f"Only {labels_where(lambda c: c.gates)} have gates."
        assert all(c.label in text for c in CELLS.values() if c.gates)


def test_series_and_window_figures():
    frame = pd.DataFrame({"Close": np.arange(10_000.0), "Volume": np.ones(10_000)},
                         index=pd.date_range("2000-01-01", periods=10_000, freq="D"))
    fig = series_figure(frame, title="x")
    assert len(fig.data) == 2 and len(fig.data[0].x) <= MAX_POINTS
    w = window_figure(np.zeros((12, 2)), np.array([0.5]), ["Close", "Volume"], "Close")
    assert len(w.data) == 3 and list(w.data[-1].x) == [12] and w.data[-1].y[0] == 0.5


def test_decimate_indices_bounds():
    assert list(decimate_indices(5, 10)) == [0, 1, 2, 3, 4]
    idx = decimate_indices(1_000_001, 1000)
    assert len(idx) <= 1000 and idx[0] == 0 and idx[-1] == 1_000_000


def test_predictions_and_metrics_skip_a_split_without_windows():
    """The stock preset splits 80/20 with no validation part: the charts must draw train and test."""
    from rnn_core.config import DataConfig
    from rnn_core.data.windows import prepare
    from rnn_core.measure.closed_loop import closed_loop
    from rnn_core.measure.evaluate import evaluate
    from rnn_core.nn.model_config import ModelConfig
    from rnn_core.nn.models import build_model

    w = prepare(DataConfig(dataset="sine", timesteps=10, train_frac=0.8, val_frac=0.0, params={"length": 300}))
    assert len(w.X_val) == 0
    model = build_model(ModelConfig(cell="rnn", hidden_size=4), seed=0)
    evaluation = evaluate(model, w)
    fig = predictions_figure(evaluation, closed_loop(model, w, 20), target_name=w.target_name)
    shaded = {shape.fillcolor for shape in fig.layout.shapes}
    assert shaded == {SPLIT_FILL["train"], SPLIT_FILL["test"]}
    table = metrics_frame(evaluation)
    assert set(table.index.get_level_values("split")) == {SPLIT_LABEL["train"], SPLIT_LABEL["test"]}


def test_the_bound_is_drawn_as_an_upper_bound_with_its_allowed_region_and_gates_as_a_path():
    probe = _probe(T=40, layers=1, cell="rnn")
    probe["sigma_max"], probe["gamma"] = [1.13], 1.0
    probe["theory"] = [[1.13 ** (39 - t) for t in range(40)]]                    # rises toward t = 0
    (bound,) = [t for t in gradient_time_figure(probe).data if t.name.startswith("theory")]
    assert bound.fill == "tozeroy" and "upper bound" in bound.name and "allowed" in bound.name
    assert "1.13^(T−1−t)" in bound.name
    probe["theory"] = [[]]                                                       # no bound: nothing drawn
    probe["gate_path"] = [[0.9 ** (39 - t) for t in range(40)]]
    names = _names(gradient_time_figure(probe))
    assert not any(n.startswith("theory") for n in names)
    assert any(n.startswith("gate path") for n in names)
    assert not any(n.startswith("gate path") for n in _names(gradient_time_figure(probe, show_theory=False)))


def test_spectra_line_only_for_cells_it_bounds():
    _, epochs = _records()
    gated = spectra_figure(epochs, matrix="W_hg (candidate block of W_hh)", bounded=False)
    assert not gated.layout.shapes and "W_hg" in gated.layout.title.text
    elman = spectra_figure(epochs, matrix="W_hh", bounded=True)
    assert elman.layout.shapes and "can only shrink" in elman.layout.annotations[0].text


def test_the_theory_legend_writes_a_runaway_rate_short():
    """A diverged Exploding run's σ_max·γ is 502,785.63: the legend says "503,000", which leaves the plot
    its width on a lecture screen, and keeps two decimals where the side of 1 is the lesson."""
    from plots.gradients import gradient_time_figure

    probe = {"grad_h": [[1e-3, 1e-2, 1.0]], "theory": [[1e4, 1e2, 1.0]], "sigma_max": [502_785.63], "gamma": 1.0}
    names = [t.name for t in gradient_time_figure(probe).data]
    assert "theory: upper bound ∝ 503,000^(T−1−t), layer 1 (shaded: allowed)" in names, names
    probe["sigma_max"] = [0.8]
    assert any("∝ 0.80^(T−1−t)" in n for n in [t.name for t in gradient_time_figure(probe).data])
