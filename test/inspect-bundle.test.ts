/**
 * Each optional peer of the inspection sinks stays behind an entry point of its own: an app that
 * bundles `arqon/inspect` (memory and JSONL sinks) builds without `@statelyai/inspect` and `ws`
 * installed, and one that bundles `arqon/inspect/stately` gets `@statelyai/inspect` in its bundle.
 */
import { fileURLToPath } from "node:url";
import { build, type Plugin } from "esbuild";
import { describe, expect, it } from "vitest";

/** Resolves the optional peers the way a missing package does: an error naming it. */
const notInstalled: Plugin = {
  name: "not-installed",
  setup(on) {
    on.onResolve({ filter: /^(@statelyai\/inspect|ws)$/ }, (args) => ({
      errors: [{ text: `Could not resolve "${args.path}" (not installed)` }],
    }));
  },
};

function bundle(entry: string, platform: "browser" | "node", plugins: Plugin[] = []) {
  return build({
    entryPoints: [fileURLToPath(new URL(`../src/inspect/${entry}`, import.meta.url))],
    bundle: true,
    write: false,
    format: "esm",
    platform,
    logLevel: "silent",
    metafile: true,
    plugins,
  });
}

describe("inspection sinks and their optional peers", () => {
  it.each(["browser", "node"] as const)(
    "arqon/inspect bundles for the %s platform without @statelyai/inspect or ws",
    async (platform) => {
      const result = await bundle("index.ts", platform, [notInstalled]);
      expect(result.errors).toEqual([]);
      expect(result.outputFiles[0]!.text).toContain("createMemoryInspector");
    },
  );

  it("arqon/inspect/stately bundles @statelyai/inspect into a browser app", async () => {
    const result = await bundle("stately.ts", "browser");
    expect(result.errors).toEqual([]);
    const inputs = Object.keys(result.metafile.inputs);
    expect(inputs.some((path) => path.includes("node_modules/@statelyai/inspect/"))).toBe(true);
  });
});
