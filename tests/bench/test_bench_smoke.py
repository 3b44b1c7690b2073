"""Smoke tests of bench/: every benchmark script runs end to end on its tiny `--quick` setting and
prints its table (and the scaling CSV is written). No timing is ever asserted: figures are printed
by the scripts, and only their presence and form are checked here. Also checks the small pure
helpers the scripts draw conclusions with (the linear fit and its verdict, the table format).
"""

from __future__ import annotations

import csv
import re

import pytest

from bench import (
    browser_latency,
    common,
    overhead,
    payload,
    redraw_parts,
    run_all,
    scaling,
    stock_setup,
    stop_latency,
)
from tests.conftest import skip_or_fail

RATIO = r"\d+\.\d\d×"


pytestmark = pytest.mark.usefixtures("keep_torch_threads")


def test_overhead_quick_prints_a_ratio_per_cell(capsys):
    summary: list[str] = []
    assert overhead.main(["--quick", "--cells", "rnn,jordan"], summary) == 0
    out = capsys.readouterr().out
    for cell in ("rnn", "jordan"):
        row = next(line for line in out.splitlines() if line.startswith(f"| {cell} ") and "×" in line)
        assert len(re.findall(RATIO, row)) == 4, row          # train() and LiveRun, wall and CPU
    assert all((f"| {cell} (own unrolled loop)" in out) == overhead.own_loop(cell) for cell in ("rnn", "jordan"))
    assert "split losses" in out and "probe" in out         # the breakdown table
    assert re.search(r"target train\(\)/plain ≤ 1\.15", out)
    assert summary[0].startswith("Overhead (cpu") and "rnn " in summary[0]
    assert summary[1].startswith("LiveRun")


def test_stock_setup_quick_prints_seconds_per_epoch(capsys):
    summary: list[str] = []
    assert stock_setup.main(["--quick"], summary) == 0
    out = capsys.readouterr().out
    assert "3 stacked layers × 20 units" in out
    row = next(line for line in out.splitlines() if line.startswith("| rnn (tutorial)"))
    assert "cpu" in row and re.search(RATIO, row)
    assert summary and summary[0].startswith("Stock setup (3 × 20 rnn, T=100")


def test_stock_windows_match_the_tutorial_split():
    cfg, w = stock_setup.stock_windows()
    assert cfg.timesteps == 100
    assert w.X_train.shape == (2400, 100, 1) and len(w.X_test) == 600 and len(w.X_val) == 0


def test_scaling_quick_prints_tables_and_writes_csv(capsys, tmp_path):
    summary: list[str] = []
    assert scaling.main(["--quick", "--out", str(tmp_path)], summary) == 0
    out = capsys.readouterr().out
    assert "timesteps sweep" in out and "hidden sweep" in out and "Linear in T?" in out
    with open(tmp_path / "scaling.csv") as f:
        rows = list(csv.DictReader(f))
    assert list(rows[0]) == scaling.HEADERS
    # quick: 2 cells × (3 timesteps + 2 hidden sizes)
    assert len(rows) == 10
    assert {(r["sweep"], r["cell"]) for r in rows} == {(s, c) for s in ("timesteps", "hidden") for c in ("rnn", "lstm")}
    assert all(float(r["trainer_cpu_s_per_epoch"]) > 0 and float(r["plain_cpu_s_per_epoch"]) > 0 for r in rows)
    assert len([s for s in summary if s.startswith("Scaling in T:")]) == 2


def test_payload_quick_is_bounded(capsys):
    summary: list[str] = []
    assert payload.main(["--quick"], summary) == 0
    out = capsys.readouterr().out
    for name in ("loss", "grad_time", "heatmap", "gates", "grad_norm", "param_norms", "spectra"):
        assert re.search(rf"\| {name} +\| \d+\.\d kB", out), name
    assert "bounded: yes" in out
    assert "bounded: yes" in summary[0]


def test_run_all_quick_writes_a_summary(capsys, tmp_path):
    rc = run_all.main(["--quick", "--out", str(tmp_path), "--skip", "overhead,scaling,browser,stock,stop"])
    out = capsys.readouterr().out
    assert rc == 0
    assert "# Summary (quick run" in out and "- Payload (rnn" in out
    assert "CUDA" in out
    assert "# Summary" in (tmp_path / "run_all_quick.md").read_text()


def test_stop_latency_quick_prints_a_time_per_run_and_the_cli(capsys, tmp_path):
    summary: list[str] = []
    assert stop_latency.main(["--quick", "--out", str(tmp_path)], summary) == 0
    out = capsys.readouterr().out
    rows = [line for line in out.splitlines() if line.startswith(("| live run", "| CLI"))]
    assert len(rows) == 2 and all(re.search(r"\| [\d.]+ m?s +\|", row) for row in rows), out   # printed, not judged
    assert "Stopped by the user" in rows[0] and "exit 130" in rows[1]
    assert summary[0].startswith("Stop latency: live run")


def test_run_all_rejects_an_unknown_step(capsys):
    assert run_all.main(["--quick", "--skip", "nonsense"]) == 2
    assert "Unknown step(s) nonsense" in capsys.readouterr().err


def test_redraw_parts_prints_both_parts_of_the_live_view(capsys, tmp_path):
    records = tmp_path / "records.json"
    redraw_parts.main(["--epochs", "2", "--redraws", "4", "--warm", "1", "--records", str(records)])
    out = capsys.readouterr().out
    assert re.search(r"step-level part .*\| \d+\.\d ms", out) and re.search(r"epoch-level part .*\| \d+\.\d ms", out)
    assert "3 redraws" in out and records.exists()


def test_linear_fit_and_verdict():
    Ts = [25, 50, 100, 200, 400]
    a, b, r2 = scaling.linear_fit(Ts, [2 + 3 * t for t in Ts])
    assert a == pytest.approx(2) and b == pytest.approx(3) and r2 == pytest.approx(1)
    assert scaling.local_exponents([10, 20, 40], [5, 20, 80]) == pytest.approx([2.0, 2.0])
    assert "→ linear in T" in scaling.verdict_T("rnn", Ts, [0.001 * t for t in Ts])
    assert "NOT linear" in scaling.verdict_T("rnn", Ts, [1e-6 * t**3 for t in Ts])


def test_table_is_markdown():
    text = common.table(["a", "bb"], [[1, "x"], ["long", 2]])
    lines = text.splitlines()
    assert lines[0] == "| a    | bb |" and lines[1] == "|------|----|" and lines[3] == "| long | 2  |"


@pytest.mark.browser
@pytest.mark.slow
def test_browser_latency_quick(capsys):
    skip_or_fail(browser_latency.browser_missing())
    summary: list[str] = []
    assert browser_latency.main(["--quick"], summary) == 0
    out = capsys.readouterr().out
    row = next(line for line in out.splitlines() if line.startswith("| session 1"))
    cells = [c.strip() for c in row.strip("|").split("|")]
    assert re.fullmatch(r"[\d.]+ m?s", cells[2]), cells          # Train → first loss point
    assert int(cells[3]) >= 1                                     # at least one redraw with points
    assert summary[0].startswith("Browser (Chromium")


@pytest.mark.browser
@pytest.mark.slow
def test_browser_watch_counts_the_live_charts_draws_and_their_cost(capsys):
    from bench import browser_watch

    skip_or_fail(browser_latency.browser_missing())
    browser_watch.main(["--settle", "4", "--seconds", "3"])
    out = capsys.readouterr().out
    loss = next(line for line in out.splitlines() if line.startswith("| Loss "))
    cells = [c.strip() for c in loss.strip("|").split("|")]
    assert float(cells[1]) > 0 and re.fullmatch(r"\d+ ms", cells[2]), cells     # drawn while it trains, at a cost
    assert re.search(r"Chromium used \d+ % of one core, the server \d+ %", out), out


def test_fmt_s_never_prints_exponents_at_the_unit_boundary():
    from bench.common import fmt_s

    assert fmt_s(0.9995) == "1 s"                 # 999.5 ms rounds to 1000 ms: a second, not "1e+03 ms"
    assert fmt_s(0.0123) == "12.3 ms" and fmt_s(1.5) == "1.5 s"
    assert all(re.fullmatch(r"[\d.]+ m?s", fmt_s(x)) for x in (0.0004, 0.25, 0.9994, 0.99951, 3.0, 99.4))
