/**
 * The browser bundle of an app using arqon stays within its budget, carries no test-only code
 * (fast-check, vitest, tinybench), and takes Effect module by module. The figures themselves are
 * the BUNDLE section of docs/benchmarks.md (`npm run bench -- bundle-size`).
 */
import { beforeAll, describe, expect, it } from "vitest";
import {
  type AppMeasure,
  BUNDLE_BUDGETS,
  effectBarrelImporters,
  measureApps,
  originOf,
  TEST_ONLY_PACKAGES,
  testOnlyImporters,
} from "../bench/bundle-size.js";

let measures: AppMeasure[];
beforeAll(async () => {
  measures = await measureApps();
}, 120_000);

describe("browser bundle size", () => {
  it("measures the three apps, each with arqon's code in it", () => {
    expect(measures.map((m) => m.app)).toEqual(["engine", "solver", "both"]);
    for (const { full, withoutEffect } of measures) {
      expect(full.byOrigin.get("arqon")).toBeGreaterThan(10_000);
      expect(full.gzipped).toBeLessThan(full.minified);
      expect(withoutEffect.byOrigin.has("effect")).toBe(false);
      expect(withoutEffect.minified).toBeLessThan(full.minified);
    }
    const size = (app: string) => measures.find((m) => m.app === app)!.full.minified;
    expect(size("both")).toBeGreaterThan(Math.max(size("engine"), size("solver")));
    // The solver-only app carries no engine: RxJS is the engine's.
    expect(measures.find((m) => m.app === "solver")!.full.byOrigin.has("rxjs")).toBe(false);
  });

  it.each(Object.entries(BUNDLE_BUDGETS))(
    "the %s app is within its gzipped budget (%i bytes)",
    (app, budget) => {
      const measure = measures.find((m) => m.app === app)!;
      expect(measure.full.gzipped, `${app}: ${measure.full.gzipped} bytes gzipped`).toBeLessThanOrEqual(
        budget,
      );
    },
  );

  it("carries no test-only code, and no arqon module imports any", () => {
    for (const { app, full } of measures) {
      for (const pkg of TEST_ONLY_PACKAGES) expect(full.byOrigin.get(pkg) ?? 0, `${app}: ${pkg}`).toBe(0);
      expect(testOnlyImporters(full), app).toEqual([]);
      const arqonImports = Object.entries(full.inputs)
        .filter(([path]) => originOf(path) === "arqon")
        .flatMap(([, input]) => input.imports.map((i) => originOf(i.path)));
      for (const pkg of TEST_ONLY_PACKAGES) expect(arqonImports).not.toContain(pkg);
    }
  });

  it('takes Effect module by module, never through the "effect" barrel', () => {
    for (const { app, full } of measures) expect(effectBarrelImporters(full), app).toEqual([]);
  });
});
