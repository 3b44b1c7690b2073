"""Two users' uploads never share a cache entry: windows are cached on a digest of every value.

Streamlit hashes a DataFrame of ≥ 50,000 rows from a fixed sample of its rows, so two uploads that
differ only outside that sample used to get the same `st.cache_data` entry: user B trained on user A's
series. Here the two frames are built to collide under Streamlit's own hasher, then both are windowed
through the app's cached `prepare_windows`, as two sessions would (the cache is process-wide)."""

from __future__ import annotations

import numpy as np
import pandas as pd

from rnn_core.config import DataConfig
from ui import run_files


def _colliding_frames() -> tuple[pd.DataFrame, pd.DataFrame, int]:
    n = 60_000
    a = pd.DataFrame({"value": np.sin(np.arange(n) / 20.0)}, index=pd.RangeIndex(n, name="row"))
    sampled = set(a.sample(n=10_000, random_state=0).index)       # the rows Streamlit's hasher looks at
    row = next(i for i in range(n // 2, n) if i not in sampled)
    b = a.copy()
    b.iloc[row, 0] = 999_999.0                                     # user B's spike, outside the sample
    return a, b, row


def test_streamlit_hashes_the_two_frames_alike():
    """The premise: without a digest of our own, the two uploads would share one cache entry."""
    import hashlib

    from streamlit.runtime.caching.cache_type import CacheType
    from streamlit.runtime.caching.hashing import update_hash

    a, b, _ = _colliding_frames()
    digests = []
    for frame in (a, b):
        h = hashlib.new("md5")
        update_hash(frame, h, CacheType.DATA)
        digests.append(h.hexdigest())
    assert digests[0] == digests[1]
    assert run_files.frame_digest(a) != run_files.frame_digest(b)


def test_colliding_uploads_get_their_own_windows():
    a, b, row = _colliding_frames()
    cfg = DataConfig(dataset="csv", timesteps=10)
    run_files.forget_windows()
    w_a = run_files.prepare_windows(cfg, a)          # session A uploads first
    w_b = run_files.prepare_windows(cfg, b)          # session B: same config, a frame Streamlit hashes alike
    assert w_a.frame["value"].max() < 2
    assert w_b.frame["value"].max() == 999_999.0 and w_b.frame["value"].iloc[row] == 999_999.0
    # a corrected re-upload (B fixes the spike) trains on the corrected values at once
    assert run_files.prepare_windows(cfg, a.copy()).frame["value"].max() < 2


def test_each_copy_of_cached_windows_has_the_digest_of_its_numbers():
    """Every call hands out its own copy of the cached windows, whose digest (the run key's data part) was
    computed once, with the windows: it is the digest of the copy's own numbers."""
    import copy

    from rnn_core.data.windows_codec import windows_digest

    run_files.forget_windows()
    config = DataConfig(dataset="sine", timesteps=8, params={"length": 240})
    a, b = run_files.prepare_windows(config), run_files.prepare_windows(config)
    assert a is not b
    assert windows_digest(a) == windows_digest(b) == windows_digest(copy.deepcopy(a))
    other = run_files.prepare_windows(DataConfig(dataset="sine", timesteps=9, params={"length": 240}))
    assert windows_digest(other) == windows_digest(copy.deepcopy(other)) != windows_digest(a)
