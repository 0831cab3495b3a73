import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { replaceSection } from "../bench/report.js";
import { parseTables, readCell, sectionBody } from "../scripts/benchmark-tables.js";
import { REPO_ROOT } from "../scripts/generated-files.js";
import { README_SECTION, renderReadmeFigures } from "../scripts/readme-figures.js";

const read = (path: string): string => readFileSync(join(REPO_ROOT, path), "utf8");

describe("README figures", () => {
  it("are exactly the cells of docs/benchmarks.md they name (run scripts/readme-figures.ts)", () => {
    const readme = read("README.md");
    const expected = replaceSection(
      readme,
      README_SECTION,
      renderReadmeFigures(read("docs/benchmarks.md")).trim(),
    );
    expect(readme, "README.md is stale: run npx tsx scripts/readme-figures.ts").toBe(expected);
  });

  it("change when the benchmark page changes", () => {
    const page = read("docs/benchmarks.md");
    const before = renderReadmeFigures(page);
    const hartmann = readCell(page, {
      section: "B1",
      heading: "Development half regret",
      row: { problem: "Hartmann-6", budget: "100" },
      column: "arqon auto",
    });
    const edited = page.replace(
      `| Hartmann-6                | 100    | ${hartmann}`,
      `| Hartmann-6                | 100    | 9.99e-9 [1e-9–1e-8]${" ".repeat(Math.max(0, hartmann.length - 19))}`,
    );
    expect(edited).not.toBe(page);
    const after = renderReadmeFigures(edited);
    expect(after).not.toBe(before);
    expect(after).toContain("| Hartmann-6 (development), regret @100 | 9.99e-9 |");
  });
});

describe("benchmark table lookup", () => {
  const page = [
    "<!-- S:start -->",
    "### First table",
    "",
    "| name | value |",
    "|------|-------|",
    "| a    | 1     |",
    "| b    | 2     |",
    "",
    "**Second** (captioned by a bold paragraph):",
    "",
    "| name | value |",
    "|------|-------|",
    "| a    | 3     |",
    "<!-- S:end -->",
  ].join("\n");

  it("parses every table with its caption", () => {
    const tables = parseTables(sectionBody(page, "S"));
    expect(tables.map((t) => t.heading)).toEqual(["First table", "Second (captioned by a bold paragraph):"]);
    expect(tables[0]!.rows).toEqual([
      ["a", "1"],
      ["b", "2"],
    ]);
  });

  it("reads one cell by caption, row and column", () => {
    expect(readCell(page, { section: "S", heading: "First", row: { name: "b" }, column: "value" })).toBe("2");
    expect(readCell(page, { section: "S", heading: "Second", row: { name: "a" }, column: "value" })).toBe(
      "3",
    );
    expect(readCell(page, { section: "S", row: { name: "a" }, column: "value", nth: 1 })).toBe("3");
  });

  it("refuses an ambiguous or missing cell, naming it, instead of quoting a wrong number", () => {
    expect(() => readCell(page, { section: "S", row: { name: "a" }, column: "value" })).toThrow(
      'more than one cell matches S: column "value" of the row where name = "a"',
    );
    expect(() => readCell(page, { section: "S", row: { name: "z" }, column: "value" })).toThrow(
      /^no cell matches/,
    );
    expect(() => readCell(page, { section: "T", row: { name: "a" }, column: "value" })).toThrow(
      "no section T",
    );
  });
});
