/**
 * `arqon/inspect` bundles without its optional peers: an app that uses only the memory or JSONL
 * sink must build when `@statelyai/inspect` and `ws` are not installed. The peers are made
 * unresolvable here, as they are in an app that did not install them.
 */
import { fileURLToPath } from "node:url";
import { build, type Plugin } from "esbuild";
import { describe, expect, it } from "vitest";

const OPTIONAL_PEERS = /^(@statelyai\/inspect|ws)$/;

/** Resolves an optional peer the way a missing package does: an error naming it. */
const notInstalled: Plugin = {
  name: "not-installed",
  setup(on) {
    on.onResolve({ filter: OPTIONAL_PEERS }, (args) => ({
      errors: [{ text: `Could not resolve "${args.path}" (not installed)` }],
    }));
  },
};

describe("arqon/inspect without its optional peers", () => {
  it.each(["browser", "node"] as const)("bundles for the %s platform", async (platform) => {
    const result = await build({
      entryPoints: [fileURLToPath(new URL("../src/inspect/index.ts", import.meta.url))],
      bundle: true,
      write: false,
      format: "esm",
      platform,
      logLevel: "silent",
      plugins: [notInstalled],
    });
    expect(result.errors).toEqual([]);
    const code = result.outputFiles[0]!.text;
    expect(code).toContain("createMemoryInspector");
    // The peers are loaded at run time, by name, only when a Stately sink is created.
    expect(code).not.toMatch(/import\("@statelyai\/inspect"\)/);
  });
});
