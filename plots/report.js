// The scrubber of a run's HTML page (plots/report.py): the data embedded as JSON, Plotly inlined above.
// A range input picks any recorded step; a key moment's button jumps to its step; the link to the app
// follows (`at=` the moment's kind, or the step). At each step the loss and
// gradient-norm charts mark the step, the per-parameter and sigma_max charts the epoch closed before it,
// and the gradient-through-time and gates charts (and a text run's sample) show the last ones recorded at
// or before it.
(function () {
  "use strict";
  var run = JSON.parse(document.getElementById("run-data").textContent);
  var config = {displayModeBar: false, responsive: true};
  var slider = document.getElementById("scrub");
  var readout = document.getElementById("readout");
  var momentLine = document.getElementById("moment");
  var sample = document.getElementById("sample");
  var buttons = Array.prototype.slice.call(document.querySelectorAll("button.moment"));
  var shownProbe = -1;

  Object.keys(run.figures).forEach(function (id) {
    var fig = run.figures[id];
    Plotly.newPlot("chart-" + id, fig.data, fig.layout, config);
  });

  function mark(id, x) {          // a dotted line at x across the chart (its own lines kept)
    var fig = run.figures[id];
    if (!fig || x === null || x === undefined) { return; }
    var line = {type: "line", xref: "x", yref: "paper", x0: x, x1: x, y0: 0, y1: 1,
                line: {color: run.mark, width: 2, dash: "dot"}};
    Plotly.relayout("chart-" + id, {shapes: (fig.layout.shapes || []).concat([line])});
  }

  function showProbe(i) {         // the gradient profile recorded at or before the step
    if (i === null || i === shownProbe || !run.profiles.length) { return; }
    var fig = run.profiles[i];
    Plotly.react("chart-gradient", fig.data, fig.layout, config);
    document.getElementById("alt-gradient").textContent = "Chart: " + fig.alt;
    if (fig.gates) {
      Plotly.react("chart-gates", fig.gates.data, fig.gates.layout, config);
      document.getElementById("alt-gates").textContent = "Chart: " + fig.gates.alt;
    }
    shownProbe = i;
  }

  function show(index, kind) {     // kind: the key moment a button chose (else the first one at that step)
    var stop = run.stops[index];
    mark("loss", stop.step);
    mark("grad_norm", stop.step);
    mark("param_norms", stop.x_epoch);
    mark("spectra", stop.x_epoch);
    showProbe(stop.probe);
    if (sample) {
      var text = stop.epoch_index === null ? null : run.samples[stop.epoch_index];
      sample.textContent = text || "(no sample recorded yet)";
    }
    readout.textContent = stop.text;
    slider.setAttribute("aria-valuetext", stop.text);
    var here = run.moments.filter(function (m) { return m.step === stop.step; });
    momentLine.textContent = here.map(function (m) { return m.name + ": " + m.detail; }).join(" ");
    var at = kind || (here.length ? here[0].kind : String(stop.step));
    document.getElementById("reopen-at").href = run.moment_link + encodeURIComponent(at);
    buttons.forEach(function (b) { b.setAttribute("aria-pressed", String(+b.dataset.stop === index)); });
    document.body.dataset.step = String(stop.step);
  }

  slider.addEventListener("input", function () { show(+slider.value); });
  buttons.forEach(function (b) {
    b.addEventListener("click", function () { slider.value = b.dataset.stop; show(+b.dataset.stop, b.dataset.kind); });
  });
  if (run.stops.length) { show(run.stops.length - 1); }   // a run stopped before its first record has none
})();
