"""Smoke test of bench/report_sizes.py: one epoch of one preset, its page written and its size printed
(no time is measured; the figures for every preset are in docs/lecturers.md)."""

from __future__ import annotations

import re

from bench import report_sizes


def test_report_sizes_quick_prints_a_row_per_preset(tmp_path, capsys, keep_torch_threads):
    summary: list[str] = []
    assert report_sizes.main(["--quick", "--presets", "exploding", "--out", str(tmp_path)], summary) == 0
    out = capsys.readouterr().out
    row = next(line for line in out.splitlines() if line.startswith("| exploding "))
    size = float(re.findall(r"\| (\d+\.\d\d) +\|", row)[0])
    assert 4 < size < 8 and (tmp_path / "exploding.html").is_file()
    assert "Plotly's bundle" in out and summary[0].startswith("HTML pages: 1 presets")
