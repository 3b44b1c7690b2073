"""The page script every page installs (`ui/keys.py`: the remote's keys, the keyboard fix-ups, a phone's
chart layout) survives Streamlit's HTML sanitiser: DOMPurify drops a whole element whose text holds a "<"
before a letter or "/" (its guard against markup smuggled in text), so one "<br>" in a comment of the
script switched off every key and every fix-up, silently."""

import re

from ui.keys import script_html


def test_the_key_script_holds_nothing_the_sanitiser_reads_as_a_tag():
    html = script_html()
    body = html.split("<script>", 1)[1].rsplit("</script>", 1)[0]
    assert "__rnnKeys" in body                                   # the script itself, not an empty shell
    assert not re.findall(r"<[/\w]", body)
