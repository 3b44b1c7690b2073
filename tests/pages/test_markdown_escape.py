"""User-supplied text never becomes Markdown: a link's preset name, an echoed cell name, a Lab preset,
CSV column names in sentences, and Plotly labels are shown as the characters typed."""

from __future__ import annotations

import re

import pandas as pd
import pytest
from streamlit.testing.v1 import AppTest

from plots.predictions import series_figure
from tests.conftest import PAGE_DIR, ROOT, open_page
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
