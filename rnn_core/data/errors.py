"""`DataError`: data that cannot be used, with one sentence saying what is wrong and what to do.

Raised by every loader (`synthetic.py`, `long_memory.py`, `offline.py`, `yahoo.py`, `csv_upload.py`,
`text.py`), the registry (`datasets.py`) and the windowing (`windows.py`); the pages show its message
as it is. A `ValueError`, so callers that catch bad values catch it too.
"""


class DataError(ValueError):
    """Data that cannot be used; the message says what is wrong and what to do, in one sentence."""
