/**
 * Child of test/engine-ingest-allocation.test.ts: ingests digests that close no window into one
 * engine (logged or not) and prints, as JSON, the heap growth of each 1,000-digest chunk beside
 * what a heap reading alone costs. Run with V8's inlining budget starved, so that the digest path
 * must not depend on what V8 inlines.
 *
 * Mode "learnt" first lets the regime detector learn its level (windows closed by time on a
 * virtual clock, over the centre and both perturbed points), so the chunks measure the path that
 * judges every digest against that level; in the other modes it is still warming up.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import v8 from "node:v8";
import { VirtualAction, VirtualTimeScheduler } from "rxjs";
import type { EngineConfig } from "../../src/engine/config.js";
import { createEngine } from "../../src/engine/engine.js";
import { createLoggedEngine } from "../../src/log/engine-log.js";

const mode = process.argv[2] as "plain" | "logged" | "learnt";
const CHUNK = 1000;
const params: Record<string, { min: number; max: number; init: number; maxDelta: number }> = {};
for (let i = 0; i < 16; i++) params[`p${i}`] = { min: 0, max: 100, init: 50, maxDelta: 10 };
// A window the 260,000 digests below never close by count ("learnt" closes some by time first).
const virtual =
  mode === "learnt" ? new VirtualTimeScheduler(VirtualAction, Number.POSITIVE_INFINITY) : undefined;
const config: EngineConfig =
  virtual === undefined
    ? { seed: 1, params, window: { digests: 1_000_000 } }
    : { seed: 1, params, window: { digests: 1_000_000, ms: 100 }, scheduler: virtual };
const dir = mkdtempSync(join(tmpdir(), "arqon-ingest-allocation-"));
const logging = mode === "logged" ? createLoggedEngine(config, { dir: join(dir, "log") }) : undefined;
const engine = logging?.engine ?? createEngine(config);
const pool: { objective: number; generation: number }[] = [];
for (let i = 0; i < 1024; i++) pool.push({ objective: 10.125 + (i % 7) * 0.25, generation: 0 });
let next = 0;
const ingest = (): void => {
  for (let i = 0; i < CHUNK; i++)
    if (engine.observe(pool[next++ & 1023]!) !== "accepted") throw new Error("digest refused");
};
const between = async (): Promise<void> => {
  engine.flushEvents();
  await new Promise((resolve) => setImmediate(resolve));
};
/** The engine's regime detector (white-box: whether it has learnt is what this mode is about). */
const regime = (): { readonly ready: boolean } =>
  (engine as unknown as { safety: { regime: { readonly ready: boolean } } }).safety.regime;
try {
  if (virtual !== undefined) {
    // Windows of 1,500 digests closed by time, until the detector's ring (4,096 digests by
    // default) holds the centre and both perturbed points and it has learnt its level.
    for (let w = 0; w < 12 && !regime().ready; w++) {
      for (const digest of pool) digest.generation = engine.generation;
      for (let i = 0; i < 1500; i++) engine.observe(pool[next++ & 1023]!);
      const until = virtual.now() + 150;
      virtual.schedule(() => {}, until - virtual.now());
      virtual.maxFrames = until;
      virtual.flush();
      engine.flushEvents();
    }
    if (!regime().ready) throw new Error("the regime detector never learnt its level");
    for (const digest of pool) digest.generation = engine.generation;
  }
  for (let i = 0; i < 200; i++) {
    ingest();
    await between();
  }
  if (virtual !== undefined && !regime().ready) throw new Error("the regime detector left its learnt state");
  const reading: number[] = [];
  for (let i = 0; i < 64; i++) {
    const before = v8.getHeapStatistics().used_heap_size;
    reading.push(v8.getHeapStatistics().used_heap_size - before);
  }
  const chunks: number[] = [];
  for (let c = 0; c < 60; c++) {
    const before = v8.getHeapStatistics().used_heap_size;
    ingest();
    const after = v8.getHeapStatistics().used_heap_size;
    // A chunk with a GC inside reads less than nothing: left out.
    if (after >= before) chunks.push(after - before);
    await between();
  }
  const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[xs.length >> 1]!;
  console.log(JSON.stringify({ reading: median(reading), chunk: median(chunks), chunks: chunks.length }));
} finally {
  await (logging?.close() ?? engine.close());
  rmSync(dir, { recursive: true, force: true });
}
