"""Text a user supplied (a link's values, CSV column names, a ticker, file names), made safe to show.

    md(text) -> str     every Markdown / Streamlit-directive character backslash-escaped and bare
                        URLs broken by zero-width spaces (GFM autolinks them otherwise), so a preset
                        name like "[Click here](https://evil.example)" or "![t](https://…/x.png)" is shown
                        as the characters typed: no link, no remote image, no LaTeX ($…$), no
                        ":red[…]" colours or ":material/…:" icons
Use it for any sentence that may hold user text before st.error / st.warning / st.info / st.caption /
st.markdown. Plotly labels have their own: `plots.style.plain_text`.
Leaves to others: what the sentences say.
"""

from __future__ import annotations

import re

# CommonMark's escapable ASCII punctuation, which Streamlit's Markdown honours (including $ and :)
_SPECIAL = re.compile(r"([\\`*_{}\[\]()<>#+\-.!|$~:&\"'=^])")


# GFM turns bare URLs, www. addresses and e-mail addresses into links even through backslash escapes,
# and a zero-width space after "://" only moves into the link's host (browsers drop it there, so
# "http://\u200b2130706433/x" still went to 127.0.0.1). A zero-width space *before* "://" breaks the
# scheme the autolinker looks for, one after it breaks the host; after "www" and around "@" likewise.
# Checked in Chromium by tests/pages/test_markdown_escape.py. The space shows nothing.
_AUTOLINK = re.compile(r"(\\?:/\\?/|(?i:www)(?=\\?\.)|\\?@)")
_ZWSP = "\u200b"


def md(text: object) -> str:
    """`text` as literal characters in Streamlit Markdown (line breaks kept as spaces)."""
    escaped = _SPECIAL.sub(r"\\\1", " ".join(str(text).split()))
    return _AUTOLINK.sub(_break_link, escaped)


def _break_link(m: re.Match) -> str:
    found = m.group(0)
    if found.lower() == "www":
        return found + _ZWSP
    return _ZWSP + found + _ZWSP
