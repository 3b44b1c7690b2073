"""The layers the README promises: app.py → app_pages/ → ui/ → rnn_core/, and rnn_core never imports
streamlit; only its plotting modules import plotly. Checked two ways: by importing every rnn_core
module in a fresh interpreter, and by reading every import statement (lazy ones inside functions too)."""

from __future__ import annotations

import ast
import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CORE = ROOT / "rnn_core"
# the Plotly builders; the engine never imports them
PLOTTING = {"figures", "lab_figures", "text_figures", "sweep_figures"}
MODULES = sorted(p.stem for p in CORE.glob("*.py") if p.stem != "__main__")


def _imported_roots(path: Path) -> set[str]:
    """The top-level package of every module `path` imports, at any depth of the file."""
    roots = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            roots |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            roots.add(node.module.split(".")[0])
    return roots


def test_importing_every_engine_module_loads_no_streamlit():
    code = ("import importlib, json, sys\n"
            f"for name in {MODULES!r}:\n"
            "    importlib.import_module('rnn_core.' + name)\n"
            "print(json.dumps(sorted(m for m in sys.modules if m.split('.')[0] in ('streamlit', 'ui', 'app_pages'))))")
    proc = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout.splitlines()[-1]) == []


def test_no_engine_module_names_streamlit_or_the_ui_layers():
    for path in CORE.glob("*.py"):
        assert not _imported_roots(path) & {"streamlit", "ui", "app_pages", "app"}, path.name


def test_only_the_plotting_modules_import_plotly():
    importers = {path.stem for path in CORE.glob("*.py") if "plotly" in _imported_roots(path)}
    assert importers <= PLOTTING and importers, importers


def test_the_training_engine_loads_without_plotly():
    """Training from the CLI or a worker never needs the chart library."""
    code = ("import sys\nimport rnn_core.train, rnn_core.live, rnn_core.probe, rnn_core.evaluate, rnn_core.cli\n"
            "print('plotly' in sys.modules)")
    proc = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.split()[-1] == "False"


def test_ui_never_imports_a_page():
    for path in (ROOT / "ui").glob("*.py"):
        assert not _imported_roots(path) & {"app_pages", "app"}, path.name


def test_there_is_no_pages_folder_beside_the_entry_point():
    """Streamlit 1.67 runs a `pages/` folder next to the entry point as a legacy (v1) multipage app until
    `st.navigation` has been called once in the process: every session until then got file-name
    navigation and no page config, deep links or not. The page scripts live in `app_pages/` instead."""
    assert (ROOT / "app.py").is_file() and (ROOT / "app_pages").is_dir()
    assert not (ROOT / "pages").exists()
