"""The Learn page's guided walk: the steps (text, equations, which preset each one opens) and the
Streamlit glue that draws a step and opens the Playground or the Gradient Lab with a preset.

Holds `STEPS`, `draw_step(step)`, `open_preset(page, key)`, `scratch_demo()` (the from-scratch
NumPy RNN's hand-written BPTT next to autograd, with a truncation slider) and `article_demo()` (the
from-scratch tutorial's own update next to the true gradient, `rnn_core.lessons.scratch_article`).
Leaves to others: the preset contents (`rnn_core.lessons.presets` for the Playground, `rnn_core.lessons.lab.LAB_PRESETS`
for the Lab), the NumPy RNN itself (`rnn_core.lessons.scratch`), the figures (`plots.lab`).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import streamlit as st

from rnn_core.readable import fixed, percent, readable, times_ten
from ui import charts
from ui.links import preset_page_params
from ui.presenter import is_on, show_chart
from ui.state import slot

PLAYGROUND = "app_pages/playground.py"
LAB = "app_pages/gradient_lab.py"
PAGE_TITLES = {PLAYGROUND: "Playground", LAB: "Gradient Lab"}


@dataclass(frozen=True)
class Link:
    """A button that opens `page` with `?preset=key`."""
    label: str
    page: str
    preset: str


@dataclass(frozen=True)
class Step:
    key: str
    title: str
    parts: tuple = ()                 # ("md", text) | ("latex", formula) | ("graph", dot) | ("demo", name)
    links: tuple[Link, ...] = field(default_factory=tuple)


_ROLLED = """digraph { rankdir=LR; node [shape=circle, fontname="Helvetica"];
  x [label="x_t", shape=box]; h [label="h_t"]; y [label="ŷ", shape=box];
  x -> h [label="W_xh"]; h -> h [label="W_hh"]; h -> y [label="W_hy"]; }"""

_UNROLLED = """digraph { rankdir=LR; node [shape=circle, fontname="Helvetica"];
  h0 [label="h_0", style=dashed];
  x1 [label="x_1", shape=box]; x2 [label="x_2", shape=box]; x3 [label="x_3", shape=box];
  xT [label="x_T", shape=box]; dots [label="…", shape=plaintext]; y [label="ŷ", shape=box];
  h1 [label="h_1"]; h2 [label="h_2"]; h3 [label="h_3"]; hT [label="h_T"];
  h0 -> h1 [label="W_hh"]; h1 -> h2 [label="W_hh"]; h2 -> h3 [label="W_hh"]; h3 -> dots; dots -> hT;
  x1 -> h1; x2 -> h2; x3 -> h3; xT -> hT; hT -> y [label="W_hy"];
  { rank=same; x1; h1 } { rank=same; x2; h2 } { rank=same; x3; h3 } { rank=same; xT; hT } }"""

STEPS: tuple[Step, ...] = (
    Step("rnn", "1 · What a recurrent network is", (
        ("md", "A recurrent network reads a sequence one step at a time and carries a **hidden state** "
               "$h_t$ from step to step: its memory. The Elman network updates it with the same weights "
               "at every step:"),
        ("latex", r"h_t = \tanh\left(W_{xh}\,x_t + W_{hh}\,h_{t-1} + b\right), \qquad "
                  r"\hat y = W_{hy}\,h_T + b_y"),
        ("md", "Drawn *rolled*, it is one cell with a loop. *Unrolled* over $T$ timesteps it is a $T$-layer "
               "deep network whose layers all share $W_{hh}$ — that is how it is trained."),
        ("graph", _ROLLED),
        ("graph", _UNROLLED),
        ("md", "A **Jordan** network (Jordan, 1986) feeds back the network's previous *output* — its own "
               "prediction $\\hat y_{t-1}$, one number per output — instead of the hidden state. The head "
               "runs at every step and the last prediction $\\hat y_T$ is the answer:"),
        ("latex", r"h_t = \tanh\left(W_{xh}\,x_t + W_{yh}\,\hat y_{t-1} + b\right), \qquad "
                  r"\hat y_t = W_{hy}\,h_t + b_y, \qquad \hat y_0 = 0"),
        ("md", "There is no $W_{hh}$: the loop runs through the output, so "
               "$\\partial h_t/\\partial h_{t-1} = \\operatorname{diag}(\\varphi'(a_t))\\,W_{yh}W_{hy}$, a "
               "matrix whose rank is the output size. All the network remembers must pass through its "
               "prediction, and it has exactly one hidden layer."),
    ), (Link("Train an RNN on a sine wave", PLAYGROUND, "sine_scratch"),)),

    Step("bptt", "2 · Backpropagation through time is a product of Jacobians", (
        ("md", "The loss sits on the last step. To reach an early hidden state the gradient has to pass "
               "back through every step in between, and the chain rule multiplies one Jacobian per step:"),
        ("latex", r"\frac{\partial L}{\partial h_t} = \frac{\partial L}{\partial h_T}\,"
                  r"\prod_{j=t+1}^{T} \frac{\partial h_j}{\partial h_{j-1}}, \qquad "
                  r"\frac{\partial h_j}{\partial h_{j-1}} = \operatorname{diag}\!\big(\varphi'(a_j)\big)\,W_{hh}"),
        ("md", "with $a_j = W_{xh} x_j + W_{hh} h_{j-1} + b$ the pre-activation. The weight gradient sums "
               "one contribution per timestep, $\\delta_t = \\partial L/\\partial a_t$:"),
        ("latex", r"\frac{\partial L}{\partial W_{hh}} = \sum_{t=1}^{T} \delta_t\, h_{t-1}^{\top}, \qquad "
                  r"\delta_t = \varphi'(a_t) \odot \frac{\partial L}{\partial h_t}, \qquad "
                  r"\frac{\partial L}{\partial h_{t-1}} = W_{hh}^{\top}\,\delta_t, \qquad "
                  r"\frac{\partial L}{\partial h_T} = W_{hy}^{\top}\,\frac{\partial L}{\partial \hat y}"),
        ("md", "Below, a NumPy RNN with this backward pass written by hand, next to PyTorch's autograd on "
               "**the same weights**. They agree to machine precision."),
        ("demo", "scratch"),
    ), (Link("See ‖∂L/∂h_t‖ fade in the Gradient Lab", LAB, "vanishing"),)),

    Step("pascanu", "3 · Why the product vanishes or explodes", (
        ("md", "Each factor's norm is bounded by the largest singular value of $W_{hh}$ times "
               "$\\gamma$, the largest slope of the activation ($\\gamma = 1$ for tanh and ReLU, "
               "$1/4$ for the sigmoid). Over $k$ steps (Pascanu, Mikolov & Bengio, 2013):"),
        ("latex", r"\left\|\frac{\partial h_j}{\partial h_{j-1}}\right\| \le "
                  r"\big\|\operatorname{diag}(\varphi'(a_j))\big\|\,\|W_{hh}\| \le \gamma\,\sigma_{\max}(W_{hh})"
                  r"\quad\Longrightarrow\quad \left\|\frac{\partial L}{\partial h_{T-k}}\right\| \le "
                  r"\big(\gamma\,\sigma_{\max}\big)^{k}\left\|\frac{\partial L}{\partial h_T}\right\|"),
        ("md", "- If $\\sigma_{\\max}\\,\\gamma < 1$ the gradient from $k$ steps back shrinks at least "
               "geometrically: **vanishing is guaranteed**, and the early inputs cannot be learned.\n"
               "- $\\sigma_{\\max}\\,\\gamma > 1$ is *necessary* for **exploding** (not sufficient: "
               "saturated tanh units have $\\varphi' \\approx 0$ and pull the product back down).\n\n"
               "It is an **upper** bound: the gradient may fall far below it. PyTorch's default init has "
               "$\\sigma_{\\max} \\approx 1.1$, so the bound allows growth, yet its spectral radius is "
               "$\\approx 0.6$ and $\\tanh' < 1$: a tanh RNN still loses 19–27 decades over 100 steps (five seeds). "
               "The bound holds where every step's Jacobian is $\\operatorname{diag}(\\varphi')$ times one "
               "matrix — Elman cells ($W_{hh}$), the Jordan network ($W_{yh}W_{hy}$) and IndRNN — and for the "
               "top layer of a stack only (a lower layer also gets gradient from the layer above at every "
               "step). IndRNN's recurrent weight is a vector $u$ ($h_t = \\mathrm{ReLU}(W x_t + u \\odot "
               "h_{t-1} + b)$): its Jacobian $\\operatorname{diag}(\\varphi' \\odot u)$ multiplies unit $i$'s "
               "gradient by its own $u_i$ at every step back, so the bound is $(|u|_{\\max}\\,\\gamma)^k$, and "
               "with torch's default init ($|u|_{\\max} \\approx 0.17$) it forces about 75 decades lost over "
               "100 steps: the gradient loses 75–104 (five seeds). "
               "It says nothing about LSTM and GRU: their gates add paths (step 5).\n\n"
               "The Gradient Lab's phase diagram sweeps the gain of an orthogonal $W_{hh}$ "
               "($\\sigma_{\\max} = $ gain) and shows the border near $\\sigma_{\\max}\\gamma = 1$."),
    ), (Link("Vanishing: gain 0.8", LAB, "vanishing"), Link("Exploding: gain 1.5", LAB, "exploding"),
        Link("IndRNN: u a vector", LAB, "indrnn_vector"),
        Link("Train a tanh RNN on 100 steps", PLAYGROUND, "vanishing"))),

    Step("clipping", "4 · Clipping the gradient by its norm", (
        ("md", "Exploding gradients make one update so large that the loss jumps to a bad region or to "
               "NaN. Pascanu et al. rescale the whole gradient when its norm passes a threshold "
               "$\\theta$, keeping its direction:"),
        ("latex", r"g \leftarrow \begin{cases} g & \|g\| \le \theta \\[2pt] "
                  r"\dfrac{\theta}{\|g\|}\,g & \|g\| > \theta \end{cases}"),
        ("md", "Clipping *by value* ($g_i \\leftarrow \\max(-\\theta, \\min(\\theta, g_i))$, as in the "
               "from-scratch tutorial) also bounds the step but bends its direction. Clipping cures "
               "exploding, never vanishing: a gradient that is already $10^{-12}$ stays that small."),
    ), (Link("Exploding run without clipping", PLAYGROUND, "exploding"),
        Link("Clipping rescues it", PLAYGROUND, "clipping_rescue"))),

    Step("gates", "5 · LSTM and GRU: a path the gradient can travel", (
        ("md", "The LSTM keeps a second state, the **cell** $c_t$, updated by *adding* rather than by "
               "multiplying through a squashing matrix:"),
        ("latex", r"\begin{aligned} i_t &= \sigma(W_{ii} x_t + W_{hi} h_{t-1} + b_i) & "
                  r"f_t &= \sigma(W_{if} x_t + W_{hf} h_{t-1} + b_f) \\ "
                  r"g_t &= \tanh(W_{ig} x_t + W_{hg} h_{t-1} + b_g) & "
                  r"o_t &= \sigma(W_{io} x_t + W_{ho} h_{t-1} + b_o) \\ "
                  r"c_t &= f_t \odot c_{t-1} + i_t \odot g_t & h_t &= o_t \odot \tanh(c_t) \end{aligned}"),
        ("md", "Along the cell path the Jacobian is just the forget gate — no $W_{hh}$, no $\\tanh'$:"),
        ("latex", r"\frac{\partial c_t}{\partial c_{t-1}}\Big|_{\text{direct}} = \operatorname{diag}(f_t)"
                  r"\quad\Longrightarrow\quad \prod_{j} \operatorname{diag}(f_j) \approx I "
                  r"\text{ while } f_j \approx 1"),
        ("md", "so the more open the forget gate, the further back the gradient reaches. Measured at "
               "initialisation over 300 steps (Gradient Lab, H = 32): a forget bias of 1 ($f \\approx 0.73$) "
               "still loses 17–24 decades, a bias of 3 ($f \\approx 0.95$) under 4 (five seeds). The GRU "
               "merges the two states and interpolates:"),
        ("latex", r"\begin{aligned} r_t &= \sigma(W_{ir} x_t + W_{hr} h_{t-1} + b_r) \qquad "
                  r"z_t = \sigma(W_{iz} x_t + W_{hz} h_{t-1} + b_z) \\ "
                  r"n_t &= \tanh\big(W_{in} x_t + b_{in} + r_t \odot (W_{hn} h_{t-1} + b_{hn})\big) \qquad "
                  r"h_t = (1 - z_t) \odot n_t + z_t \odot h_{t-1} \end{aligned}"),
        ("md", "With the update gate $z_t \\approx 1$ the state (and its gradient) is copied through."),
    ), (Link("LSTM keeps the gradient (Lab)", LAB, "lstm_keeps"),
        Link("LSTM remembers (Playground)", PLAYGROUND, "lstm_remembers"))),

    Step("irnn", "6 · Another cure: start at the identity", (
        ("md", "Le, Jaitly & Hinton (2015): a ReLU RNN with $W_{hh} = I$ (IRNN) has the Jacobian "
               "$\\operatorname{diag}(\\mathbb{1}[a_j > 0])\\, I$ — the gradient of active units passes "
               "unchanged, and nothing is amplified. Units that switch off drop their share, so it is nearly "
               "flat, not flat: over 200 steps at initialisation it loses 0.6–2.1 decades (the Lab preset, five "
               "seeds), where a tanh RNN with PyTorch's default init loses 37–52."),
        ("latex", r"h_t = \max\big(0,\; W_{xh} x_t + I\,h_{t-1} + b\big)"),
    ), (Link("Identity + ReLU in the Lab", LAB, "identity_relu"),)),

    Step("truncation", "7 · Truncated BPTT", (
        ("md", "Backpropagating through every step of a long sequence is slow and, for a plain RNN, "
               "mostly pointless. **Truncated** BPTT stops the backward pass after $k$ steps:"),
        ("latex", r"\frac{\partial L}{\partial W_{hh}} \approx \sum_{t=T-k+1}^{T} \delta_t\, h_{t-1}^{\top}"),
        ("md", "It is cheaper and tames exploding gradients, but the network can no longer learn a "
               "dependency longer than $k$ steps, whatever its cell. Move the slider: the grey bars are "
               "the per-timestep contributions to $\\partial L/\\partial W_{hh}$ that truncation throws away."),
        ("demo", "truncation"),
        ("md", "**The tutorial this app grew from** (an RNN from scratch in NumPy on a sine wave) writes its "
               "own truncated BPTT. Its network is not the one above: a sigmoid, no biases, weights drawn "
               "from U(0, 1), an input matrix with one column per timestep, one record at a time at a "
               "learning rate of 10⁻⁴, every entry of the update clipped to ±10. Below, its backward pass "
               "transcribed line by line, next to the true gradient of its own loss "
               "$L = (y - \\hat y)^2/2$ (exact BPTT, equal to autograd) for the same weights and window:"),
        ("demo", "article"),
        ("md", "So the Playground's preset *Sine wave (from scratch tutorial)* keeps the tutorial's data and "
               "sizes (sin t, windows of 50, 100 hidden units, truncation after 5 steps, clipping by value "
               "at ±10) and changes the rest: the app's tanh Elman RNN with biases, one shared input "
               "weight and PyTorch's initialisation, trained in minibatches on the true truncated "
               "gradient — because the tutorial's update is not one."),
    ), (Link("Sine wave with truncated BPTT (5 steps)", PLAYGROUND, "sine_scratch"),)),

    Step("stock", "8 · Judging a stock forecast honestly", (
        ("md", "A model that predicts *tomorrow = today* draws a line that hugs the price chart and has a "
               "small RMSE — yet it knows nothing. That **persistence** forecast is the baseline every "
               "one-step forecast must beat:"),
        ("latex", r"\hat y^{\text{persist}}_{t+1} = y_t, \qquad "
                  r"\text{skill score} = 1 - \frac{\mathrm{RMSE}_{\text{model}}}{\mathrm{RMSE}_{\text{persist}}}"),
        ("md", "- skill score $> 0$: beats persistence; $0$: exactly as good; $< 0$: worse; $1$: perfect. "
               "The Playground's metrics table, the CLI and its JSON (`skill_score`) report this number;\n"
               "- a skill score near 0 says *no better than persistence*, not *a copy of it*. A copy "
               "shows itself otherwise: its curve looks like the real one *shifted right by a day* "
               "(the Playground reports the best-matching lag: 1 for a copy);\n"
               "- directional accuracy near 50 % means the ups and downs are a coin toss;\n"
               "- scale on the training part only and split by time, or the test leaks into training."),
    ), (Link("Stock forecast (3 stacked RNNs, 100 steps)", PLAYGROUND, "stock_nflx"),)),
)


def open_preset(link: Link) -> None:
    """Switch to the link's page with `?preset=<key>` (and keep presenter mode on if it is).

    Both pages follow a `?preset=` this session did not write itself (`ui.links.follow`): the page's
    marker is cleared, so the same preset applies again even when the page wrote it last."""
    slot("lab" if link.page == LAB else "pg").link_preset = None
    st.switch_page(link.page, query_params=preset_page_params(link.preset))


def draw_links(step: Step) -> None:
    """One button per link, side by side (in presenter mode one per row: large labels are never cut)."""
    if not step.links:
        return
    cols = [st.container() for _ in step.links] if is_on() else st.columns(len(step.links))
    for col, link in zip(cols, step.links):
        where = PAGE_TITLES[link.page]
        if col.button(f"{link.label} → {where}", key=f"learn_{step.key}_{link.page}_{link.preset}",
                      width="stretch"):
            open_preset(link)


def draw_step(step: Step) -> None:
    """Render one step: title, text, equations, graphs, demos, then its buttons."""
    st.header(step.title)
    for kind, content in step.parts:
        if kind == "md":
            st.markdown(content)
        elif kind == "latex":
            st.latex(content)
        elif kind == "graph":
            st.graphviz_chart(content)
        elif kind == "demo":
            DEMOS[content]()
    draw_links(step)


def scratch_demo(key: str = "learn_truncate") -> None:
    """Hand-written BPTT next to autograd on the same weights, and what truncation cuts."""
    from plots.lab import truncation_figure
    from rnn_core.lessons.scratch import SCRATCH_HIDDEN, SCRATCH_TIMESTEPS

    T = SCRATCH_TIMESTEPS
    k = st.slider("Truncate BPTT after k steps (0 = the full backward pass)", 0, T, value=0, key=key,
                  help="The hand-written backward pass stops k steps before the end of the sequence; "
                       "autograd is told to truncate at the same k.")
    report = _cached_scratch_report(T, k)
    # every number written as the rest of the app writes it: 2.2 × 10⁻¹⁶, not 2.2e-16 or 0.0000000000000002
    table = [{k: v if k == "parameter" else readable(v, 2 if k == "max |difference|" else 3) for k, v in row.items()}
             for row in report["table"]]
    st.dataframe(table, hide_index=True, width="stretch")
    verdict = "they match" if report["match"] else "they DIFFER"
    st.caption(f"Largest absolute difference over all parameters: {readable(report['max_abs_diff'], 2)} — "
               f"{verdict}. A NumPy Elman RNN (tanh), {T} steps, hidden size {SCRATCH_HIDDEN}, float64.")
    if is_on():
        show_chart(truncation_figure(report), f"{key}_chart", fill=False)      # a chart amid text
    else:
        charts.chart(truncation_figure(report, height=320), f"{key}_chart")


@st.cache_data(show_spinner=False, max_entries=64)
def _cached_scratch_report(T: int, k: int) -> dict:
    from rnn_core.lessons.scratch import scratch_report

    return scratch_report(timesteps=T, truncate=k)


def article_demo() -> None:
    """The tutorial's transcribed update next to the true gradient, with what it means in one sentence."""
    report = _cached_article_report()
    rows = report["rows"]
    table = [{"parameter": r["parameter"], "tutorial's ‖d‖": readable(r["tutorial ‖d‖"]),
              "true ‖∂L/∂θ‖": readable(r["true ‖∂L/∂θ‖"]), "tutorial ÷ true": _times_ten(r['ratio']),
              "cosine": "—" if r["cosine"] is None else fixed(r["cosine"], 2),
              "changes with y": "yes" if r["tutorial's d depends on y"] else "no"} for r in rows]
    st.dataframe(table, hide_index=True, width="stretch")
    st.caption(article_sentence(report))


def article_sentence(report: dict) -> str:
    """What the table means, in numbers taken from it."""
    from rnn_core.lessons.scratch_article import CLIP, LEARNING_RATE

    by = {r["parameter"]: r for r in report["rows"]}
    W, V = by["W"], by["V"]
    clipped = ("every entry of dW is above the clip" if report["clipped_share"] == 1.0
               else f"{percent(report['clipped_share'])} of dW's entries are above the clip")
    dependence = ("and does not change when the target y changes: it is not a gradient of the loss at all"
                  if not W["tutorial's d depends on y"] else "so it is not the gradient of the loss")
    return (f"Record {report['record']}, weights drawn as the tutorial draws them (seed {report['seed']}): "
            f"its dW is {_times_ten(W['ratio'])} times the true ∂L/∂W {dependence}. The true ∂L/∂W is tiny "
            f"because U(0, 1) weights saturate every sigmoid unit; {clipped} of ±{readable(CLIP)}, so each update "
            f"moves every entry of W by ±{readable(LEARNING_RATE * CLIP)} (the sign of d), whatever the error. "
            f"Only dV carries the error ({readable(V['ratio'], 2)}× the true ∂L/∂V, cosine {fixed(V['cosine'], 2)}: "
            "it sums "
            "over all timesteps where only the last one feeds ŷ).")


def _times_ten(x: float) -> str:
    """3.6e+23 → "3.6 × 10²³" (plain for numbers below 1000)."""
    if not x < float("inf"):
        return "infinitely many"
    return readable(x) if x < 1000 else times_ten(x)


@st.cache_data(show_spinner=False, max_entries=4)
def _cached_article_report() -> dict:
    from rnn_core.lessons.scratch_article import article_report

    return article_report()


DEMOS = {"scratch": lambda: scratch_demo("learn_truncate"),
         "truncation": lambda: scratch_demo("learn_truncate_7"),
         "article": article_demo}
