import { spawnSync } from "node:child_process";
import { cpSync, mkdtempSync, readdirSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { AuditEvent } from "../src/audit/events.js";
import { auditLogRecord, engineLogHeader } from "../src/log/log-records.js";
import type { LogHeader } from "../src/log/records.js";
import { openDecisionLog } from "../src/log/writer.js";
import { bundleForNode } from "./support/node-bundle.js";

// A restart read its whole decision log into memory to find where the last run ended: a week's
// log (843 MB) ran a 4 GB heap out, and compacting it took 4.7 GB. Both now read one segment at a
// time and keep only what they need, so they run in a heap far smaller than the log.

const CHILD = fileURLToPath(new URL("./support/long-log-child.ts", import.meta.url));
const RECORDS = 200_000;
const HEAP_CAP_MB = 32;
let root: string;
let cleanupBundle = () => {};
let child: string;
let dir: string;

/** Runs the child on `log` with the heap capped: its exit status and what it printed. */
function capped(mode: string, log: string): { status: number | null; out: string; err: string } {
  const run = spawnSync(process.execPath, [`--max-old-space-size=${HEAP_CAP_MB}`, child, mode, log], {
    encoding: "utf8",
    timeout: 120_000,
  });
  return { status: run.status, out: run.stdout, err: run.stderr };
}

beforeAll(async () => {
  // A bare `node` on one bundled file: tsx's own heap would take most of the cap.
  const bundle = await bundleForNode(CHILD);
  cleanupBundle = bundle.cleanup;
  child = bundle.script;
  root = mkdtempSync(join(tmpdir(), "arqon-long-log-"));
  // One run of centre applies, x walking up by one each, across segments of 1 MB.
  dir = join(root, "log");
  const config = { seed: 1, params: { x: { min: 0, max: 1e9, init: 5 }, y: { min: 0, max: 100, init: 20 } } };
  const writer = openDecisionLog({
    dir,
    header: engineLogHeader(config, { startTime: 0 }) as unknown as LogHeader,
    segmentBytes: 1 << 20,
    flushRecords: 4096,
  });
  for (let g = 1; g <= RECORDS; g++) {
    const event = {
      type: "apply",
      kind: "centre",
      time: g,
      generation: g,
      proposalId: g,
      values: { x: 5 + g, y: 20 },
    };
    writer.append(auditLogRecord({ ...event, v: 2, runId: "long", seq: g } as AuditEvent));
    if (g % 10_000 === 0) writer.flush();
  }
  writer.close();
}, 120_000);

afterAll(() => {
  rmSync(root, { recursive: true, force: true });
  cleanupBundle();
});

describe(`a decision log far larger than a ${HEAP_CAP_MB} MB heap`, () => {
  it("is larger than the heap, and readReplayLog, which keeps every event, runs out of it", () => {
    const bytes = readdirSync(dir).reduce((sum, f) => sum + statSync(join(dir, f)).size, 0);
    expect(bytes / 2 ** 20).toBeGreaterThan(HEAP_CAP_MB);
    expect(readdirSync(dir).length).toBeGreaterThan(10);
    const control = capped("replay-log", dir);
    expect(control.status).not.toBe(0);
    expect(control.err).toMatch(/heap out of memory/);
  }, 120_000);

  it("resumePoint and resumePointAsync find where its run ended", () => {
    for (const mode of ["resume", "resume-async"]) {
      const run = capped(mode, dir);
      expect(run.err).toBe("");
      expect(JSON.parse(run.out).result).toEqual({
        run: 1,
        values: { x: 5 + RECORDS, y: 20 },
        generation: RECORDS,
        baseline: { x: 5, y: 20 },
      });
    }
  }, 120_000);

  it("compactDecisionLog keeps its last records", () => {
    const copy = join(root, "compacted");
    cpSync(dir, copy, { recursive: true });
    const run = capped("compact", copy);
    expect(run.err).toBe("");
    expect(JSON.parse(run.out).result).toBe(10);
  }, 120_000);
});
