"""The one-line verdict of a run (rnn_core.measure.verdict): words and numbers from plain records."""

from rnn_core.measure.verdict import run_verdict


def _epochs(*val_losses):
    return [{"kind": "epoch", "epoch": i, "train_loss": v * 1.1, "val_loss": v} for i, v in enumerate(val_losses)]


def test_nothing_to_judge_before_the_first_epoch():
    assert run_verdict([], None, 0.045, "sequence") is None
    assert run_verdict(_epochs(0.05), None, None, "sequence") is None


def test_at_the_constant_guess():
    v = run_verdict(_epochs(0.09, 0.045), None, 0.045, "sequence")
    assert v.kind == "at_baseline"
    assert v.text == "at the constant guess (loss 0.045 = baseline 0.045)"
    assert run_verdict(_epochs(0.048), None, 0.045, "sequence").text.startswith("at the constant guess (loss 0.048 ≈")


def test_worse_than_tomorrow_equals_today():
    v = run_verdict(_epochs(0.0612), None, 0.045, "forecast")
    assert v.kind == "worse"
    assert v.text.startswith("36% worse than tomorrow = today (loss 0.0612")
    assert run_verdict(_epochs(0.189), None, 0.045, "forecast").text.startswith("4.2× worse than tomorrow")


def test_beats_the_baseline_in_percent():
    v = run_verdict(_epochs(0.02, 0.009), None, 0.045, "sequence")
    assert v.kind == "beats"
    assert "80% below the baseline 0.045" in v.text
    assert abs(v.ratio - 0.2) < 1e-9


def test_far_below_the_baseline_in_times_never_100_percent():
    v = run_verdict(_epochs(0.000202), None, 0.0448, "sequence")
    assert v.text == "beats the constant guess: loss 0.000202 is 222× smaller than the baseline 0.0448"
    assert "%" not in v.text


def test_training_loss_when_there_is_no_validation_part():
    epochs = [{"kind": "epoch", "epoch": 1, "train_loss": 0.0225, "val_loss": None}]
    assert run_verdict(epochs, None, 0.045, "forecast").text.startswith("beats tomorrow = today: loss 0.0225 is 50%")


def test_diverged_says_the_step_and_what_to_try():
    end = {"kind": "end", "status": "diverged", "step": 15, "epoch": 1, "reason": "NaN loss"}
    assert run_verdict(_epochs(0.05), end, 0.045, "forecast").text == \
        "diverged at step 15 (its update refused): lower the learning rate or clip"
    assert run_verdict([], end, 0.045, "forecast", clip="norm").text == \
        "diverged at step 15 (its update refused): lower the learning rate"


def _probe(first: float, last: float, sigma: float = 1.2) -> dict:
    return {"grad_h": [[first, (first * last) ** 0.5, last]], "sigma_max": [sigma], "gamma": 1.0}


def test_gradient_story_counts_decades_at_initialisation_and_now():
    from rnn_core.measure.verdict import gradient_story

    assert gradient_story(None, None, None) == ""
    assert gradient_story((0, _probe(1e2, 1.0)), (0, _probe(1e2, 1.0)), None) == \
        "From the last timestep back to the first, ‖∂L/∂hₜ‖ gains 2.0 decades at initialisation."
    text = gradient_story((0, _probe(1e-20, 1.0)), (4, _probe(1e-5, 1.0)), {"status": "completed"})
    assert text == ("From the last timestep back to the first, ‖∂L/∂hₜ‖ loses 5.0 decades at epoch 4 "
                    "(at initialisation it loses 20.0 decades).")


def test_gradient_story_says_where_a_diverged_run_was_measured():
    from rnn_core.measure.verdict import gradient_story

    end = {"kind": "end", "status": "diverged", "step": 56}
    text = gradient_story((0, _probe(1e2, 1.0)), (2, _probe(1e-150, 1e24, sigma=40.0)), end)
    assert "loses 174.0 decades at epoch 2 (at initialisation it gains 2.0 decades)" in text
    assert "The run diverged at step 56: the solid line is the last profile before that" in text
    assert text.endswith("There σ_max·γ = 40.")
    gone = gradient_story(None, (2, _probe(0.0, 1e24, sigma=503_000.0)), end)
    assert "‖∂L/∂hₜ‖ falls all the way to 0 (below what float64 holds) at epoch 2." in gone
    assert gone.endswith("There σ_max·γ = 503,000.")


def test_gradient_story_tells_a_truncated_gradient_from_a_vanished_one():
    """Truncated BPTT (k = 2 of T = 5) zeroes ‖∂L/∂hₜ‖ before t = 3 by design: the story measures the
    kept steps and never calls those zeros an underflow."""
    from rnn_core.measure.verdict import gradient_story

    def cut(first: float, last: float) -> dict:
        return {"grad_h": [[0.0, 0.0, 0.0, first, last]], "sigma_max": [1.0], "gamma": 1.0, "cut": 3}

    text = gradient_story((0, cut(0.5, 1.0)), (25, cut(1e-2, 1.0)), {"status": "completed"})
    assert text == ("Truncated BPTT: only the last 2 timesteps get a gradient (before t = 3 it is exactly 0: "
                    "cut off, not vanished). Over those 2, ‖∂L/∂hₜ‖ loses 2.0 decades at epoch 25 "
                    "(at initialisation it loses 0.3 decades).")
    assert "float64" not in text
    assert "falls all the way to 0" in gradient_story(None, (25, {**cut(0.0, 1.0), "cut": 0}), None)


def test_the_app_and_the_cli_judge_a_loss_by_one_rule():
    """A loss ratio of 1.105 was "10% worse" in the app and "no better" in the CLI (0.9× / 1/0.9×): both now
    read `judge`, the app's ±10 % around the baseline, on either side of each edge."""
    from rnn_core.cli.report import JUDGED, versus
    from rnn_core.measure.verdict import AT_BASELINE, judge

    for ratio in (0.5, 1 - AT_BASELINE - 0.005, 0.9, 0.95, 1.0, 1.05, 1.1, 1.105, 1 + AT_BASELINE + 0.005, 1.5):
        app = run_verdict(_epochs(ratio * 0.04), None, 0.04, "sequence")
        assert app.kind == judge(ratio), ratio
        assert versus(ratio * 0.04, 0.04, "the constant guess").endswith(JUDGED[app.kind]), ratio
    assert [judge(r) for r in (0.89, 0.9, 1.1, 1.11)] == ["beats", "at_baseline", "at_baseline", "worse"]
