import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach } from "vitest";
import type { AuditEvent } from "../../src/audit/events.js";
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
