/**
 * The study view's page and script: a solver's told results over time with the best so far, one
 * slice per parameter, and the trials table. Same conventions as the dashboard page (classic
 * script, no template literals, nothing from the internet; charts through `/common.js`).
 */

/** The study page. */
export const STUDY_HTML = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>arqon study</title>
<link rel="stylesheet" href="/vendor/uPlot.min.css">
<link rel="stylesheet" href="/app.css">
<script src="/vendor/uPlot.iife.min.js" defer></script>
<script src="/common.js" defer></script>
<script src="/study.js" defer></script>
</head>
<body>
<header>
  <h1>arqon study <span id="title">…</span></h1>
  <div class="badges">
    <span id="phase" class="badge">…</span>
    <span id="progress" class="badge">…</span>
  </div>
</header>
<main>
  <section class="panel">
    <h2>Best so far</h2>
    <dl class="facts">
      <dt>Objective</dt><dd id="best-value">…</dd>
      <dt>Found at</dt><dd id="best-at">…</dd>
      <dt>Strategy</dt><dd id="strategy">…</dd>
      <dt>Probe</dt><dd id="classification">…</dd>
      <dt>Failed</dt><dd id="failed">…</dd>
      <dt>Pruned</dt><dd id="pruned">…</dd>
      <dt>Pending</dt><dd id="pending">…</dd>
    </dl>
    <h3>Parameters of the best point</h3>
    <table id="best-table"><tbody></tbody></table>
    <p id="study-error" class="error" role="status"></p>
  </section>
  <section class="panel wide">
    <h2>History <small id="better">(lower is better)</small></h2>
    <p class="hint">Dots: each told result, in the order it was told. Line: the best so far. Drag to zoom,
    double-click to reset, hover for values.</p>
    <div id="history-chart" class="chart" role="img" aria-label="objective by trial"></div>
  </section>
  <section class="panel wide">
    <h2>Parameter slices</h2>
    <p class="hint">The objective of every trial against one parameter's value (the others vary too);
    the green point is the best so far.</p>
    <div id="slices" class="slices"></div>
  </section>
  <section class="panel wide">
    <h2>Trials <small id="trial-count"></small></h2>
    <div class="scroll">
    <table id="trial-table">
      <thead><tr><th>#</th><th>id</th><th>phase</th><th>objective</th><th>parameters</th></tr></thead>
      <tbody></tbody>
    </table>
    </div>
  </section>
</main>
</body>
</html>
`;

/** Source of `/study.js`. */
export const STUDY_SCRIPT = String.raw`
(function () {
  "use strict";
  var C = window.arqonCharts;
  var fmt = C.fmt;
  var MAX_ROWS = 500;
  var version = 0;
  var history = null;
  var slices = {};

  function $(id) { return document.getElementById(id); }
  function el(tag, attrs, text) {
    var node = document.createElement(tag);
    if (attrs) for (var k in attrs) node.setAttribute(k, String(attrs[k]));
    if (text !== undefined) node.textContent = text;
    return node;
  }
  function clear(node) { while (node.firstChild) node.removeChild(node.firstChild); }
  // A parameter's value: a number as the charts write it, a categorical's choice as JSON.
  function shown(v) { return typeof v === "number" ? fmt(v) : JSON.stringify(v); }
  function paramsText(p) {
    var parts = [];
    for (var k in p) parts.push(k + " = " + shown(p[k]));
    return parts.join(", ");
  }
  // Where a categorical's choice sits on its slice's axis (its position), or -1.
  function choiceIndex(bound, v) {
    var key = JSON.stringify(v);
    for (var j = 0; j < bound.choices.length; j++) if (JSON.stringify(bound.choices[j]) === key) return j;
    return -1;
  }

  function renderSummary(s, error) {
    $("title").textContent = s.title;
    $("phase").textContent = "phase " + s.phase;
    $("progress").textContent = s.asked + " of " + s.budget + " trials asked";
    $("strategy").textContent = s.strategy || "not chosen yet";
    $("classification").textContent = s.classification || "not complete";
    var failed = 0, pruned = 0;
    for (var i = 0; i < s.trials.length; i++) {
      if (s.trials[i].pruned) pruned++;
      else if (s.trials[i].failed !== null) failed++;
    }
    $("failed").textContent = String(failed);
    $("pruned").textContent = String(pruned);
    $("pending").textContent = String(s.pending);
    $("better").textContent = s.direction === "maximize" ? "(higher is better)" : "(lower is better)";
    $("best-value").textContent = s.best ? C.precise(s.best.value) : "no result yet";
    $("best-at").textContent = s.best ? "result " + s.best.n + " of " + s.trials.length : "\u2013";
    var body = $("best-table").tBodies[0];
    clear(body);
    if (s.best) for (var name in s.best.params) {
      var row = el("tr");
      row.appendChild(el("td", null, name));
      row.appendChild(el("td", null, shown(s.best.params[name])));
      var b = s.bounds[name];
      var hint = !b ? "" : b.choices ? "one of " + b.choices.length + " choices"
        : "in [" + fmt(b.min) + ", " + fmt(b.max) + "]" + (b.scale === "log" ? ", log scale" : "");
      row.appendChild(el("td", { class: "hint" }, hint));
      body.appendChild(row);
    }
    $("study-error").textContent = error ? "The last read failed (showing the previous one): " + error : "";
  }

  function renderHistory(s) {
    if (!history) history = new C.Chart($("history-chart"), {
      xLabel: "result (told order)", yLabel: "objective", height: 280,
      series: [
        { label: "objective", color: "#2563eb", pointsOnly: true },
        { label: "best so far", color: "#16a34a", stepped: true, width: 2 }
      ]
    });
    var x = [], y = [], best = [], b = null;
    for (var i = 0; i < s.trials.length; i++) {
      var t = s.trials[i];
      x.push(t.n);
      y.push(t.value);
      if (t.value !== null && (b === null || (s.direction === "maximize" ? t.value > b : t.value < b))) b = t.value;
      best.push(b);
    }
    history.setData([x, y, best]);
  }

  function renderSlices(s) {
    var box = $("slices");
    // A study read afresh may have other parameters (another file at the same path): their
    // slices go, rather than show the old study's points beside the new one's counts.
    for (var old in slices) {
      if (s.names.indexOf(old) >= 0) continue;
      slices[old].plot.destroy();
      box.removeChild(slices[old].box);
      delete slices[old];
    }
    for (var n = 0; n < s.names.length; n++) {
      var name = s.names[n];
      var bound = s.bounds[name] || {};
      var choices = bound.choices;
      var chart = slices[name];
      if (!chart) {
        var holder = el("div", { class: "chart slice-chart", "data-param": name });
        box.appendChild(holder);
        var spec = {
          xLabel: name + (bound.scale === "log" ? " (log scale)" : ""), yLabel: "objective", height: 240,
          xLog: bound.scale === "log" && bound.min > 0,
          series: [
            { label: "objective", color: "#7c3aed", pointsOnly: true },
            { label: "best so far", color: "#16a34a", pointsOnly: true }
          ]
        };
        // A categorical is plotted at its choices' positions, each labelled with its choice.
        if (choices) {
          spec.xLabel = name + " (choice)";
          spec.xTick = function (cs) {
            return function (v) { return v === Math.round(v) && v >= 0 && v < cs.length ? shown(cs[v]) : ""; };
          }(choices);
          spec.xValue = spec.xTick;
        }
        chart = slices[name] = new C.Chart(holder, spec);
      }
      var pts = [];
      for (var i = 0; i < s.trials.length; i++) {
        var t = s.trials[i];
        if (t.value === null || !(name in t.params)) continue;
        var at = choices ? choiceIndex(bound, t.params[name]) : t.params[name];
        if (typeof at === "number" && at >= 0) pts.push([at, t.value, s.best !== null && t.n === s.best.n]);
      }
      pts.sort(function (a, b) { return a[0] - b[0]; });
      var x = [], y = [], best = [];
      for (var k = 0; k < pts.length; k++) { x.push(pts[k][0]); y.push(pts[k][1]); best.push(pts[k][2] ? pts[k][1] : null); }
      chart.setData([x, y, best]);
    }
  }

  function renderTable(s) {
    var body = $("trial-table").tBodies[0];
    clear(body);
    var shown = 0;
    for (var i = s.trials.length - 1; i >= 0 && shown < MAX_ROWS; i--, shown++) {
      var t = s.trials[i];
      var row = el("tr", { "data-n": t.n, class: s.best && s.best.n === t.n ? "best" : "" });
      row.appendChild(el("td", null, String(t.n)));
      row.appendChild(el("td", null, t.id === null ? "warm start" : String(t.id)));
      row.appendChild(el("td", null, t.phase));
      row.appendChild(el("td", null, t.pruned ? t.failed : t.failed !== null ? "failed: " + t.failed : C.precise(t.value)));
      row.appendChild(el("td", null, paramsText(t.params)));
      body.appendChild(row);
    }
    $("trial-count").textContent = "(" + s.trials.length + " told" + (s.trials.length > shown ? ", newest " + shown + " shown" : "") + ")";
  }

  function load() {
    // Naming the version shown: the server leaves the study out while it is unchanged.
    fetch("/study.json?known=" + version).then(function (r) { return r.json(); }).then(function (d) {
      if (d.version !== version && d.study) {
        version = d.version;
        renderSummary(d.study, d.error);
        renderHistory(d.study);
        renderSlices(d.study);
        renderTable(d.study);
        document.body.setAttribute("data-version", String(version));
      } else $("study-error").textContent = d.error ? "The last read failed (showing the previous one): " + d.error : "";
    }).catch(function () {
      // The server is gone or does not answer: say so, rather than look live with old data.
      $("study-error").textContent = "The dashboard's server does not answer (showing the last study it sent); retrying.";
    }).then(function () { setTimeout(load, 1500); });
  }

  function start() {
    window.addEventListener("resize", function () {
      if (history) history.resize();
      for (var n in slices) slices[n].resize();
    });
    load();
  }
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
  else start();
})();
`;
