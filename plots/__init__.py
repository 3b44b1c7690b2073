"""The charts: plain records and dicts from `rnn_core` in, Plotly figures (and the tables and HTML beside
them) out. The app's only package that imports plotly; `rnn_core` never imports it, and this package
never imports streamlit or `ui` (tests/engine/test_layering.py).

    style.py        the one look: colours (a cell's from its registry entry), fonts, title and legend
                    placement, the empty figure, the lecture-screen copy (`present`)
    axes.py         log axes labelled at powers of ten; loose reference lines kept off the measured ones
    points.py       at most `MAX_POINTS` per trace (bucket min/max), gaps for missing values
    series.py       training curves: loss, gradient norm, per-parameter norms, spectra
    gradients.py    the gradient through time: profile, epoch × timestep heatmap, gates
    predictions.py  predicted vs actual, a dataset's series, one window
    tables.py       the metrics table and Compare's race table (pandas)
    lab.py          the Gradient Lab, Compare and Learn charts
    sweep.py        a sweep's loss against timesteps and the trainability map
    text.py         a character model: connectivity and probabilities as escaped HTML, and as a chart
"""
