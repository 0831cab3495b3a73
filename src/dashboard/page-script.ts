/**
 * The dashboard page's script: a classic script (no modules, no framework, no external
 * resources) that follows the server's event stream and draws the charts as hand-written SVG.
 *
 * @remarks
 * Kept as a string so the package ships it without a build step. It is written without template
 * literals so that it can live inside this one (a test parses it to catch syntax errors). The
 * page keeps at most 2000 events and samples and re-renders at most once per animation frame.
 */

/** Source of `/app.js`. */
export const DASHBOARD_SCRIPT = String.raw`
(function () {
  "use strict";
  var SVG = "http://www.w3.org/2000/svg";
  var MAX_EVENTS = 2000;
  var MAX_ROWS = 300;
  var st = { view: null, baseline: null, events: [], samples: [], controls: false, types: {}, origin: null };
  var pending = false;
  var token = null;

  function $(id) { return document.getElementById(id); }
  function el(tag, attrs, text) {
    var node = tag.indexOf("svg:") === 0 ? document.createElementNS(SVG, tag.slice(4)) : document.createElement(tag);
    if (attrs) for (var k in attrs) node.setAttribute(k, String(attrs[k]));
    if (text !== undefined) node.textContent = text;
    return node;
  }
  // Times are shown in seconds since the first event seen: engine clocks may count from the epoch.
  function rel(t) {
    return fmt((t - (st.origin === null ? 0 : st.origin)) / 1000) + " s";
  }
  function clear(node) { while (node.firstChild) node.removeChild(node.firstChild); }
  function fmt(x) {
    if (x === null || x === undefined || typeof x !== "number" || !isFinite(x)) return "n/a";
    var a = Math.abs(x);
    return a !== 0 && (a >= 1e5 || a < 1e-3) ? x.toExponential(3) : String(Math.round(x * 1000) / 1000);
  }

  function readToken() {
    var m = /(?:^|[#&])token=([^&]+)/.exec(location.hash);
    if (m) {
      token = decodeURIComponent(m[1]);
      history.replaceState(null, "", location.pathname + location.search);
    }
  }

  // An apply or rollback that carries its values is also a point of the parameter charts (the
  // init dump's samples already include those of the events it replays, hence withSample).
  function addEvent(e, withSample) {
    if (st.origin === null || e.time < st.origin) st.origin = e.time;
    st.events.push(e);
    if (withSample && e.values && typeof e.values === "object") addSample({ time: e.time, generation: e.generation, values: e.values });
    if (st.events.length > MAX_EVENTS * 1.25) st.events.splice(0, st.events.length - MAX_EVENTS);
    if (!st.types[e.type]) {
      st.types[e.type] = true;
      $("audit-type").appendChild(el("option", { value: e.type }, e.type));
    }
  }
  function addSample(s) {
    if (!s) return;
    if (st.origin === null || s.time < st.origin) st.origin = s.time;
    st.samples.push(s);
    if (st.samples.length > MAX_EVENTS * 1.25) st.samples.splice(0, st.samples.length - MAX_EVENTS);
  }
  function schedule() {
    if (pending) return;
    pending = true;
    requestAnimationFrame(function () { pending = false; render(); });
  }

  function timeSpan() {
    var t0 = Infinity, t1 = -Infinity;
    function see(t) { if (typeof t === "number" && isFinite(t)) { if (t < t0) t0 = t; if (t > t1) t1 = t; } }
    for (var i = 0; i < st.events.length; i++) see(st.events[i].time);
    for (var j = 0; j < st.samples.length; j++) see(st.samples[j].time);
    if (st.view) see(st.view.time);
    if (t0 === Infinity) return null;
    if (t1 <= t0) t1 = t0 + 1;
    return [t0, t1];
  }

  // A line chart: x in engine ms, one path per series; optional dashed horizontal reference.
  function lineChart(svg, points, opts) {
    clear(svg);
    var W = 800, H = opts.height, padL = 56, padR = 8, padT = 8, padB = 18;
    var span = opts.span;
    var lo = Infinity, hi = -Infinity;
    for (var i = 0; i < points.length; i++) { var y = points[i][1]; if (y < lo) lo = y; if (y > hi) hi = y; }
    if (opts.reference !== null && opts.reference !== undefined && isFinite(opts.reference)) {
      if (opts.reference < lo) lo = opts.reference;
      if (opts.reference > hi) hi = opts.reference;
    }
    svg.appendChild(el("svg:rect", { class: "frame", x: padL, y: padT, width: W - padL - padR, height: H - padT - padB }));
    if (points.length === 0 || !span) {
      svg.appendChild(el("svg:text", { class: "axis-label", x: padL + 8, y: H / 2 }, "no data yet"));
      return;
    }
    if (hi - lo < 1e-12) { hi += 0.5; lo -= 0.5; }
    var pad = (hi - lo) * 0.05; lo -= pad; hi += pad;
    function X(t) { return padL + (W - padL - padR) * (t - span[0]) / (span[1] - span[0]); }
    function Y(v) { return padT + (H - padT - padB) * (1 - (v - lo) / (hi - lo)); }
    var d = "";
    for (var k = 0; k < points.length; k++) {
      var px = X(points[k][0]).toFixed(1), py = Y(points[k][1]).toFixed(1);
      if (k === 0) d = "M" + px + " " + py;
      else if (opts.step) d += " H" + px + " V" + py;
      else d += " L" + px + " " + py;
    }
    if (opts.step && st.view) d += " H" + X(span[1]).toFixed(1);
    svg.appendChild(el("svg:path", { class: "series", d: d, "data-points": points.length }));
    if (opts.reference !== null && opts.reference !== undefined && isFinite(opts.reference)) {
      var ry = Y(opts.reference).toFixed(1);
      svg.appendChild(el("svg:path", { class: "baseline", d: "M" + padL + " " + ry + " H" + (W - padR) }));
      svg.appendChild(el("svg:text", { class: "axis-label", x: W - padR - 110, y: Number(ry) - 4 }, "baseline " + fmt(opts.reference)));
    }
    svg.appendChild(el("svg:text", { class: "axis-label", x: 2, y: padT + 10 }, fmt(hi)));
    svg.appendChild(el("svg:text", { class: "axis-label", x: 2, y: H - padB }, fmt(lo)));
    svg.appendChild(el("svg:text", { class: "axis-label", x: padL, y: H - 4 }, rel(span[0])));
    svg.appendChild(el("svg:text", { class: "axis-label", x: W - padR - 60, y: H - 4 }, rel(span[1])));
  }

  function renderStatus() {
    var v = st.view;
    if (!v) return;
    $("title").textContent = v.title;
    $("source").textContent = v.source === "live" ? "live engine" : "recording (read-only)";
    var mode = $("mode");
    mode.textContent = "mode " + v.mode;
    mode.className = "badge mode mode-" + v.mode;
    mode.setAttribute("data-mode", v.mode);
    $("generation").textContent = String(v.generation);
    $("phase").textContent = v.phase === null ? "n/a" : v.phase;
    $("iteration").textContent = v.iteration === null ? "n/a" : String(v.iteration);
    $("reasons").textContent = v.reasons.length ? v.reasons.join(", ") : "none";
    $("baseline").textContent = fmt(st.baseline);
    var cfg = $("config-table").tBodies[0];
    clear(cfg);
    if (v.values) for (var name in v.values) {
      var row = el("tr");
      row.appendChild(el("td", null, name));
      row.appendChild(el("td", null, fmt(v.values[name])));
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
  }

  function renderObjective(span) {
    var pts = [];
    for (var i = 0; i < st.events.length; i++) {
      var e = st.events[i];
      if (e.type === "window.closed" && typeof e.value === "number" && isFinite(e.value)) pts.push([e.time, e.value]);
    }
    lineChart($("objective-chart"), pts, { height: 220, span: span, reference: st.baseline, step: false });
  }

  function renderParams(span) {
    var box = $("param-charts");
    var names = st.view && st.view.names.length ? st.view.names : [];
    if (names.length === 0 || st.samples.length === 0) {
      if (!box.querySelector(".empty")) { clear(box); box.appendChild(el("p", { class: "empty" }, "No parameter values in this source.")); }
      return;
    }
    var empty = box.querySelector(".empty");
    if (empty) box.removeChild(empty);
    for (var n = 0; n < names.length; n++) {
      var name = names[n];
      var svg = box.querySelector('svg[data-param="' + CSS.escape(name) + '"]');
      if (!svg) {
        box.appendChild(el("h3", null, name));
        svg = el("svg:svg", { class: "chart param-chart", viewBox: "0 0 800 140", preserveAspectRatio: "none", "data-param": name, role: "img" });
        box.appendChild(svg);
      }
      var pts = [];
      for (var i = 0; i < st.samples.length; i++) {
        var val = st.samples[i].values[name];
        if (typeof val === "number") pts.push([st.samples[i].time, val]);
      }
      lineChart(svg, pts, { height: 140, span: span, reference: null, step: true });
    }
  }

  function renderModes(span) {
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
      svg.appendChild(el("svg:rect", { class: "segment mode-" + m, x: X(from).toFixed(1), y: 4,
        width: Math.max(1, X(to) - X(from)).toFixed(1), height: 32, "data-mode": m }));
    }
    for (var k = 0; k < changes.length; k++) {
      var c = changes[k];
      segment(start, c.time, mode);
      mode = c.to; start = c.time;
      var item = el("li", null, rel(c.time) + ": " + c.from + " \u2192 " + c.to +
        (c.reasons && c.reasons.length ? " (" + c.reasons.join(", ") + ")" : "") + (c.note ? " \u2014 " + c.note : ""));
      item.className = "mode-change";
      list.appendChild(item);
    }
    segment(start, span[1], st.view && st.view.mode !== "unknown" ? st.view.mode : mode);
    if (changes.length === 0) list.appendChild(el("li", { class: "empty" }, "no mode changes"));
  }

  function details(e) {
    var skip = { v: 1, runId: 1, seq: 1, time: 1, generation: 1, type: 1 };
    var parts = [];
    for (var k in e) if (!skip[k]) parts.push(k + "=" + (typeof e[k] === "object" ? JSON.stringify(e[k]) : String(e[k])));
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
      row.appendChild(el("td", null, String(e.seq)));
      row.appendChild(el("td", { title: String(e.time) + " ms (engine clock)" }, rel(e.time)));
      row.appendChild(el("td", null, String(e.generation)));
      row.appendChild(el("td", null, e.type));
      row.appendChild(el("td", null, info));
      body.appendChild(row);
    }
    $("audit-count").textContent = "(" + matched + " of " + st.events.length + " kept events" +
      (matched > shown ? ", newest " + shown + " shown" : "") + ")";
  }

  function render() {
    var span = timeSpan();
    renderStatus();
    renderObjective(span);
    renderParams(span);
    renderModes(span);
    renderAudit();
  }

  function connect() {
    var source = new EventSource("/events");
    source.addEventListener("open", function () { $("connection").textContent = "connected"; });
    source.addEventListener("error", function () { $("connection").textContent = "reconnecting"; });
    source.addEventListener("init", function (m) {
      var d = JSON.parse(m.data);
      st.view = d.view; st.baseline = d.baseline; st.controls = d.controls;
      st.events = []; st.samples = []; st.origin = null;
      for (var i = 0; i < d.events.length; i++) addEvent(d.events[i], false);
      for (var j = 0; j < d.samples.length; j++) addSample(d.samples[j]);
      document.body.setAttribute("data-ready", "true");
      schedule();
    });
    source.addEventListener("audit", function (m) { addEvent(JSON.parse(m.data), true); schedule(); });
    source.addEventListener("snapshot", function (m) {
      var d = JSON.parse(m.data);
      st.view = d.view; st.baseline = d.baseline; addSample(d.sample);
      schedule();
    });
  }

  function control(action, field, inputId) {
    var status = $("control-status");
    var text = $(inputId).value.trim();
    if (!token) token = window.prompt("Control token (printed by arqon dashboard):");
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
    connect();
  }
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
  else start();
})();
`;
