import { appendFileSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Browser, Page } from "playwright-core";
import { asyncScheduler, type SchedulerAction, VirtualAction, VirtualTimeScheduler } from "rxjs";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import type { AuditEvent } from "../src/audit/events.js";
import { DEMO_UNITS, type DemoService, startDemoService } from "../src/dashboard/demo-service.js";
import { createEngine, type Engine } from "../src/index.js";
import { type DashboardServer, serveDashboard } from "../src/node.js";
import { launchBrowser, screenshotPath } from "./support/browser.js";

// The browser tests run engines in real time (one digest every 20 ms) and wait on conditions of
// the page, with timeouts; they never sleep.
const WAIT = { timeout: 20_000 };

let browser: Browser;

beforeAll(async () => {
  browser = await launchBrowser();
}, 60_000);

afterAll(async () => {
  await browser?.close();
});

/** Waits until the chart in `selector` has drawn at least `n` x values. */
function waitForPoints(page: Page, selector: string, n: number) {
  return page.waitForFunction(
    ([s, min]) => Number(document.querySelector(s)?.getAttribute("data-points")) >= min,
    [selector, n] as const,
    WAIT,
  );
}

/** The tick labels a chart drew on one axis. */
async function ticks(page: Page, selector: string, axis: "x" | "y"): Promise<string[]> {
  const text = await page.getAttribute(selector, `data-${axis}-ticks`);
  return (text ?? "").split("|").filter((t) => t !== "");
}

/**
 * A user's service, written as an application would: its own knobs and cost, an engine from
 * `createEngine`, digests fed from a timer. Only the package's public entry points are used.
 */
function startUserService(): { engine: Engine; stop: () => Promise<void> } {
  const engine = createEngine({
    seed: 21,
    runId: "user-cache",
    params: {
      cacheMb: { min: 16, max: 1024, init: 64, maxDelta: 40 },
      workers: { min: 1, max: 32, init: 4, maxDelta: 2 },
    },
    spsa: { a: "auto", c: 0.03, calibrationIterations: 4 },
    guardrails: "balanced",
    scheduler: asyncScheduler,
  });
  let k = 0;
  let running = true;
  const timer = asyncScheduler.schedule(function tick(this: SchedulerAction<unknown>) {
    if (!running) return;
    const [cacheMb, workers] = engine.values;
    const latency = 40 + 30 / Math.sqrt(cacheMb! / 16) + 2 * Math.abs(workers! - 12) + 0.5 * Math.sin(k++);
    engine.observe({ objective: latency, generation: engine.generation, timestamp: engine.now() });
    this.schedule(undefined, 20);
  }, 20);
  return {
    engine,
    stop: async () => {
      running = false;
      timer.unsubscribe();
      engine.flushEvents();
    },
  };
}

/** The mean objective of the windows measured at `engine`'s starting values, from its events. */
/** Significant digits of each number in `text` (leading zeros and exponents not counted). */
function significantDigits(text: string): number[] {
  return [...text.matchAll(/\d+\.\d+|\d+/g)].map((m) => m[0].replace(".", "").replace(/^0+/, "").length);
}

/** How many windows {@link baselineFromEvents} averages. */
function baselineWindows(events: readonly AuditEvent[], start: Readonly<Record<string, number>>): number {
  const valuesAt = new Map<number, Readonly<Record<string, number>>>([[0, start]]);
  const same = (v: Readonly<Record<string, number>> | undefined) =>
    v !== undefined && Object.keys(start).every((k) => v[k] === start[k]);
  let count = 0;
  for (const e of events) {
    if ((e.type === "apply" || e.type === "rollback") && e.values !== undefined)
      valuesAt.set(e.generation, e.values);
    if (e.type === "window.closed" && Number.isFinite(e.value) && same(valuesAt.get(e.generation))) count++;
  }
  return count;
}

function baselineFromEvents(events: readonly AuditEvent[], start: Readonly<Record<string, number>>): number {
  const valuesAt = new Map<number, Readonly<Record<string, number>>>([[0, start]]);
  const same = (v: Readonly<Record<string, number>> | undefined) =>
    v !== undefined && Object.keys(start).every((k) => v[k] === start[k]);
  let sum = 0;
  let count = 0;
  for (const e of events) {
    if ((e.type === "apply" || e.type === "rollback") && e.values !== undefined)
      valuesAt.set(e.generation, e.values);
    if (e.type === "window.closed" && Number.isFinite(e.value) && same(valuesAt.get(e.generation))) {
      sum += e.value;
      count++;
    }
  }
  return sum / count;
}

describe("dashboard in chromium", () => {
  it("shows a user's engine through the public API: ticks, units, the measured baseline, statecharts", async () => {
    const user = startUserService();
    const start = { cacheMb: 64, workers: 4 };
    const events: AuditEvent[] = [];
    user.engine.events.subscribe((e) => events.push(e));
    const server: DashboardServer = await serveDashboard(
      { engine: user.engine, units: { objective: "ms", params: { cacheMb: "MiB", workers: "threads" } } },
      { snapshotEveryMs: 200 },
    );
    const page = await browser.newPage({ viewport: { width: 1280, height: 1400 } });
    const errors: string[] = [];
    page.on("pageerror", (error) => errors.push(error.message));
    try {
      await page.goto(server.url);
      await waitForPoints(page, "#objective-chart", 12);
      await waitForPoints(page, '#param-charts [data-param="cacheMb"]', 3);

      // Axes: numeric ticks on both axes, labelled with their units; gridlines and a hover legend.
      const xTicks = await ticks(page, "#objective-chart", "x");
      const yTicks = await ticks(page, "#objective-chart", "y");
      expect(xTicks.length).toBeGreaterThanOrEqual(3);
      expect(yTicks.length).toBeGreaterThanOrEqual(3);
      for (const tick of [...xTicks, ...yTicks]) expect(tick).toMatch(/^-?\d+(\.\d+)?(e[+-]\d+)?$/);
      expect(yTicks.every((t) => t.replace(/^-/, "").length <= 6)).toBe(true); // no 17-digit floats
      expect(await page.getAttribute("#objective-chart", "data-y-label")).toBe("objective (ms)");
      expect(await page.getAttribute("#objective-chart", "data-x-label")).toBe("time since start (s)");
      expect(await page.getAttribute('#param-charts [data-param="cacheMb"]', "data-y-label")).toBe(
        "cacheMb (MiB)",
      );
      expect(await page.textContent("#objective-chart .u-legend")).toContain("objective (ms)");
      expect(await page.textContent("#config-table")).toMatch(/workers\s*\d+(\.\d+)? threads/);
      expect(await ticks(page, '#param-charts [data-param="workers"]', "y")).not.toEqual([]);

      // Hover: the legend shows the value under the cursor.
      const box = (await page.locator("#objective-chart .u-over").boundingBox())!;
      await page.mouse.move(box.x + box.width * 0.6, box.y + box.height / 2);
      await page.waitForFunction(
        () =>
          /\d/.test(document.querySelectorAll("#objective-chart .u-legend .u-value")[1]?.textContent ?? ""),
        null,
        WAIT,
      );
      // Zoom: dragging across the plot narrows the x ticks' range.
      const before = Number(xTicks.at(-1)) - Number(xTicks[0]);
      await page.mouse.move(box.x + box.width * 0.2, box.y + box.height / 2);
      await page.mouse.down();
      await page.mouse.move(box.x + box.width * 0.4, box.y + box.height / 2, { steps: 4 });
      await page.mouse.up();
      const zoomed = await ticks(page, "#objective-chart", "x");
      expect(Number(zoomed.at(-1)) - Number(zoomed[0])).toBeLessThan(before);
      await page.dblclick("#objective-chart .u-over");

      // The SPSA statechart from machines/ highlights the live phase.
      const phase = (await page.textContent("#phase"))!;
      expect(phase).toMatch(/^cycle\.|^stalled$/);
      expect(await page.locator('[data-machine="spsa"] .sc-state.active').count()).toBeGreaterThanOrEqual(1);
      expect(
        await page.locator('[data-machine="safeMode"] .sc-state.active[data-path="normal"]').count(),
      ).toBe(1);

      // The baseline: the objective measured at the starting configuration, labelled, not the first window.
      await user.stop();
      // Digests stopped, so no more windows close; the page catches up with the events seen here.
      await vi.waitFor(
        async () => {
          expect(await page.getAttribute("#objective-chart", "data-baseline-kind")).toBe("measured");
          const shown = Number(await page.getAttribute("#objective-chart", "data-baseline-value"));
          expect(shown).toBeCloseTo(baselineFromEvents(events, start), 9);
        },
        { timeout: 20_000, interval: 100 },
      );
      const windows = events.filter((e) => e.type === "window.closed");
      expect(windows.length).toBeGreaterThan(3);
      expect(await page.textContent("#baseline-label")).toMatch(
        /mean objective of the \d+ windows? measured at the baseline configuration/,
      );
      expect(await page.textContent("#objective-chart .u-legend")).toContain("baseline (measured) (ms)");
      await page.screenshot({ path: screenshotPath("dashboard-user-engine"), fullPage: true });
      expect(await page.textContent("#source")).toBe("live engine");
      // Closed while the page is open: the badge says so, rather than "live engine" in green.
      await user.engine.close();
      await page.waitForFunction(
        () => document.querySelector("#source")?.textContent === "live engine, closed",
        null,
        WAIT,
      );
      expect(await page.getAttribute("#source", "class")).toBe("badge error");
      expect(errors).toEqual([]);
    } finally {
      await page.close();
      await server.close();
      await user.engine.close();
    }
  }, 90_000);

  describe("demo engine with its untuned twin", () => {
    let demo: DemoService;
    let live: DashboardServer;
    beforeAll(async () => {
      demo = startDemoService({ scheduler: asyncScheduler, seed: 5 });
      live = await serveDashboard(
        { engine: demo.engine, units: DEMO_UNITS, twin: demo.twin },
        { snapshotEveryMs: 200 },
      );
    });
    afterAll(async () => {
      await live?.close();
      await demo?.stop();
    });

    it("draws the twin as the baseline, filters the audit table, and halts from the page", async () => {
      const page = await browser.newPage({ viewport: { width: 1280, height: 1400 } });
      const errors: string[] = [];
      page.on("pageerror", (error) => errors.push(error.message));
      await page.goto(`${live.url}#token=${live.token}`);
      await page.waitForFunction(() => location.hash === "", null, WAIT); // the token leaves the address bar
      await waitForPoints(page, "#objective-chart", 8);
      await page.waitForSelector('#objective-chart[data-baseline-kind="twin"]', WAIT);
      expect(await page.textContent("#objective-chart .u-legend")).toContain("untuned twin (ms)");
      expect(await page.textContent("#baseline")).toMatch(/^\d+(\.\d+)? ms \(untuned twin, latest\)$/);
      expect(await page.getAttribute("#mode", "data-mode")).toBe("normal");
      expect(await page.textContent("#source")).toBe("live engine");
      expect(await page.isVisible("#control-panel")).toBe(true);
      expect(await page.locator("#mode-timeline rect.segment.mode-normal").count()).toBeGreaterThanOrEqual(1);

      // Audit details are readable: no long floats, times relative to the start.
      await page.waitForFunction(
        () => document.querySelectorAll("#audit-table tbody tr").length >= 10,
        null,
        WAIT,
      );
      const details = await page.$$eval("#audit-table tbody td:last-child", (cells) =>
        cells.map((c) => c.textContent ?? ""),
      );
      // Readable numbers: at most 4 significant digits (a raw double shows up to 17).
      for (const text of details)
        for (const digits of significantDigits(text)) expect(digits, text).toBeLessThanOrEqual(4);
      const times = await page.$$eval("#audit-table tbody td:nth-child(2)", (cells) =>
        cells.map((c) => c.textContent ?? ""),
      );
      for (const text of times) expect(text).toMatch(/^\+\d+(\.\d+)? s$|^\+\d+ min \d\d s$/);

      await page.selectOption("#audit-type", "window.closed");
      const types = await page.$$eval("#audit-table tbody tr", (rows) =>
        rows.map((r) => r.getAttribute("data-type")),
      );
      expect(types.length).toBeGreaterThan(0);
      expect(new Set(types)).toEqual(new Set(["window.closed"]));
      await page.selectOption("#audit-type", "");
      await page.fill("#audit-text", "kind=plus");
      const filtered = await page.$$eval("#audit-table tbody tr", (rows) =>
        rows.map((r) => r.textContent ?? ""),
      );
      expect(filtered.length).toBeGreaterThan(0);
      expect(filtered.every((text) => text.includes("kind=plus"))).toBe(true);
      await page.fill("#audit-text", "");
      await page.screenshot({ path: screenshotPath("dashboard-live"), fullPage: true });

      await page.fill("#halt-reason", "browser test halt");
      await page.click("#halt-button");
      await page.waitForSelector('#mode[data-mode="halted"]', WAIT);
      expect(demo.engine.mode).toBe("halted");
      expect(demo.engine.snapshot().reasons).toContain("manualHalt");
      await page.waitForFunction(
        () =>
          [...document.querySelectorAll("#mode-changes li")].some((li) => li.textContent?.includes("halted")),
        null,
        WAIT,
      );
      const changes = await page.textContent("#mode-changes");
      expect(changes).toContain("normal → halted (manualHalt)");
      expect(changes).toContain("browser test halt");
      await page.waitForSelector("#mode-timeline rect.segment.mode-halted", WAIT);
      await page.waitForSelector('[data-machine="safeMode"] .sc-state.active[data-path="halted"]', WAIT);
      expect(await page.textContent("#control-status")).toContain("halt done");
      expect(errors).toEqual([]);
      await page.close();
    }, 90_000);

    it("asks for the token when the URL has none, and shows a refused control", async () => {
      const page = await browser.newPage();
      await page.goto(live.url);
      await page.waitForSelector("body[data-ready]", WAIT);
      const asked: string[] = [];
      page.once("dialog", (dialog) => {
        asked.push(dialog.message());
        void dialog.accept("0".repeat(32)); // a wrong token
      });
      await page.click("#rollback-button");
      await page.waitForFunction(
        () => document.querySelector("#control-status")?.textContent?.includes("403"),
        null,
        WAIT,
      );
      expect(asked[0]).toContain("token");
      page.once("dialog", (dialog) => void dialog.accept(live.token));
      const generation = demo.engine.generation;
      await page.click("#rollback-button");
      await page.waitForFunction(
        () => document.querySelector("#control-status")?.textContent?.includes("rollback done"),
        null,
        WAIT,
      );
      expect(demo.engine.generation).toBeGreaterThan(generation);
      // An empty acknowledgement is refused by the server, naming the field.
      await page.fill("#reset-ack", "");
      await page.click("#reset-button");
      await page.waitForFunction(
        () => document.querySelector("#control-status")?.textContent?.includes("acknowledge"),
        null,
        WAIT,
      );
      expect(demo.engine.mode).toBe("halted");
      await page.fill("#reset-ack", "browser test: on call engineer");
      await page.click("#reset-button");
      await page.waitForSelector('#mode[data-mode="normal"]', WAIT);
      expect(demo.engine.mode).toBe("normal");
      await page.close();
    }, 60_000);
  });

  it("shows a recording read-only, with its SPSA phase and statechart", async () => {
    // A recording made in virtual time: 6 s of the demo, at once.
    const clock = new VirtualTimeScheduler(VirtualAction, 6000);
    const events: AuditEvent[] = [];
    const run = startDemoService({ scheduler: clock, seed: 9 });
    run.engine.events.subscribe((event) => events.push(event));
    clock.flush();
    run.engine.halt("recorded halt");
    run.engine.flushEvents();
    const final = run.engine.snapshot();
    await run.stop();
    const dir = mkdtempSync(join(tmpdir(), "arqon-browser-"));
    const file = join(dir, "run.jsonl");
    writeFileSync(file, events.map((e) => `${JSON.stringify(e)}\n`).join(""));
    const server = await serveDashboard({ log: file, units: DEMO_UNITS });
    try {
      const page = await browser.newPage({ viewport: { width: 1280, height: 1200 } });
      await page.goto(server.url);
      const windows = new Set(events.filter((e) => e.type === "window.closed").map((e) => e.time)).size;
      await waitForPoints(page, "#objective-chart", windows);
      expect(await page.isVisible("#control-panel")).toBe(false);
      expect(await page.textContent("#source")).toBe("recording (read-only)");
      expect(await page.getAttribute("#mode", "data-mode")).toBe("halted");
      expect(await page.textContent("#mode-changes")).toContain("recorded halt");
      // The recording ends halted, so its SPSA cycle is paused, as the live engine's is.
      expect(await page.textContent("#phase")).toBe(final.phase);
      expect(await page.textContent("#phase")).toBe("paused");
      expect(await page.textContent("#iteration")).toBe(String(final.iteration));
      // The statechart is drawn after the panel's text: wait for its highlight, as for a live engine.
      await page.waitForSelector('[data-machine="spsa"] .sc-state.active[data-path="paused"]', WAIT);
      expect(await page.locator('[data-machine="spsa"] .sc-state.active[data-path="paused"]').count()).toBe(
        1,
      );
      // A recording carries no values for its start, yet its baseline is every window measured there.
      expect(await page.getAttribute("#objective-chart", "data-baseline-kind")).toBe("measured");
      const shown = Number(await page.getAttribute("#objective-chart", "data-baseline-value"));
      expect(shown).toBeCloseTo(baselineFromEvents(events, { batchSize: 16, timeoutMs: 300 }), 9);
      // The label says how many windows the baseline averages: those the events show at the start values.
      const atBaseline = baselineWindows(events, { batchSize: 16, timeoutMs: 300 });
      expect(atBaseline).toBeGreaterThanOrEqual(1);
      expect(await page.textContent("#baseline-label")).toContain(
        `the ${atBaseline} window${atBaseline === 1 ? "" : "s"} measured at the baseline configuration`,
      );
      await page.screenshot({ path: screenshotPath("dashboard-recording"), fullPage: true });
      // A malformed line appended ends the following: the page says so instead of looking followed.
      appendFileSync(file, "{oops\n");
      await page.waitForSelector("#source.error", WAIT);
      expect(await page.textContent("#source")).toContain(
        `recording, no longer followed: ${file}:${events.length + 1}: not JSON`,
      );
      await page.close();
    } finally {
      await server.close();
      rmSync(dir, { recursive: true, force: true });
    }
  }, 60_000);
});
