"""The README a newcomer finishes, and the documentation site behind it: the README stays under 150
lines and every link in it lands on a page (and a heading) that exists; `mkdocs build --strict` builds
the docs/ pages (CI runs it too) and fails on a link to a page or an anchor that is not there."""

import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
README = ROOT / "README.md"
MAX_README_LINES = 150

pytest.importorskip("mkdocs", reason="mkdocs is not installed (pip install -r requirements-dev.txt)")


def _build(root: Path, site: Path) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "mkdocs", "build", "--strict", "--site-dir", str(site)],
                          cwd=root, capture_output=True, text=True, timeout=120,
                          env={"NO_MKDOCS_2_WARNING": "1", "PATH": "/usr/bin:/bin"})


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    site = tmp_path_factory.mktemp("site")
    done = _build(ROOT, site)
    assert done.returncode == 0, done.stdout + done.stderr
    return site


def test_the_readme_is_short():
    lines = README.read_text().splitlines()
    assert len(lines) < MAX_README_LINES, len(lines)
    text = README.read_text()
    for must in ("download.pytorch.org/whl/cpu", "streamlit run app.py", "python -m pytest",
                 "requirements-dev.txt", "presenter=1"):
        assert must in text, must
    for page in ("Playground", "Gradient Lab", "Compare", "Learn", "Data"):
        assert f"**{page}**" in text, page


def test_every_readme_link_lands_on_a_built_page_and_heading(site):
    links = re.findall(r"\]\((docs/[^)\s]+)\)", README.read_text())
    assert len(links) >= 8
    for link in links:
        path, _, anchor = link.partition("#")
        if not path.endswith(".md"):
            assert (ROOT / path).is_file(), link
            continue
        name = Path(path).stem
        html = site / ("index.html" if name == "index" else f"{name}/index.html")
        assert html.is_file(), link
        if anchor:
            assert f'id="{anchor}"' in html.read_text(), link


def test_every_docs_page_is_in_the_site_navigation():
    nav = (ROOT / "mkdocs.yml").read_text()
    for page in (ROOT / "docs").glob("*.md"):
        assert f": {page.name}" in nav, page.name


def test_a_broken_link_fails_the_build(tmp_path):
    """--strict bites: the same pages with one link to a page that is not there do not build."""
    copy = tmp_path / "repo"
    copy.mkdir()
    shutil.copytree(ROOT / "docs", copy / "docs")
    shutil.copy(ROOT / "mkdocs.yml", copy)
    shutil.copy(README, copy)
    with open(copy / "docs" / "index.md", "a") as f:
        f.write("\n[a page that is not there](no-such-page.md)\n")
    done = _build(copy, tmp_path / "site")
    assert done.returncode != 0
    assert "no-such-page.md" in done.stdout + done.stderr
