import { mkdtemp, readFile, rm } from "node:fs/promises";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { extname, join, normalize, resolve, sep } from "node:path";
import type { Browser, Page } from "playwright-core";
import { build } from "vite";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { launchBrowser, screenshotPath } from "./support/browser.js";

// The React example (examples/react-app), built with vite and opened in chromium: its charts fill
// with data, StrictMode leaves one engine running, and Halt / Reset change the engine's mode.

const APP_ROOT = resolve(import.meta.dirname, "../examples/react-app");

const CONTENT_TYPES: Record<string, string> = {
  ".html": "text/html; charset=utf-8",
  ".js": "text/javascript; charset=utf-8",
  ".css": "text/css; charset=utf-8",
  ".svg": "image/svg+xml",
};

/**
 * Builds the example into `outDir` as a development build, so that React's StrictMode really
 * mounts the app twice (production builds skip that) and the page shows how many engines survive.
 */
async function buildExample(outDir: string): Promise<void> {
  await build({
    configFile: resolve(APP_ROOT, "vite.config.ts"),
    root: APP_ROOT,
    mode: "development",
    logLevel: "warn",
    define: { "process.env.NODE_ENV": JSON.stringify("development") },
    build: { outDir, emptyOutDir: true, minify: false, reportCompressedSize: false },
  });
}

/** A static file server for `dir` on 127.0.0.1 (a free port). */
async function serveStatic(dir: string): Promise<{ server: Server; origin: string }> {
  const server = createServer((request, response) => {
    const path = decodeURIComponent(new URL(request.url ?? "/", "http://localhost").pathname);
    const file = normalize(join(dir, path === "/" ? "index.html" : path));
    if (!file.startsWith(dir + sep)) {
      response.writeHead(403).end();
      return;
    }
    readFile(file).then(
      (body) => {
        response.writeHead(200, {
          "content-type": CONTENT_TYPES[extname(file)] ?? "application/octet-stream",
        });
        response.end(body);
      },
      () => response.writeHead(404).end(),
    );
  });
  await new Promise<void>((listening) => server.listen(0, "127.0.0.1", listening));
  const { port } = server.address() as AddressInfo;
  return { server, origin: `http://127.0.0.1:${port}` };
}

/** The number the element shows. */
async function numberIn(page: Page, testId: string): Promise<number> {
  return Number(await page.getByTestId(testId).textContent());
}

describe("the React example in chromium", () => {
  let outDir: string;
  let server: Server | undefined;
  let origin: string;
  let browser: Browser;

  beforeAll(async () => {
    outDir = await mkdtemp(join(tmpdir(), "arqon-react-app-"));
    const [, launched] = await Promise.all([buildExample(outDir), launchBrowser()]);
    browser = launched;
    ({ server, origin } = await serveStatic(outDir));
  }, 90_000);

  afterAll(async () => {
    await browser?.close();
    await new Promise((closed) => (server ? server.close(closed) : closed(undefined)));
    if (outDir) await rm(outDir, { recursive: true, force: true });
  });

  it("plots the tuning live, and Halt / Reset change the engine's mode", async () => {
    const page = await browser.newPage({ viewport: { width: 1100, height: 900 } });
    const errors: string[] = [];
    page.on("pageerror", (error) => errors.push(error.message));
    page.on("console", (message) => {
      if (message.type() === "error") errors.push(message.text());
    });
    await page.goto(`${origin}/`);

    // Accelerated time: within seconds the engine has applied proposals and every chart has data.
    await page.waitForFunction(
      () => {
        const generation = Number(document.querySelector('[data-testid="generation"]')?.textContent);
        const paths = [...document.querySelectorAll("path[data-points]")];
        return (
          generation > 3 &&
          paths.length === 4 &&
          paths.every((p) => Number(p.getAttribute("data-points")) >= 40)
        );
      },
      undefined,
      { timeout: 15_000, polling: 100 },
    );
    const charts = await page
      .locator("[data-chart]")
      .evaluateAll((figures) => figures.map((f) => f.getAttribute("data-chart")));
    expect(charts).toEqual(["objective (ms per request)", "batchSize", "timeoutMs"]);
    const series = await page
      .locator("path[data-series]")
      .evaluateAll((paths) =>
        paths.map((p) => [p.getAttribute("data-series"), p.getAttribute("d")?.length ?? 0]),
      );
    expect(series.map(([name]) => name)).toEqual(["tuned", "untuned baseline", "batchSize", "timeoutMs"]);
    for (const [, length] of series) expect(length).toBeGreaterThan(200);
    expect(await page.getByTestId("mode").textContent()).toBe("normal");
    expect(await page.getByTestId("statechart").textContent()).toMatch(
      /SPSA \S+ · SafeMode normal · actor active/,
    );
    // StrictMode mounted the app twice: the first engine was closed, one runs.
    expect(await page.getByTestId("engines").textContent()).toContain(
      "engines started on this page: 2, running: 1",
    );
    await page.screenshot({ path: screenshotPath("react-example-running") });

    await page.getByTestId("halt").click();
    await page.getByTestId("mode").filter({ hasText: "halted" }).waitFor({ timeout: 15_000 });
    expect(await page.getByTestId("reasons").textContent()).toContain("manualHalt");
    await page
      .getByText(/mode normal → halted/)
      .first()
      .waitFor({ timeout: 15_000 });
    // Halted means no applies: the generation stays put while service time runs on.
    const haltedAt = await numberIn(page, "generation");
    await page.waitForTimeout(1_000);
    expect(await numberIn(page, "generation")).toBe(haltedAt);
    await page.screenshot({ path: screenshotPath("react-example-halted") });

    await page.getByTestId("reset").click();
    await page.getByTestId("mode").filter({ hasText: "normal" }).waitFor({ timeout: 15_000 });
    await page.waitForFunction(
      (before) => Number(document.querySelector('[data-testid="generation"]')?.textContent) > before,
      haltedAt,
      { timeout: 10_000 },
    );
    await page.close();
    expect(errors).toEqual([]);
  });
});
