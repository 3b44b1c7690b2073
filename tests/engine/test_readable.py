"""Numbers as the app writes them in sentences, tables and legends (`rnn_core/measure/readable.py`)."""

import pandas as pd

from rnn_core.measure.readable import power_of_ten, readable, times_ten


def test_plain_where_plain_reads_well_powers_of_ten_elsewhere():
    assert [readable(x) for x in (0.0448, 0.000726, 2.5, 222.3, 1060.4, 97_700.0)] == \
        ["0.0448", "0.000726", "2.5", "222", "1,060", "97,700"]
    assert readable(9.34e-6) == "9.34 × 10⁻⁶" and readable(1.234e19) == "1.23 × 10¹⁹"
    assert readable(-1.8095536e18) == "−1.81 × 10¹⁸" and readable(-0.5) == "−0.5"
    assert readable(0.0) == "0" and readable(float("inf")) == "inf"


def test_powers_of_ten_and_the_labs_reach():
    assert power_of_ten(-3) == "10⁻³" and power_of_ten(12) == "10¹²"
    assert times_ten(1.6e-10) == "1.6 × 10⁻¹⁰" and times_ten(3.6e23) == "3.6 × 10²³" and times_ten(4.2) == "4.2"


def test_a_diverged_runs_metrics_table_is_readable():
    from plots.tables import metrics_display
    from rnn_core.measure.metrics import SKILL_FORMULA

    frame = pd.DataFrame({"RMSE": [1.234e19, 0.0123], SKILL_FORMULA: [-1.8095536e18, 0.2866]})
    shown, _ = metrics_display(frame)
    assert list(shown["RMSE"]) == ["1.23 × 10¹⁹", "0.0123"]
    assert list(shown[SKILL_FORMULA]) == ["−1.81 × 10¹⁸", "+0.287"]
