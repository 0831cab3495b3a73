import type { AuditEvent } from "../audit/events.js";
import { errorMessage } from "../errors.js";
import { RecordedViewFold } from "./recorded-view.js";
import type { DashboardSource, DashboardUnits } from "./source.js";

/** A recording could not be read: names the file, the line and what is wrong with it. */
export class RecordingError extends Error {
  override readonly name = "RecordingError";
}

/** Most events a recorded source keeps in memory (the latest ones; the view is folded over all). */
export const DEFAULT_RECORDING_KEEP = 20_000;

/** `keep`, checked: a RangeError unless it is a whole number ≥ 1. */
export function checkedKeep(keep: number): number {
  if (!(Number.isSafeInteger(keep) && keep >= 1))
    throw new RangeError(`keep must be a whole number ≥ 1, got ${keep}`);
  return keep;
}

/**
 * A read-only {@link DashboardSource} over recorded audit events (oldest first), read once.
 *
 * @remarks
 * The view is folded over the events by {@link RecordedViewFold} (mode, SPSA phase, iteration,
 * values). `subscribe` replays the kept events synchronously. It has no `control`, so the server
 * refuses control requests with 409. To follow a file that is still growing, use
 * `followRecording`.
 *
 * @throws RangeError when `keep` is not a whole number ≥ 1.
 */
export function recordedSource(
  events: readonly AuditEvent[],
  title: string,
  keep: number = DEFAULT_RECORDING_KEEP,
  units: DashboardUnits = {},
): DashboardSource {
  checkedKeep(keep);
  const kept = events.length > keep ? events.slice(events.length - keep) : events;
  const fold = new RecordedViewFold(title, units);
  for (const event of events) fold.add(event);
  const view = fold.view();
  return {
    view: () => view,
    subscribe(listener) {
      for (const event of kept) listener(event);
      return () => {};
    },
  };
}

/**
 * Parses JSON-lines audit events (one event per line, as `examples/engine-demo.ts --out` writes
 * them). Blank lines are skipped; anything else that is not an event object with a string `type`
 * and numeric `seq` and `time` is a {@link RecordingError} naming `name` and the line.
 */
export function parseAuditJsonl(text: string, name: string): AuditEvent[] {
  const events: AuditEvent[] = [];
  const lines = text.split("\n");
  for (let i = 0; i < lines.length; i++) {
    const event = parseAuditLine(lines[i]!, name, i + 1);
    if (event !== undefined) events.push(event);
  }
  return events;
}

/**
 * One line of a JSON-lines recording: the audit event, or undefined for a blank line; anything
 * else is a {@link RecordingError} naming `name` and `line`.
 */
export function parseAuditLine(text: string, name: string, line: number): AuditEvent | undefined {
  const trimmed = text.trim();
  if (trimmed === "") return undefined;
  let value: unknown;
  try {
    value = JSON.parse(trimmed);
  } catch (error) {
    throw new RecordingError(`${name}:${line}: not JSON (${errorMessage(error)})`);
  }
  const record = value as { type?: unknown; seq?: unknown; time?: unknown } | null;
  if (typeof record !== "object" || record === null || Array.isArray(record))
    throw new RecordingError(`${name}:${line}: expected an audit event object`);
  if (typeof record.type !== "string") throw new RecordingError(`${name}:${line}: "type" must be a string`);
  if (typeof record.seq !== "number" || typeof record.time !== "number")
    throw new RecordingError(`${name}:${line}: "seq" and "time" must be numbers`);
  return value as AuditEvent;
}
