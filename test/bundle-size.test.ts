/**
 * The browser bundle of an app using arqon stays within its budget, and arqon's own modules never
 * pull test-only code (fast-check, vitest, tinybench) into it. The figures themselves are the
 * BUNDLE section of docs/benchmarks.md (`npm run bench -- bundle-size`).
 */
import { beforeAll, describe, expect, it } from "vitest";
import {
  type AppMeasure,
  BUNDLE_BUDGETS,
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

  it("no arqon module imports a test-only package; what the bundle has of one comes through Effect", () => {
    for (const { full } of measures) {
      const importers = testOnlyImporters(full.inputs);
      for (const line of importers) {
        const importer = line.split(" → ")[0]!;
        // Effect's Schema module imports effect/FastCheck (for its arbitraries): the only way in.
        expect(originOf(importer), line).toBe("effect");
      }
      const arqonImports = Object.entries(full.inputs)
        .filter(([path]) => originOf(path) === "arqon")
        .flatMap(([, input]) => input.imports.map((i) => originOf(i.path)));
      for (const pkg of TEST_ONLY_PACKAGES) expect(arqonImports).not.toContain(pkg);
    }
  });
});
