"""`python -m rnn_core train --report run.html`: the run written as one page, from a real process (the
engine reaches the plotting package only there, `rnn_core/cli/page.py`), with the link the app reads; a
report path that cannot be written is refused in one line before any training."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path
from urllib.parse import parse_qsl, urlsplit

from plots.report import MAX_BYTES
from rnn_core.cli.main import main
from rnn_core.lessons.presets import PRESETS, preset_configs

ROOT = Path(__file__).resolve().parents[2]
TINY = ["--epochs", "1", "--timesteps", "10", "--hidden", "4", "--param", "length=200"]


def _link(html: str) -> str:
    return re.search(r"<a id='reopen' href='([^']*)'", html).group(1).replace("&amp;", "&")


def test_train_writes_the_run_as_one_page(tmp_path):
    out = tmp_path / "run.html"
    env = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONPATH": str(ROOT)}
    proc = subprocess.run([sys.executable, "-m", "rnn_core", "train", *TINY, "--cell", "gru", "--quiet",
                           "--report", str(out), "--app-url", "https://rnn.example.edu/"],
                          cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    assert f"Wrote the run as one page to {out}" in proc.stdout
    html = out.read_text(encoding="utf-8")
    assert 0 < out.stat().st_size < MAX_BYTES
    assert "id='chart-loss'" in html and "id='scrub'" in html and "<strong>Verdict:</strong>" in html
    assert "closed-loop forecast (own predictions fed back)" in html      # the final weights' own forecast
    link = _link(html)
    assert link.startswith("https://rnn.example.edu/?")
    assert dict(parse_qsl(urlsplit(link).query)) == {"m.cell": "gru", "m.hidden_size": "4", "d.timesteps": "10",
                                                     "d.params.length": "200", "t.epochs": "1"}


def test_a_preset_run_keeps_the_presets_title_and_links_its_settings(tmp_path, capsys):
    out = tmp_path / "exploding.html"
    assert main(["train", "--preset", "exploding", "--epochs", "1", "--quiet", "--report", str(out)]) == 0
    html = out.read_text(encoding="utf-8")
    assert out.stat().st_size < MAX_BYTES
    assert f"<h1>{PRESETS['exploding'].title}</h1>" in html
    assert "the settings have changed since" in html            # one epoch is not the preset's ten
    query = dict(parse_qsl(urlsplit(_link(html)).query))
    assert query["t.epochs"] == "1" and query["m.gain"] == str(preset_configs("exploding")[0].gain)
    assert not any(k.startswith(("d.features", "d.target")) for k in query)    # the data's columns are not settings
    assert _link(html).startswith("http://localhost:8501/?")       # the default address


def test_an_unwritable_report_is_refused_before_training(tmp_path, capsys):
    for bad, words in ((tmp_path, "is a folder"), (tmp_path / "missing" / "run.html", "does not exist")):
        assert main(["train", *TINY, "--report", str(bad)]) == 2
        err = capsys.readouterr()
        assert words in err.err and len(err.err.strip().splitlines()) == 1
        assert "Completed" not in err.out                          # nothing was trained
