import { spawnSync } from "node:child_process";
import { createRequire } from "node:module";
import { fileURLToPath, pathToFileURL } from "node:url";
import { describe, expect, it } from "vitest";

const ROOT = fileURLToPath(new URL("..", import.meta.url));
const CHILD = fileURLToPath(new URL("./support/ingest-allocation-child.ts", import.meta.url));
const TSX = pathToFileURL(createRequire(import.meta.url).resolve("tsx")).href;

/**
 * Heap growth per 1,000 accepted digests in a fresh process whose V8 may inline almost nothing
 * beyond its always-inlined small functions: which calls V8 inlines varies from process to
 * process (it depends on when each part got compiled), and a number passed to a call it does
 * not inline is boxed. The digest path hands its numbers over through Float64Array slots, and a
 * logged engine re-arms one drain timer, so a chunk grows the heap by no more than a heap reading
 * costs (checked, not timed).
 */
function chunkGrowth(mode: "plain" | "logged" | "learnt"): {
  reading: number;
  chunk: number;
  chunks: number;
} {
  const result = spawnSync(
    process.execPath,
    ["--max-inlined-bytecode-size-cumulative=50", "--import", TSX, CHILD, mode],
    { cwd: ROOT, encoding: "utf8", env: { ...process.env, NODE_ENV: "production" }, timeout: 120_000 },
  );
  if (result.status !== 0) throw new Error(`child failed (${result.status}): ${result.stderr}`);
  return JSON.parse(result.stdout.trim().split("\n").pop()!) as {
    reading: number;
    chunk: number;
    chunks: number;
  };
}

describe("digest ingest allocates nothing, whatever V8 inlines", () => {
  // Not covered: an unlogged engine with `captureDigests` on, whose capture reads the wall clock for
  // every digest (Node boxes the time it returns); a logged engine's clock hands out its last reading.
  // "learnt": an engine whose regime detector has learnt its level judges each digest against it.
  for (const mode of ["plain", "logged", "learnt"] as const) {
    it(`${mode}: a chunk of 1,000 accepted digests grows the heap by what a reading costs, at most`, () => {
      const { reading, chunk, chunks } = chunkGrowth(mode);
      expect(chunks).toBeGreaterThan(30);
      // One Node-internal heap number per flush (the re-armed timer's refresh) is allowed: 16 B per
      // 1,000 digests. A boxed number per digest would be 16,000.
      expect(chunk - reading).toBeLessThanOrEqual(mode === "logged" ? 32 : 0);
    }, 180_000);
  }
});
