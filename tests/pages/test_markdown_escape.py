"""User-supplied text never becomes Markdown: a link's preset name, an echoed cell name, a Lab preset,
CSV column names in sentences, an uploaded run's end reason and Plotly labels are shown as the
characters typed — in a real Chromium too, where GFM's autolinker would make a bare URL clickable."""

from __future__ import annotations

import re
from urllib.parse import quote

import pandas as pd
import pytest
from streamlit.testing.v1 import AppTest

from plots.predictions import series_figure
from rnn_core.config import DataConfig, TrainConfig
from rnn_core.nn.model_config import ModelConfig
from rnn_core.nn.models import build_model
from rnn_core.serve.runs import run_zip_bytes
from tests.conftest import PAGE_DIR, ROOT, open_page, wait_idle
from ui.markdown import md

LINK = "[Click here to re-login](https://evil.example/login)"
IMAGE = "![t](https://evil.example/track.png)"
# an unescaped [text](url) — what Markdown would turn into a link or an image
_ACTIVE = re.compile(r"(?<!\\)\[[^\]]*(?<!\\)\]\(")


def _shown(at) -> str:
    return " ".join(e.value for e in [*at.warning, *at.error, *at.info, *at.caption, *at.markdown])


@pytest.mark.parametrize("page,query", [
    ("playground", {"preset": LINK}),
    ("playground", {"preset": IMAGE}),
    ("playground", {"m.cell": IMAGE}),
    ("gradient_lab", {"preset": LINK}),
])
def test_link_values_are_shown_as_typed(page, query):
    if page == "gradient_lab":          # opened directly: the Playground would rewrite the address first
        at = AppTest.from_file(str(ROOT / PAGE_DIR / f"{page}.py"), default_timeout=120)
        at.query_params.update(query)
        at.run()
        assert not at.exception
    else:
        at = open_page(f"{PAGE_DIR}/{page}.py", query)
    shown = _shown(at)
    assert "evil" in shown                      # the sentence quotes the value…
    assert not _ACTIVE.search(shown), shown     # …but no Markdown link or image is left in it
    assert "https://evil" not in shown          # nor a bare URL that Markdown would autolink


def test_md_escapes_every_directive():
    for text in (LINK, IMAGE, "$x^2$", ":red[alert]", ":material/home:", "**bold**", "<b>x</b>", "www.evil.example"):
        escaped = md(text)
        shown = re.sub(r"\\(.)", r"\1", escaped).replace("\u200b", "")
        assert shown == text                                                  # shows exactly what was typed
        assert not re.search(r"(?<!\\)[\[\]$*<.]|(?<!\\):(?!\u200b|//\u200b)", escaped), escaped  # all escaped
        assert "://evil" not in escaped and "www." not in escaped            # no bare URL left to autolink


def test_plotly_labels_do_not_follow_tags():
    name = '<a href="https://evil.example">Close</a>'
    frame = pd.DataFrame({name: [1.0, 2.0, 3.0]})
    fig = series_figure(frame, title="<img src=x>")
    assert "<a" not in fig.data[0].name and "&lt;a href" in fig.data[0].name
    assert "<img" not in fig.layout.title.text


# hosts a browser reaches although they do not look like one: 2130706433 is 127.0.0.1
SNEAKY = ("see http://2130706433/x", "https://localhost/x", "HTTP://EVIL.EXAMPLE", "mail me@evil.example",
          "www.evil.example/x")


@pytest.mark.parametrize("path", ["/", "/gradient-lab"])
@pytest.mark.parametrize("text", SNEAKY[:2])
def test_a_link_value_is_no_clickable_link_in_the_browser(streamlit_server, page, path, text):
    page.goto(f"{streamlit_server}{path}?preset={quote(text)}")
    wait_idle(page, timeout=120_000)
    alert = page.locator("[data-testid='stAlert']", has_text="Unknown preset").first
    alert.wait_for(timeout=60_000)
    assert text.split("//")[1].split("/")[0] in alert.inner_text().replace("\u200b", "")   # quoted, as typed
    assert alert.locator("a").count() == 0, alert.inner_html()


def test_an_uploaded_run_s_end_reason_is_no_clickable_link_in_the_browser(streamlit_server, page):
    """A stopped run's reason is shown under its status (a completed run's is not: "Finished N epochs" is what
    the status line says already), so the hand-made run ends stopped."""
    model_cfg, data_cfg, train_cfg = ModelConfig(hidden_size=4), DataConfig(timesteps=10), TrainConfig(epochs=1)
    reason = " and ".join(SNEAKY)
    records = [{"kind": "epoch", "epoch": 0, "step": 0, "train_loss": 0.5, "val_loss": 0.5, "probe": None},
               {"kind": "end", "epoch": 1, "step": 1, "status": "stopped", "reason": reason, "seconds": 1.0}]
    data = run_zip_bytes(build_model(model_cfg, seed=0), model_cfg, data_cfg, train_cfg, records, {})
    page.goto(streamlit_server)
    wait_idle(page, timeout=120_000)
    page.get_by_text("Share, download and upload").click()
    chooser = page.locator("[data-testid='stExpander'] [data-testid='stFileUploaderDropzoneInput']").first
    chooser.set_input_files(files=[{"name": "run.zip", "mimeType": "application/zip", "buffer": data}])
    shown = page.locator("[data-testid='stCaptionContainer']", has_text="2130706433").first
    shown.wait_for(timeout=120_000)
    assert "evil.example" in shown.inner_text()
    assert page.locator("[data-testid='stMain'] a[href*='evil'], [data-testid='stMain'] a[href*='2130706433'], "
                        "[data-testid='stMain'] a[href*='localhost'], a[href^='mailto']").count() == 0


def test_md_breaks_every_autolink_trigger_before_and_after_it():
    for text in SNEAKY:
        shown = re.sub(r"\\(.)", r"\1", md(text))                 # the escapes resolved, the spaces kept
        assert shown.replace("\u200b", "") == text
        assert not re.search(r"(?<!\u200b)://|://(?!\u200b)|(?i:www)(?!\u200b)|(?<!\u200b)@|@(?!\u200b)", shown), shown
