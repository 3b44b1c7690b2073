"""The layers the README promises: app.py → app_pages/ → ui/ → plots/ → rnn_core/. rnn_core (the engine)
imports neither streamlit nor plotly nor the plotting package; only `plots/` imports plotly, and it
never imports streamlit or the UI. Checked two ways: by importing every rnn_core module in a fresh
interpreter, and by reading every import statement (lazy ones inside functions too)."""

from __future__ import annotations

import ast
import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CORE = ROOT / "rnn_core"
PLOTS = ROOT / "plots"
MODULES = sorted(p.stem for p in CORE.glob("*.py") if p.stem != "__main__")
# what the engine must never load: the app's layers, the plotting package and the chart library
NOT_IN_ENGINE = {"streamlit", "ui", "app_pages", "app", "plots", "plotly"}


def _imported_roots(path: Path) -> set[str]:
    """The top-level package of every module `path` imports, at any depth of the file."""
    roots = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            roots |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            roots.add(node.module.split(".")[0])
    return roots


def _app_files() -> list[Path]:
    """Every Python file of the app: the entry point and its four packages."""
    return [ROOT / "app.py", *(p for d in ("app_pages", "ui", "plots", "rnn_core") for p in (ROOT / d).glob("*.py"))]


def test_importing_every_engine_module_loads_no_streamlit_and_no_plotly():
    """Training from the CLI or a sweep worker never needs the UI or the chart library."""
    code = ("import importlib, json, sys\n"
            f"for name in {MODULES!r}:\n"
            "    importlib.import_module('rnn_core.' + name)\n"
            f"print(json.dumps(sorted(m for m in sys.modules if m.split('.')[0] in {sorted(NOT_IN_ENGINE)!r})))")
    proc = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout.splitlines()[-1]) == []


def test_no_engine_module_names_streamlit_plotly_or_the_layers_above():
    for path in CORE.glob("*.py"):
        assert not _imported_roots(path) & NOT_IN_ENGINE, path.name


def test_only_the_plotting_package_imports_plotly():
    importers = {path.relative_to(ROOT).as_posix() for path in _app_files() if "plotly" in _imported_roots(path)}
    assert importers and all(p.startswith("plots/") for p in importers), importers


def test_the_plotting_package_never_imports_streamlit_or_the_ui():
    for path in PLOTS.glob("*.py"):
        assert not _imported_roots(path) & {"streamlit", "ui", "app_pages", "app"}, path.name


def test_ui_never_imports_a_page():
    for path in (ROOT / "ui").glob("*.py"):
        assert not _imported_roots(path) & {"app_pages", "app"}, path.name


def test_there_is_no_pages_folder_beside_the_entry_point():
    """Streamlit 1.67 runs a `pages/` folder next to the entry point as a legacy (v1) multipage app until
    `st.navigation` has been called once in the process: every session until then got file-name
    navigation and no page config, deep links or not. The page scripts live in `app_pages/` instead."""
    assert (ROOT / "app.py").is_file() and (ROOT / "app_pages").is_dir()
    assert not (ROOT / "pages").exists()


def _imported_modules(path: Path) -> set[str]:
    """Every app module ("rnn_core.windows", "ui.live" …) `path` imports, at any depth of the file."""
    package = path.parent.name
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom):
            base = package if node.level else (node.module or "")
            if node.level and node.module:
                base = f"{package}.{node.module}"
            elif not node.level and node.module in ("rnn_core", "ui", "plots"):
                found |= {f"{node.module}.{alias.name}" for alias in node.names}
            found.add(base)
    return found


def _cycle(graph: dict[str, set[str]]) -> list[str]:
    """One import cycle of `graph` (module → the modules it imports), or [] when it has none."""
    state: dict[str, int] = {}                     # 1: on the current path, 2: done

    def visit(module: str, path: list[str]) -> list[str]:
        state[module] = 1
        for dep in sorted(graph[module]):
            if state.get(dep) == 1:
                return [*path[path.index(dep):], dep]
            if dep not in state and (found := visit(dep, [*path, dep])):
                return found
        state[module] = 2
        return []

    for module in sorted(graph):
        if module not in state and (found := visit(module, [module])):
            return found
    return []


def test_the_engine_the_plots_and_the_ui_have_no_import_cycle():
    """A module of rnn_core, plots or ui never imports, even lazily inside a function, a module that leads
    back to it: each can be read, tested and moved from the bottom up (text.py and windows.py once
    imported each other; the records they share now live in the leaf `window_types.py`)."""
    files = {f"{p.parent.name}.{p.stem}": p for d in (CORE, PLOTS, ROOT / "ui")
             for p in d.glob("*.py")}
    graph = {name: _imported_modules(path) & set(files) for name, path in files.items()}
    assert graph["rnn_core.windows"] >= {"rnn_core.window_types", "rnn_core.text"}     # the reader reads
    assert _cycle(graph) == []
    assert _cycle({**graph, "rnn_core.window_types": {"rnn_core.windows"}}) != []   # …and finds a loop
