"""Every page renders headless through AppTest without an exception."""

import pytest
from streamlit.testing.v1 import AppTest

from tests.conftest import APP, PAGE_DIR

PAGES = [f"{PAGE_DIR}/{name}.py" for name in ("playground", "gradient_lab", "compare", "learn", "data")]


@pytest.mark.parametrize("page", PAGES)
def test_page_renders_without_exception(page):
    at = AppTest.from_file(APP, default_timeout=120)
    at.run()
    at.switch_page(page)
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    assert at.title or at.header or at.markdown, f"{page} shows nothing"
