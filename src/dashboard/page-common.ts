/**
 * Helpers shared by the dashboard and the study page (`/common.js`): number and time formatting
 * and a thin layer over uPlot (axes with units, gridlines, hover legend, drag-to-zoom,
 * double-click to reset), loaded as a classic script before the page's own.
 *
 * @remarks
 * Kept as a string (no build step) and written without template literals so it can live in one.
 * It defines one global, `arqonCharts`.
 */

/** Source of `/common.js`. */
export const COMMON_SCRIPT = String.raw`
(function () {
  "use strict";

  // Four significant digits; exponent form only for very large or very small magnitudes.
  function fmt(x) {
    if (typeof x !== "number" || !isFinite(x)) return "n/a";
    if (x === 0) return "0";
    var a = Math.abs(x);
    if (a >= 1e6 || a < 1e-3) return x.toExponential(2);
    return String(Number(x.toPrecision(4)));
  }

  // Six significant digits, for values compared near an optimum (a study's results).
  function precise(x) {
    if (typeof x !== "number" || !isFinite(x)) return "n/a";
    var a = Math.abs(x);
    if (x !== 0 && (a >= 1e9 || a < 1e-4)) return x.toExponential(4);
    return String(Number(x.toPrecision(6)));
  }

  // Engine clocks count either from 0 (virtual, or a process clock) or from the Unix epoch.
  function isEpoch(ms) { return typeof ms === "number" && ms > 946684800000; }

  // A duration in seconds, e.g. "12.3 s", "4 min 05 s".
  function seconds(s) {
    if (typeof s !== "number" || !isFinite(s)) return "n/a";
    var sign = s < 0 ? "\u2212" : "";
    s = Math.abs(s);
    if (s < 60) return sign + fmt(s) + " s";
    var m = Math.floor(s / 60), r = Math.round(s - m * 60);
    if (r === 60) { m++; r = 0; }
    if (m < 60) return sign + m + " min " + (r < 10 ? "0" : "") + r + " s";
    var h = Math.floor(m / 60);
    return sign + h + " h " + (m % 60) + " min";
  }

  // "+12.3 s" since origin, with the absolute time (ISO when the clock is the epoch) as a tooltip.
  function timeCell(ms, origin) {
    var text = "+" + seconds((ms - origin) / 1000);
    var title = isEpoch(ms) ? new Date(ms).toISOString() : "engine clock " + fmt(ms) + " ms";
    return { text: text, title: title };
  }

  function withUnit(label, unit) { return unit ? label + " (" + unit + ")" : label; }

  var palette = ["#2563eb", "#9a3412", "#16a34a", "#7c3aed", "#db2777", "#0891b2"];

  // A uPlot chart inside "box". spec: { xLabel, yLabel, height, xLog, xTick, xValue, sync, series:
  // [{ label, color, dash, points, stepped, pointsOnly }] }. The box records the tick labels it
  // drew in data-x-ticks / data-y-ticks (for tests and screen readers) and keeps the user's zoom
  // across data updates until a double-click resets it.
  function Chart(box, spec) {
    var self = this;
    this.box = box;
    this.zoomed = false;
    var series = [{ label: spec.xLabel, value: function (u, v) { return v == null ? "\u2013" : spec.xValue ? spec.xValue(v) : fmt(v); } }];
    for (var i = 0; i < spec.series.length; i++) {
      var s = spec.series[i];
      var one = {
        label: s.label,
        stroke: s.color || palette[i % palette.length],
        width: s.width || 1.5,
        spanGaps: true,
        value: function (u, v) { return v == null ? "\u2013" : fmt(v); }
      };
      if (s.dash) one.dash = s.dash;
      if (s.stepped) one.paths = uPlot.paths.stepped({ align: 1 });
      if (s.pointsOnly) { one.paths = function () { return null; }; one.points = { show: true, size: 6, fill: one.stroke }; }
      else one.points = { show: s.points === true, size: 4 };
      series.push(one);
    }
    function ticks(axis) {
      return function (u, splits) {
        var out = splits.map(function (v) { return v == null ? "" : axis === "x" && spec.xTick ? spec.xTick(v) : fmt(v); });
        box.setAttribute("data-" + axis + "-ticks", out.join("|"));
        return out;
      };
    }
    var opts = {
      width: Math.max(300, box.clientWidth || 600),
      height: spec.height || 220,
      scales: { x: spec.xLog ? { time: false, distr: 3 } : { time: false } },
      series: series,
      axes: [
        { label: spec.xLabel, values: ticks("x"), grid: { show: true }, ticks: { show: true } },
        { label: spec.yLabel, values: ticks("y"), grid: { show: true }, ticks: { show: true }, size: 64 }
      ],
      cursor: { drag: { x: true, y: false } },
      legend: { show: true, live: true },
      hooks: { setSelect: [function (u) { if (u.select.width > 0) self.zoomed = true; }] }
    };
    if (spec.sync) opts.cursor.sync = { key: spec.sync };
    this.plot = new uPlot(opts, [[]].concat(spec.series.map(function () { return []; })), box);
    box.setAttribute("data-y-label", spec.yLabel);
    box.setAttribute("data-x-label", spec.xLabel);
    box.addEventListener("dblclick", function () { self.zoomed = false; });
  }
  Chart.prototype.setData = function (data) {
    this.plot.setData(data, !this.zoomed);
    this.box.setAttribute("data-points", String(data[0].length));
  };
  Chart.prototype.resize = function () {
    var w = Math.max(300, this.box.clientWidth || 600);
    if (Math.abs(w - this.plot.width) > 2) this.plot.setSize({ width: w, height: this.plot.height });
  };

  window.arqonCharts = { fmt: fmt, precise: precise, seconds: seconds, timeCell: timeCell, isEpoch: isEpoch, withUnit: withUnit, Chart: Chart };
})();
`;
