import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import {
  describeChain,
  importSpecifiers,
  reachableFiles,
  resolveSpecifier,
  typeScriptFilesIn,
} from "./support/engine-import-graph.js";

const ROOT = fileURLToPath(new URL("..", import.meta.url));
const at = (path: string) => fileURLToPath(new URL(`../${path}`, import.meta.url));

/** The live config store: only Tier 1 (the executor and the engine that wires it) may reach it. */
const STORE = [at("src/hotpath/live-config.ts"), at("src/hotpath/shared-live-config.ts")];

/** Tier 2: the SPSA numerics and the SPSA cycle statechart. */
const TIER_2 = [...typeScriptFilesIn(at("src/engine/spsa")), at("machines/spsa.machine.ts")];

/** Store files reachable from `roots`, each with the import chain that reaches it. */
function storeReachedFrom(roots: readonly string[]): string[] {
  const reached = reachableFiles(roots);
  return STORE.filter((file) => reached.has(file)).map((file) => describeChain(reached.get(file)!, ROOT));
}

describe("tier boundary", () => {
  it("Tier 2 (src/engine/spsa/*, machines/spsa.machine.ts) cannot import the live config store", () => {
    expect(TIER_2.length).toBeGreaterThanOrEqual(5);
    expect(TIER_2).toContain(at("src/engine/spsa/spsa-core.ts"));
    expect(storeReachedFrom(TIER_2)).toEqual([]);
  });

  it("the walk does follow Tier 2's own imports (it is not vacuous)", () => {
    const reached = reachableFiles(TIER_2);
    expect(reached.has(at("src/space/param-registry.ts"))).toBe(true);
    expect(reached.has(at("src/random/prng.ts"))).toBe(true);
  });

  it("self-check: the walker finds the store from src/engine/engine.ts", () => {
    const chains = storeReachedFrom([at("src/engine/engine.ts")]);
    expect(chains.some((chain) => chain.endsWith("src/hotpath/live-config.ts"))).toBe(true);
  });

  it("self-check: the walker follows type imports and chains of re-exports", () => {
    const dir = mkdtempSync(join(tmpdir(), "arqon-import-graph-"));
    try {
      writeFileSync(
        join(dir, "tier2.ts"),
        'import type { Handle } from "./barrel.js";\nexport type H = Handle;\n',
      );
      writeFileSync(join(dir, "barrel.ts"), 'export {\n  type Handle,\n} from "./nested/index.js";\n');
      mkdirSync(join(dir, "nested"));
      writeFileSync(join(dir, "nested", "index.ts"), 'export * from "../store.js";\n');
      writeFileSync(join(dir, "store.ts"), "export interface Handle { readonly size: number }\n");
      const reached = reachableFiles([join(dir, "tier2.ts")]);
      expect(describeChain(reached.get(join(dir, "store.ts"))!, dir)).toBe(
        "tier2.ts → barrel.ts → nested/index.ts → store.ts",
      );
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it("the scanner reads every import form", () => {
    const source = [
      'import { a } from "./a.js";',
      'import type { B } from "./b.js";',
      "import {\n  c,\n  type D,\n} from './c.js';",
      'export { e } from "./e.js";',
      'export * from "./f.js";',
      'export type { G } from "./g.js";',
      'import "./side-effect.js";',
      'const lazy = await import("./lazy.js");',
      'import { z } from "zod";',
    ].join("\n");
    expect(importSpecifiers(source).sort()).toEqual(
      [
        "./a.js",
        "./b.js",
        "./c.js",
        "./e.js",
        "./f.js",
        "./g.js",
        "./side-effect.js",
        "./lazy.js",
        "zod",
      ].sort(),
    );
  });

  it("resolves .js specifiers to .ts files, ignores packages, and fails on a missing file", () => {
    const from = at("src/engine/engine.ts");
    expect(resolveSpecifier(from, "../hotpath/live-config.js")).toBe(at("src/hotpath/live-config.ts"));
    expect(resolveSpecifier(from, "xstate")).toBeUndefined();
    expect(() => resolveSpecifier(from, "./no-such-module.js")).toThrow(/cannot resolve/);
  });
});
