"""A run as one self-contained HTML page: opens from a file, with no server and no network request.

    report_html(page, base=None) -> str       the page of `rnn_core.lessons.run_page.RunPage` `page`; `base`:
                                              the app's address its "reopen" link points at
                                              (`rnn_core.lessons.share.app_url`)
    write_report(path, page, base=None) -> int   that page written to `path`; its size in bytes
    MAX_BYTES                                 the most a page may weigh (8 MB; Plotly's bundle is ≈ 4.8 MB of it)

The page holds Plotly's JavaScript (the bundle the plotly package ships, inlined), the run's charts as
the app draws them (`series`, `gradients`, `predictions` with the closed-loop forecast of a forecast run:
the same builders, every line told apart by
more than colour), a scrubber over every recorded step with the run's key moments
(`rnn_core.measure.moments`), the preset's sentence, the verdict, the metrics table and the settings
with a link that reopens them in the app. The scrubber is `report.js` (plain JavaScript over the data
embedded as JSON, no framework): a range input (arrow keys, Home / End, Page Up / Down) and one button per
key moment; it marks the step on the loss and gradient-norm charts, the epoch on the per-parameter and
σ_max charts, and draws the gradient profile (and gates, for LSTM / GRU) and text sample recorded at or
before it. Its look:
`report.css`. Every chart is preceded by its text alternative (`describe.describe`).
Leaves to others: the facts (`rnn_core/lessons/run_page.py`), the figures' look (`style.py`).
"""

from __future__ import annotations

import html
import json
from pathlib import Path
from typing import Any

from plots.describe import describe
from plots.gradients import add_profile, gates_figure, gradient_heatmap_figure, gradient_time_figure
from plots.predictions import predictions_figure
from plots.series import grad_norm_figure, loss_figure, param_norms_figure, spectra_figure
from plots.style import COLORS, drawn, tell_apart
from plots.tables import metrics_display, metrics_frame
from plots.theme import themed
from rnn_core.lessons.run_page import RunPage, end_of, epochs_of, page_facts, steps_of

MAX_BYTES = 8 * 10**6
HERE = Path(__file__).resolve().parent
MARK_COLOR = COLORS["warning"]          # the scrubbed step's dotted line
# the charts in page order: id → what the scrubber does to it
CHARTS = {"loss": "step", "gradient": "probe", "grad_norm": "step", "param_norms": "epoch", "spectra": "epoch",
          "heatmap": "", "predictions": ""}


def _fig_json(fig: Any) -> dict:
    """A figure as the dict Plotly.js draws (numpy arrays as Plotly's typed arrays: base64, compact), in the
    app's look (`plots.theme.themed`): written from the app, a figure carries Streamlit's template of
    placeholder colours, which only Streamlit's own page replaces."""
    return themed(json.loads(fig.to_json()))


def _figures(page: RunPage) -> dict[str, Any]:
    """The run's charts, as the Playground draws them at the run's last frame."""
    from rnn_core.nn.cells import cell_of
    from rnn_core.nn.tasks import TASKS

    records, task = page.records, TASKS[page.task]
    steps, epochs = steps_of(records), epochs_of(records)
    loss = loss_figure(steps, epochs, page.baseline, True, baseline_label=task.baseline_label)
    loss.update_yaxes(title_text=task.loss_label)
    probe = next((r["probe"] for r in reversed(records) if isinstance(r.get("probe"), dict)), None)
    cell = cell_of(page.model.cell)
    figs = {"loss": loss,
            "grad_norm": grad_norm_figure(steps, page.train.clip, page.train.clip_value, True),
            "param_norms": param_norms_figure(epochs, True),
            "spectra": spectra_figure(epochs, (probe or {}).get("gamma", 1.0), cell.spectrum_of, cell.bounded),
            "heatmap": gradient_heatmap_figure(epochs)}
    if page.task != "text" and page.evaluation.get("task"):
        figs["predictions"] = predictions_figure(page.evaluation, page.closed, task=page.task,
                                                 target_name=page.target_name)
    return {k: tell_apart(f) for k, f in figs.items() if drawn(f)}


def _profiles(records: list[dict], cell: str) -> list[dict]:
    """One gradient-through-time figure per probe record, in order (the first one dotted beside the rest),
    with its gates figure ("gates") for a cell that has gates."""
    from rnn_core.nn.cells import cell_of

    probes = [r for r in records if isinstance(r.get("probe"), dict)]
    out = []
    for r in probes:
        fig = gradient_time_figure(r["probe"], True, True)
        when = f"epoch {r['epoch']}" if r.get("kind") == "epoch" else f"step {r['step']}"
        title = f"Gradient through time ‖∂L/∂hₜ‖ ({when})"
        if r is not probes[0]:
            add_profile(fig, probes[0]["probe"], "epoch 0 (start)", True, color=COLORS["baseline"], dash="dot",
                        opacity=0.9)
            title = f"Gradient through time ‖∂L/∂hₜ‖: {when}, dotted epoch 0"
        fig.update_layout(title_text=title)
        fig = tell_apart(fig)
        out.append({**_fig_json(fig), "alt": describe(fig)})
        if cell_of(cell).gates and drawn(gates := gates_figure(r["probe"], cell)):
            gates.update_layout(title_text=f"Mean gate activations over time ({when})")
            gates = tell_apart(gates)
            out[-1]["gates"] = {**_fig_json(gates), "alt": describe(gates)}
    return out


def _samples(records: list[dict]) -> list[str | None]:
    """A text run's sample of each epoch record (None where the epoch wrote none)."""
    return [(r.get("text") or {}).get("sample") for r in epochs_of(records)]


def _metrics_html(page: RunPage) -> str:
    """The metrics table of the final weights (or, for text, its sentence), as HTML."""
    if not page.evaluation:
        return "<p>The final weights were not evaluated (the run was stopped before its end).</p>"
    if page.evaluation.get("task") == "text":
        from rnn_core.cli.report import text_metrics_line

        return f"<p>{html.escape(text_metrics_line(page.evaluation))}</p>"
    frame = metrics_frame(page.evaluation)
    if frame.empty:
        return "<p>No metrics: the run has no held-out windows.</p>"
    table, notes = metrics_display(frame)
    caption = "<caption>The final weights' one-step predictions next to the baselines, per split</caption>"
    body = table.reset_index().to_html(index=False, border=0, classes="data", escape=True).replace(
        '<table border="0" class="dataframe data">', f'<table class="data">{caption}', 1)
    return body + "".join(f"<p class='note'>{html.escape(n)}</p>" for n in notes)


def _settings_html(facts: dict) -> str:
    rows = "".join(f"<tr><td>{html.escape(r['group'])}</td><td>{html.escape(r['setting'])}</td>"
                   f"<td>{html.escape(r['value'])}</td></tr>" for r in facts["settings"])
    return ("<table class='data'><caption>Every setting of this run</caption><thead><tr><th scope='col'>group"
            "</th><th scope='col'>setting</th><th scope='col'>value</th></tr></thead>"
            f"<tbody>{rows}</tbody></table>")


def _chart_html(key: str, fig: Any, profiles: list[dict]) -> str:
    """A chart's place: its text alternative, then the div Plotly draws in (the gradient profile's: the
    last profile's, which the scrubber replaces)."""
    title = fig.layout.title.text if fig is not None else profiles[-1]["layout"]["title"]["text"]
    alt = describe(fig) if fig is not None else profiles[-1]["alt"]
    return (f"<figure class='chart'><p class='sr-only' id='alt-{key}'>Chart: {html.escape(alt)}</p>"
            f"<div id='chart-{key}' class='plot' role='img' aria-label='{html.escape(_plain(title), True)}' "
            f"aria-describedby='alt-{key}'></div></figure>")


def _plain(text: str) -> str:
    """A Plotly title without its HTML tags."""
    import re

    return re.sub(r"<[^>]+>", " ", text or "").strip()


def _moment_buttons(facts: dict) -> str:
    where = {s["step"]: i for i, s in enumerate(facts["stops"])}
    last = len(facts["stops"]) - 1
    out = []
    for m in facts["moments"]:
        i = where.get(m["step"], last)
        out.append(f"<button type='button' class='moment' data-stop='{i}' data-kind='{html.escape(m['kind'])}' "
                   f"title='{html.escape(m['detail'], True)}'>{html.escape(m['name'])} "
                   f"<span class='at'>(step {m['step']})</span></button>")
    return "".join(out)


def report_html(page: RunPage, base: str | None = None) -> str:
    """The whole page (see the module docstring)."""
    from plotly.offline import get_plotlyjs

    facts = page_facts(page, base)
    figs = _figures(page)
    profiles = _profiles(page.records, page.model.cell)
    data = {"figures": {k: _fig_json(f) for k, f in figs.items()}, "profiles": profiles, "stops": facts["stops"],
            "moments": facts["moments"], "samples": _samples(page.records), "mark": MARK_COLOR,
            "moment_link": facts["moment_link"]}
    end = end_of(page.records)
    verdict = facts["verdict"]
    esc = html.escape
    charts = [_chart_html(k, figs.get(k), profiles) for k in CHARTS if k in figs or (k == "gradient" and profiles)]
    if profiles and "gates" in profiles[-1]:                  # after the gradient profile, as on the Playground
        charts.insert(2, _chart_html("gates", None, [p["gates"] for p in profiles if "gates" in p]))
    sample = ("<h3 id='sample-h'>Text sample at this step</h3><pre id='sample' aria-labelledby='sample-h'></pre>"
              if any(_samples(page.records)) else "")
    last = len(facts["stops"]) - 1
    body = f"""<main>
<h1>{esc(facts['title'])}</h1>
{f"<p class='sentence'>{esc(facts['sentence'])}</p>" if facts['sentence'] else ""}
<p class='verdict {esc(verdict['kind']) if verdict else ""}'><strong>Verdict:</strong> {
    esc(verdict['text']) if verdict else "no verdict (the run has no finished epoch)"}</p>
<p class='status'><strong>Run {esc(facts['status'])}.</strong> {esc(facts['reason'])}</p>
<section aria-labelledby='scrub-h'>
<h2 id='scrub-h'>Scrub through the run</h2>
<p><label for='scrub'>Step of the run (arrow keys, Home, End, Page Up and Page Down move it)</label></p>
<input type='range' id='scrub' min='0' max='{last}' value='{last}' step='1'>
<p id='readout' aria-live='polite'></p>
<p><a id='reopen-at' href='{esc(facts['moment_link'], True)}'>Open this moment in the RNN Playground</a>: it
trains the same run and stops its timeline here.</p>
<div role='group' aria-labelledby='moments-h'><h3 id='moments-h'>Key moments</h3>{_moment_buttons(facts)}</div>
<p id='moment' aria-live='polite'></p>
{sample}
</section>
<section aria-labelledby='charts-h'>
<h2 id='charts-h'>Charts</h2>
<p>The predictions and the metrics are those of the run's final weights (they are not recorded per step).</p>
<div class='charts'>{''.join(charts)}</div>
</section>
<section aria-labelledby='metrics-h'><h2 id='metrics-h'>Metrics</h2>{_metrics_html(page)}</section>
<section aria-labelledby='settings-h'><h2 id='settings-h'>Settings</h2>
<p><a id='reopen' href='{esc(facts['link'], True)}'>Open these settings in the RNN Playground</a>
(<code>{esc(facts['link'])}</code>): the same settings and seed give the same run.</p>
{_settings_html(facts)}</section>
<footer><p>Written by RNN Playground{f" after {end['step']} steps" if end else ""}; this file needs no server
and no network.</p></footer>
</main>"""
    payload = json.dumps(data, separators=(",", ":"), allow_nan=False).replace("</", "<\\/")
    return (f"<!DOCTYPE html>\n<html lang='en'><head><meta charset='utf-8'>"
            f"<meta name='viewport' content='width=device-width, initial-scale=1'>"
            f"<title>{esc(facts['title'])} · RNN Playground</title><style>{(HERE / 'report.css').read_text()}</style>"
            f"<script>{get_plotlyjs()}</script></head><body>{body}"
            f"<script type='application/json' id='run-data'>{payload}</script>"
            f"<script>{(HERE / 'report.js').read_text()}</script></body></html>\n")


def write_report(path: str | Path, page: RunPage, base: str | None = None) -> int:
    """Write the page to `path` (UTF-8); its size in bytes."""
    text = report_html(page, base).encode("utf-8")
    Path(path).write_bytes(text)
    return len(text)
