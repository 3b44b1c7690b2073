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
    assert v.text == "at the constant guess (validation loss 0.045 = baseline 0.045)"
    near = run_verdict(_epochs(0.048), None, 0.045, "sequence")
    assert near.text.startswith("at the constant guess (validation loss 0.048 ≈")


def test_worse_than_tomorrow_equals_today():
    v = run_verdict(_epochs(0.0612), None, 0.045, "forecast")
    assert v.kind == "worse"
    assert v.text.startswith("36% worse than tomorrow = today (validation loss 0.0612")
    assert run_verdict(_epochs(0.189), None, 0.045, "forecast").text.startswith("4.2× worse than tomorrow")


def test_beats_the_baseline_in_percent():
    v = run_verdict(_epochs(0.02, 0.009), None, 0.045, "sequence")
    assert v.kind == "beats"
    assert "80% below the baseline 0.045" in v.text
    assert abs(v.ratio - 0.2) < 1e-9


def test_far_below_the_baseline_in_times_never_100_percent():
    v = run_verdict(_epochs(0.000202), None, 0.0448, "sequence")
    assert v.text == "beats the constant guess: validation loss 0.000202 is 222× smaller than the baseline 0.0448"
    assert "%" not in v.text


def test_training_loss_when_there_is_no_validation_part():
    epochs = [{"kind": "epoch", "epoch": 1, "train_loss": 0.0225, "val_loss": None}]
    v = run_verdict(epochs, None, 0.045, "forecast")
    assert v.text.startswith("beats tomorrow = today: training loss 0.0225 is 50%")


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
        "At initialisation, ‖∂L/∂hₜ‖ gains 2.0 decades from the last timestep back to the first."
    text = gradient_story((0, _probe(1e-20, 1.0)), (4, _probe(1e-5, 1.0)), {"status": "completed"})
    assert text == ("At epoch 4, ‖∂L/∂hₜ‖ loses 5.0 decades from the last timestep back to the first "
                    "(at initialisation it loses 20.0 decades).")


def test_gradient_story_says_where_a_diverged_run_was_measured():
    from rnn_core.measure.verdict import gradient_story

    end = {"kind": "end", "status": "diverged", "step": 56}
    text = gradient_story((0, _probe(1e2, 1.0)), (2, _probe(1e-150, 1e24, sigma=40.0)), end)
    assert "At epoch 2, ‖∂L/∂hₜ‖ loses 174.0 decades from the last timestep back to the first " \
           "(at initialisation it gains 2.0 decades)." in text
    assert "The run diverged at step 56: the solid line is the last profile before that" in text
    assert text.endswith("There σ_max·γ = 40.")
    # the last profile before divergence at initialisation: say which weights it was measured at
    early = gradient_story((0, _probe(1e2, 1.0)), (0, _probe(1e2, 1.0)), {**end, "step": 33})
    assert early.endswith("The run diverged at step 33, before its next probe: the solid line is the profile "
                          "at initialisation, the weights the first step's gradient was computed at.")


def test_gradient_story_tells_blocked_from_underflow_and_counts_decades_over_what_is_not_zero():
    """An exact 0 in a float64 profile is not always an underflow: a gradient that drops from an
    ordinary number straight to 0 was blocked (every path passes a switched-off ReLU or a tanh saturated
    at ±1); only one that faded below ≈ 10⁻³⁰⁸ underflowed. Decades count over the part that is not 0."""
    from rnn_core.measure.verdict import gradient_story

    blocked = {"grad_h": [[0.0, 0.0, 0.02, 0.05, 0.1]], "sigma_max": [1.0], "gamma": 1.0}
    text = gradient_story(None, (0, blocked), None)
    assert text == ("At initialisation, ‖∂L/∂hₜ‖ loses 0.7 decades from the last timestep back to t = 2; "
                    "before t = 2 it is exactly 0 — blocked: every path back passes a unit whose derivative is "
                    "exactly 0 (a switched-off ReLU, or a tanh saturated at ±1).")
    assert "underflow" not in text and "float64" not in text
    faded = {"grad_h": [[0.0, 1e-310, 1e-150, 1.0]], "sigma_max": [1.0], "gamma": 1.0}
    text = gradient_story(None, (3, faded), None)
    assert "loses 310.0 decades from the last timestep back to t = 1" in text
    assert "before t = 1 it is exactly 0 — underflow: it faded below the smallest number float64 holds" in text


def test_gradient_story_tells_a_truncated_gradient_from_a_vanished_one():
    """Truncated BPTT (k = 2 of T = 5) zeroes ‖∂L/∂hₜ‖ before t = 3 by design: the story measures the
    kept steps and never calls those zeros an underflow."""
    from rnn_core.measure.verdict import gradient_story

    def cut(first: float, last: float) -> dict:
        return {"grad_h": [[0.0, 0.0, 0.0, first, last]], "sigma_max": [1.0], "gamma": 1.0, "cut": 3}

    text = gradient_story((0, cut(0.5, 1.0)), (25, cut(1e-2, 1.0)), {"status": "completed"})
    assert text == ("Truncated BPTT: only the last 2 timesteps get a gradient (before t = 3 it is exactly 0: "
                    "cut off, not vanished). At epoch 25, ‖∂L/∂hₜ‖ loses 2.0 decades over the last 2 timesteps "
                    "(at initialisation it loses 0.3 decades).")
    assert "float64" not in text and "blocked" not in text


def test_a_memory_task_is_judged_by_the_closers_it_gets_right_not_by_bits():
    """Brackets: a tanh RNN that beats the unigram baseline in bits but gets only about half its closers
    right must not read green; the verdict judges the task's own score (recorded each epoch)."""
    epochs = [{"kind": "epoch", "epoch": 8, "train_loss": 1.0, "val_loss": 1.2, "text": {"memory_accuracy": 0.47}}]
    v = run_verdict(epochs, None, 1.8, "text")                       # 33% below the unigram in bits
    assert v.kind == "partial" and v.text == ("remembers the opener only 47% of the time (closers right on "
                                              "validation; a guess gets 33%, memory 100%)")
    epochs[-1]["text"]["memory_accuracy"] = 0.97
    v = run_verdict(epochs, None, 1.8, "text")
    assert v.kind == "beats"
    assert v.text == "remembers the opener: 97% of the closers right on validation (a guess gets 33%)"
    # a text without known memory (Python docs) is judged in bits against the unigram, as before
    plain = [{"kind": "epoch", "epoch": 3, "train_loss": 2.0, "val_loss": 2.2, "text": {"sample": "the"}}]
    assert run_verdict(plain, None, 3.3, "text").text.startswith("beats the unigram baseline: validation loss 2.2")


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
