import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach } from "vitest";
import { AUDIT_SCHEMA_VERSION, type AuditEvent } from "../../src/audit/events.js";
import type { RecordingTail } from "../../src/dashboard/recording-tail.js";

/** Polls until the tail is no longer behind; every event, in the order delivered. */
export async function drainTail(tail: RecordingTail): Promise<AuditEvent[]> {
  const events: AuditEvent[] = [];
  do events.push(...(await tail.poll()));
  while (tail.behind);
  return events;
}

/**
 * For a test file: returns a function that makes a fresh, existing temporary directory; every
 * directory made is removed after each test.
 */
export function tempDirs(prefix: string): () => string {
  const dirs: string[] = [];
  afterEach(() => {
    for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
  });
  return () => {
    const dir = mkdtempSync(join(tmpdir(), prefix));
    dirs.push(dir);
    return dir;
  };
}

/** An event of run `runId` at `seq`, as an engine records it (time: seq × 10 ms). */
export function auditEvent(runId: string, seq: number) {
  return {
    v: AUDIT_SCHEMA_VERSION,
    runId,
    seq,
    time: seq * 10,
    generation: 0,
    proposalId: -1,
    type: "digest.accepted",
  } as const;
}

/** The JSON lines of run `runId`'s events at `seqs` (see {@link auditEvent}). */
export function auditLines(runId: string, ...seqs: number[]): string {
  return seqs.map((seq) => `${JSON.stringify(auditEvent(runId, seq))}\n`).join("");
}

/** The seqs of `events`, in order. */
export function seqsOf(events: readonly AuditEvent[]): number[] {
  return events.map((e) => e.seq);
}
