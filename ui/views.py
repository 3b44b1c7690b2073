"""The chart sections of a run, each a Plotly figure with one or two plain sentences beside it.

    chart_options(slot) -> ChartOptions          log axes, theory line, heatmap layer, closed loop
    divergence_banner(snap)                      a diverged run: step, cause, what to try
    loss_section(snap, ctx, opts, slot)          1. train / validation loss, baseline dashed
    gradient_time_section(snap, ctx, opts, slot) 2. ‖∂L/∂hₜ‖ against t + theory; epoch × t heatmap
    gradient_norms_section(snap, ctx, opts, slot)3. ‖g‖ per step with clipping; per-parameter norms; σ_max
    predictions_section(result, ctx, opts, slot) 4. predicted vs actual in real units + metrics table
                                                 (text tasks: samples, guesses, connectivity, ui/text_views.py)
    gates_section(snap, ctx, slot)               5. LSTM / GRU mean gate activations
    draw_run(slot) -> callable(snap, ctx)        all of the above in the Playground's layout, for live_area
    run_parts(slot, ctx) -> (each_step, each_epoch)   the same layout, drawn in two parts that redraw apart:
                                                 the step-level charts at every poll, the epoch-level ones
                                                 at most every `ui.live.SLOW_SECONDS`
    draw_presented(slot, chart) -> callable      presenter view: one-line status + verdict, ONE chart
    CHARTS, chart_figure(name, …)                the charts a presenter can choose, built one at a time
    verdict_line(snap, ctx)                      the run's verdict in words and numbers (rnn_core.measure.verdict)
    get_ghost(slot) -> Ghost | None              another cell's run on the same setup (slot "<slot>.ghost"),
                                                 overlaid on the loss and gradient-through-time charts
    baseline_mse(windows) -> float | None        persistence / constant-guess MSE in the loss's units

Every chart gets a stable key (`<slot>.chart.<name>`), so a fragment redraw updates it in place.
A replay's charts as built (no ghost run drawn over them, no scrubbed moment) are shared by every session
replaying the same run (`ui.shared_charts`, keyed by the run, its records so far and the options read):
the epoch-level ones always, the step-level ones at the run's first point and while it is paused or ended
(while it runs, each session's replay stands at its own step: each updates its own figure in place).
Leaves to others: the figures themselves (`plots/`), polling (`ui/live.py`).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any

import streamlit as st

from plots.gradients import (
    Profile,
    first_probe,
    gates_figure,
    gradient_heatmap_figure,
    gradient_time_figure,
    last_probe,
    latest_probe,
)
from plots.marks import mark_row, mark_x
from plots.predictions import predictions_figure
from plots.series import add_ghost_loss, grad_norm_figure, loss_figure, param_norms_figure, spectra_figure
from plots.spec import reusing
from plots.style import COLORS, drawn
from plots.tables import metrics_display, metrics_frame
from rnn_core.data.windows import naive_loss, naive_split
from rnn_core.measure.evaluate import scaled_loss
from rnn_core.measure.metrics import SKILL_FORMULA
from rnn_core.measure.verdict import Verdict, gradient_story, run_verdict
from rnn_core.nn.cells import cell_of, label_of
from rnn_core.nn.model_config import ModelConfig
from rnn_core.nn.probe import reference_note
from rnn_core.nn.tasks import task_of
from rnn_core.readable import readable, seconds
from rnn_core.serve.history import Snapshot
from ui import charts
from ui.live import (
    ACTIVE,
    FINISHED,
    STATUS_ICON,
    RunContext,
    ask,
    evaluation_for,
    fragment_rerun,
    get_context,
    get_run,
    ghost_of,
    pace_control,
    progress,
    progress_text,
    run_key,
    weights_pending,
)
from ui.markdown import md
from ui.presenter import SCRUBBER_HEIGHT, show_chart, status_line
from ui.scrub import Scrub, link_note, moment_caption, scrub_key, scrubber
from ui.shared_charts import cached, is_shared, shared
from ui.state import memo, memo_value
from ui.text_views import text_section

WEIGHTS_NOTE = ("This replay's weights at step {step} are being computed again, exactly (by training to that "
                "step); the predictions follow as soon as they are there.")
SKILL_NOTE = (f"RMSE and MAE are in the target's units; {SKILL_FORMULA}: "
              "above 0 the model beats the baseline, 0 is exactly as good, below 0 is worse, 1 is "
              "perfect. A skill near 0 is not necessarily a copy of the last value: a copy shows itself "
              "as 'best lag' 1.")


@dataclass
class ChartOptions:
    log_loss: bool = True
    log_grad: bool = True
    theory: bool = True
    heat_layer: int = 0
    closed_loop: bool = True
    persistence: bool = True


def chart_options(slot: str, n_layers: int = 1) -> ChartOptions:
    """A row of chart toggles (inside the fragment: changing one redraws only the charts). The expander
    has a key, so it stays open or closed across the full reruns a status change (Pause, Stop, the
    end of a run) brings; without one it was a new element, collapsed, whenever the layout above shifted.
    A change is a click (`ui.live.ask`): its redraw does not wait behind the room's timed ones."""
    click = {"on_change": ask, "args": (slot,)}
    with st.expander("Chart options", expanded=False, icon=":material/tune:", key=f"{slot}.opt.open", **click):
        c = st.columns(5)
        log_loss = c[0].toggle("Log loss axis", value=True, key=f"{slot}.opt.log_loss", **click)
        log_grad = c[1].toggle("Log gradient axes", value=True, key=f"{slot}.opt.log_grad", **click)
        theory = c[2].toggle("Bound / gate-path line", value=True, key=f"{slot}.opt.theory", **click)
        closed = c[3].toggle("Closed-loop forecast", value=True, key=f"{slot}.opt.closed", **click)
        layer = c[4].number_input("Heatmap layer", 1, max(1, n_layers), value=1, key=f"{slot}.opt.layer", **click)
    return ChartOptions(log_loss, log_grad, theory, int(layer) - 1, closed)


def options_from_state(slot: str) -> ChartOptions:
    """The chart options as last set (presenter mode draws no toggles but keeps their values)."""
    ss = st.session_state
    return ChartOptions(bool(ss.get(f"{slot}.opt.log_loss", True)), bool(ss.get(f"{slot}.opt.log_grad", True)),
                        bool(ss.get(f"{slot}.opt.theory", True)), int(ss.get(f"{slot}.opt.layer", 1)) - 1,
                        bool(ss.get(f"{slot}.opt.closed", True)))


def _chart(fig: Any, slot: str, name: str, summary: str = "") -> None:
    """A chart of the run with its text alternative and its data one click away (`ui.charts`)."""
    charts.chart(fig, f"{slot}.chart.{name}", summary)


def _memo(slot: str, name: str, key: tuple, build: Callable[[], Any], everyone: tuple | None = None) -> Any:
    """Rebuild a figure only when what it shows changed (`ui.state.memo`); with `everyone` (what names it
    for every session: `_shared_key` and the options it reads), the figure built once for all
    (`ui.shared_charts`)."""
    if everyone is None:
        return memo(slot, name, key, build)
    return memo(slot, name, key, lambda: shared((name, *everyone), build))


def _step_memo(slot: str, name: str, key: tuple, build: Callable[[], Any], snap: Snapshot | None,
               everyone: tuple | None) -> Any:
    """`_memo` for a chart that changes at every step: while the run is active and this session already
    draws a figure of it, the figure built for all at this step if there is one, else this session's own,
    updated in place (`_previous`: each session's replay stands at its own step, so building for all would
    build anew at every poll); else (the first point, a paused or ended run) the one built for all."""
    if everyone is not None and getattr(snap, "status", None) in ACTIVE and drawn_before(slot, name):
        def own() -> Any:
            hit = cached((name, *everyone))
            return hit if hit is not None else build()

        return memo(slot, name, key, own)
    return _memo(slot, name, key, build, everyone)


def drawn_before(slot: str, name: str) -> bool:
    """Whether this session shows a figure of the chart with data in it (not a placeholder)."""
    shown = memo_value(slot, name)
    return shown is not None and drawn(shown)


def _shared_key(slot: str, snap: Snapshot | None, ctx: RunContext | None, each: str = "step") -> tuple | None:
    """What names the data a chart shows for every session: before a run ("no run",); a replay's key and how
    far it has come — all its records (`each` "step"), or its epoch records ("epoch"): the records a replay
    shows are its source's first ones (and the end record a Stop writes) — or None (this session's own run)."""
    if snap is None:
        return ("no run",) if ctx is None else None
    key = run_key(get_run(slot))
    if key is None:
        return None
    if each == "epoch":
        return key, len(snap.epochs)
    return key, snap.version, snap.step, len(snap.epochs), snap.end is not None


def _own(name: str, *options: Any) -> str:
    """The name under which a session keeps its own figure of chart `name` drawn with these chart options
    (`_previous`): one per option's value, so that an option toggled back updates the figure it drew with
    that value in place instead of building one anew."""
    return f"{name}@{options}"


def _previous(slot: str, name: str, plain: bool) -> Any:
    """The figure a chart rebuilt at every poll may update in place (`plots.spec.reusing`): this session's
    last build of it (`name`: `_own`'s, with the options it was drawn with), where that one was a plain
    build and the next is one too (nothing drawn over it after its build: no ghost run, no scrubber's mark)
    and it is its own (not shared: `ui.shared_charts`); else None (a new build). It may be the one shown, or
    one the session stopped showing (drawn with the other value of an option, or when it drew the figure
    built for all at the same step)."""
    own = memo_value(slot, name, "plain")
    return own if plain and own is not None and not is_shared(own) else None


def _plain(slot: str, name: str, fig: Any, plain: bool) -> Any:
    """Note whether `fig`, the chart `name` now, is a plain build (see `_previous`)."""
    memo(slot, name, (id(fig), plain), lambda: fig if plain else None, store="plain")
    return fig


def _cell_name(ctx: RunContext | None) -> str:
    """The run's cell, or the default cell's before there is a run."""
    return ctx.model_cfg.cell if ctx else ModelConfig().cell


def _epoch_key(snap: Snapshot | None, ctx: RunContext | None) -> tuple:
    """Identifies the epoch-level data of a snapshot: the run (its context) and how many epochs."""
    return (id(ctx), len(snap.epochs) if snap else -1)


def _step_key(snap: Snapshot | None, ctx: RunContext | None) -> tuple:
    return (id(ctx), snap.version if snap else -1)


def baseline_mse(windows: Any) -> float | None:
    """The naive guess's loss, in the loss's units: `rnn_core.data.windows.naive_loss`."""
    return None if windows is None else naive_loss(windows)


def divergence_banner(snap: Snapshot | None) -> None:
    if snap is None or snap.end is None:
        return
    end = snap.end
    if end["status"] == "diverged":
        # the diverging step's update is refused: the weights, the charts and the progress line stop at
        # the step before it (the progress bar shows that one), so say both numbers
        refused = end["step"] > snap.step
        kept = (f"That step's update was refused: the weights and the charts stop at step {snap.step}."
                if refused else "The charts keep everything up to that step.")
        reason = end["reason"].replace(f" at step {end['step']} (epoch {end['epoch']})", "")   # said before it
        st.error(f"**The run diverged at step {end['step']} (epoch {end['epoch']}).** {md(reason)} {kept}",
                 icon=":material/warning:")
    elif end["status"] == "stopped" and "error" in end.get("reason", ""):
        st.warning(md(end["reason"]), icon=":material/warning:")


# ---------------------------------------------------------------------------------- ghost and verdict
@dataclass
class Ghost:
    """Another cell's run on the same setup, overlaid on the loss and gradient charts."""
    snap: Snapshot
    label: str                    # the cell's name, e.g. "LSTM"


def ghost_slot(slot: str) -> str:
    return f"{slot}.ghost"


def get_ghost(slot: str) -> Ghost | None:
    found = ghost_of(slot)
    if found is None:
        return None
    run, ctx = found
    return Ghost(run.snapshot(), label_of(ctx.model_cfg.cell))


def verdict_for(snap: Snapshot | None, ctx: RunContext | None, slot: str | None = None) -> Verdict | None:
    """The run's verdict. With `slot` (the page's own run, not a ghost): a finished run without
    validation windows is judged on its training loss at the final weights, from the one-step
    evaluation the metrics table shows, so the two agree."""
    if snap is None or ctx is None:
        return None
    w = ctx.windows
    if w is None:                            # a run opened from a zip whose data is not here
        return None
    loss = None
    if slot is not None and snap.status in FINISHED and snap.status != "diverged" and not len(w.X_val):
        result = evaluation_for(slot)
        loss = scaled_loss(result["evaluation"], w, "train") if result else None
    return run_verdict(snap.epochs, snap.end, baseline_mse(w), w.task, ctx.train_cfg.clip, loss=loss)


SPLIT_NAMES = {"train": "training", "val": "validation"}
VERDICT_KEY = "verdict"     # the verdict line's container key prefix (ui/a11y.py draws it large)
_VERDICT_COLOR = {"beats": "green", "at_baseline": "orange", "partial": "orange", "worse": "red", "diverged": "red"}


def verdict_line(snap: Snapshot | None, ctx: RunContext | None, who: str = "", slot: str | None = None,
                 note: bool = True) -> None:
    """One big line: the run's verdict in words and numbers (nothing before the first epoch); `note`:
    with the forecast's second baseline under it (else `verdict_note` draws it elsewhere)."""
    v = verdict_for(snap, ctx, slot)
    if v is None:
        return
    cell = label_of(ctx.model_cfg.cell)
    so_far = " so far" if snap.status in ("running", "paused", "idle") else ""
    with st.container(key=f"{VERDICT_KEY}-{slot or 'ghost'}-{'ghost' if who else 'run'}"):   # large, not a heading
        st.markdown(f"**{who}{cell}{so_far}:** :{_VERDICT_COLOR[v.kind]}[**{v.text}**]")
    if note:
        verdict_note(snap, ctx, slot)


def verdict_note(snap: Snapshot | None, ctx: RunContext | None, slot: str | None = None) -> None:
    """A forecast's verdict against the other obvious guess, the constant one, in one sentence."""
    v = verdict_for(snap, ctx, slot)
    if v is None:
        return
    if ctx.windows.task == "forecast" and v.kind != "diverged":
        # a forecast is judged against persistence; the constant guess is the other obvious one
        split = "val" if len(ctx.windows.X_val) else "train"
        constant = ctx.windows.naive_losses(split)["constant"]
        against = run_verdict(snap.epochs, snap.end, constant, "sequence", loss=v.loss)
        if against is not None and against.ratio is not None:
            st.caption(f"The constant guess (ŷ = the training mean) scores {readable(constant)} on the "
                       f"{'validation' if split == 'val' else 'training'} windows; this run's loss is "
                       f"{readable(against.ratio)}× that.")


# --------------------------------------------------------------------------------------------- 1
def _chosen(at: Scrub | None) -> Scrub | None:
    """The scrubber's moment when someone chose one (else the charts show the run as it is now)."""
    return at if at is not None and at.chosen else None


def loss_fig(snap: Snapshot | None, ctx: RunContext | None, opts: ChartOptions, slot: str,
             ghost: Ghost | None = None, at: Scrub | None = None, top: bool = False) -> Any:
    """The loss chart; `top`: as one of the page's first two charts (`_first`)."""
    w = ctx.windows if ctx else None
    task = task_of(w)
    # the dashed line is the guess on the split the verdict compares with (validation when there is one)
    label = task.baseline_label if w is None else f"{task.baseline_label} ({SPLIT_NAMES[naive_split(w)]})"
    steps, epochs = (snap.steps, snap.epochs) if snap else ([], [])

    def build() -> Any:
        plain = ghost is None and not _chosen(at)
        with reusing(_previous(slot, _own("loss", opts.log_loss), plain)):
            fig = _plain(slot, _own("loss", opts.log_loss), loss_figure(steps, epochs, baseline_mse(w), opts.log_loss,
                                                   baseline_label=label, y_title=task.loss_label), plain)
        if ghost is not None:
            add_ghost_loss(fig, ghost.snap.epochs, f"ghost: {ghost.label} (epoch)", opts.log_loss)
        if _chosen(at):
            mark_x(fig, at.frame.step, at.label)
        return _first(fig) if top else fig

    plain = ghost is None and not _chosen(at)
    everyone = _shared_key(slot, snap, ctx) if plain else None
    return _step_memo(slot, "loss", (*_step_key(snap, ctx), opts.log_loss, ghost and ghost.snap.version,
                                     scrub_key(at), top), build, snap,
                      everyone and (*everyone, opts.log_loss, top))


def loss_section(snap: Snapshot | None, ctx: RunContext | None, opts: ChartOptions, slot: str,
                 ghost: Ghost | None = None, at: Scrub | None = None) -> None:
    v = verdict_for(snap, ctx, slot)
    _chart(loss_fig(snap, ctx, opts, slot, ghost, at), slot, "loss", f"The run {v.text}." if v else "")
    loss_caption(ctx)


def loss_caption(ctx: RunContext | None) -> None:
    # before a run the task is not known here: name no particular guess
    label = task_of(ctx.windows).baseline_label if ctx else "baseline"
    has_val = ctx is None or ctx.windows is None or bool(len(ctx.windows.X_val))
    thick = ("the mean batch loss of each epoch (training) and the whole validation set after each epoch"
             if has_val else "the mean batch loss of each epoch (this run has no validation part)")
    st.caption(f"The thin line is each batch's loss; the thick ones are {thick}. "
               f"Below the dashed {label} the network has learned more than the obvious "
               "guess; hovering on it means it has learned nothing useful.")


# --------------------------------------------------------------------------------------------- 2
def shown_probe(snap: Snapshot | None, at: Scrub | None = None) -> tuple[int, dict, str] | None:
    """(epoch, probe, where) of the profile the charts show: the scrubber's chosen moment's, else the
    latest; `where` names it in a title ("epoch 4", "step 55 (epoch 3)")."""
    if _chosen(at) and at.frame.probe_record is not None:
        rec = at.frame.probe_record
        epoch = int(rec.get("epoch", 0))
        where = f"epoch {epoch}" if rec.get("kind") == "epoch" else f"step {rec['step']} (epoch {epoch})"
        return epoch, rec["probe"], where
    found = last_probe(snap.epochs if snap else [])
    return None if found is None else (found[0], found[1], f"epoch {found[0]}")


def gradient_time_fig(snap: Snapshot | None, ctx: RunContext | None, opts: ChartOptions, slot: str,
                      ghost: Ghost | None = None, at: Scrub | None = None, top: bool = False) -> Any:
    """The latest ‖∂L/∂hₜ‖ profile (or the scrubber's moment's) with the epoch-0 one (grey, dotted) beside
    it, so the class sees what training did to it, and a ghost run's latest profile (dashed); `top`: as one
    of the page's first two charts (`_first`)."""
    def build() -> Any:
        # one build, the overlays included: `add_profile` and `update_layout` on a built figure cost as much
        # again (its validation, its legend and log axis redone), and this chart is rebuilt at every epoch
        _, probe, where = shown_probe(snap, at) or (None, None, "")
        overlays, title = [], "Gradient through time ‖∂L/∂hₜ‖"
        if probe:
            first = first_probe(snap.epochs)
            title = f"Gradient through time ‖∂L/∂hₜ‖ ({where})"
            if first is not None and first[1] is not probe:
                overlays.append(Profile(first[1], f"epoch {first[0]} (start)", COLORS["baseline"], "dot", 0.9))
                title = f"Gradient through time ‖∂L/∂hₜ‖: {where}, dotted epoch {first[0]}"
        if ghost is not None:
            overlays.append(Profile(latest_probe(ghost.snap.epochs), f"ghost: {ghost.label}", COLORS["ghost"],
                                    "dash", 0.85))
        own = _own("grad_time", opts.log_grad, opts.theory)
        with reusing(_previous(slot, own, True)):      # nothing is drawn over it after its build
            fig = _plain(slot, own, gradient_time_figure(probe, opts.log_grad, opts.theory, title=title,
                                                                 overlays=overlays), True)
        return _first(fig) if top else fig

    ghost_key = len(ghost.snap.epochs) if ghost else None
    everyone = _shared_key(slot, snap, ctx, "epoch") if ghost is None and not _chosen(at) else None
    return _memo(slot, "grad_time", (*_epoch_key(snap, ctx), opts.log_grad, opts.theory, ghost_key, scrub_key(at),
                                     top), build, everyone and (*everyone, opts.log_grad, opts.theory, top))


def gradient_time_section(snap: Snapshot | None, ctx: RunContext | None, opts: ChartOptions,
                          slot: str, ghost: Ghost | None = None, at: Scrub | None = None) -> None:
    _chart(gradient_time_fig(snap, ctx, opts, slot, ghost, at), slot, "grad_time", gradient_story_at(snap, at))
    gradient_time_caption(snap, ctx, at)


def gradient_story_at(snap: Snapshot | None, at: Scrub | None = None) -> str:
    """What the profile shown (the scrubber's moment's, else the latest) does, in numbers
    (`verdict.gradient_story`): the gradient chart's caption and its text alternative."""
    epochs = snap.epochs if snap else []
    shown = shown_probe(snap, at)
    end = snap.end if snap and (not _chosen(at) or at.frame.last) else None
    return gradient_story(first_probe(epochs), shown[:2] if shown else None, end) or ""


def gradient_time_caption(snap: Snapshot | None, ctx: RunContext | None, at: Scrub | None = None) -> None:
    """What the profile shown does, in numbers, and how to read the chart."""
    story = gradient_story_at(snap, at)
    st.caption((f"**{story}** " if story else "") +
               "How much the loss depends on each earlier hidden state. A line falling toward t = 0 means "
               "early inputs barely get any gradient (vanishing); the grey dotted line is the same profile "
               "at initialisation (epoch 0), so you see what training did to it. "
               + reference_note(_cell_name(ctx)) + " " + probe_note(ctx))


def heatmap_fig(snap: Snapshot | None, ctx: RunContext | None, opts: ChartOptions, slot: str,
                at: Scrub | None = None) -> Any:
    def build() -> Any:
        epochs = snap.epochs if snap else []
        shown = shown_probe(snap, at) if _chosen(at) else None
        own = _own("heatmap", opts.heat_layer)
        with reusing(_previous(slot, own, shown is None)):
            fig = _plain(slot, own, gradient_heatmap_figure(epochs, layer=opts.heat_layer), shown is None)
        rows = [int(r["epoch"]) for r in epochs if r.get("probe")]
        if shown is not None and rows:
            row = max((e for e in rows if e <= shown[0]), default=rows[0])     # the row of that profile
            mark_row(fig, row, rows, at.label)
        return fig

    everyone = _shared_key(slot, snap, ctx, "epoch") if not _chosen(at) else None
    return _memo(slot, "heatmap", (*_epoch_key(snap, ctx), opts.heat_layer, scrub_key(at)), build,
                 everyone and (*everyone, opts.heat_layer))


def heatmap_section(snap: Snapshot | None, opts: ChartOptions, slot: str, ctx: RunContext | None = None,
                    at: Scrub | None = None) -> None:
    _chart(heatmap_fig(snap, ctx, opts, slot, at), slot, "heatmap")
    st.caption("Each row is one epoch's gradient profile, colour on a log scale: dark on the left means "
               "the gradient fades before it reaches the oldest inputs, and you see whether training "
               "changes that. A blank square is a gradient of exactly 0: cut off by truncated BPTT, blocked "
               "(every path back passes a switched-off ReLU or a tanh saturated at ±1), or an underflow below "
               "what float64 holds. " + probe_note(ctx))


def probe_note(ctx: RunContext | None) -> str:
    """When and on what the probe measures, from the run's settings (the defaults before a run)."""
    from rnn_core.config import TrainConfig

    tc = ctx.train_cfg if ctx else TrainConfig()
    if tc.probe_every < 1:
        return "The probe is off for this run (probe every 0 epochs)."
    every = "every epoch" if tc.probe_every == 1 else f"every {tc.probe_every} epochs"
    T = ctx.windows.timesteps if ctx and ctx.windows is not None else None
    if tc.stateful and T:
        return stateful_probe_note(tc, T, every)
    note = (f"Measured {every} (and at initialisation and the last epoch) on the same fixed batch of "
            f"{tc.probe_batch} training windows, not on the whole data.")
    if tc.bptt_truncate and T and tc.bptt_truncate < T:
        note += (f" Truncated BPTT (k = {tc.bptt_truncate}): timesteps before the last {tc.bptt_truncate} "
                 "get no gradient at all, so they stay blank here.")
    return note


def stateful_probe_note(tc, T: int, every: str) -> str:
    """What the probe of a stateful run measures: one update, from the state carried into its window."""
    k2 = tc.bptt_truncate or T
    k1 = tc.stateful_step or k2
    streams = min(tc.probe_batch, tc.stateful_streams)
    return (f"Stateful: measured {every} on one update of {streams} stream(s), the last {T} steps before its "
            f"end with the state carried into them from the stream's start; its {k1} new step(s) are the "
            f"targets and its gradient is cut {k2} steps back (blank before the red line), while the teal "
            "line, ‖∂h_T/∂xₜ‖ computed exactly with no truncation, shows how far back the last state still "
            "depends on each input: the state carries what the gradient never sees.")


# --------------------------------------------------------------------------------------------- 3
def _marked(fig: Any, at: Scrub | None, x_is: str = "step") -> Any:
    """`fig` with the scrubber's chosen moment marked at its step (x = the optimiser step) or at the
    epoch record it shows (x = the epoch)."""
    if not _chosen(at):
        return fig
    if x_is == "step":
        return mark_x(fig, at.frame.step, at.label)
    rec = at.frame.epoch_record
    return fig if rec is None else mark_x(fig, int(rec["epoch"]), f"epoch {rec['epoch']}")


def grad_norm_fig(snap: Snapshot | None, ctx: RunContext | None, opts: ChartOptions, slot: str,
                  at: Scrub | None = None) -> Any:
    tc = ctx.train_cfg if ctx else None
    steps = snap.steps if snap else []
    def build() -> Any:
        plain = not _chosen(at)
        with reusing(_previous(slot, _own("grad_norm", opts.log_grad), plain)):
            fig = _plain(slot, _own("grad_norm", opts.log_grad), grad_norm_figure(steps, tc.clip if tc else "off",
                                                             tc.clip_value if tc else None, opts.log_grad), plain)
        return _marked(fig, at)

    everyone = _shared_key(slot, snap, ctx) if not _chosen(at) else None
    return _step_memo(slot, "grad_norm", (*_step_key(snap, ctx), opts.log_grad, scrub_key(at)), build, snap,
                      everyone and (*everyone, opts.log_grad))


def param_norms_fig(snap: Snapshot | None, ctx: RunContext | None, opts: ChartOptions, slot: str,
                    at: Scrub | None = None) -> Any:
    epochs = snap.epochs if snap else []

    def build() -> Any:
        own = _own("param_norms", opts.log_grad)
        with reusing(_previous(slot, own, not _chosen(at))):
            fig = _plain(slot, own, param_norms_figure(epochs, opts.log_grad), not _chosen(at))
        return _marked(fig, at, "epoch")

    everyone = _shared_key(slot, snap, ctx, "epoch") if not _chosen(at) else None
    return _memo(slot, "param_norms", (*_epoch_key(snap, ctx), opts.log_grad, scrub_key(at)), build,
                 everyone and (*everyone, opts.log_grad))


def spectra_fig(snap: Snapshot | None, ctx: RunContext | None, slot: str, at: Scrub | None = None) -> Any:
    epochs = snap.epochs if snap else []
    gamma = (latest_probe(epochs) or {}).get("gamma", 1.0)
    cell = _cell_name(ctx)

    def build() -> Any:
        with reusing(_previous(slot, "spectra", not _chosen(at))):
            fig = _plain(slot, "spectra", spectra_figure(epochs, gamma, cell_of(cell).spectrum_of,
                                                         cell_of(cell).bounded), not _chosen(at))
        return _marked(fig, at, "epoch")

    everyone = _shared_key(slot, snap, ctx, "epoch") if not _chosen(at) else None
    return _memo(slot, "spectra", (*_epoch_key(snap, ctx), scrub_key(at)), build, everyone and (*everyone, cell))


def gradient_norms_section(snap: Snapshot | None, ctx: RunContext | None, opts: ChartOptions,
                           slot: str, at: Scrub | None = None) -> None:
    grad_norm_section(snap, ctx, opts, slot, at)
    c1, c2 = st.columns(2)
    weights_section(snap, ctx, opts, slot, c1, c2, at)


def grad_norm_section(snap: Snapshot | None, ctx: RunContext | None, opts: ChartOptions, slot: str,
                      at: Scrub | None = None) -> None:
    _chart(grad_norm_fig(snap, ctx, opts, slot, at), slot, "grad_norm")
    st.caption("The size of the whole gradient at each step, before clipping. Spikes are exploding "
               "gradients; with clipping on, steps above the red threshold are rescaled (red crosses).")


def weights_section(snap: Snapshot | None, ctx: RunContext | None, opts: ChartOptions, slot: str,
                    c1: Any, c2: Any, at: Scrub | None = None) -> None:
    """Per-parameter gradient norms (into column c1) and the recurrent matrix's σ_max (c2)."""
    with c1:
        _chart(param_norms_fig(snap, ctx, opts, slot, at), slot, "param_norms")
        st.caption("Gradient norm per weight tensor, averaged over each epoch: the recurrent weights "
                   "(W_hh, solid) carry the gradient through time.")
    with c2:
        _chart(spectra_fig(snap, ctx, slot, at), slot, "spectra")
        cell = _cell_name(ctx)
        st.caption(f"σ_max is the most {cell_of(cell).spectrum_of} can stretch a vector. " + (
            "Below the red line (σ_max·γ < 1) each step back through the recurrence can only shrink the "
            "gradient, so the top layer's gradient through time must vanish; above it the gradient may grow "
            "but need not (the spectral radius and tanh′ < 1 usually still shrink it)." if cell_of(cell).bounded
            else "For a gated cell this is the cell candidate's block only: no line is drawn, because below 1 "
            "the gradient need not vanish — an open forget gate (or update gate) carries it past."))


# --------------------------------------------------------------------------------------------- 4
def predictions_fig(result: dict | None, ctx: RunContext | None, opts: ChartOptions, slot: str) -> Any:
    if ctx is None or result is None:       # the placeholder: the same for everyone
        return shared(("predictions", "none"), lambda: predictions_figure({}, None))
    w = ctx.windows
    evaluation = result["evaluation"] or {}
    # a run opened from a zip whose data is not here (an uploaded CSV): what was saved with it
    task = w.task if w is not None else evaluation.get("task", "forecast")
    target = w.target_name if w is not None else str(evaluation.get("target") or "value")
    closed = result["closed"] if opts.closed_loop else None
    return _memo(slot, "predictions", (id(ctx), result["version"], opts.closed_loop, closed is not None),
                 lambda: predictions_figure(evaluation, closed, task=task, target_name=target))


def predictions_section(result: dict | None, ctx: RunContext | None, opts: ChartOptions, slot: str,
                        snap: Snapshot | None = None, at: Scrub | None = None) -> None:
    _chart(predictions_fig(result, ctx, opts, slot), slot, "predictions")
    if snap is not None and weights_pending(slot):
        st.caption(WEIGHTS_NOTE.format(step=snap.step))
    if ctx is None or result is None:
        st.caption("Predictions are computed when the run is paused or finished (not on every redraw).")
        return
    if _chosen(at) and not at.frame.last:
        st.caption(f"These predictions are those of the weights at step {result['step']}, the run's last: "
                   f"predictions are not recorded per step, so they do not follow the scrubber (step "
                   f"{at.frame.step}).")
    w = ctx.windows
    evaluation = result["evaluation"] or {}
    task = w.task if w is not None else evaluation.get("task", "forecast")
    if w is None:
        st.caption("This run's data is not on the server (it was uploaded or fetched when the run was "
                   "made), so these are the predictions and metrics saved with the run, not recomputed.")
    if snap is not None and snap.status == "running":
        st.caption(f"From step {result['step']}; pause or let the run finish to refresh.")
    if task == "sequence":
        st.caption("Each dot is one test sequence: on the dashed diagonal the answer is exact; a cloud "
                   "flattened around the constant guess means the network did not remember.")
    else:
        parts = "training and test" if w is not None and not len(w.X_val) else "training, validation and test"
        stateful = ctx.train_cfg.stateful
        loop = ("reads the series as the last training stream did, on up to the test part, then is fed its own "
                "predictions with the state carried" if stateful else
                "is fed its own predictions from the start of the test part")
        st.caption(f"The series in real units with the {parts} parts shaded. The "
                   f"one-step prediction sees the true past each day; the closed-loop forecast {loop}, so its "
                   "errors add up. Click 'persistence' in the legend to compare with 'tomorrow = today'.")
    if evaluation.get("reading"):
        st.caption(md(evaluation["reading"]))
    if result.get("closed_job") is not None and opts.closed_loop:
        st.caption("The closed-loop forecast is being computed in the background (it re-runs a whole window "
                   "per generated step); it appears on the chart when it is ready.")
        result["shown_pending"] = True           # `closed_loop_pending` asks for a redraw once it is ready
    if result.get("closed_note") and opts.closed_loop:
        st.caption(md(result["closed_note"]))
    frame = metrics_frame(evaluation)
    if not frame.empty:
        table, notes = metrics_display(frame)
        # a static table: it wraps to its column instead of cutting headers and scrolling columns away
        # (the grid cut "skill score" and hid "best lag" at 1280 px); the formula is in the note under it
        st.table(table.rename(columns={SKILL_FORMULA: "skill score"}), border="horizontal",
                 alt="The metrics of the model and its baselines on each split.")
        st.caption(" ".join([SKILL_NOTE, *notes]))


# --------------------------------------------------------------------------------------------- 5
def gates_fig(snap: Snapshot | None, ctx: RunContext | None, slot: str, at: Scrub | None = None) -> Any:
    cell = _cell_name(ctx)
    if not cell_of(cell).gates:
        return _memo(slot, "gates", ("no gates", cell), lambda: gates_figure(None, cell), ("no gates", cell))

    def build() -> Any:
        shown = shown_probe(snap, at)
        fig = gates_figure(shown[1] if shown else None, cell)
        if shown is not None and _chosen(at):
            fig.update_layout(title_text=f"Mean gate activations over time ({shown[2]})")
        return fig

    everyone = _shared_key(slot, snap, ctx, "epoch") if not _chosen(at) else None
    return _memo(slot, "gates", (*_epoch_key(snap, ctx), cell, scrub_key(at)), build, everyone and (*everyone, cell))


def gates_section(snap: Snapshot | None, ctx: RunContext | None, slot: str, at: Scrub | None = None) -> None:
    cell = _cell_name(ctx)
    if not cell_of(cell).gates:
        return
    _chart(gates_fig(snap, ctx, slot, at), slot, "gates")
    st.caption("Mean gate activation at each timestep. An LSTM forget gate near 1 (GRU: update gate near 1 "
               "keeps the old state) lets the state — and its gradient — pass through time almost unchanged.")


# ------------------------------------------------------------------------------------------ layout
# The charts a presenter can put on the lecture screen, one at a time (`?chart=<key>`).
CHARTS = {"loss": "Loss", "gradient": "Gradient through time", "heatmap": "Gradient over training (heatmap)",
          "norms": "Gradient norm per step", "params": "Gradient norm per parameter",
          "spectra": "σ_max of W_hh", "predictions": "Predicted vs actual", "gates": "Gates (LSTM / GRU)"}


def chart_figure(name: str, slot: str, snap: Snapshot | None, ctx: RunContext | None, opts: ChartOptions,
                 ghost: Ghost | None = None, at: Scrub | None = None) -> Any:
    """One chart of `CHARTS`, built (only it) for the presenter view, at the scrubber's moment `at`."""
    if name == "loss":
        return loss_fig(snap, ctx, opts, slot, ghost, at)
    if name == "gradient":
        return gradient_time_fig(snap, ctx, opts, slot, ghost, at)
    if name == "heatmap":
        return heatmap_fig(snap, ctx, opts, slot, at)
    if name == "norms":
        return grad_norm_fig(snap, ctx, opts, slot, at)
    if name == "params":
        return param_norms_fig(snap, ctx, opts, slot, at)
    if name == "spectra":
        return spectra_fig(snap, ctx, slot, at)
    if name == "predictions":
        return predictions_fig(evaluation_for(slot) if snap is not None else None, ctx, opts, slot)
    return gates_fig(snap, ctx, slot, at)


def status_text(snap: Snapshot | None) -> str:
    """The run's status in one short line (presenter view)."""
    if snap is None:
        return "No run yet: press **Train**."
    total_steps = max(1, snap.total_epochs * max(1, snap.steps_per_epoch))
    return (f"{STATUS_ICON.get(snap.status, '')} **{snap.status}** · epoch {snap.epoch}/{snap.total_epochs} · "
            f"step {snap.step}/{total_steps} · {seconds(snap.elapsed)}")


def presented_summary(chart: str, snap: Snapshot | None, v: Verdict | None, at: Scrub | None = None) -> str:
    """The page's own sentence about the presenter's chart, for its text alternative."""
    if chart == "loss" and v is not None:
        return f"The run {v.text}."
    if chart == "gradient" and snap is not None:
        return gradient_story_at(snap, at)
    return ""


def draw_presented(slot: str, chart: str) -> Callable[[Snapshot | None, RunContext | None], None]:
    """The presenter view of a run: a one-line status, the verdict, and only the chosen chart."""

    def draw(snap: Snapshot | None, ctx: RunContext | None) -> None:
        if snap is not None:
            evaluation_for(slot)          # first: the status says "completed" with the last frame complete
        ghost = get_ghost(slot)
        v = verdict_for(snap, ctx, slot)
        line = status_text(snap)
        if v is not None:
            line += f" — :{_VERDICT_COLOR[v.kind]}[**{v.text}**]"
        status_line(line)
        note = link_note(slot, snap)
        if note:
            st.info(note, icon=":material/link:")
        at = scrubber(slot, snap, ctx, baseline_mse(ctx.windows) if ctx else None, compact=True)
        moment_caption(at)
        opts = options_from_state(slot)
        show_chart(chart_figure(chart, slot, snap, ctx, opts, ghost, at), f"{slot}.present.{chart}",
                   summary=presented_summary(chart, snap, v, at), around=SCRUBBER_HEIGHT if at is not None else 0)

    return draw


def status_section(snap: Snapshot | None, ctx: RunContext | None, slot: str) -> Scrub | None:
    """The status line — after a run (or paused) the scrubber, labelled with it — a replay's pace, a followed
    link's note, a divergence or a stopped run's reason, and the verdict lines; returns where the scrubber
    stands (None: no scrubber, the charts follow the run)."""
    at = scrubber(slot, snap, ctx, baseline_mse(ctx.windows) if ctx else None,
                  label=progress_text(snap) if snap else "")
    if at is None:
        progress(snap)
    pace_control(slot, snap)
    note = link_note(slot, snap)
    if note:
        st.info(note, icon=":material/link:")
    divergence_banner(snap)           # a diverged run's verdict, with its cause
    if snap is not None and snap.end is not None and snap.end["status"] not in ("diverged", "completed"):
        st.caption(md(snap.end['reason']))
    ghost = get_ghost(slot)
    if snap is None or snap.end is None or snap.end["status"] != "diverged":
        verdict_line(snap, ctx, slot=slot, note=False)
    if ghost is not None:
        verdict_line(ghost.snap, get_context(ghost_slot(slot)), who="ghost ", note=False)
    return at


def under_first_charts(snap: Snapshot | None, ctx: RunContext | None, slot: str, at: Scrub | None,
                       story: str | None, note: str | None) -> None:
    """Under the first two charts: the chosen key moment's sentence, a forecast's second baseline, the
    preset's sentence (their caption) and its note (e.g. offline data)."""
    moment_caption(at)
    verdict_note(snap, ctx, slot)
    if story:
        st.caption(story)
    if note:
        st.info(note, icon=":material/wifi_off:")


def draw_run(slot: str, story: str | None = None,
             note: str | None = None) -> Callable[[Snapshot | None, RunContext | None], None]:
    """The Playground's whole live view, as one `draw(snapshot, ctx)` for `ui.live.live_area` (the layout
    of `run_parts`, drawn at once)."""

    def draw(snap: Snapshot | None, ctx: RunContext | None) -> None:
        each_step, each_epoch = run_parts(slot, ctx, story, note)
        each_step(snap, ctx)
        each_epoch(snap, ctx)

    return draw


def end_section(snap: Snapshot | None, ctx: RunContext | None, opts: ChartOptions, slot: str,
                at: Scrub | None = None) -> None:
    """Predicted vs actual and the metrics, or a text run's samples, guesses and connectivity (h2 under the
    page's h1)."""
    result = evaluation_for(slot) if snap is not None else None
    if ctx is not None and getattr(ctx.windows, "text", None) is not None:     # a text task
        st.header("Samples, guesses and connectivity", divider="gray")
        run = None if weights_pending(slot) else get_run(slot)   # its views read the model: wait for it
        shown = snap if not _chosen(at) else replace(snap, epochs=[e for e in snap.epochs
                                                                   if e["step"] <= at.frame.step])
        text_section(shown, ctx, slot, run, result["evaluation"] if result else None)
        if run is None and snap is not None:
            st.caption(WEIGHTS_NOTE.format(step=snap.step))
        return
    st.header("Predicted vs actual", divider="gray")
    predictions_section(result, ctx, opts, slot, snap, at)


Draw = Callable[[Snapshot | None, RunContext | None], None]
FIRST_CHARTS_HEIGHT = 340   # px at most of the first two charts (a legend's second row taken from the plot), so
                            # that with the status, the timeline, the verdict (and a text run's Compare button)
                            # they fit a 1280×720 screen


def _first(fig: Any) -> Any:
    """One of the first two charts, no taller than FIRST_CHARTS_HEIGHT."""
    if (fig.layout.height or 0) > FIRST_CHARTS_HEIGHT:
        fig.layout.height = FIRST_CHARTS_HEIGHT
    return fig


def run_parts(slot: str, ctx: RunContext | None, story: str | None = None,
              note: str | None = None) -> tuple[Draw, Draw]:
    """The Playground's live view laid out once (in the page's full run) and drawn in two parts that
    redraw apart (`ui.live.live_area(…, slow=…)`): what changes at every step — the status (after a run:
    the scrubber), the verdict, the chart options, the loss, the gradient norm per step — and what changes
    once an epoch — the gradient through time, the heatmap, the gates, the per-parameter norms and σ_max,
    the predictions or a text run's views. The status, the verdict and the first two charts (loss, gradient
    through time) come first, so that they fit a 1280×720 screen; `story` (markdown: the preset's sentence)
    goes under those charts, their caption, and `note` (the preset's note) in a box under it. A chart
    option or a move of the scrubber redraws the step-level part at once and then the whole page, while
    nothing polls (the run paused or ended)."""
    status = st.container()                              # fixed slots: what they hold never shifts the rest
    loss_box, time_box = st.columns(2)
    below = st.container()
    loss_note, time_note = st.columns(2)
    options = st.container()
    # h2 under the page's h1 (the outline's order); the first charts above need no heading of their own
    st.header("Gradient through time, over training", divider="gray")
    heat_box, gates_box = st.columns(2)
    st.header("Gradient norms and the recurrent weights", divider="gray")
    norm_box = st.container()
    params_box, spectra_box = st.columns(2)
    end_box = st.container()
    drawn: dict[str, Any] = {}          # what the epoch-level part last drew with: options, scrubber's moment
    shown: dict[str, Scrub | None] = {}     # where the step-level part's scrubber stands

    def each_step(snap: Snapshot | None, ctx: RunContext | None) -> None:
        if snap is not None:
            # the evaluation of a paused or ended run first, before the status: until it is there the page
            # keeps the last frame drawn, so "completed" appears with the predictions, not seconds before
            evaluation_for(slot)
        with status:
            at = shown["at"] = status_section(snap, ctx, slot)
        opts = options_from_state(slot)
        v = verdict_for(snap, ctx, slot)
        with loss_box:
            _chart(loss_fig(snap, ctx, opts, slot, get_ghost(slot), at, top=True), slot, "loss",
                   f"The run {v.text}." if v else "")
        with below:
            under_first_charts(snap, ctx, slot, at, story, note)
        with loss_note:
            loss_caption(ctx)
        with options:
            opts = chart_options(slot, ctx.model_cfg.num_layers if ctx else 1)
        with norm_box:
            grad_norm_section(snap, ctx, opts, slot, at)
        changed = drawn.get("opts", opts) != opts or drawn.get("at", scrub_key(at)) != scrub_key(at)
        if changed and fragment_rerun() and getattr(snap, "status", None) not in ("running", "queued"):
            st.rerun()                                   # nothing polls: redraw the epoch-level part now

    def each_epoch(snap: Snapshot | None, ctx: RunContext | None) -> None:
        opts = drawn["opts"] = options_from_state(slot)
        at = shown.get("at")
        drawn["at"] = scrub_key(at)
        with time_box:
            _chart(gradient_time_fig(snap, ctx, opts, slot, get_ghost(slot), at, top=True), slot, "grad_time",
                   gradient_story_at(snap, at))
        with time_note:
            gradient_time_caption(snap, ctx, at)
        with heat_box:
            heatmap_section(snap, opts, slot, ctx, at)
        with gates_box:
            gates_or_note(snap, ctx, slot, at)
        weights_section(snap, ctx, opts, slot, params_box, spectra_box, at)
        with end_box:
            end_section(snap, ctx, opts, slot, at)

    return each_step, each_epoch


def gates_or_note(snap: Snapshot | None, ctx: RunContext | None, slot: str, at: Scrub | None = None) -> None:
    """Gates for LSTM / GRU; for plain cells, what the gates would show."""
    cell = _cell_name(ctx)
    if cell_of(cell).gates:
        gates_section(snap, ctx, slot, at)
    else:
        _chart(gates_fig(snap, ctx, slot), slot, "gates")     # the no-gates placeholder, built once
        st.caption("Plain RNN and Jordan cells have no gates: nothing decides what to keep, so the "
                   "gradient is multiplied by W_hh·diag(f′) at every step back. Pick LSTM or GRU to see "
                   "the gates at work.")


__all__ = ["CHARTS", "FINISHED", "ChartOptions", "Ghost", "baseline_mse", "chart_figure", "chart_options",
           "divergence_banner", "draw_presented", "draw_run", "gates_section", "get_ghost", "ghost_slot",
           "gradient_norms_section", "gradient_time_section", "heatmap_section", "loss_section",
           "predictions_section", "run_parts", "verdict_line"]
