import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { afterEach, describe, expect, it } from "vitest";
import { REPO_ROOT, runNode } from "./support/cli-run.js";

// `npm run bench` must not end green when a gate printed FAIL or a benchmark could not load.
// The runner is pointed at a folder of small fixture benchmarks that use the real table helpers.
const tsxLoader = pathToFileURL(createRequire(import.meta.url).resolve("tsx")).href;
const runner = join(REPO_ROOT, "bench/run.ts");
const tableModule = pathToFileURL(join(REPO_ROOT, "bench/table.ts")).href;

let dir: string;
afterEach(() => rmSync(dir, { recursive: true, force: true }));

function fixtureBenchmark(name: string, body: string): void {
  writeFileSync(
    join(dir, `${name}.ts`),
    `import { verdict } from ${JSON.stringify(tableModule)};
export const benchmark = { name: ${JSON.stringify(name)}, title: "fixture", inAll: true,
  async run() { ${body} } };
`,
  );
}

function bench(...args: string[]) {
  return runNode(["--import", tsxLoader, runner, ...args], REPO_ROOT, undefined, {
    ARQON_BENCH_DIR: dir,
    NODE_ENV: "production",
  });
}

describe("bench/run.ts exit status", () => {
  it("exits 0 when every benchmark ran and every gate passed", () => {
    dir = mkdtempSync(join(tmpdir(), "arqon-bench-"));
    fixtureBenchmark("fine", 'console.log(verdict(true), "gate a");');
    const run = bench();
    expect(run.stdout).toContain("PASS gate a");
    expect(run.stdout).toContain("every gate passed");
    expect(run.status).toBe(0);
  });

  it("exits 1 and names the benchmark when a gate printed FAIL", () => {
    dir = mkdtempSync(join(tmpdir(), "arqon-bench-"));
    fixtureBenchmark("fine", 'console.log(verdict(true), "gate a");');
    fixtureBenchmark(
      "gated",
      'console.log(verdict(false), "gate b"); console.log(verdict(false), "gate c");',
    );
    const run = bench();
    expect(run.stdout).toContain("FAIL gate b");
    expect(run.stderr).toContain("bench: FAIL");
    expect(run.stderr).toContain("gated: 2 gates FAIL");
    expect(run.stderr).not.toContain("fine:");
    expect(run.status).toBe(1);
  });

  it("exits 1 when a benchmark cannot be loaded, and still runs the others", () => {
    dir = mkdtempSync(join(tmpdir(), "arqon-bench-"));
    fixtureBenchmark("fine", 'console.log("fine ran");');
    writeFileSync(join(dir, "broken.ts"), 'import "./no-such-module.js";\nexport const benchmark = {};\n');
    const run = bench();
    expect(run.stdout).toContain("fine ran");
    expect(run.stderr).toMatch(/bench\/broken\.ts could not be loaded/);
    expect(run.status).toBe(1);
    expect(bench("--list").status).toBe(1);
  });

  it("a helper that only mentions the export in a comment is not a benchmark", () => {
    dir = mkdtempSync(join(tmpdir(), "arqon-bench-"));
    fixtureBenchmark("fine", 'console.log("fine ran");');
    writeFileSync(
      join(dir, "helper.ts"),
      "/** Write `export const benchmark = …` to make one. */\nexport const x = 1;\n",
    );
    const run = bench();
    expect(run.stderr).not.toContain("could not be loaded");
    expect(run.status).toBe(0);
  });

  it("exits 1 when a benchmark throws", () => {
    dir = mkdtempSync(join(tmpdir(), "arqon-bench-"));
    fixtureBenchmark("thrower", 'throw new Error("rig broke");');
    const run = bench("thrower");
    expect(run.stderr).toContain("thrower threw: rig broke");
    expect(run.status).toBe(1);
  });
});
