"""How much a run's HTML page weighs, for every Playground preset: each preset trained to its end through
the command line (`python -m rnn_core train --preset NAME --report PATH`, one torch thread, as the app),
its page written, its size measured against the 8 MB limit (`plots.report.MAX_BYTES`), Plotly's own
bundle stated apart.

    python -m bench.report_sizes                      every preset, to the end (minutes: training dominates)
    python -m bench.report_sizes --presets exploding,vanishing
    python -m bench.report_sizes --quick              one epoch of one preset (smoke test)
Prints one table row per preset: steps recorded, probes, the page's size in MB and what is left under
8 MB; writes the pages to --out. No time is measured. Figures: docs/benchmarks.md.
"""

from __future__ import annotations

import contextlib
import io
import json
import re
import sys
from pathlib import Path

from bench.common import OUT_DIR, table


def page_figures(path: Path) -> tuple[int, int, int]:
    """(size in bytes, recorded steps, probes) of a written page, read back from its embedded data."""
    text = path.read_text(encoding="utf-8")
    data = json.loads(re.search(r"<script type='application/json' id='run-data'>(.*?)</script>", text, re.S).group(1))
    return path.stat().st_size, len(data["stops"]), len(data["profiles"])


def main(argv: list[str] | None = None, summary: list[str] | None = None) -> int:
    import argparse

    from plotly.offline import get_plotlyjs

    from plots.report import MAX_BYTES
    from rnn_core.cli.main import main as cli
    from rnn_core.lessons.presets import PRESETS

    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--presets", default="all", help="comma-separated preset keys, or 'all'")
    p.add_argument("--quick", action="store_true", help="one epoch of the first preset asked (smoke test)")
    p.add_argument("--out", type=Path, default=OUT_DIR / "pages", help="folder for the pages")
    args = p.parse_args(argv)
    keys = list(PRESETS) if args.presets == "all" else args.presets.split(",")
    if args.quick:
        keys = keys[:1]
    args.out.mkdir(parents=True, exist_ok=True)
    bundle = len(get_plotlyjs().encode("utf-8"))
    rows = []
    for key in keys:
        path = args.out / f"{key}.html"
        with contextlib.redirect_stdout(io.StringIO()):
            code = cli(["train", "--preset", key, "--quiet", "--report", str(path),
                        *(["--epochs", "1"] if args.quick else [])])
        if code != 0:
            rows.append([key, "—", "—", f"train exited {code}", "—"])
            continue
        size, steps, probes = page_figures(path)
        rows.append([key, steps, probes, f"{size / 1e6:.2f}", f"{(MAX_BYTES - size) / 1e6:.2f}"])
        print(f"{key}: {size / 1e6:.2f} MB", file=sys.stderr, flush=True)
    print(f"Plotly's bundle: {bundle / 1e6:.2f} MB of every page; limit {MAX_BYTES / 1e6:.0f} MB.")
    print(table(["preset", "recorded steps", "probes", "page MB", "MB left under the limit"], rows))
    if summary is not None:
        sizes = [float(r[3]) for r in rows if r[3][0].isdigit()]
        summary.append(f"HTML pages: {len(sizes)} presets, largest {max(sizes):.2f} MB" if sizes
                       else "HTML pages: none")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
