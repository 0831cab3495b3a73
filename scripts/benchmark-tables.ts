/**
 * Reads the Markdown tables of the generated sections of docs/benchmarks.md, so other files can
 * quote a measured figure by where it sits (section, heading, row, column) instead of copying it.
 */
import { sectionMarkers } from "../bench/report.js";

/**
 * One Markdown table: its caption (the nearest `##`–`####` heading above it, or a paragraph that
 * opens in bold, such as "**T1 apply** (…)", with the asterisks dropped), header cells and rows.
 */
export interface BenchmarkTable {
  readonly heading: string;
  readonly header: readonly string[];
  readonly rows: readonly (readonly string[])[];
}

/** Where a figure sits: a cell of a table in a generated section. */
export interface CellRef {
  /** Section name, as in `<!-- B3:start -->`. */
  readonly section: string;
  /** The table's caption (heading or bold-led paragraph above it) starts with this (optional). */
  readonly heading?: string;
  /** The row whose cells in these columns equal these texts. */
  readonly row: Readonly<Record<string, string>>;
  /** The column to read. */
  readonly column: string;
  /** Which of several matching tables, in page order (default: exactly one must match). */
  readonly nth?: number;
}

/** The body between a section's markers; throws naming the section when it is missing. */
export function sectionBody(page: string, section: string): string {
  const { start, end } = sectionMarkers(section);
  const from = page.indexOf(start);
  const to = from === -1 ? -1 : page.indexOf(end, from);
  if (from === -1 || to === -1) throw new Error(`docs/benchmarks.md has no section ${section}`);
  return page.slice(from + start.length, to);
}

function cells(line: string): string[] {
  return line
    .trim()
    .replace(/^\|/, "")
    .replace(/\|$/, "")
    .split("|")
    .map((cell) => cell.trim());
}

/** Every table of a section body, with its caption. */
export function parseTables(body: string): BenchmarkTable[] {
  const tables: BenchmarkTable[] = [];
  let heading = "";
  let current: string[][] | undefined;
  for (const line of body.split("\n")) {
    const isRow = line.trimStart().startsWith("|");
    if (!isRow) {
      if (current !== undefined) {
        const [header, , ...rows] = current;
        tables.push({ heading, header: header ?? [], rows });
        current = undefined;
      }
      const title = /^#{2,4}\s+(.*)$/.exec(line.trim());
      if (title !== null) heading = title[1]!;
      else if (line.startsWith("**")) heading = line.replaceAll("**", "").trim();
      continue;
    }
    if (current === undefined) current = [];
    current.push(cells(line));
  }
  if (current !== undefined) {
    const [header, , ...rows] = current;
    tables.push({ heading, header: header ?? [], rows });
  }
  return tables;
}

function describe(ref: CellRef): string {
  const row = Object.entries(ref.row)
    .map(([column, value]) => `${column} = ${JSON.stringify(value)}`)
    .join(", ");
  const heading = ref.heading === undefined ? "" : ` under "${ref.heading}…"`;
  return `${ref.section}${heading}: column "${ref.column}" of the row where ${row}`;
}

/** The text of the cell `ref` points at; throws (naming the reference) unless exactly one cell matches. */
export function readCell(page: string, ref: CellRef): string {
  const tables = parseTables(sectionBody(page, ref.section)).filter(
    (table) =>
      (ref.heading === undefined || table.heading.startsWith(ref.heading)) &&
      table.header.includes(ref.column) &&
      Object.keys(ref.row).every((column) => table.header.includes(column)),
  );
  const found: string[] = [];
  tables.forEach((table, index) => {
    if (ref.nth !== undefined && index !== ref.nth) return;
    for (const row of table.rows) {
      const matches = Object.entries(ref.row).every(
        ([column, value]) => row[table.header.indexOf(column)] === value,
      );
      if (matches) found.push(row[table.header.indexOf(ref.column)] ?? "");
    }
  });
  if (found.length !== 1) {
    throw new Error(`${found.length === 0 ? "no" : "more than one"} cell matches ${describe(ref)}`);
  }
  return found[0]!;
}

/**
 * The first capture of `pattern` in the text of a section after `anchor` (e.g. a caption), for
 * figures a benchmark writes in a sentence rather than a table; throws naming what is missing.
 */
export function readAfter(page: string, section: string, anchor: string, pattern: RegExp): string {
  const body = sectionBody(page, section);
  const from = body.indexOf(anchor);
  if (from === -1) throw new Error(`${section} has no "${anchor}"`);
  const match = pattern.exec(body.slice(from));
  if (match?.[1] === undefined) throw new Error(`${section}: nothing matches ${pattern} after "${anchor}"`);
  return match[1];
}
