/**
 * Takes the dashboard screenshots of the docs (docs/public/dashboard.png and
 * docs/public/dashboard-study.png) with headless chromium through playwright-core.
 *
 * Usage:
 *   npx tsx scripts/dashboard-screenshots.ts
 *
 * The dashboard shot is the built-in demo run for 90 s of virtual time (seed 7) beside its untuned
 * twin, then halted from the API so the SafeMode timeline has a change; the study shot is a solver
 * study of a two-knob function saved as a JSON state. Both are deterministic runs; only the
 * browser's rendering may differ between machines. Set ARQON_CHROMIUM to use another binary than
 * /usr/bin/chromium.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { chromium, type Page } from "playwright-core";
import { VirtualAction, VirtualTimeScheduler } from "rxjs";
import { DEMO_UNITS, startDemoService } from "../src/dashboard/demo-service.js";
import { createSolver } from "../src/index.js";
import { serveDashboard, serveStudy } from "../src/node.js";

const OUT = resolve(import.meta.dirname, "../docs/public");
const CHROMIUM = process.env.ARQON_CHROMIUM ?? "/usr/bin/chromium";

async function shootDashboard(page: Page): Promise<void> {
  const clock = new VirtualTimeScheduler(VirtualAction, 90_000);
  const demo = startDemoService({ scheduler: clock, seed: 7 });
  const server = await serveDashboard(
    { engine: demo.engine, units: DEMO_UNITS, twin: demo.twin },
    { historyLimit: 5000 },
  );
  try {
    clock.flush();
    demo.engine.halt("operator check before a deploy");
    demo.engine.flushEvents();
    await page.goto(server.url);
    await page.waitForSelector('#objective-chart[data-baseline-kind="twin"]');
    await page.waitForSelector('[data-machine="safeMode"] .sc-state.active');
    await page.screenshot({ path: join(OUT, "dashboard.png"), fullPage: true });
  } finally {
    await server.close();
    await demo.stop();
  }
}

async function shootStudy(page: Page): Promise<void> {
  const solver = createSolver({
    seed: 3,
    budget: 60,
    bounds: { cacheMb: { min: 16, max: 4096, scale: "log" }, workers: { min: 1, max: 32 } },
  });
  const latency = (p: Record<string, number>) =>
    20 + 4 * (Math.log2(p.cacheMb!) - 9) ** 2 + 0.3 * (p.workers! - 12) ** 2;
  for (let trials = solver.ask(); trials !== null && trials.length > 0; trials = solver.ask())
    solver.tell(trials.map((t) => ({ id: t.id, value: latency(t.params) })));
  const dir = mkdtempSync(join(tmpdir(), "arqon-shot-"));
  const file = join(dir, "study.json");
  writeFileSync(file, JSON.stringify(solver.toJSON()));
  solver.stop();
  const server = await serveStudy(file);
  try {
    await page.goto(server.url);
    await page.waitForSelector("body[data-version]");
    await page.evaluate(() => {
      const title = document.getElementById("title");
      if (title) title.textContent = "study.json";
    });
    await page.screenshot({ path: join(OUT, "dashboard-study.png"), fullPage: true });
  } finally {
    await server.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

mkdirSync(OUT, { recursive: true });
const browser = await chromium.launch({
  executablePath: CHROMIUM,
  headless: true,
  args: ["--no-sandbox", "--disable-gpu"],
});
try {
  const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
  await shootDashboard(page);
  await shootStudy(page);
} finally {
  await browser.close();
}
console.log(`wrote ${join(OUT, "dashboard.png")} and ${join(OUT, "dashboard-study.png")}`);
