"""A Playground setup as a link that reopens it: the one link format of the app, written without Streamlit.

    settings_query(model, data, train) -> dict      every value that differs from the defaults ("m.cell":
                                                    "lstm", "d.params.length": "600", …); the input and
                                                    output sizes come from the data, so they are left out
    preset_query(key) -> dict                       preset `key`'s settings in that form
    link_query(model, data, train, preset=None)     {"preset": key} while the settings are exactly that
                                                    preset's, else `settings_query`
    app_url(base=None) -> str                       the app's address: `base`, else $RNN_PLAYGROUND_URL,
                                                    else DEFAULT_APP_URL (the address `streamlit run` serves)
    playground_link(query, base=None) -> str        the address that opens the Playground on `query`
    moment_link_base(query, base=None) -> str       that address with `at=` last, open for a step or a key
                                                    moment's kind (`AT_PARAM`: the Playground trains the run
                                                    and stops its scrubber there, `ui/scrub.py`)
    changed_preset_sentence(title) -> str           what replaces a preset's sentence once its settings changed

The app's address bar (`ui/links.py`, its `PLAYGROUND` codec) writes and reads the same params; the HTML
page of a run (`plots/report.py`) writes its "reopen in the app" link with them.
Leaves to others: reading a link back, clamping and validating it (`ui/links.py`).
"""

from __future__ import annotations

import os
from urllib.parse import urlencode

from rnn_core.config import DataConfig, TrainConfig, replace, to_query
from rnn_core.nn.model_config import ModelConfig

DEFAULT_APP_URL = "http://localhost:8501/"      # `streamlit run app.py` on this machine
APP_URL_ENV = "RNN_PLAYGROUND_URL"              # e.g. https://rnn.example.edu/ for a course's server
AT_PARAM = "at"           # a link's moment of the run: a step (`at=42`) or a key moment's kind (`at=diverged`)


def settings_query(model: ModelConfig, data: DataConfig, train: TrainConfig) -> dict[str, str]:
    """The values that differ from the defaults (a dataset parameter: from that dataset's default; the
    input and output sizes come from the data)."""
    from rnn_core.data.registry import DATASETS

    model_q = {k: v for k, v in to_query(model).items() if k not in ("m.input_size", "m.output_size")}
    ds = DATASETS.get(data.dataset)
    defaults = ds.defaults() if ds else {}
    params = {k: v for k, v in (data.params or {}).items() if k not in defaults or v != defaults[k]}
    return {**model_q, **to_query(replace(data, params=params)), **to_query(train)}


def preset_query(key: str) -> dict[str, str]:
    """Preset `key` as the settings params it sets."""
    from rnn_core.lessons.presets import preset_configs

    return settings_query(*preset_configs(key))


def link_query(model: ModelConfig, data: DataConfig, train: TrainConfig, preset: str | None = None) -> dict[str, str]:
    """`{"preset": key}` while the settings are exactly preset `preset`'s, else every value that differs
    from the defaults."""
    from rnn_core.lessons.presets import PRESETS

    settings = settings_query(model, data, train)
    if preset in PRESETS and preset_query(preset) == settings:
        return {"preset": preset}
    return settings


def app_url(base: str | None = None) -> str:
    """The address the app answers at: `base`, else $RNN_PLAYGROUND_URL, else `DEFAULT_APP_URL`."""
    return base or os.environ.get(APP_URL_ENV) or DEFAULT_APP_URL


def playground_link(query: dict[str, str], base: str | None = None) -> str:
    """The Playground (the app's first page) at `base`, opened on `query`."""
    root = app_url(base)
    root = root if root.endswith("/") else root + "/"
    return f"{root}?{urlencode(query)}" if query else root


def moment_link_base(query: dict[str, str], base: str | None = None) -> str:
    """`playground_link(query, base)` ending in `at=`: append a step or a key moment's kind."""
    link = playground_link(query, base)
    return f"{link}{'&' if query else '?'}{AT_PARAM}="


def changed_preset_sentence(title: str) -> str:
    """What a page says instead of a preset's sentence once its settings have been changed."""
    return (f"Started from **{title}**; the settings have changed since, so its sentence no longer "
            "describes this setup.")
