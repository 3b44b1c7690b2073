"""One module writes numbers (`rnn_core/readable.py`): no other file of the app formats a number itself —
no f-string format spec ({x:.3f}, {n:,}), no str.format or %-format of a number, no format(x, ".3g") —
and a chart's or a table's browser-side format (Plotly's d3-format, Streamlit's printf) is one of the
strings readable.py names (`D3`, `COLUMN`). Dates ({day:%Y-%m-%d}) are not numbers."""

from __future__ import annotations

import ast
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
WRITER = ROOT / "rnn_core" / "readable.py"
NUMBER_SPEC = re.compile(r"[.,_%]|[defgnEFG]$")        # .3f  ,  +.3f  .0%  5d  g   (not a bare alignment ">8")
PRINTF = re.compile(r"%[-+ #0]*\d*(?:\.\d+)?[efgEFG]|%[-+ #0]*\d*\.\d+d")     # %.3f %g %.1e, not a date's %d
D3_IN_TEMPLATE = re.compile(r"%\{[^}:]+:[^}]+\}")


def _files() -> list[Path]:
    return [p for d in ("rnn_core", "ui", "plots", "app_pages") for p in (ROOT / d).rglob("*.py") if p != WRITER]


def _formats(path: Path) -> list[str]:
    """`line: what` for every number formatted in `path` outside rnn_core.readable."""
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.FormattedValue) and isinstance(node.format_spec, ast.JoinedStr):
            spec = "".join(v.value for v in node.format_spec.values if isinstance(v, ast.Constant))
            if spec and NUMBER_SPEC.search(spec) and not spec.startswith("%"):
                found.append(f"{node.lineno}: {{…:{spec}}}")
        elif isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == "format" \
                and len(node.args) == 2:
            found.append(f"{node.lineno}: format(…)")
        elif isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr == "format" \
                and isinstance(node.func.value, ast.Constant) and isinstance(node.func.value.value, str) \
                and re.search(r"\{[^{}]*:[^{}]*[defg%]\}", node.func.value.value):
            found.append(f"{node.lineno}: '…'.format")
        elif isinstance(node, ast.Constant) and isinstance(node.value, str):
            if PRINTF.search(node.value) and not D3_IN_TEMPLATE.search(node.value):
                found.append(f"{node.lineno}: printf {node.value[:30]!r}")
            if D3_IN_TEMPLATE.search(node.value):
                found.append(f"{node.lineno}: d3 {node.value[:30]!r}")
    return sorted(found, key=lambda f: int(f.split(":")[0]))


def test_no_module_but_the_writer_formats_a_number():
    offenders = {p.relative_to(ROOT).as_posix(): f for p in _files() if (f := _formats(p))}
    assert offenders == {}


def test_the_finder_finds_what_it_looks_for(tmp_path):
    """The check above can fail: each kind of format it forbids is found in a file that has it."""
    sample = tmp_path / "sample.py"
    sample.write_text('x = 1.5\na = f"{x:.3f}"\nb = f"{x:,}"\nc = format(x, ".2g")\nd = "{:.1%}".format(x)\n'
                      'e = "%.4g" % x\nf = "t = %{x}: %{y:.2e}"\nday = f"{x:%Y-%m-%d}"\nok = f"{x}"\n')
    assert [line.split(":")[0] for line in _formats(sample)] == ["2", "3", "4", "5", "6", "7"]
