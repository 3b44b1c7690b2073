"""Text a user supplied (a link's values, CSV column names, a ticker, file names), made safe to show.

    md(text) -> str     every Markdown / Streamlit-directive character backslash-escaped and bare
                        URLs broken by a zero-width space (GFM autolinks them otherwise), so a preset
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


# GFM turns bare URLs, www. addresses and e-mail addresses into links even through backslash escapes:
# a zero-width space after "://", "www" and "@" breaks them, and shows nothing.
_AUTOLINK = re.compile(r"(://|(?i:www)(?=\\?\.)|@)")
_ZWSP = "\u200b"


def md(text: object) -> str:
    """`text` as literal characters in Streamlit Markdown (line breaks kept as spaces)."""
    escaped = _SPECIAL.sub(r"\\\1", " ".join(str(text).split()))
    return _AUTOLINK.sub(lambda m: m.group(0) + _ZWSP, escaped.replace("\\://", "://"))
