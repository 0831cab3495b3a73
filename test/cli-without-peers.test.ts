import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { arqonNodeArgs, runNode } from "./support/cli-run.js";

// ioredis is an optional peer: a user who installed arqon without it must still have every
// command but `solve --storage`, and that one must say what to install.

const hideIoredis = new URL("./support/hide-ioredis.mjs", import.meta.url).href;
const dir = mkdtempSync(join(tmpdir(), "arqon-no-peers-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
writeFileSync(join(dir, "c.json"), JSON.stringify({ seed: 1, budget: 4, bounds: { x: { min: 0, max: 1 } } }));

const arqon = (args: readonly string[]) => runNode(["--import", hideIoredis, ...arqonNodeArgs(args)], dir);

describe("the CLI without the optional peer ioredis", () => {
  it("runs --version, help and validate", () => {
    for (const args of [["--version"], ["--help"], ["validate", "--config", "c.json"]]) {
      const run = arqon(args);
      expect(run.stderr).toBe("");
      expect(run.status).toBe(0);
    }
  });

  it("solve --storage says which package to install, exit 2", () => {
    const run = arqon([
      "solve",
      "--config",
      "c.json",
      "--storage",
      "redis://127.0.0.1:1",
      "--study",
      "s",
      "--",
      "true",
    ]);
    expect(run.stderr).toBe(
      'arqon solve: --storage needs the optional package "ioredis", which is not installed: run `npm install ioredis`\n',
    );
    expect(run.status).toBe(2);
  });
});
