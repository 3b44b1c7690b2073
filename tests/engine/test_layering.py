"""The layers the README promises: app.py → app_pages/ → ui/ → plots/ → rnn_core/. rnn_core (the engine)
imports neither streamlit nor plotly nor the plotting package; only `plots/` imports plotly, and it
never imports streamlit or the UI. Inside the engine, its packages import only earlier ones
(`ENGINE_ORDER`). Checked two ways: by importing every rnn_core module in a fresh interpreter, and by
reading every import statement (lazy ones inside functions too)."""

from __future__ import annotations

import ast
import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
CORE = ROOT / "rnn_core"
PLOTS = ROOT / "plots"
# the engine's packages, bottom up: a module imports only its own package and earlier ones
# ("" is the root of rnn_core: config, readable, interrupt, threads)
ENGINE_ORDER = ("", "data", "nn", "measure", "serve", "sweep", "lessons", "cli")


def _dotted(path: Path) -> str:
    """"rnn_core.nn.cells" for rnn_core/nn/cells.py; a package's __init__ is the package itself."""
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _py_files(folder: Path) -> list[Path]:
    return sorted(folder.rglob("*.py"))


MODULES = sorted(_dotted(p) for p in _py_files(CORE) if p.stem != "__main__")
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
    return [ROOT / "app.py", *(p for d in ("app_pages", "ui", "plots", "rnn_core") for p in _py_files(ROOT / d))]


def test_importing_every_engine_module_loads_no_streamlit_and_no_plotly():
    """Training from the CLI or a sweep worker never needs the UI or the chart library."""
    code = ("import importlib, json, sys\n"
            f"for name in {MODULES!r}:\n"
            "    importlib.import_module(name)\n"
            f"print(json.dumps(sorted(m for m in sys.modules if m.split('.')[0] in {sorted(NOT_IN_ENGINE)!r})))")
    proc = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout.splitlines()[-1]) == []


# The engine's one reach above itself: `train --report` writes the run as an HTML page, which the plotting
# package draws (Plotly's JavaScript, the app's charts). It is imported inside the one function that writes
# the page, never when a module loads (the import test above holds that), and nowhere else.
ENGINE_SEAMS = {"rnn_core/cli/page.py": {"plots.report"}}


def _module_level_roots(path: Path) -> set[str]:
    """The top-level packages `path` imports at module level (not inside a function)."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    roots = set()
    for node in tree.body:
        if isinstance(node, ast.Import):
            roots |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            roots.add(node.module.split(".")[0])
    return roots


def _upward_imports(path: Path) -> set[str]:
    """The modules of the layers above the engine that `path` imports, at any depth."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found |= {a.name for a in node.names if a.name.split(".")[0] in NOT_IN_ENGINE}
        elif (isinstance(node, ast.ImportFrom) and node.module and not node.level
              and node.module.split(".")[0] in NOT_IN_ENGINE):
            found.add(node.module)
    return found


def test_no_engine_module_names_streamlit_plotly_or_the_layers_above():
    """…but for `ENGINE_SEAMS`: exactly those imports, inside a function, of the plotting package only."""
    for path in _py_files(CORE):
        rel = path.relative_to(ROOT).as_posix()
        assert _upward_imports(path) == ENGINE_SEAMS.get(rel, set()), rel
        assert not _module_level_roots(path) & NOT_IN_ENGINE, rel


def test_the_report_seam_is_found_and_held():
    """The seam is there (the test above would pass vacuously without it), and a second one is caught."""
    seam = ROOT / "rnn_core/cli/page.py"
    assert _upward_imports(seam) == {"plots.report"} and not _module_level_roots(seam) & NOT_IN_ENGINE
    assert _upward_imports(ROOT / "rnn_core/cli/train.py") == set()


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
    """Every app module ("rnn_core.data.windows", "ui.live" …) `path` imports, at any depth of the file."""
    package = _dotted(path.parent / "__init__.py")
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom):
            base = package if node.level else (node.module or "")
            if node.level and node.module:
                base = f"{package}.{node.module}"
            elif not node.level and node.module and node.module.split(".")[0] in ("rnn_core", "ui", "plots"):
                subs = {f"{node.module}.{alias.name}" for alias in node.names}
                found |= subs
                if all(_is_module(sub) for sub in subs):
                    continue          # `from pkg import mod`: imports mod (any submodule import runs pkg's __init__)
            found.add(base)
    return found


def _is_module(dotted: str) -> bool:
    """Whether "rnn_core.nn.cells.lstm" names a module file or a package folder of the app."""
    path = ROOT.joinpath(*dotted.split("."))
    return path.with_suffix(".py").is_file() or path.is_dir()


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
    graph = _graph()
    windows, types = "rnn_core.data.windows", "rnn_core.data.window_types"
    assert graph[windows] >= {types, "rnn_core.data.text_windows"}      # the reader reads
    assert _cycle(graph) == []
    assert _cycle({**graph, types: {windows}}) != []                     # …and finds a loop


def _graph() -> dict[str, set[str]]:
    """Module → the app modules it imports, over rnn_core (every package), plots and ui. A package's
    __init__ is a node under the package's name: `from rnn_core.nn.cells import CELLS` imports it."""
    files = {_dotted(p): p for d in (CORE, PLOTS, ROOT / "ui") for p in _py_files(d)
             if p.stem != "__main__" and _dotted(p) not in ("rnn_core", "plots", "ui")}
    return {name: _imported_modules(path) & set(files) for name, path in files.items()}


def _package(module: str) -> str:
    """The engine package of "rnn_core.nn.cells" or "rnn_core.nn" ("nn"); "" for a module at the root."""
    parts = module.split(".")
    return parts[1] if len(parts) > 2 or (ROOT / "rnn_core" / parts[-1]).is_dir() else ""


def _backward(graph: dict[str, set[str]]) -> list[tuple[str, str]]:
    """Every engine import that runs back up ENGINE_ORDER: (importer, imported)."""
    rank = {name: i for i, name in enumerate(ENGINE_ORDER)}
    return sorted((a, b) for a, deps in graph.items() if a.startswith("rnn_core.")
                  for b in deps if b.startswith("rnn_core.") and rank[_package(b)] > rank[_package(a)])


def test_every_engine_module_sits_in_one_package_of_the_order():
    """The root holds only what every package reads (the settings table, the one number writer — the data
    layer's sentences and config's clamp notes write numbers too —, interrupts, threads)."""
    packages = {_package(m) for m in _graph() if m.startswith("rnn_core.")}
    assert packages == set(ENGINE_ORDER)
    root = sorted(m for m in _graph() if m.startswith("rnn_core.") and _package(m) == "")
    assert _package("rnn_core.nn") == _package("rnn_core.nn.cells") == "nn"         # packages are nodes too
    assert root == ["rnn_core.config", "rnn_core.interrupt", "rnn_core.readable", "rnn_core.threads"]


def test_the_engine_packages_import_only_earlier_packages():
    """data < nn < measure < serve < sweep < lessons < cli: a reader can learn them bottom up, and a
    package can be used without the ones after it (a notebook needs nn/ and data/, never serve/)."""
    graph = _graph()
    assert _backward(graph) == []
    planted = {**graph, "rnn_core.data.windows": graph["rnn_core.data.windows"] | {"rnn_core.nn.models"}}
    assert _backward(planted) == [("rnn_core.data.windows", "rnn_core.nn.models")]   # …and finds one
    through_a_package = {**graph, "rnn_core.config": graph["rnn_core.config"] | {"rnn_core.nn.cells"}}
    assert _backward(through_a_package) == [("rnn_core.config", "rnn_core.nn.cells")]   # a package's __init__ too


def test_no_engine_module_is_longer_than_400_lines():
    """A module is a screen or two on one concern; past 400 lines it is split by concern (STYLE.md)."""
    long = {str(p.relative_to(ROOT)): n for p in _py_files(CORE) if (n := len(p.read_text().splitlines())) > 400}
    assert long == {}
