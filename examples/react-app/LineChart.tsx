/**
 * A hand-written SVG line chart: a few series over a shared x axis, the y range fitted to the
 * data, min/max labels on each axis. No chart library; a few hundred points per series redraw
 * cheaply at the example's update rate.
 */

/** One line of a chart. */
export interface Series {
  /** Shown in the legend. */
  readonly label: string;
  /** CSS colour of the line. */
  readonly color: string;
  /** y values, one per x. */
  readonly values: readonly number[];
  /** Dashed line (e.g. for a reference such as the baseline). */
  readonly dashed?: boolean;
}

/** Props of {@link LineChart}. */
export interface LineChartProps {
  /** Title above the chart; also names it for tests (`data-chart`). */
  readonly title: string;
  /** x values shared by every series. */
  readonly xs: readonly number[];
  readonly series: readonly Series[];
  /** Unit shown after the y labels. */
  readonly unit?: string;
  readonly width?: number;
  readonly height?: number;
}

const PAD = { left: 56, right: 12, top: 10, bottom: 22 };

/** Draws `series` against `xs`; non-finite values are skipped. */
export function LineChart({ title, xs, series, unit = "", width = 560, height = 180 }: LineChartProps) {
  const finite = series.flatMap((s) => s.values.filter(Number.isFinite));
  let lo = finite.length > 0 ? Math.min(...finite) : 0;
  let hi = finite.length > 0 ? Math.max(...finite) : 1;
  if (hi - lo < 1e-9) {
    lo -= 0.5;
    hi += 0.5;
  }
  const margin = 0.05 * (hi - lo);
  lo -= margin;
  hi += margin;
  const x0 = xs[0] ?? 0;
  const x1 = xs.at(-1) ?? 1;
  const plotW = width - PAD.left - PAD.right;
  const plotH = height - PAD.top - PAD.bottom;
  const px = (x: number) => PAD.left + (x1 > x0 ? ((x - x0) / (x1 - x0)) * plotW : 0);
  const py = (y: number) => PAD.top + (1 - (y - lo) / (hi - lo)) * plotH;
  return (
    <figure className="chart" data-chart={title}>
      <figcaption>
        {title}
        {series.map((s) => (
          <span key={s.label} className="legend" style={{ color: s.color }}>
            {s.dashed ? "╌" : "—"} {s.label}
          </span>
        ))}
      </figcaption>
      <svg width={width} height={height} viewBox={`0 0 ${width} ${height}`} role="img" aria-label={title}>
        <rect x={PAD.left} y={PAD.top} width={plotW} height={plotH} className="plot-area" />
        <text x={PAD.left - 6} y={PAD.top + 10} textAnchor="end" className="tick">
          {formatNumber(hi)}
          {unit}
        </text>
        <text x={PAD.left - 6} y={PAD.top + plotH} textAnchor="end" className="tick">
          {formatNumber(lo)}
          {unit}
        </text>
        <text x={PAD.left} y={height - 6} className="tick">
          {formatNumber(x0)} s
        </text>
        <text x={width - PAD.right} y={height - 6} textAnchor="end" className="tick">
          {formatNumber(x1)} s
        </text>
        {series.map((s) => {
          const { d, points } = pathOf(xs, s.values, px, py);
          return (
            <path
              key={s.label}
              d={d}
              data-series={s.label}
              data-points={points}
              fill="none"
              stroke={s.color}
              strokeWidth={1.6}
              strokeDasharray={s.dashed ? "5 4" : undefined}
            />
          );
        })}
      </svg>
    </figure>
  );
}

/** An SVG path through the finite points, starting a new segment after a gap. */
function pathOf(
  xs: readonly number[],
  ys: readonly number[],
  px: (x: number) => number,
  py: (y: number) => number,
): { d: string; points: number } {
  const parts: string[] = [];
  let pen = "M";
  let points = 0;
  for (let i = 0; i < xs.length; i++) {
    const y = ys[i];
    if (y === undefined || !Number.isFinite(y)) {
      pen = "M";
      continue;
    }
    parts.push(`${pen}${px(xs[i]!).toFixed(1)},${py(y).toFixed(1)}`);
    pen = "L";
    points++;
  }
  return { d: parts.join(""), points };
}

function formatNumber(n: number): string {
  const a = Math.abs(n);
  return a >= 100 ? n.toFixed(0) : a >= 10 ? n.toFixed(1) : n.toFixed(2);
}
