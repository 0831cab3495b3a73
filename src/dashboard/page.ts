/**
 * The dashboard page's HTML and CSS, served as they are (no build step, no external resources:
 * it works offline). The behaviour lives in `page-script.ts`.
 */

/** The page. Elements carry ids the script (and the browser test) use. */
export const DASHBOARD_HTML = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>arqon dashboard</title>
<link rel="stylesheet" href="/vendor/uPlot.min.css">
<link rel="stylesheet" href="/app.css">
<script src="/vendor/uPlot.iife.min.js" defer></script>
<script src="/common.js" defer></script>
<script src="/app.js" defer></script>
</head>
<body>
<header>
  <h1>arqon <span id="title">…</span></h1>
  <div class="badges">
    <span id="source" class="badge">…</span>
    <span id="connection" class="badge">connecting</span>
    <span id="mode" class="badge mode">mode …</span>
  </div>
</header>
<main>
  <section id="status-panel" class="panel">
    <h2>Now</h2>
    <dl class="facts">
      <dt>Generation</dt><dd id="generation">…</dd>
      <dt>SPSA phase</dt><dd id="phase">…</dd>
      <dt>Iteration</dt><dd id="iteration">…</dd>
      <dt>Reasons</dt><dd id="reasons">none</dd>
      <dt>Baseline</dt><dd id="baseline">…</dd>
    </dl>
    <h3>Configuration</h3>
    <table id="config-table"><tbody></tbody></table>
    <h3>Statechart states</h3>
    <table id="statechart-table"><tbody></tbody></table>
  </section>
  <section id="control-panel" class="panel" hidden>
    <h2>Control</h2>
    <p class="hint">Actions go through the engine's audited control path and need the dashboard's
    control token (<code>arqon dashboard</code> prints it; with <code>serveDashboard</code>, it is
    the returned <code>token</code>): open the URL that carries it, or paste it when asked.</p>
    <div class="control-row">
      <input id="halt-reason" placeholder="reason" value="halted from the dashboard">
      <button id="halt-button" class="danger">Halt</button>
    </div>
    <div class="control-row">
      <input id="reset-ack" placeholder="acknowledgement" value="">
      <button id="reset-button">Reset SafeMode</button>
    </div>
    <div class="control-row">
      <input id="rollback-reason" placeholder="reason" value="rolled back from the dashboard">
      <button id="rollback-button">Roll back</button>
    </div>
    <p id="control-status" role="status"></p>
  </section>
  <section id="fleet-panel" class="panel wide" hidden>
    <h2>Fleet <small id="fleet-coordinator"></small></h2>
    <dl class="facts">
      <dt>Fleet generation</dt><dd id="fleet-generation">…</dd>
      <dt>Leader</dt><dd id="fleet-leader">…</dd>
      <dt>Replicas</dt><dd id="fleet-summary">…</dd>
      <dt>Bus</dt><dd id="fleet-bus">…</dd>
    </dl>
    <table id="fleet-table">
      <thead><tr><th>replica</th><th>generation</th><th>lag (generations)</th><th>last report</th><th>state</th></tr></thead>
      <tbody></tbody>
    </table>
  </section>
  <section class="panel wide">
    <h2>Objective <small id="objective-unit"></small></h2>
    <p class="hint">One point per evaluation window. <span id="baseline-label"></span>
    Drag across a chart to zoom, double-click to reset; hover for values. <span id="clock-origin"></span></p>
    <div id="objective-chart" class="chart" role="img" aria-label="objective over time"></div>
  </section>
  <section class="panel wide">
    <h2>Parameters</h2>
    <div id="param-charts"><p class="empty">No parameter values yet.</p></div>
  </section>
  <section class="panel wide">
    <h2>Statecharts <small>(from machines/; highlighted: active states)</small></h2>
    <div id="statecharts" class="statecharts"></div>
  </section>
  <section class="panel wide">
    <h2>SafeMode timeline</h2>
    <svg id="mode-timeline" class="timeline" viewBox="0 0 800 40" preserveAspectRatio="none" role="img"
      aria-label="SafeMode over time"></svg>
    <ol id="mode-changes" class="changes"></ol>
  </section>
  <section class="panel wide">
    <h2>Audit <small id="audit-count"></small></h2>
    <div class="filters">
      <select id="audit-type"><option value="">all types</option></select>
      <input id="audit-text" type="search" placeholder="filter text">
    </div>
    <div class="scroll">
    <table id="audit-table">
      <thead><tr><th>seq</th><th>time</th><th>gen</th><th>type</th><th>details</th></tr></thead>
      <tbody></tbody>
    </table>
    </div>
  </section>
</main>
</body>
</html>
`;

/** The page's stylesheet. */
export const DASHBOARD_CSS = `:root { color-scheme: light; --fg: #1d2329; --bg: #f6f7f9; --panel: #fff; --muted: #6b7480;
  --line: #2563eb; --base: #9a3412; --grid: #d9dde3; }
* { box-sizing: border-box; }
body { margin: 0; font: 14px/1.4 system-ui, sans-serif; color: var(--fg); background: var(--bg); }
header { display: flex; justify-content: space-between; align-items: center; padding: 8px 16px;
  border-bottom: 1px solid var(--grid); }
h1 { font-size: 18px; margin: 0; } h2 { font-size: 15px; margin: 0 0 8px; } h3 { font-size: 13px; margin: 12px 0 4px; }
small, .hint, .empty { color: var(--muted); font-weight: normal; }
main { display: grid; grid-template-columns: repeat(auto-fit, minmax(320px, 1fr)); gap: 12px; padding: 12px 16px; }
.panel { background: var(--panel); border: 1px solid var(--grid); border-radius: 6px; padding: 10px 12px; min-width: 0; }
.wide { grid-column: 1 / -1; }
.badge { display: inline-block; padding: 2px 8px; border-radius: 10px; border: 1px solid var(--grid); margin-left: 6px; }
.mode-normal { background: #16a34a; color: #fff; } .mode-conservative { background: #ca8a04; color: #fff; }
.mode-frozen { background: #2563eb; color: #fff; } .mode-halted { background: #dc2626; color: #fff; }
.mode-unknown { background: #6b7280; color: #fff; }
.facts { display: grid; grid-template-columns: max-content 1fr; gap: 2px 12px; margin: 0; }
.facts dt { color: var(--muted); } .facts dd { margin: 0; font-variant-numeric: tabular-nums; }
table { border-collapse: collapse; width: 100%; font-variant-numeric: tabular-nums; }
td, th { text-align: left; padding: 2px 6px; border-bottom: 1px solid var(--grid); vertical-align: top; }
#audit-table td:last-child { font-family: ui-monospace, monospace; font-size: 12px; word-break: break-all; }
.chart { width: 100%; min-height: 120px; } .param-chart { margin-bottom: 8px; }
.uplot { font-family: system-ui, sans-serif; } .u-legend { font-size: 12px; } .u-legend th { font-weight: normal; }
.uplot canvas { background: var(--panel); }
.timeline { width: 100%; height: 40px; display: block; }
.axis-label { fill: var(--muted); font-size: 11px; }
.statecharts { display: flex; flex-wrap: wrap; gap: 16px; }
.sc-machine { flex: 1 1 380px; min-width: 0; }
.sc-state { border: 1px solid var(--grid); border-radius: 8px; padding: 4px 8px; margin: 4px 0; }
.sc-state.active { border: 2px solid #16a34a; background: rgba(22, 163, 74, 0.10); }
.sc-state.active > .sc-name { color: #15803d; font-weight: 600; }
.sc-name { font-weight: 500; } .sc-name small { color: var(--muted); font-weight: normal; }
.sc-trans { margin: 2px 0 2px 0; padding-left: 18px; font-size: 12px; color: var(--muted); }
.sc-children { display: flex; flex-wrap: wrap; gap: 6px; } .sc-children > .sc-state { flex: 1 1 150px; }
.segment.mode-normal { fill: #16a34a; } .segment.mode-conservative { fill: #ca8a04; }
.segment.mode-frozen { fill: #2563eb; } .segment.mode-halted { fill: #dc2626; } .segment.mode-unknown { fill: #6b7280; }
.changes { margin: 6px 0 0; padding-left: 20px; max-height: 160px; overflow: auto; }
.scroll { max-height: 520px; overflow: auto; }
#audit-table thead th { position: sticky; top: 0; background: var(--panel); }
.filters { display: flex; gap: 8px; margin-bottom: 6px; }
.control-row { display: flex; gap: 8px; margin: 6px 0; } .control-row input { flex: 1; }
button { padding: 4px 12px; cursor: pointer; } .danger { background: #dc2626; color: #fff; border: 1px solid #b91c1c; }
#control-status.error, .error { color: #dc2626; }
.slices { display: grid; grid-template-columns: repeat(auto-fit, minmax(420px, 1fr)); gap: 12px; }
tr.best td { background: rgba(22, 163, 74, 0.12); font-weight: 600; }
.replica-state { display: inline-block; padding: 0 8px; border-radius: 10px; color: #fff; }
.replica-current { background: #16a34a; } .replica-lagging { background: #ca8a04; } .replica-stale { background: #dc2626; }
tr.replica-row-lagging td { background: rgba(202, 138, 4, 0.12); } tr.replica-row-stale td { background: rgba(220, 38, 38, 0.10); }
`;
