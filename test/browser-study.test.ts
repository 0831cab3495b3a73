import { mkdtempSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Browser, Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createSolver, type Solver } from "../src/index.js";
import { serveStudy } from "../src/node.js";
import { launchBrowser } from "./support/browser.js";

// The study page in chromium: what it shows of a mixed space, a study replaced under it and a
// server that went away. It waits on conditions of the page, with timeouts; it never sleeps.
const WAIT = { timeout: 20_000 };

let browser: Browser;
const dirs: string[] = [];

beforeAll(async () => {
  browser = await launchBrowser();
}, 60_000);

afterAll(async () => {
  await browser?.close();
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});

const MIXED = {
  seed: 3,
  budget: 30,
  bounds: {
    lr: { min: 0.001, max: 1, scale: "log" as const },
    opt: { type: "categorical" as const, choices: ["sgd", "adam", { name: "rms" }] },
    momentum: { min: 0, max: 0.9, when: { opt: ["sgd"] } },
  },
};

/** Asks and tells `trials` trials; the second one is pruned. */
function run(solver: Solver, trials: number): void {
  for (let told = 0; told < trials; ) {
    for (const trial of solver.ask({ max: 1 }) ?? []) {
      const p = trial.params as { lr: number; opt: unknown; momentum?: number };
      const cost = Math.log10(p.lr) ** 2 + (p.opt === "adam" ? 0 : 1) + (p.momentum ?? 0);
      if (told === 1) {
        solver.report(trial.id, 1, cost + 5);
        solver.tell({ id: trial.id, pruned: true });
      } else solver.tell({ id: trial.id, value: cost });
      told++;
    }
  }
}

/** Writes `state` at `file` as a whole (renamed into place), as a solver's snapshot file is saved. */
function save(file: string, state: unknown): void {
  writeFileSync(`${file}.tmp`, JSON.stringify(state));
  renameSync(`${file}.tmp`, file);
}

function waitForVersion(page: Page, above: number) {
  return page.waitForFunction((v) => Number(document.body.getAttribute("data-version")) > v, above, WAIT);
}

describe("study page in chromium", () => {
  it("shows a mixed space's choices, drops a replaced study's slices, and says when the server is gone", async () => {
    const dir = mkdtempSync(join(tmpdir(), "arqon-study-page-"));
    dirs.push(dir);
    const file = join(dir, "study.json");
    const solver = createSolver(MIXED);
    run(solver, 12);
    save(file, solver.toJSON());
    const server = await serveStudy(file, { intervalMs: 20 });
    const page = await browser.newPage({ viewport: { width: 1280, height: 1400 } });
    const errors: string[] = [];
    page.on("pageerror", (error) => errors.push(error.message));
    try {
      await page.goto(server.url);
      await waitForVersion(page, 0);

      // Choices are shown as they were asked, never as "n/a".
      const best = solver.best()!;
      const bestRows = await page.$$eval("#best-table tbody tr", (rows) =>
        rows.map((r) => [...r.querySelectorAll("td")].map((td) => td.textContent)),
      );
      const optRow = bestRows.find((r) => r[0] === "opt")!;
      expect(optRow[1]).toBe(JSON.stringify(best.params.opt));
      expect(optRow[2]).toBe("one of 3 choices");
      const cells = await page.$$eval("#trial-table tbody tr td:nth-child(5)", (tds) =>
        tds.map((td) => td.textContent ?? ""),
      );
      expect(cells).toHaveLength(12);
      expect(cells.join(" ")).not.toContain("n/a");
      expect(cells.some((c) => c.includes('opt = "adam"'))).toBe(true);

      // A pruned trial is counted as pruned, not failed, and says where it stopped.
      expect(await page.textContent("#failed")).toBe("0");
      expect(await page.textContent("#pruned")).toBe("1");
      const outcomes = await page.$$eval("#trial-table tbody tr td:nth-child(4)", (tds) =>
        tds.map((td) => td.textContent ?? ""),
      );
      expect(outcomes.filter((o) => o.startsWith("pruned at step 1"))).toHaveLength(1);
      expect(outcomes.some((o) => o.startsWith("failed"))).toBe(false);

      // The categorical's slice plots every result at its choice, with the choices as ticks.
      const slice = '#slices [data-param="opt"]';
      expect(Number(await page.getAttribute(slice, "data-points"))).toBe(11);
      const xTicks = (await page.getAttribute(slice, "data-x-ticks")) ?? "";
      expect(xTicks).toContain('"sgd"');
      expect(xTicks).toContain('"adam"');

      // Another study at the same path, with other parameters: the old slices go.
      const other = createSolver({ seed: 1, budget: 10, bounds: { x: { min: 0, max: 1 } } });
      for (const trial of other.ask({ max: 3 }) ?? []) other.tell({ id: trial.id, value: trial.params.x });
      const version = Number(await page.getAttribute("body", "data-version"));
      save(file, other.toJSON());
      await waitForVersion(page, version);
      expect(
        await page.$$eval("#slices [data-param]", (els) => els.map((e) => e.getAttribute("data-param"))),
      ).toEqual(["x"]);
      expect(await page.textContent("#study-error")).toBe("");

      // The server goes away: the page says so instead of looking live.
      await server.close();
      await page.waitForFunction(
        () => (document.getElementById("study-error")?.textContent ?? "").includes("does not answer"),
        undefined,
        WAIT,
      );
      expect(errors).toEqual([]);
      other.stop();
    } finally {
      await page.close();
      await server.close();
      solver.stop();
    }
  }, 60_000);
});
