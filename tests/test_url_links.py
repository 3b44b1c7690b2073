"""Shared links that used to crash the Playground open it with one sentence; values outside a
control's range are moved into it and the sentence says what was changed."""

from __future__ import annotations

import re

import pytest

from tests.conftest import PAGE_DIR, open_page

PAGE = f"{PAGE_DIR}/playground.py"


def _note(at) -> str:
    """The warnings as a reader sees them (the Markdown escapes of user text removed)."""
    return re.sub(r"\\(.)", r"\1", " ".join(w.value for w in at.warning))


@pytest.mark.parametrize("query,says,key,expected", [
    ({"d.timesteps": "1e400"}, "does not parse", None, None),
    ({"m.forget_bias": "100"}, "Forget-gate bias 100", "pg.m.forget_bias", 6.0),
    ({"m.cell": "lstm", "m.forget_bias": "-10"}, "Forget-gate bias -10", "pg.m.forget_bias", -3.0),
    ({"d.dataset": "djia", "d.params.start": "2099-01-01"}, "2099-01-01", None, None),
    ({"d.dataset": "yahoo", "d.params.start": "1900-01-01"}, "1900-01-01", "pg.dp.yahoo.start", "1970-01-01"),
    ({"t.clip_value": "1e9"}, "Clipping threshold 1e+09", "pg.t.clip_value", 1e6),
    ({"d.params.length": "999999999"}, "999999999", "pg.dp.sine.length", 100_000),
    ({"t.seed": "99999999999999999999999"}, "Seed", "pg.t.seed", 2**31 - 1),
])
def test_links_out_of_range_open_the_page_with_a_sentence(query, says, key, expected):
    at = open_page(PAGE, query)                       # asserts: no exception on the page
    assert says in _note(at), _note(at)
    if key is not None:
        value = at.session_state[key]
        assert (value.isoformat() if hasattr(value, "isoformat") else value) == expected
