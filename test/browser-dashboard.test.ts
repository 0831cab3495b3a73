import type { Browser, Page } from "playwright-core";
import { asyncScheduler, VirtualAction, VirtualTimeScheduler } from "rxjs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { AuditEvent } from "../src/audit/events.js";
import { type DemoService, startDemoService } from "../src/dashboard/demo-service.js";
import { engineSource } from "../src/dashboard/engine-source.js";
import { recordedSource } from "../src/dashboard/recorded-source.js";
import { type DashboardServer, serveDashboard } from "../src/dashboard/server.js";
import { launchBrowser, screenshotPath } from "./support/browser.js";

// The browser test runs the demo engine in real time (one digest every 20 ms, a window every
// 100 ms) and waits on conditions of the page, with timeouts; it never sleeps.
const WAIT = { timeout: 20_000 };

let browser: Browser;
let demo: DemoService;
let live: DashboardServer;

beforeAll(async () => {
  browser = await launchBrowser();
  demo = startDemoService({ scheduler: asyncScheduler, seed: 5 });
  live = await serveDashboard(engineSource(demo.engine), { snapshotEveryMs: 200 });
}, 60_000);

afterAll(async () => {
  await live?.close();
  await demo?.stop();
  await browser?.close();
});

/** Number of points of the series path of an SVG chart. */
function points(page: Page, chart: string): Promise<number> {
  return page.$eval(`${chart} path.series`, (path) => Number(path.getAttribute("data-points")));
}

/** Waits until the series path of `chart` has at least `n` points. */
function waitForPoints(page: Page, chart: string, n: number) {
  return page.waitForFunction(
    ([selector, min]) =>
      Number(document.querySelector(`${selector} path.series`)?.getAttribute("data-points")) >= min,
    [chart, n] as const,
    WAIT,
  );
}

describe("dashboard in chromium", () => {
  it("plots a live engine, filters the audit table, and halts it from the page", async () => {
    const page = await browser.newPage({ viewport: { width: 1280, height: 1400 } });
    const errors: string[] = [];
    page.on("pageerror", (error) => errors.push(error.message));
    await page.goto(`${live.url}#token=${live.token}`);
    // The token leaves the address bar once read.
    await page.waitForFunction(() => location.hash === "", null, WAIT);

    await waitForPoints(page, "#objective-chart", 8);
    await waitForPoints(page, '#param-charts svg[data-param="batchSize"]', 3);
    await waitForPoints(page, '#param-charts svg[data-param="timeoutMs"]', 3);
    await page.waitForFunction(
      () => document.querySelectorAll("#audit-table tbody tr").length >= 10,
      null,
      WAIT,
    );
    expect(await page.locator("#objective-chart path.baseline").count()).toBe(1);
    const path = await page.getAttribute("#objective-chart path.series", "d");
    expect(path?.match(/L/g)?.length).toBeGreaterThanOrEqual(7);
    expect(await page.textContent("#baseline")).toMatch(/^\d+(\.\d+)?$/);
    expect(await page.getAttribute("#mode", "data-mode")).toBe("normal");
    expect(await page.textContent("#source")).toBe("live engine");
    expect(await page.textContent("#config-table")).toContain("batchSize");
    const statecharts = await page.textContent("#statechart-table");
    expect(statecharts).toContain("spsa");
    expect(statecharts).toContain("safeMode");
    expect(await page.isVisible("#control-panel")).toBe(true);
    expect(await page.locator("#mode-timeline rect.segment.mode-normal").count()).toBeGreaterThanOrEqual(1);
    await page.screenshot({ path: screenshotPath("dashboard-live"), fullPage: true });

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
    expect(await page.textContent("#reasons")).toContain("manualHalt");
    await page.waitForSelector("#mode-timeline rect.segment.mode-halted", WAIT);
    expect(await page.textContent("#control-status")).toContain("halt done");
    await page.screenshot({ path: screenshotPath("dashboard-halted"), fullPage: true });
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

  it("shows a recording read-only, with its charts", async () => {
    // A recording made in virtual time: 6 s of the demo, at once.
    const clock = new VirtualTimeScheduler(VirtualAction, 6000);
    const events: AuditEvent[] = [];
    const run = startDemoService({ scheduler: clock, seed: 9 });
    run.engine.events.subscribe((event) => events.push(event));
    clock.flush();
    run.engine.halt("recorded halt");
    run.engine.flushEvents();
    await run.stop();
    const server = await serveDashboard(recordedSource(events, "virtual run"));
    try {
      const page = await browser.newPage({ viewport: { width: 1280, height: 1200 } });
      await page.goto(server.url);
      await waitForPoints(page, "#objective-chart", 20);
      expect(await points(page, "#objective-chart")).toBe(
        events.filter((e) => e.type === "window.closed").length,
      );
      expect(await page.isVisible("#control-panel")).toBe(false);
      expect(await page.textContent("#source")).toBe("recording (read-only)");
      expect(await page.getAttribute("#mode", "data-mode")).toBe("halted");
      expect(await page.textContent("#mode-changes")).toContain("recorded halt");
      await page.screenshot({ path: screenshotPath("dashboard-recording"), fullPage: true });
      await page.close();
    } finally {
      await server.close();
    }
  }, 60_000);
});
