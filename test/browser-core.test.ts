import { builtinModules } from "node:module";
import { resolve } from "node:path";
import type { Browser } from "playwright-core";
import { build, createLogger, type Rolldown } from "vite";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { launchBrowser, screenshotPath } from "./support/browser.js";

// The core entry must run in browsers: bundled for the browser, nothing may come from Node's
// built-in modules, and an engine must run inside chromium.

const ROOT = resolve(import.meta.dirname, "..");
const ORIGIN = "http://arqon.test";

interface CoreBundle {
  readonly code: string;
  readonly imports: readonly string[];
  readonly moduleIds: readonly string[];
  readonly warnings: readonly string[];
}

/** Bundles src/index.ts as a browser library (ES module), in memory. */
async function bundleCore(): Promise<CoreBundle> {
  const warnings: string[] = [];
  const logger = createLogger("warn", { allowClearScreen: false });
  logger.warn = (message) => void warnings.push(message);
  logger.warnOnce = (message) => void warnings.push(message);
  const output = await build({
    configFile: false,
    root: ROOT,
    logLevel: "warn",
    customLogger: logger,
    build: {
      lib: { entry: resolve(ROOT, "src/index.ts"), formats: ["es"], fileName: "arqon" },
      write: false,
      minify: false,
      target: "es2022",
      reportCompressedSize: false,
    },
  });
  const outputs = (Array.isArray(output) ? output : [output]) as Rolldown.RolldownOutput[];
  const chunks = outputs
    .flatMap((o) => o.output)
    .filter((o): o is Rolldown.OutputChunk => o.type === "chunk");
  expect(chunks).toHaveLength(1);
  const chunk = chunks[0]!;
  return {
    code: chunk.code,
    imports: [...chunk.imports, ...chunk.dynamicImports],
    moduleIds: chunk.moduleIds,
    warnings,
  };
}

/** The bundle's code without comments (dependencies' doc comments mention `node:` modules in examples). */
function withoutComments(code: string): string {
  return code.replace(/\/\*[\s\S]*?\*\//g, "").replace(/^\s*\/\/.*$/gm, "");
}

/** What the page's script reports. */
interface PageResult {
  readonly generation: number;
  readonly accepted: number;
  readonly applied: number;
  readonly x: number;
  readonly verdicts: Record<string, number>;
  readonly types: string[];
  readonly hasProcess: boolean;
}

/**
 * The page: imports the bundle and runs an engine in real time (a digest every millisecond or so,
 * for up to 3 s or 20 applies) on a quadratic objective, then reports what happened as JSON. Plain
 * The objective (x − 3)² has no noise, so the run is the same every time and x must move from 8
 * toward 3. JavaScript in a string, so that it reaches the browser untouched by the test's own transform.
 */
const PAGE = `<!doctype html>
<meta charset="utf-8"><title>arqon core in a browser</title>
<p id="out">running</p><pre id="result"></pre>
<script type="module">
  import { createEngine } from "/arqon.js";
  const engine = createEngine({
    seed: 7,
    params: { x: { min: 0, max: 10, init: 8, maxDelta: 1 } },
    spsa: { a: 0.2, c: 0.05 },
    window: { digests: 3 },
    guardrails: { minIntervalMs: 0, maxUpdatesPerSecond: 1000 },
  });
  const types = [];
  engine.events.subscribe((event) => types.push(event.type));
  const verdicts = {};
  const startedAt = performance.now();
  while (performance.now() - startedAt < 3000 && engine.generation < 20) {
    const x = engine.values[0];
    const verdict = engine.observe({ objective: (x - 3) ** 2, generation: engine.generation, timestamp: engine.now() });
    verdicts[verdict] = (verdicts[verdict] ?? 0) + 1;
    await new Promise((done) => setTimeout(done, 1));
  }
  engine.flushEvents();
  const snapshot = engine.snapshot();
  await engine.close();
  const out = document.getElementById("out");
  out.textContent = "generation " + snapshot.generation + ", x = " + snapshot.values.x.toFixed(3);
  document.getElementById("result").textContent = JSON.stringify({
    generation: snapshot.generation,
    accepted: snapshot.digests.accepted,
    applied: snapshot.applies.applied,
    x: snapshot.values.x,
    verdicts,
    types,
    hasProcess: typeof globalThis.process !== "undefined",
  });
  out.dataset.done = "yes";
</script>
`;

const NODE_BUILTINS = new Set(builtinModules.flatMap((m) => [m, `node:${m}`]));

describe("the core entry in a browser", () => {
  let bundle: CoreBundle;
  let browser: Browser;

  beforeAll(async () => {
    [bundle, browser] = await Promise.all([bundleCore(), launchBrowser()]);
  }, 60_000);

  afterAll(async () => {
    await browser?.close();
  });

  it("bundles for the browser with no Node built-in module, imported or stubbed", () => {
    // Everything is bundled: an external import left in the bundle would have to be a builtin.
    expect(bundle.imports).toEqual([]);
    expect(bundle.imports.filter((id) => NODE_BUILTINS.has(id))).toEqual([]);
    // Vite replaces a builtin imported by browser code with an empty stub and a warning.
    expect(bundle.moduleIds.filter((id) => id.includes("browser-external"))).toEqual([]);
    expect(bundle.warnings.filter((w) => /externalized for browser|node:/i.test(w))).toEqual([]);
    const code = withoutComments(bundle.code);
    expect(code).not.toMatch(/\bfrom\s*["']node:/);
    expect(code).not.toMatch(/\b(?:import|require)\s*\(\s*["'](?:node:)?[a-z_]+["']\s*\)/);
    expect(bundle.code).toContain("createEngine");
  });

  it("runs an engine in chromium: digests observed, proposals applied and audited", async () => {
    const page = await browser.newPage();
    const errors: string[] = [];
    page.on("pageerror", (error) => errors.push(error.message));
    await page.route(`${ORIGIN}/**`, (route) => {
      const path = new URL(route.request().url()).pathname;
      if (path === "/arqon.js")
        return route.fulfill({ body: bundle.code, contentType: "text/javascript; charset=utf-8" });
      return route.fulfill({ body: PAGE, contentType: "text/html; charset=utf-8" });
    });
    await page.goto(`${ORIGIN}/`);
    await page.waitForFunction(() => document.getElementById("out")?.dataset.done === "yes", undefined, {
      timeout: 15_000,
    });
    const result = JSON.parse((await page.textContent("#result")) ?? "null") as PageResult;
    await page.screenshot({ path: screenshotPath("browser-core") });
    await page.close();
    expect(errors).toEqual([]);
    expect(result.hasProcess).toBe(false);
    expect(result.verdicts.accepted).toBeGreaterThan(0);
    expect(result.accepted).toBe(result.verdicts.accepted);
    expect(result.generation).toBeGreaterThan(0);
    expect(result.applied).toBeGreaterThan(0);
    expect(result.x).toBeLessThan(7);
    expect(result.types).toContain("baseline.set");
    expect(result.types).toContain("window.closed");
    expect(result.types).toContain("apply");
  });
});
