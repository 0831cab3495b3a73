/**
 * The code on the documentation site is real: every sample lives in docs/snippets/ (pages show a
 * copy of it that scripts/docs-snippets.ts writes), type-checks against the sources, and runs.
 * Getting-started samples run as their own process and their output is checked; recipe configs
 * drive a simulated service in virtual time and must tune it without tripping SafeMode or a
 * guardrail.
 */
import { spawnSync } from "node:child_process";
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, relative } from "node:path";
import { fileURLToPath } from "node:url";
import { type SchedulerAction, VirtualTimeScheduler } from "rxjs";
import ts from "typescript";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { SAFE_MODE_REASON_NAMES } from "../machines/safe-mode-reasons.js";
import { renderDocsPages } from "../scripts/docs-snippets.js";
import { REASON_TRIGGERS, renderTables } from "../scripts/reference-tables.js";
import { createEngine, type EngineConfig } from "../src/index.js";

const ROOT = fileURLToPath(new URL("..", import.meta.url));
const DOCS = join(ROOT, "docs");
const SNIPPETS = join(DOCS, "snippets");

/** Public import specifiers → their sources (what the package's exports map points at, before the build). */
const ENTRY_SOURCES: Readonly<Record<string, string>> = {
  arqon: "src/index.ts",
  "arqon/testing": "src/testing/index.ts",
  "arqon/machines": "machines/index.ts",
  "arqon/react": "src/react/index.ts",
  "arqon/inspect": "src/inspect/index.ts",
  "arqon/node": "src/node.ts",
  "arqon/redis": "src/redis.ts",
  "arqon/metrics": "src/metrics/index.ts",
  "arqon/study": "src/study/index.ts",
};
const PATHS = Object.fromEntries(Object.entries(ENTRY_SOURCES).map(([k, v]) => [k, [join(ROOT, v)]]));

function filesUnder(dir: string, suffix: string): string[] {
  return readdirSync(dir, { recursive: true, encoding: "utf8" })
    .filter((f) => f.endsWith(suffix) && !f.split("/").some((part) => part.startsWith(".") || part === "api"))
    .map((f) => join(dir, f));
}

// React samples (.tsx) are type-checked and included like the others.
const snippetFiles = [...filesUnder(SNIPPETS, ".ts"), ...filesUnder(SNIPPETS, ".tsx")];
const pages = filesUnder(DOCS, ".md").filter((p) => !p.startsWith(SNIPPETS));
const pageText = pages.map((p) => readFileSync(p, "utf8")).join("\n");

let tsconfigForTsx: string;
let tempDir: string;

beforeAll(() => {
  tempDir = mkdtempSync(join(tmpdir(), "arqon-docs-samples-"));
  tsconfigForTsx = join(tempDir, "tsconfig.json");
  writeFileSync(tsconfigForTsx, JSON.stringify({ compilerOptions: { paths: PATHS } }));
});

afterAll(() => {
  if (tempDir !== undefined) rmSync(tempDir, { recursive: true, force: true });
});

/** Runs a sample as its own process, `arqon` imports resolved to the sources. */
function runSample(name: string): { stdout: string; stderr: string; status: number | null } {
  const result = spawnSync(process.execPath, ["--import", "tsx", join(SNIPPETS, name)], {
    cwd: ROOT,
    encoding: "utf8",
    timeout: 120_000,
    env: { ...process.env, TSX_TSCONFIG_PATH: tsconfigForTsx },
  });
  return { stdout: result.stdout, stderr: result.stderr, status: result.status };
}

describe("docs samples", () => {
  it("there are samples, and every one is shown by a page", () => {
    expect(snippetFiles.length).toBeGreaterThanOrEqual(8);
    for (const file of snippetFiles) {
      const shown = `<!-- snippet: ${relative(DOCS, file)} -->`;
      expect(pageText, `no page shows ${shown}`).toContain(shown);
    }
  });

  it("every sample a page shows exists, and the page's copy is the file (scripts/docs-snippets.ts)", () => {
    const shown = [...pageText.matchAll(/^<!-- snippet: (\S+) -->$/gm)].map((m) => m[1]!);
    expect(shown.length).toBeGreaterThan(0);
    for (const path of shown) expect(snippetFiles, path).toContain(join(DOCS, path));
    // VitePress's own include renders on the site only: a page must read whole anywhere.
    expect(pageText).not.toMatch(/^<<< @\//m);
    expect(pageText).not.toMatch(/<!--@include:/);
    for (const [path, expected] of renderDocsPages())
      expect(
        readFileSync(join(ROOT, path), "utf8"),
        `${path} is stale: run npx tsx scripts/docs-snippets.ts`,
      ).toBe(expected);
  });

  it("getting-started and recipe pages show only copied samples (no hand-written TypeScript blocks)", () => {
    for (const page of pages.filter((p) => /\/(guide|recipes)\//.test(p))) {
      const text = readFileSync(page, "utf8").replace(
        /^<!-- snippet: \S+ -->\n[\s\S]*?^<!-- \/snippet -->$/gm,
        "",
      );
      expect(text, relative(ROOT, page)).not.toMatch(/^```(ts|js|typescript)\b/m);
    }
  });

  it("type-check against the sources under the project's compiler settings", () => {
    const configFile = ts.readConfigFile(join(ROOT, "tsconfig.json"), ts.sys.readFile);
    const parsed = ts.parseJsonConfigFileContent(configFile.config, ts.sys, ROOT);
    const program = ts.createProgram(snippetFiles, { ...parsed.options, noEmit: true, paths: PATHS });
    const diagnostics = ts
      .getPreEmitDiagnostics(program)
      .filter((d) => d.file?.fileName.startsWith(SNIPPETS) === true)
      .map((d) => {
        const where = d.file!.getLineAndCharacterOfPosition(d.start ?? 0);
        return `${relative(ROOT, d.file!.fileName)}:${where.line + 1}: ${ts.flattenDiagnosticMessageText(d.messageText, "\n")}`;
      });
    expect(diagnostics).toEqual([]);
  }, 180_000); // a whole-program check of the sources the samples import: tens of seconds on 2 busy cores

  it("solver.ts finds Branin's minimum within its budget", () => {
    const { stdout, stderr, status } = runSample("solver.ts");
    expect(status, stderr).toBe(0);
    const match = /best value ([\d.]+) \(known minimum ([\d.]+)\)/.exec(stdout);
    expect(match, stdout).not.toBeNull();
    expect(Math.abs(Number(match![1]) - Number(match![2]))).toBeLessThan(1e-3);
  });

  it("minimize.ts evaluates its whole budget and finds the load test's optimum", () => {
    const { stdout, stderr, status } = runSample("minimize.ts");
    expect(status, stderr).toBe(0);
    expect(stdout).toContain("60 evaluations, 0 failed");
    const p99 = Number(/best p99 ([\d.]+) ms/.exec(stdout)?.[1]);
    expect(p99).toBeLessThan(41);
  });

  it("minimize-effect.ts runs an Effect objective with its service, records its typed failures, and the page shows its output", () => {
    const { stdout, stderr, status } = runSample("minimize-effect.ts");
    expect(status, stderr).toBe(0);
    const [counts, best] = stdout.trim().split("\n");
    expect(counts).toMatch(/^(\d+) evaluations, (\d+) failed \(\2 overloaded\)$/);
    expect(best).toBe("best p99 40.00 ms with { poolSize: 24 }");
    expect(pageText).toContain(`It prints \`${counts}\` and \`${best}\``);
  });

  it("effect.ts counts every apply through a Stream run after the loop, and the Effect page shows its output", () => {
    const { stdout, stderr, status } = runSample("effect.ts");
    expect(status, stderr).toBe(0);
    const match = /^batchSize ([\d.]+) after (\d+) SPSA steps, (\d+) applies, mode (\w+)$/.exec(
      stdout.trim(),
    );
    expect(match, stdout).not.toBeNull();
    // Three applies per SPSA step (centre, plus, minus): the stream lost none.
    expect(Number(match![3])).toBe(3 * Number(match![2]));
    expect(match![4]).toBe("normal");
    expect(pageText).toContain(`It prints \`${stdout.trim()}\``);
  });

  it("pruning.ts stops trials early and still finds the loss's floor", () => {
    const { stdout, stderr, status } = runSample("pruning.ts");
    expect(status, stderr).toBe(0);
    const match = /(\d+) trials completed, (\d+) pruned, (\d+) of 2000 epochs run/.exec(stdout);
    expect(match, stdout).not.toBeNull();
    expect(Number(match![1]) + Number(match![2])).toBe(40);
    expect(Number(match![2])).toBeGreaterThan(0);
    expect(Number(match![3])).toBeLessThan(2000);
    expect(Number(/best loss ([\d.]+)/.exec(stdout)?.[1])).toBeLessThan(0.05);
  });

  it("from-optuna.ts spends its budget of 60, prunes, and finds the conditional optimum", () => {
    const { stdout, stderr, status } = runSample("from-optuna.ts");
    expect(status, stderr).toBe(0);
    const match = /(\d+) trials completed, (\d+) pruned/.exec(stdout);
    expect(match, stdout).not.toBeNull();
    expect(Number(match![1]) + Number(match![2])).toBe(60);
    expect(Number(match![2])).toBeGreaterThan(0);
    // The floor is 0 at sgd, lr 10^-2.5, 5 layers and momentum 0.9; 30 epochs add e^-5 = 0.0067.
    expect(Number(/best loss ([\d.]+)/.exec(stdout)?.[1])).toBeLessThan(0.05);
    expect(stdout).toMatch(/optimizer: 'sgd'/);
  });

  it("engine.ts moves the batch size from 16 towards the optimum near 98 and stays in normal mode", () => {
    const { stdout, stderr, status } = runSample("engine.ts");
    expect(status, stderr).toBe(0);
    const match = /batchSize ([\d.]+) after (\d+) SPSA steps, (\d+) applies, mode (\w+)/.exec(stdout);
    expect(match, stdout).not.toBeNull();
    expect(Number(match![1])).toBeGreaterThan(48);
    expect(Number(match![1])).toBeLessThan(140);
    expect(Number(match![2])).toBeGreaterThan(10);
    expect(Number(match![3])).toBeGreaterThan(0);
    expect(match![4]).toBe("normal");
    // Seeded and on virtual time: the guide quotes the very line it prints.
    expect(readFileSync(join(DOCS, "guide", "engine.md"), "utf8")).toContain(
      `It prints \`${stdout.trim()}\``,
    );
  });

  it("decision-log.ts logs a tuning run, replays it identically and explains its last generation", () => {
    const { stdout, stderr, status } = runSample("decision-log.ts");
    expect(status, stderr).toBe(0);
    const lines = stdout.split("\n").filter((l) => l !== "");
    expect(lines[0]).toMatch(/^replay OK: \d{4,} records identical$/);
    expect(lines[1]).toMatch(/^generation \d+: apply "(plus|minus|centre)"/);
  });

  it("resume.ts carries the tuning across a restart, keeps the baseline, and the guide shows its output", () => {
    const { stdout, stderr, status } = runSample("resume.ts");
    expect(status, stderr).toBe(0);
    const lines = stdout.trim().split("\n");
    expect(lines).toHaveLength(2);
    const runs = lines.map((line) => {
      const match = /^started at ([\d.]+), tuned to ([\d.]+), baseline (\d+)$/.exec(line);
      expect(match, line).not.toBeNull();
      return { from: Number(match![1]), to: Number(match![2]), baseline: Number(match![3]) };
    });
    // The second process starts where the first stopped, not at init, and the baseline stays init.
    expect(runs[0]!.from).toBe(16);
    expect(runs[1]!.from).toBe(runs[0]!.to);
    expect(runs[0]!.to).toBeGreaterThan(40);
    expect(Math.abs(runs[1]!.to - 96)).toBeLessThan(Math.abs(runs[0]!.to - 96));
    expect(runs.map((r) => r.baseline)).toEqual([16, 16]);
    expect(readFileSync(join(DOCS, "guide", "decision-log.md"), "utf8")).toContain(
      `\`\`\`text\n${stdout.trim()}\n\`\`\``,
    );
  });

  it("safety-monitor.ts watches a run, finds no violation, and the offline check agrees", () => {
    const { stdout, stderr, status } = runSample("safety-monitor.ts");
    expect(stderr).toBe("");
    expect(status).toBe(0);
    const lines = stdout.split("\n").filter((l) => l !== "");
    expect(lines[0]).toMatch(/^checked \d{3,} events: 0 violations$/);
    expect(lines[1]).toBe("offline check: 0 properties violated");
    const [, batchSize, mode] = /^batchSize (\d+), mode (\w+)$/.exec(lines[2]!)!;
    expect(Math.abs(Number(batchSize) - 96)).toBeLessThan(24);
    expect(mode).toBe("normal");
    expect(lines).toHaveLength(3);
  });

  it("metrics-supervisor.ts labels each engine, and a restarted one goes on counting", () => {
    const { stdout, stderr, status } = runSample("metrics-supervisor.ts");
    expect(status, stderr).toBe(0);
    const lines = stdout.split("\n").filter((l) => l !== "");
    const before = Number(/^search accepted (\d+) digests before its restart$/.exec(lines[0]!)?.[1]);
    expect(before).toBeGreaterThan(0);
    const series = new Map(
      lines.slice(1).map((l) => [l.slice(0, l.lastIndexOf(" ")), Number(l.split(" ").pop())]),
    );
    // Both engines saw every digest of the run; search's total spans its two lives.
    expect(series.get('arqon_digests_accepted_total{engine="search"}')).toBe(
      series.get('arqon_digests_accepted_total{engine="checkout"}'),
    );
    expect(series.get('arqon_digests_accepted_total{engine="search"}')).toBeGreaterThan(before);
    // The gauge is the live engine's: search's second life has had half the time.
    expect(series.get('arqon_generation{engine="search"}')).toBeLessThan(
      series.get('arqon_generation{engine="checkout"}')!,
    );
    // Seeded and on virtual time: the guide quotes what it prints.
    expect(readFileSync(join(DOCS, "guide", "metrics.md"), "utf8")).toContain(
      `\`\`\`text\n${stdout.trim()}\n\`\`\``,
    );
  });

  it("supervisor.ts tunes three engines, one halted half-way, and the guide shows its output", () => {
    const { stdout, stderr, status } = runSample("supervisor.ts");
    expect(status, stderr).toBe(0);
    const lines = stdout.trim().split("\n");
    expect(lines).toHaveLength(3);
    for (const [i, name] of ["checkout", "search", "images"].entries()) {
      const match =
        /^(\w+): poolSize ([\d.]+) \(best (\d+)\), (\d+) applies, mode (\w+); monitor: (\d+) violations in (\d+) events$/.exec(
          lines[i]!,
        );
      expect(match?.[1], lines[i]).toBe(name);
      // Within a step (maxDelta 4) of each service's best pool size.
      expect(Math.abs(Number(match![2]) - Number(match![3]))).toBeLessThanOrEqual(4);
      expect(match![5]).toBe(name === "images" ? "halted" : "normal");
      // Each engine was watched through onSpawn's config, and none broke an invariant.
      expect(match![6]).toBe("0");
      expect(Number(match![7])).toBeGreaterThan(Number(match![4]));
    }
    expect(readFileSync(join(DOCS, "guide", "engine.md"), "utf8")).toContain(
      `\`\`\`text\n${stdout.trim()}\n\`\`\``,
    );
  });

  it("safe-mode.ts halts, refuses a blank acknowledgement and resets with one", () => {
    const { stdout, stderr, status } = runSample("safe-mode.ts");
    expect(status, stderr).toBe(0);
    expect(stdout.split("\n").filter((l) => l !== "")).toEqual([
      "mode now: halted",
      "blank acknowledgement accepted? false",
      "acknowledged reset accepted? true",
      "mode now: normal",
      "mode normal -> halted (manualHalt): database failover in progress",
      "mode halted -> normal (no reasons): ops (alice): failover done",
    ]);
  });
});

describe("generated reference tables", () => {
  it("the committed tables are what scripts/reference-tables.ts renders from the code now", () => {
    for (const [path, expected] of renderTables()) {
      expect(
        readFileSync(join(ROOT, path), "utf8"),
        `${path} is stale: run npx tsx scripts/reference-tables.ts`,
      ).toBe(expected);
    }
  });

  it("describe every SafeMode reason, and a page includes each table", () => {
    expect(Object.keys(REASON_TRIGGERS).sort()).toEqual([...SAFE_MODE_REASON_NAMES].sort());
    for (const reason of SAFE_MODE_REASON_NAMES) {
      expect(renderTables().get("docs/concepts/_safe-mode-reasons.md")).toContain(`| \`${reason}\` |`);
    }
    for (const path of renderTables().keys()) {
      expect(pageText).toContain(`<!-- include: ./${path.split("/").pop()} -->`);
    }
  });
});

/** Unit position of a raw value, as the engine maps it (log parameters in log space). */
function unitOf(spec: EngineConfig["params"][string], raw: number): number {
  return spec.scale === "log"
    ? Math.log(raw / spec.min) / Math.log(spec.max / spec.min)
    : (raw - spec.min) / (spec.max - spec.min);
}

describe("recipe configs", () => {
  const recipes = snippetFiles.filter((f) => f.includes("/recipes/"));

  it("there is one per recipe page", () => {
    expect(recipes.map((f) => relative(SNIPPETS, f)).sort()).toEqual([
      "recipes/batch-sizes.ts",
      "recipes/cache-ttls.ts",
      "recipes/pool-sizes.ts",
      "recipes/timeouts.ts",
    ]);
  });

  for (const file of recipes) {
    it(`${relative(SNIPPETS, file)} tunes a simulated service without a refusal or a SafeMode trip`, async () => {
      const module = (await import(file)) as Record<string, unknown>;
      const config = Object.entries(module).find(([name]) => name.endsWith("Config"))?.[1] as EngineConfig;
      const digestEveryMs = module.digestEveryMs as number;
      expect(config).toBeDefined();
      expect(digestEveryMs).toBeGreaterThan(0);

      // A service whose cost is a bowl with its optimum at 70 % of every parameter's range.
      const scheduler = new VirtualTimeScheduler();
      const engine = createEngine({ ...config, scheduler });
      const specs = Object.values(config.params);
      const cost = () =>
        specs.reduce((sum, spec, i) => sum + 20 * (unitOf(spec, engine.values[i]!) - 0.7) ** 2, 10);
      const modeChanges: string[] = [];
      const subscription = engine.events.subscribe((event) => {
        if (event.type === "mode.changed")
          modeChanges.push(`${event.from} -> ${event.to}: ${event.reasons.join(",")}`);
      });
      const initialCost = cost();
      scheduler.schedule(function tick(this: SchedulerAction<undefined>) {
        const now = engine.now();
        engine.observe({
          objective: cost(),
          generation: engine.generation,
          timestamp: now,
          constraintMargin: 0.5,
        });
        this.schedule(undefined, digestEveryMs);
      }, digestEveryMs);
      // About 180 evaluation windows: calibration, then a few dozen SPSA steps.
      const windowMs = (config.settleMs ?? 0) + (config.window?.digests ?? 5) * digestEveryMs;
      scheduler.maxFrames = 180 * windowMs;
      scheduler.flush();

      const snapshot = engine.snapshot();
      engine.flushEvents();
      subscription.unsubscribe();
      await engine.close();
      expect(modeChanges).toEqual([]);
      expect(snapshot.mode).toBe("normal");
      expect(snapshot.applies.refused).toBe(0);
      expect(snapshot.applies.applied).toBeGreaterThan(100);
      expect(snapshot.iteration).toBeGreaterThan(20);
      expect(cost() - 10).toBeLessThan(0.5 * (initialCost - 10));
    });
  }
});
