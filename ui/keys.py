"""A lecturer's presentation remote and the keyboard. A remote sends PageDown, PageUp, Space and B; in
presenter view they drive the page:

    Space      trains, or pauses a running run (Playground); starts the race (Compare)
    PageDown   the next key moment where a run's scrubber shows a "later moment" button (widget key
               `pg.scrub.next` after a run, `pg.scrub.later` on a paused one), the next step (Learn), else
               one optimiser Step (a paused run at its latest step: one step further)
    PageUp     the previous key moment, the previous step (Learn)
    B          a black screen (the element `#rnn-blank`); B again, Escape or a click brings the page back,
               the focus where it was; while black, Space / PageDown / PageUp do nothing

Each key presses the first button of its list (`KEYMAP`, by widget key) that is on the page, shown and
enabled, exactly as a click would; a key typed into a text box, a select box or a slider, or Space on a
focused button (which presses that button), is left alone. Outside presenter view the keys scroll the page
as usual. The same script makes the last two kinds of element that a keyboard could not reach reachable
(a display formula wider than its column, which scrolls, and the file uploaders' drop zone), puts the
portal where Streamlit opens tooltips and menus into a named landmark, and on a phone in presenter view
moves the chosen chart's legend under its plot (beside it, at lecture size, it squeezed the plot).

    key_script()          once per script run (app.py): installs the listener once per browser tab
    script_html()         the script it sends (no "<" before a letter: the sanitiser would drop it)
    KEYMAP                {key: widget keys, first match wins}
    css_class(widget_key) the class Streamlit gives a keyed widget's container (`st-key-…`)

Leaves to others: the buttons themselves (`ui/live.py`, `app_pages/`), the presenter view (`ui/presenter.py`).
"""

from __future__ import annotations

import json
import re

import streamlit as st

# {key (KeyboardEvent.key): widget keys, in order}: the first one shown and enabled is pressed.
# A key prefixed "!" owns the key while its button is shown, even disabled: at a finished run's last key
# moment PageDown does nothing rather than start a new step. A paused run's "later moment" button
# (`pg.scrub.later`) does not: at its latest step PageDown falls through to Step.
KEYMAP: dict[str, tuple[str, ...]] = {
    " ": ("pg.btn.train", "pg.btn.pause", "cmp.btn.race"),
    "PageDown": ("!pg.scrub.next", "pg.scrub.later", "learn.next", "pg.btn.step"),
    "PageUp": ("!pg.scrub.back", "learn.prev"),
}
BLANK = "rnn-blank"                    # the id of the black screen B puts over the page
LEGEND_FLAG = "--rnn-legend-under"     # a CSS property the presenter view's phone style sets on its chart
PRESENTER_FLAG = "--rnn-presenter"     # a CSS property the presenter view's style sets on :root
_HIDE = "rnn-key-script"               # the container key of the script's element (shown nowhere)


def css_class(widget_key: str) -> str:
    """The class of a keyed element's container: `st-key-` + the key, other characters than letters,
    digits, `-` and `_` written as `-` (Streamlit's frontend does the same)."""
    return "st-key-" + re.sub(r"[^A-Za-z0-9_-]", "-", widget_key)


_JS = """
<script>
(() => {
  if (window.__rnnKeys) return;               // once per tab: Streamlit reruns send this element again
  window.__rnnKeys = true;
  const KEYMAP = %(keymap)s;
  const presenter = () => getComputedStyle(document.documentElement).getPropertyValue('%(flag)s').trim() === '1';
  const EDITS = 'input, textarea, select, [contenteditable="true"], [role="combobox"], [role="listbox"], ' +
                '[role="slider"], [role="spinbutton"]';
  const editing = t => t && t.closest && t.closest(EDITS);
  // B: a black screen over the page (the audience looks at the lecturer); B, Escape or a click brings
  // the page back as it was, the focus where it was. While black, the remote's keys change nothing unseen.
  const blanked = () => document.getElementById('%(blank)s') !== null;
  const blank = on => {
    const shown = document.getElementById('%(blank)s');
    if (on && !shown) {
      const el = document.createElement('div');
      el.id = '%(blank)s'; el.setAttribute('aria-hidden', 'true');
      el.style.cssText = 'position: fixed; inset: 0; background: #000; z-index: 2147483647; cursor: none;';
      el.addEventListener('click', () => blank(false));
      document.body.appendChild(el);
    } else if (!on && shown) shown.remove();
    document.documentElement.dataset.rnnBlank = on ? '1' : '0';
  };
  document.addEventListener('keydown', e => {
    if (e.defaultPrevented || e.altKey || e.ctrlKey || e.metaKey || e.shiftKey || !presenter()) return;
    const isB = e.key === 'b' || e.key === 'B';
    if (blanked()) {
      if (isB || e.key === 'Escape') { e.preventDefault(); e.stopPropagation(); blank(false); }
      else if (KEYMAP[e.key]) e.preventDefault();
      return;
    }
    if (isB && !editing(e.target)) {
      e.preventDefault(); blank(true);
      document.documentElement.dataset.rnnRemote = 'b → blank';
      return;
    }
    const classes = KEYMAP[e.key];
    if (!classes || editing(e.target)) return;
    if (e.key === ' ' && e.target.closest && e.target.closest('button, a, summary, [role="button"]')) return;
    for (const entry of classes) {
      const owns = entry.startsWith('!');
      for (const button of document.querySelectorAll('.' + entry.replace('!', '') + ' button')) {
        if (button.getClientRects().length === 0) continue;                 // a hidden copy
        if (!button.disabled) {
          e.preventDefault(); button.click();
          document.documentElement.dataset.rnnRemote = e.key + ' → ' + entry.replace('!', '');   // what it pressed
          return;
        }
        if (owns) { e.preventDefault(); return; }
      }
    }
  }, true);
  // what a keyboard could not reach: a formula that scrolls, the uploaders' drop zone
  const reach = () => {
    for (const el of document.querySelectorAll('.katex-display')) {
      if (el.scrollWidth > el.clientWidth && !el.hasAttribute('tabindex')) {
        el.setAttribute('tabindex', '0'); el.setAttribute('role', 'region');
        el.setAttribute('aria-label', 'formula (scrolls sideways)');
      }
    }
    for (const el of document.querySelectorAll('[data-testid="stFileUploaderDropzone"][role="presentation"]'))
      el.setAttribute('role', 'group');
    // Streamlit's tooltips and menus open in a portal outside the page's landmarks: name it one
    const portal = document.getElementById('stFloatingOverlayPortal');
    if (portal && !portal.hasAttribute('role')) {
      portal.setAttribute('role', 'region'); portal.setAttribute('aria-label', 'tooltips and menus');
    }
    // a phone in presenter view: the chosen chart's legend goes under the plot (beside it, at lecture
    // size, it left the plot a sliver of the screen's width)
    if (window.Plotly && presenter())
      for (const gd of document.querySelectorAll('[data-testid="stMain"] .js-plotly-plot')) {
        const legend = gd._fullLayout && gd._fullLayout.legend;
        if (legend && legend.orientation !== 'h' && getComputedStyle(gd).getPropertyValue('%(legend)s').trim() === '1')
          window.Plotly.restyle(gd, {name: gd.data.map(t => wrap(t.name, Math.floor((gd.clientWidth - 70) / 7)))})
            .then(() => window.Plotly.relayout(gd, phoneLayout(gd))).then(() => clearLegend(gd, 3));
      }
  };
  // (the legend under the plot, below the x axis's title; the chart's title and the x axis's title wrapped
  // onto lines that fit the phone's width, where they were cut at its right edge)
  // Plotly's line break, spelled so that the page's HTML sanitiser (DOMPurify: a script whose text holds
  // a "<" before a letter is dropped, whole) keeps this script
  const BR = '\\x3cbr>';
  const wrap = (text, chars) => {
    const lines = [''];
    for (const word of String(text || '').replace(/\\x3cbr>/g, ' ').split(' ')) {
      const last = lines[lines.length - 1];
      if (last && (last + ' ' + word).replace(/\\x3c[^>]+>/g, '').length > chars) lines.push(word);
      else lines[lines.length - 1] = last ? last + ' ' + word : word;
    }
    return lines.join(BR);
  };
  const phoneLayout = gd => {
    const L = gd._fullLayout, width = gd.clientWidth || innerWidth, size = 15, small = 13;
    const title = (L.title && L.title.text) || '', xtitle = (L.xaxis && L.xaxis.title && L.xaxis.title.text) || '';
    const wrapped = wrap(title, Math.floor((width - 20) / (0.6 * size))), lines = wrapped.split(BR).length;
    return {'legend.orientation': 'h', 'legend.x': 0, 'legend.xanchor': 'left', 'legend.yanchor': 'top',
            'legend.y': -0.3, 'legend.font.size': small, 'margin.l': 60, 'margin.r': 10,
            'title.font.size': size, 'title.text': wrapped,
            // (Plotly anchors a title of several lines by its first: the pad makes room for the rest)
            'title.y': 1, 'title.yanchor': 'top', 'title.pad.t': 4 + 1.3 * size * (lines - 1),
            'margin.t': 12 + 1.3 * size * lines + 1.3 * size * (lines - 1),
            'xaxis.title.text': wrap(xtitle, Math.floor((width - 70) / (0.55 * small))),
            'xaxis.title.font.size': small, 'xaxis.tickfont.size': small, 'yaxis.tickfont.size': small,
            'yaxis.title.font.size': small};
  };
  // the legend placed under the x axis's title, the bottom margin holding both: measured once drawn (the
  // legend's place is a fraction of the plot's height, which the margin it needs changes)
  const clearLegend = (gd, tries) => {
    const xt = gd.querySelector('.xtitle'), lg = gd.querySelector('.legend .bg'), plot = gd.querySelector('.nsewdrag');
    if (!tries || !xt || !lg || !plot) return;
    const under = xt.getBoundingClientRect().bottom - plot.getBoundingClientRect().bottom + 4;
    if (lg.getBoundingClientRect().top >= xt.getBoundingClientRect().bottom - 1) return;
    const L = gd._fullLayout, bottom = under + lg.getBoundingClientRect().height + 6;
    window.Plotly.relayout(gd, {'margin.b': bottom, 'legend.y': -under / Math.max(40, L.height - L._size.t - bottom)})
      .then(() => clearLegend(gd, tries - 1));
  };
  new MutationObserver(reach).observe(document.body, {childList: true, subtree: true});
  reach();
})();
</script>
"""


def script_html() -> str:
    """The `<script>` element `key_script` sends. Streamlit's sanitiser (DOMPurify) drops a whole element
    whose text holds a "<" before a letter or "/": the script may hold none (tests/pages/test_key_script.py)."""
    keymap = {key: [("!" if k.startswith("!") else "") + css_class(k.lstrip("!")) for k in widgets]
              for key, widgets in KEYMAP.items()}
    return _JS % {"keymap": json.dumps(keymap), "flag": PRESENTER_FLAG, "blank": BLANK, "legend": LEGEND_FLAG}


def key_script() -> None:
    """Install the remote's keys and the keyboard fix-ups in this tab (once; a no-op after that)."""
    with st.container(key=_HIDE):
        st.html(script_html(), unsafe_allow_javascript=True)


HIDE_CSS = f".st-key-{_HIDE} {{ display: none !important; }}"
