"""Numbers as the app writes them in sentences, tables and legends (`rnn_core/readable.py`)."""

import pandas as pd

from rnn_core.readable import power_of_ten, readable, times_ten


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
    assert list(shown["RMSE"]) == ["1.234 × 10¹⁹", "0.0123"]          # 4 significant digits, as every RMSE
    assert list(shown[SKILL_FORMULA]) == ["−1.81 × 10¹⁸", "+0.287"]


def test_the_other_writers_and_exact_whole_numbers():
    from rnn_core.readable import count, fixed, megabytes, percent, seconds, signed

    assert readable(1024) == "1,024" and readable(1024.0) == "1,020"        # a count is exact, a measure rounded
    assert fixed(2.104) == "2.104" and fixed(0.8) == "0.800" and fixed(-1.8095536e18) == "−1.81 × 10¹⁸"
    assert signed(0.2866) == "+0.287" and signed(-0.12) == "−0.120"
    assert percent(0.36) == "36%" and percent(0.5123, 1) == "51.2%"
    assert count(1234) == "1,234" and seconds(0.43) == "0.4 s" and seconds(12.4) == "12 s"
    assert megabytes(1.5e6) == "1.5 MB" and megabytes(200e6) == "200 MB"
