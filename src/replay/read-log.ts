import { readFileSync, statSync } from "node:fs";
import type { AuditEvent } from "../audit/events.js";
import { readDecisionLog } from "../log/reader.js";
import { auditEventOf, type EngineLogHeader, engineHeaderOf } from "./log-records.js";

/**
 * A decision log as {@link replay} and {@link explain} accept it: a path (a log directory, or a
 * JSON Lines file with one record per line), the contents `readDecisionLog` returns, or the
 * records themselves (header first).
 */
export type DecisionLogInput =
  | string
  | { readonly header: unknown; readonly records: Iterable<unknown> }
  | Iterable<unknown>;

/** A log that cannot be replayed or explained: no engine header, or unreadable records. */
export class ReplayInputError extends Error {
  override readonly name = "ReplayInputError";
}

/** The header and audit events of a log, with each event's position in the log (header = 0). */
export interface ReplayLog {
  readonly header: EngineLogHeader;
  readonly events: readonly AuditEvent[];
  readonly indices: readonly number[];
}

/**
 * Reads `log` into its engine header and audit events (other records are skipped; reading stops at
 * a `restart` record, where a later engine continued the log).
 *
 * @throws ReplayInputError when there is no engine header first, or a JSON Lines file has a bad line.
 * @throws LogError (from the log reader) when a log directory is damaged.
 */
export function readReplayLog(log: DecisionLogInput): ReplayLog {
  const records = recordsOf(log);
  let header: EngineLogHeader | undefined;
  const events: AuditEvent[] = [];
  const indices: number[] = [];
  let index = 0;
  for (const record of records) {
    if (index === 0) {
      header = engineHeaderOf(record);
      if (header === undefined) throw new ReplayInputError("the log does not start with an engine header");
    } else {
      // A later engine continued this log after a restart: replay checks the run the header describes.
      if (isRestart(record)) break;
      const event = auditEventOf(record);
      if (event !== undefined) {
        events.push(event);
        indices.push(index);
      }
    }
    index++;
  }
  if (header === undefined) throw new ReplayInputError("the log is empty");
  return { header, events, indices };
}

/** Whether a record (or a log entry wrapping one) marks an engine restarted on this log. */
function isRestart(record: unknown): boolean {
  if (typeof record !== "object" || record === null) return false;
  const r = record as { readonly kind?: unknown; readonly record?: { readonly kind?: unknown } };
  return r.kind === "restart" || (typeof r.record === "object" && r.record?.kind === "restart");
}

function recordsOf(log: DecisionLogInput): Iterable<unknown> {
  if (typeof log === "string") return readPath(log);
  if (isContents(log)) return [log.header, ...log.records];
  return log;
}

function isContents(log: object): log is { readonly header: unknown; readonly records: Iterable<unknown> } {
  return "header" in log && "records" in log && !(Symbol.iterator in log);
}

function readPath(path: string): unknown[] {
  if (statSync(path).isDirectory()) {
    const contents = readDecisionLog(path);
    return [contents.header, ...contents.records];
  }
  const lines = readFileSync(path, "utf8").split("\n");
  const out: unknown[] = [];
  for (let n = 0; n < lines.length; n++) {
    const line = lines[n]!.trim();
    if (line === "") continue;
    try {
      out.push(JSON.parse(line));
    } catch (error) {
      throw new ReplayInputError(`${path}:${n + 1}: not JSON (${(error as Error).message})`);
    }
  }
  return out;
}
