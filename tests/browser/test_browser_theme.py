"""Real browser: a chart drawn the app's way (`ui.charts.chart`: Streamlit's chart theme written into the figure
by `plots.theme`, drawn by the app's own chart element with Plotly's own bundle, `ui.chart_element`) looks as
the same chart drawn by `st.plotly_chart` with Streamlit's own theme: every resolved colour, font, grid and
margin Plotly.js draws with is the same, and the title as bold and as wide."""

import pytest

from tests.conftest import IDLE, start_server, stop_server

pytestmark = pytest.mark.browser

# Every value Plotly.js resolved (`gd._fullLayout`, `gd._fullData`) and draws that the theme sets, per chart
# (a tick colour where ticks are drawn, a minor grid's colour where it is).
RESOLVED = """() => Object.fromEntries([...document.querySelectorAll('.js-plotly-plot')].map(gd => {
  const L = gd._fullLayout;
  const key = [...gd.closest('[class*="st-key-"]').classList].find(c => c.startsWith('st-key-')).slice(7);
  const axis = a => ({grid: a.gridcolor, showgrid: a.showgrid, zeroline: a.zeroline, zerocolor: a.zerolinecolor,
                      ticks: a.ticks, tick: a.ticks ? a.tickcolor : null, tickfont: a.tickfont,
                      title: a.title.font, standoff: a.title.standoff, labels: a.ticklabelposition,
                      minor: a.minor && a.minor.showgrid ? a.minor.gridcolor : null, automargin: a.automargin});
  const title = gd.querySelector('.gtitle');
  return [key, {font: L.font, paper: L.paper_bgcolor, plot: L.plot_bgcolor, colorway: L.colorway,
    pad: L.margin.pad, l: L.margin.l, r: L.margin.r, hover: L.hoverlabel, legend: L.legend && L.legend.font,
    x: axis(L.xaxis), y: axis(L.yaxis), titleFont: L.title.font.family + ' ' + L.title.font.color,
    titleWeight: getComputedStyle(title.querySelector('tspan[style*="bold"]') || title).fontWeight,
    titleWidth: Math.round(title.getBoundingClientRect().width),
    traces: gd._fullData.map(t => ({color: t.line && t.line.color, marker: t.marker && t.marker.line &&
                                    t.marker.line.width, scale: JSON.stringify(t.colorscale || null)}))}];
}))"""


@pytest.fixture(scope="module")
def theme_page(chromium, tmp_path_factory):
    proc, url = start_server(tmp_path_factory.mktemp("theme"), script="tests/browser/theme_app.py")
    context = chromium.new_context(viewport={"width": 1200, "height": 900})
    page = context.new_page()
    try:
        page.goto(url)
        page.wait_for_selector(IDLE, timeout=120_000)
        page.wait_for_function("() => document.querySelectorAll('.js-plotly-plot .gtitle').length >= 6",
                               timeout=60_000)
        page.wait_for_timeout(1000)                  # Streamlit's second draw of each chart
        yield page
    finally:
        context.close()
        stop_server(proc)


@pytest.mark.parametrize("name", ["lines", "heat", "bars"])
def test_the_apps_charts_look_as_streamlits_theme_draws_them(theme_page, name):
    drawn = theme_page.evaluate(RESOLVED)
    streamlit, ours = drawn[f"streamlit-{name}"], drawn[f"app-{name}"]
    assert ours == streamlit, str([(k, streamlit[k], ours[k]) for k in streamlit if streamlit[k] != ours[k]])
    assert ours["titleWeight"] in ("700", "bold"), ours["titleWeight"]


def test_the_apps_charts_carry_no_template_and_keep_their_data_revision(theme_page):
    """What keeps a redraw cheap (`plots/theme.py`), drawn by the app's own chart element (`ui.chart_element`)."""
    sent = theme_page.evaluate("""() => [...document.querySelectorAll('[class*="st-key-app-"] .js-plotly-plot')]
        .map(gd => ({template: gd.layout.template === undefined, revision: gd.layout.datarevision,
                     ours: gd.classList.contains('rnn-chart') && !gd.closest('.stPlotlyChart')}))""")
    assert len(sent) == 3 and all(s == {"template": True, "revision": 1, "ours": True} for s in sent), sent
