"""`train --report run.html`: the run written as one self-contained HTML page, and the one place where the
engine reaches above itself.

    report_flags(group)                        --report PATH and --app-url URL
    check_report_path(args)                    an unwritable --report refused before training
    write_run_page(args, page) -> str          the page written; the line to print

The page is drawn by `plots.report` (Plotly's JavaScript, the charts): the engine never imports the
plotting package at load time, so `plots.report` is imported here, inside `write_run_page`, when --report
is given. tests/engine/test_layering.py allows exactly this import (`ENGINE_SEAMS`) and nothing else.
Leaves to others: the facts (`lessons/run_page.py`), the page (`plots/report.py`).
"""

from __future__ import annotations

from pathlib import Path

from rnn_core.cli.common import CliError
from rnn_core.lessons.run_page import RunPage
from rnn_core.lessons.share import APP_URL_ENV, DEFAULT_APP_URL
from rnn_core.readable import readable


def report_flags(out) -> None:
    out.add_argument("--report", metavar="PATH", help="write the run as one self-contained HTML page (charts, "
                     "scrubber and key moments, verdict, metrics, settings): it opens with no server and no "
                     "network")
    out.add_argument("--app-url", metavar="URL", help="the app's address the page's 'open these settings' link "
                     f"points at (${APP_URL_ENV}, else {DEFAULT_APP_URL})")


def check_report_path(args) -> None:
    """Refuse an unwritable --report before spending time on training."""
    if not getattr(args, "report", None):
        return
    path = Path(args.report).expanduser()
    if path.is_dir():
        raise CliError(f"--report '{args.report}' is a folder; give a file name such as run.html.")
    if not path.resolve().parent.is_dir():
        raise CliError(f"Cannot write --report '{args.report}': the folder '{path.resolve().parent}' does not exist.")


def write_run_page(args, page: RunPage) -> str:
    """Write the page to --report; the line saying so (its size in MB)."""
    from plots.report import write_report  # the seam: the only import of the plotting package in rnn_core

    try:
        size = write_report(Path(args.report).expanduser(), page, args.app_url)
    except OSError as e:
        raise CliError(f"Cannot write --report '{args.report}': {e.strerror or e}.") from None
    return f"Wrote the run as one page to {args.report} ({readable(size / 1e6)} MB; it opens without a network)"


def report_run(args, settings: tuple, records: list[dict], evaluation: dict, windows, model=None) -> str | None:
    """With --report: the run's page written (`write_run_page`) and its line; None without --report.
    `settings`: (model, data, train), the data as the command line asked for it (before the data named
    its columns), so that a preset's page links to `?preset=<key>`. `model`: the final weights, evaluated
    (`evaluation`), whose closed-loop forecast a forecast run's page draws as the Playground does."""
    if not getattr(args, "report", None):
        return None
    if not records:
        return f"Nothing was recorded before the run ended, so no page was written to {args.report}"
    from rnn_core.data.windows import naive_loss

    closed = page_closed_loop(model, windows, settings[2]) if model is not None and evaluation else None
    page = RunPage(*settings, records, evaluation or {}, naive_loss(windows), windows.task,
                   preset=args.preset, target_name=str(windows.target_name), closed=closed)
    return write_run_page(args, page)


def page_closed_loop(model, windows, train_cfg) -> dict | None:
    """The closed-loop forecast the Playground draws for a forecast run (`closed_loop_plan`'s steps from
    its start split), or None: not a forecast, or the data allows none."""
    from rnn_core.measure.closed_loop import closed_loop, closed_loop_plan
    from rnn_core.measure.evaluate import EvaluationError
    from rnn_core.nn.stateful import streams_read

    if windows.task != "forecast":
        return None
    n, start = closed_loop_plan(windows)
    try:
        return closed_loop(model, windows, n, start=start, stateful_streams=streams_read(train_cfg))
    except EvaluationError:
        return None
