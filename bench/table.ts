/**
 * Markdown tables and number formatting shared by the benchmarks: the same text is printed to
 * the console and written to `docs/benchmarks.md`.
 */
import { recordFailedGate } from "./gates.js";

/** A GitHub-flavoured Markdown table with padded columns (readable as plain text too). */
export function markdownTable(header: readonly string[], rows: readonly (readonly string[])[]): string {
  const widths = header.map((cell, column) =>
    Math.max(3, cell.length, ...rows.map((row) => (row[column] ?? "").length)),
  );
  const line = (cells: readonly string[]): string =>
    `| ${widths.map((width, column) => (cells[column] ?? "").padEnd(width)).join(" | ")} |`;
  const rule = `|${widths.map((width) => "-".repeat(width + 2)).join("|")}|`;
  return [line(header), rule, ...rows.map(line)].join("\n");
}

/** A value with 3 significant digits; tiny and huge values in exponent form, 0 as "0". */
export function formatValue(value: number): string {
  if (value === 0) return "0";
  if (!Number.isFinite(value)) return String(value);
  const magnitude = Math.abs(value);
  if (magnitude < 1e-3 || magnitude >= 1e5) return value.toExponential(2).replace("e+", "e");
  return Number(value.toPrecision(3)).toString();
}

/** Nanoseconds as microseconds without the unit (12345 → "12.3"; the header names the unit); NaN → "–". */
export function formatMicros(nanoseconds: number): string {
  if (Number.isNaN(nanoseconds)) return "–";
  const micros = nanoseconds / 1000;
  if (micros >= 100) return Math.round(micros).toLocaleString("en-US");
  return micros.toFixed(1);
}

/**
 * A ratio such as "38×" (or "0.8×"; "0.82×" with `decimals` 2, for a figure read against a line
 * such as 1.5× that one decimal would round onto).
 */
export function formatRatio(ratio: number, decimals = 1): string {
  if (!Number.isFinite(ratio)) return "–";
  if (ratio >= 1000) return `${ratio.toExponential(1).replace("e+", "e")}×`;
  return ratio >= 10 ? `${Math.round(ratio)}×` : `${ratio.toFixed(decimals)}×`;
}

/**
 * A gate's verdict, "PASS" or "FAIL". A FAIL is counted in the gate ledger, so `npm run bench`
 * exits non-zero; use it only for gates (a comparison row that misses a target is not one).
 */
export function verdict(pass: boolean): string {
  if (!pass) recordFailedGate();
  return pass ? "PASS" : "FAIL";
}
