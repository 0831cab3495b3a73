/**
 * The dashboard page's script: a classic script (no modules, no framework, nothing from the
 * internet) that follows the server's event stream and draws the charts with uPlot (served by the
 * dashboard from the `uplot` package) through the helpers of `/common.js`.
 *
 * @remarks
 * Kept as a string so the package ships it without a build step. It is written without template
 * literals so that it can live inside this one (a test parses it to catch syntax errors). The
 * page keeps at most 2000 events and 2000 points of each chart series, draws every series from
 * the same start, and re-renders at most once per animation frame.
 */

/** Source of `/app.js`. */
export const DASHBOARD_SCRIPT = String.raw`
(function () {
  "use strict";
  var C = window.arqonCharts;
  var fmt = C.fmt;
  var SVG = "http://www.w3.org/2000/svg";
  var MAX_KEPT = 2000;
  var MAX_ROWS = 300;
  var st = { view: null, baseline: null, events: [], objective: [], samples: [], twin: [], dropped: {}, controls: false,
    types: {}, origin: null, machines: null, fleet: null };
  var charts = { objective: null, params: {} };
  var drawnStates = "";
  var pending = false;
  var token = null;

  function $(id) { return document.getElementById(id); }
  function el(tag, attrs, text) {
    var node = tag.indexOf("svg:") === 0 ? document.createElementNS(SVG, tag.slice(4)) : document.createElement(tag);
    if (attrs) for (var k in attrs) node.setAttribute(k, String(attrs[k]));
    if (text !== undefined) node.textContent = text;
    return node;
  }
  function clear(node) { while (node.firstChild) node.removeChild(node.firstChild); }
  function origin() { return st.origin === null ? 0 : st.origin; }
  // Chart x values: seconds since the first event seen (engine clocks may count from the epoch).
  function xs(t) { return (t - origin()) / 1000; }
  function units() { return (st.view && st.view.units) || {}; }
  function paramUnit(name) { var u = units().params; return u && u[name] ? u[name] : ""; }

  function readToken() {
    var m = /(?:^|[#&])token=([^&]+)/.exec(location.hash);
    if (m) {
      token = decodeURIComponent(m[1]);
      history.replaceState(null, "", location.pathname + location.search);
    }
  }

  function see(t) { if (typeof t === "number" && isFinite(t) && (st.origin === null || t < st.origin)) st.origin = t; }
  function trim(name) {
    var list = st[name];
    if (list.length > MAX_KEPT * 1.25) { list.splice(0, list.length - MAX_KEPT); st.dropped[name] = true; }
  }
  // A live closed window is also a point of the objective chart, and an apply or rollback that
  // carries its values one of the parameter charts (the init dump has its own lists of both); a
  // baseline.set's values are the baseline's, not the live ones.
  function addEvent(e, live) {
    see(e.time);
    st.events.push(e);
    // A constraint-first window aggregated −margins (or a mix): no point of the objective.
    if (live && e.type === "window.closed" && !e.negatedMargin && !e.mixedMeasure && typeof e.value === "number" && isFinite(e.value)) addObjective({ time: e.time, value: e.value });
    if (live && e.type !== "baseline.set" && e.values && typeof e.values === "object") addSample({ time: e.time, generation: e.generation, values: e.values });
    trim("events");
    if (!st.types[e.type]) {
      st.types[e.type] = true;
      $("audit-type").appendChild(el("option", { value: e.type }, e.type));
    }
  }
  function addObjective(p) { see(p.time); st.objective.push(p); trim("objective"); }
  function addSample(s) {
    if (!s) return;
    see(s.time);
    st.samples.push(s);
    trim("samples");
  }
  function addTwin(p) { see(p.time); st.twin.push(p); trim("twin"); }
  // The series grow at different rates, so once one has dropped points every chart starts at its
  // first kept time (-Infinity while none has): all then cover the same span.
  function chartStart() {
    var t = -Infinity, names = ["objective", "samples", "twin"];
    for (var i = 0; i < names.length; i++) {
      var list = st[names[i]];
      if (st.dropped[names[i]] && list.length && list[0].time > t) t = list[0].time;
    }
    return t;
  }
  // The samples from the charts' start; the one live at the start, when older, is moved to it.
  function chartSamples() {
    var t = chartStart(), out = [];
    for (var i = 0; i < st.samples.length; i++) {
      var s = st.samples[i];
      if (s.time >= t) out.push(s);
      else if (i + 1 === st.samples.length || st.samples[i + 1].time > t) out.push({ time: t, generation: s.generation, values: s.values });
    }
    return out;
  }
  function schedule() {
    if (pending) return;
    pending = true;
    requestAnimationFrame(function () { pending = false; render(); });
  }

  function renderStatus() {
    var v = st.view;
    if (!v) return;
    $("title").textContent = v.title;
    var source = $("source");
    // A live engine that was closed keeps its last view: the badge says it no longer runs.
    var closed = v.source === "live" && v.statechart && v.statechart.engine === "stopped";
    source.textContent = closed ? "live engine, closed" : v.source === "live" ? "live engine"
      : v.stopped ? "recording, no longer followed: " + v.stopped : "recording (read-only)";
    source.className = v.stopped || closed ? "badge error" : "badge";
    var mode = $("mode");
    mode.textContent = "mode " + v.mode;
    mode.className = "badge mode mode-" + v.mode;
    mode.setAttribute("data-mode", v.mode);
    $("generation").textContent = String(v.generation);
    $("phase").textContent = v.phase === null ? "unknown" : v.phase;
    $("iteration").textContent = v.iteration === null ? "unknown" : String(v.iteration);
    $("reasons").textContent = v.reasons.length ? v.reasons.join(", ") : "none";
    var b = baselineInfo();
    $("baseline").textContent = b.value === null ? b.label : fmt(b.value) + (units().objective ? " " + units().objective : "") + " (" + b.short + ")";
    var cfg = $("config-table").tBodies[0];
    clear(cfg);
    if (v.values) for (var name in v.values) {
      var row = el("tr");
      row.appendChild(el("td", null, name));
      row.appendChild(el("td", null, fmt(v.values[name]) + (paramUnit(name) ? " " + paramUnit(name) : "")));
      cfg.appendChild(row);
    } else cfg.appendChild(el("tr")).appendChild(el("td", { class: "empty" }, "not in this source"));
    var sc = $("statechart-table").tBodies[0];
    clear(sc);
    for (var id in v.statechart) {
      var r = el("tr");
      r.appendChild(el("td", null, id));
      r.appendChild(el("td", null, v.statechart[id]));
      sc.appendChild(r);
    }
    $("control-panel").hidden = !st.controls;
    var t0 = st.origin;
    $("clock-origin").textContent = t0 !== null && C.isEpoch(t0) ? "Time 0 is " + new Date(t0).toISOString() + "." : "";
  }

  // What the baseline line is: the untuned twin when the source has one, else the mean objective
  // of the windows measured at the baseline configuration.
  function baselineInfo() {
    if (st.twin.length > 0)
      return { kind: "twin", value: st.twin[st.twin.length - 1].value, short: "untuned twin, latest",
        label: "Dashed: the untuned twin, the same system left at the baseline configuration." };
    var b = st.baseline;
    if (b) {
      var n = b.windows + (b.windows === 1 ? " window" : " windows");
      return { kind: "measured", value: b.value, short: "mean of " + n + " at the baseline configuration",
        label: "Dashed: the baseline, the mean objective of the " + n + " measured at the baseline configuration (generation " + b.generation + ")." };
    }
    return { kind: "none", value: null, short: "", label: "not measured yet" };
  }

  function objectiveChart() {
    if (charts.objective) return charts.objective;
    var unit = units().objective || "";
    charts.objective = new C.Chart($("objective-chart"), {
      xLabel: "time since start (s)", yLabel: C.withUnit("objective", unit), height: 260, sync: "arqon",
      xTick: function (v) { return fmt(v); }, xValue: function (v) { return C.seconds(v); },
      series: [
        { label: C.withUnit("objective", unit), color: "#2563eb", points: true },
        { label: C.withUnit("baseline", unit), color: "#9a3412", dash: [6, 4], width: 2 }
      ]
    });
    $("objective-unit").textContent = unit ? "(" + unit + ", lower is better)" : "(lower is better)";
    return charts.objective;
  }

  function renderObjective() {
    var chart = objectiveChart();
    var info = baselineInfo();
    var byTime = {};
    var times = [];
    function slot(t) {
      if (!byTime.hasOwnProperty(t)) { byTime[t] = [null, null]; times.push(t); }
      return byTime[t];
    }
    var start = chartStart();
    for (var i = 0; i < st.objective.length; i++)
      if (st.objective[i].time >= start) slot(st.objective[i].time)[0] = st.objective[i].value;
    if (info.kind === "twin")
      for (var j = 0; j < st.twin.length; j++) if (st.twin[j].time >= start) slot(st.twin[j].time)[1] = st.twin[j].value;
    times.sort(function (a, b) { return a - b; });
    var x = [], y = [], base = [];
    for (var k = 0; k < times.length; k++) {
      var pair = byTime[times[k]];
      x.push(xs(times[k]));
      y.push(pair[0]);
      base.push(info.kind === "measured" ? info.value : pair[1]);
    }
    var series = chart.plot.series[2];
    var label = info.kind === "twin" ? "untuned twin" : info.kind === "measured" ? "baseline (measured)" : "baseline";
    var unit = units().objective || "";
    if (series.label !== C.withUnit(label, unit)) {
      series.label = C.withUnit(label, unit);
      var th = chart.plot.root.querySelectorAll(".u-legend .u-series")[2];
      if (th) th.querySelector(".u-label").textContent = series.label;
    }
    chart.box.setAttribute("data-baseline-kind", info.kind);
    chart.box.setAttribute("data-baseline-value", info.value === null ? "" : String(info.value));
    $("baseline-label").textContent = info.kind === "none" ? "The baseline appears once a window is measured at the baseline configuration." : info.label;
    chart.setData([x, y, base]);
  }

  function renderParams() {
    var box = $("param-charts");
    var names = st.view && st.view.names.length ? st.view.names : [];
    var samples = chartSamples();
    if (names.length === 0 || samples.length === 0) {
      if (!box.querySelector(".empty")) { clear(box); box.appendChild(el("p", { class: "empty" }, "No parameter values in this source.")); }
      return;
    }
    var empty = box.querySelector(".empty");
    if (empty) box.removeChild(empty);
    for (var n = 0; n < names.length; n++) {
      var name = names[n];
      var chart = charts.params[name];
      if (!chart) {
        var holder = el("div", { class: "chart param-chart", "data-param": name });
        box.appendChild(holder);
        chart = charts.params[name] = new C.Chart(holder, {
          xLabel: "time since start (s)", yLabel: C.withUnit(name, paramUnit(name)), height: 210, sync: "arqon",
          xTick: function (v) { return fmt(v); }, xValue: function (v) { return C.seconds(v); },
          series: [{ label: C.withUnit(name, paramUnit(name)), color: "#7c3aed", stepped: true }]
        });
      }
      var x = [], y = [];
      for (var i = 0; i < samples.length; i++) {
        var val = samples[i].values[name];
        if (typeof val === "number") { x.push(xs(samples[i].time)); y.push(val); }
      }
      // Hold the last value up to now, so the line reaches the present.
      if (st.view && y.length && xs(st.view.time) > x[x.length - 1]) { x.push(xs(st.view.time)); y.push(y[y.length - 1]); }
      chart.setData([x, y]);
    }
  }

  function timeSpan() {
    var t0 = Infinity, t1 = -Infinity;
    function s(t) { if (typeof t === "number" && isFinite(t)) { if (t < t0) t0 = t; if (t > t1) t1 = t; } }
    for (var i = 0; i < st.events.length; i++) s(st.events[i].time);
    var samples = chartSamples();
    for (var j = 0; j < samples.length; j++) s(samples[j].time);
    if (st.view) s(st.view.time);
    if (t0 === Infinity) return null;
    if (t1 <= t0) t1 = t0 + 1;
    return [t0, t1];
  }

  function renderModes() {
    var span = timeSpan();
    var svg = $("mode-timeline");
    clear(svg);
    var list = $("mode-changes");
    clear(list);
    var changes = [];
    for (var i = 0; i < st.events.length; i++) if (st.events[i].type === "mode.changed") changes.push(st.events[i]);
    if (!span) return;
    var W = 800;
    function X(t) { return W * (t - span[0]) / (span[1] - span[0]); }
    var mode = changes.length ? changes[0].from : (st.view ? st.view.mode : "unknown");
    var start = span[0];
    function segment(from, to, m) {
      var rect = el("svg:rect", { class: "segment mode-" + m, x: X(from).toFixed(1), y: 4,
        width: Math.max(1, X(to) - X(from)).toFixed(1), height: 32, "data-mode": m });
      rect.appendChild(el("svg:title", null, m + " from +" + C.seconds(xs(from)) + " to +" + C.seconds(xs(to))));
      svg.appendChild(rect);
    }
    for (var k = 0; k < changes.length; k++) {
      var c = changes[k];
      segment(start, c.time, mode);
      mode = c.to; start = c.time;
      var cell = C.timeCell(c.time, origin());
      var item = el("li", { title: cell.title }, cell.text + ": " + c.from + " \u2192 " + c.to +
        (c.reasons && c.reasons.length ? " (" + c.reasons.join(", ") + ")" : "") + (c.note ? " \u2014 " + c.note : ""));
      item.className = "mode-change";
      list.appendChild(item);
    }
    segment(start, span[1], st.view && st.view.mode !== "unknown" ? st.view.mode : mode);
    // The history keeps the latest events only (historyLimit): older changes may have left it.
    if (changes.length === 0) list.appendChild(el("li", { class: "empty" }, "no mode changes among the events kept"));
  }

  // The active state paths of a state name: "cycle.plus" gives "cycle" and "cycle.plus";
  // parallel regions are separated by ", ".
  function activePaths(name) {
    var out = {};
    if (!name) return out;
    var regions = name.split(", ");
    for (var i = 0; i < regions.length; i++) {
      var parts = regions[i].split(".");
      for (var j = 1; j <= parts.length; j++) out[parts.slice(0, j).join(".")] = true;
    }
    return out;
  }

  function stateBox(node, active, isRoot) {
    var on = !isRoot && active[node.path] === true;
    var box = el("div", { class: "sc-state" + (on ? " active" : ""), "data-path": node.path, "data-active": on ? "true" : "false" });
    var name = el("div", { class: "sc-name" }, isRoot ? node.key : node.key);
    if (isRoot) name.appendChild(el("small", null, " (in any state)"));
    else if (node.type !== "atomic") name.appendChild(el("small", null, " " + node.type + (node.initial ? ", starts in " + node.initial.split(".").pop() : "")));
    box.appendChild(name);
    if (node.transitions.length) {
      var ul = el("ul", { class: "sc-trans" });
      for (var i = 0; i < node.transitions.length; i++) {
        var t = node.transitions[i];
        var to = t.targets.length ? t.targets.map(function (p) { return p.split(".").pop(); }).join(", ") : "(stays)";
        ul.appendChild(el("li", null, t.trigger + (t.guard ? " [" + t.guard + "]" : "") + " \u2192 " + to));
      }
      box.appendChild(ul);
    }
    if (node.states.length) {
      var kids = el("div", { class: "sc-children" });
      for (var k = 0; k < node.states.length; k++) kids.appendChild(stateBox(node.states[k], active, false));
      box.appendChild(kids);
    }
    return box;
  }

  function renderStatecharts() {
    if (!st.machines || !st.view) return;
    var key = JSON.stringify(st.view.statechart);
    if (key === drawnStates) return;
    drawnStates = key;
    var box = $("statecharts");
    clear(box);
    for (var i = 0; i < st.machines.length; i++) {
      var m = st.machines[i];
      var current = st.view.statechart[m.actor];
      var wrap = el("div", { class: "sc-machine", "data-machine": m.actor });
      var h = el("h3", null, m.title + " ");
      h.appendChild(el("small", null, current ? "(" + m.actor + ": " + current + ")" : "(" + m.actor + ": state unknown in this source)"));
      wrap.appendChild(h);
      wrap.appendChild(stateBox(m.root, activePaths(current), true));
      box.appendChild(wrap);
    }
  }

  // Readable details: numbers to four significant digits, times relative to the first event.
  function value(k, v) {
    if (typeof v === "number") return k === "openedAt" ? C.timeCell(v, origin()).text : fmt(v);
    if (Array.isArray(v)) return v.join(", ");
    if (v && typeof v === "object") {
      var parts = [];
      for (var key in v) parts.push(key + ": " + (typeof v[key] === "number" ? fmt(v[key]) : String(v[key])));
      return "{" + parts.join(", ") + "}";
    }
    return String(v);
  }
  function details(e) {
    var skip = { v: 1, runId: 1, seq: 1, time: 1, generation: 1, type: 1 };
    var parts = [];
    for (var k in e) if (!skip[k]) parts.push(k + "=" + value(k, e[k]));
    return parts.join(" ");
  }

  function renderAudit() {
    var type = $("audit-type").value;
    var text = $("audit-text").value.trim().toLowerCase();
    var body = $("audit-table").tBodies[0];
    clear(body);
    var shown = 0, matched = 0;
    for (var i = st.events.length - 1; i >= 0; i--) {
      var e = st.events[i];
      if (type && e.type !== type) continue;
      var info = details(e);
      if (text && (e.type + " " + info).toLowerCase().indexOf(text) < 0) continue;
      matched++;
      if (shown >= MAX_ROWS) continue;
      shown++;
      var row = el("tr", { "data-type": e.type });
      var cell = C.timeCell(e.time, origin());
      row.appendChild(el("td", null, String(e.seq)));
      row.appendChild(el("td", { title: cell.title }, cell.text));
      row.appendChild(el("td", null, String(e.generation)));
      row.appendChild(el("td", null, e.type));
      row.appendChild(el("td", null, info));
      body.appendChild(row);
    }
    $("audit-count").textContent = "(" + matched + " of " + st.events.length + " kept events" +
      (matched > shown ? ", newest " + shown + " shown" : "") + ")";
  }

  // The Fleet panel: shown only for a source attached to a fleet coordinator. The server has
  // already classified each replica (current, lagging, stale); the page only draws it.
  function renderFleet() {
    var f = st.fleet;
    var panel = $("fleet-panel");
    panel.hidden = !f;
    if (!f) return;
    $("fleet-coordinator").textContent = "(seen by coordinator " + f.coordinator + (f.leader ? ", the leader" : ", standby") + ")";
    $("fleet-generation").textContent = String(f.generation);
    $("fleet-leader").textContent = f.leaderId === null ? "none (no coordinator holds the lease)" :
      f.leaderId + (f.epoch > 0 ? " (epoch " + f.epoch + ")" : "");
    var counts = { current: 0, lagging: 0, stale: 0 };
    for (var i = 0; i < f.replicas.length; i++) counts[f.replicas[i].state]++;
    $("fleet-summary").textContent = f.replicas.length + " reporting: " + counts.current + " current, " +
      counts.lagging + " lagging, " + counts.stale + " stale";
    var b = f.bus;
    $("fleet-bus").textContent = "pending " + b.pending + ", undelivered " + b.lag + ", dead letters " + b.deadLetters +
      ", rejected commands " + b.rejectedCommands + ", digests processed " + b.digestsProcessed +
      (b.stale ? " (Redis unreachable: the last figures read)" : "");
    var body = $("fleet-table").tBodies[0];
    clear(body);
    if (f.replicas.length === 0) {
      body.appendChild(el("tr")).appendChild(el("td", { colspan: 5, class: "empty" }, "no replica has reported yet"));
      return;
    }
    for (var k = 0; k < f.replicas.length; k++) {
      var r = f.replicas[k];
      var row = el("tr", { class: "replica-row-" + r.state, "data-replica": r.replica, "data-state": r.state });
      row.appendChild(el("td", null, r.replica));
      row.appendChild(el("td", null, String(r.generation)));
      row.appendChild(el("td", null, String(r.lag)));
      row.appendChild(el("td", null, C.seconds(r.ackAgeMs / 1000) + " ago"));
      row.appendChild(el("td")).appendChild(el("span", { class: "replica-state replica-" + r.state }, r.state));
      body.appendChild(row);
    }
  }

  function render() {
    if (!st.view) return; // the statecharts may arrive before the first state
    renderStatus();
    renderFleet();
    renderObjective();
    renderParams();
    renderModes();
    renderStatecharts();
    renderAudit();
  }

  function connect() {
    var source = new EventSource("/events");
    source.addEventListener("open", function () { $("connection").textContent = "connected"; });
    source.addEventListener("error", function () { $("connection").textContent = "reconnecting"; });
    source.addEventListener("init", function (m) {
      var d = JSON.parse(m.data);
      st.view = d.view; st.baseline = d.baseline; st.controls = d.controls; st.fleet = d.fleet || null;
      st.events = []; st.objective = []; st.samples = []; st.twin = []; st.dropped = {}; st.origin = null;
      for (var i = 0; i < d.events.length; i++) addEvent(d.events[i], false);
      for (var o = 0; o < d.objective.length; o++) addObjective(d.objective[o]);
      for (var j = 0; j < d.samples.length; j++) addSample(d.samples[j]);
      for (var k = 0; k < d.twin.length; k++) addTwin(d.twin[k]);
      document.body.setAttribute("data-ready", "true");
      schedule();
    });
    source.addEventListener("audit", function (m) { addEvent(JSON.parse(m.data), true); schedule(); });
    source.addEventListener("twin", function (m) { addTwin(JSON.parse(m.data)); schedule(); });
    source.addEventListener("snapshot", function (m) {
      var d = JSON.parse(m.data);
      st.view = d.view; st.baseline = d.baseline; st.fleet = d.fleet || null; addSample(d.sample);
      schedule();
    });
  }

  function control(action, field, inputId) {
    var status = $("control-status");
    var text = $(inputId).value.trim();
    if (!token) token = window.prompt("Control token (printed by arqon dashboard, or serveDashboard's token):");
    if (!token) { status.textContent = "No token: nothing sent."; status.className = "error"; return; }
    var body = {};
    body[field] = text;
    status.textContent = action + "\u2026"; status.className = "";
    fetch("/control/" + action, {
      method: "POST",
      headers: { "content-type": "application/json", authorization: "Bearer " + token },
      body: JSON.stringify(body)
    }).then(function (res) {
      return res.json().then(function (json) {
        if (res.status === 401 || res.status === 403) token = null;
        if (!res.ok) {
          status.className = "error";
          status.textContent = action + " refused (" + res.status + "): " + json.error +
            (json.field ? " \u2014 " + json.field + ": " + json.reason : "");
          return;
        }
        status.textContent = action + (json.done ? " done" : " had no effect") + "; mode " + json.view.mode +
          ", generation " + json.view.generation;
        st.view = json.view;
        schedule();
      });
    }).catch(function (err) { status.className = "error"; status.textContent = action + " failed: " + err; });
  }

  function start() {
    readToken();
    $("halt-button").addEventListener("click", function () { control("halt", "reason", "halt-reason"); });
    $("reset-button").addEventListener("click", function () { control("reset", "acknowledge", "reset-ack"); });
    $("rollback-button").addEventListener("click", function () { control("rollback", "reason", "rollback-reason"); });
    $("audit-type").addEventListener("change", renderAudit);
    $("audit-text").addEventListener("input", renderAudit);
    window.addEventListener("resize", function () {
      if (charts.objective) charts.objective.resize();
      for (var n in charts.params) charts.params[n].resize();
    });
    fetch("/machines.json").then(function (r) { return r.json(); }).then(function (m) { st.machines = m; schedule(); });
    connect();
  }
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
  else start();
})();
`;
