"""RNN Playground engine: cells, models, gradient probe, data, training, evaluation.

Never imports Streamlit, so everything here works from a notebook or the CLI
(`python -m rnn_core`). The app's pages and `ui/` call into these modules.
"""

__all__ = ["__version__"]
__version__ = "0.1.0"
