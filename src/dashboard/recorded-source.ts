import { readdirSync, readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import type { AuditEvent } from "../audit/events.js";
import { errorMessage } from "../errors.js";
import { parseJsonLines } from "../log/json-lines.js";
import { readDecisionLog } from "../log/reader.js";
import { listSegments } from "../log/segments.js";
import { isNumberRecord } from "./dashboard-model.js";
import type { DashboardSource, DashboardView } from "./source.js";

/** A recording could not be read: names the file, the line and what is wrong with it. */
export class RecordingError extends Error {
  override readonly name = "RecordingError";
}

/** Most events a recorded source keeps in memory (the latest ones; the view is folded over all). */
export const DEFAULT_RECORDING_KEEP = 20_000;

/**
 * A read-only {@link DashboardSource} over recorded audit events (oldest first).
 *
 * @remarks
 * The view is derived from the events: generation and time of the last event, the mode and
 * reasons of the last `mode.changed` (`"normal"` when the recording starts at the first event of
 * a run and has none, else `"unknown"`), and parameter values only when events carry a `values`
 * record. `subscribe` replays the kept events synchronously; a recording never grows. It has no
 * `control`, so the server refuses control requests with 409.
 */
export function recordedSource(
  events: readonly AuditEvent[],
  title: string,
  keep: number = DEFAULT_RECORDING_KEEP,
): DashboardSource {
  const kept = events.length > keep ? events.slice(events.length - keep) : events;
  const view = foldView(events, title);
  return {
    view: () => view,
    subscribe(listener) {
      for (const event of kept) listener(event);
      return () => {};
    },
  };
}

function foldView(events: readonly AuditEvent[], title: string): DashboardView {
  let mode = events[0]?.seq === 1 ? "normal" : "unknown";
  let reasons: readonly string[] = [];
  let values: Record<string, number> | null = null;
  let names: readonly string[] = [];
  for (const event of events) {
    if (event.type === "mode.changed") {
      mode = event.to;
      reasons = event.reasons;
    }
    const carried = (event as { values?: unknown }).values;
    if (isNumberRecord(carried)) {
      values = carried;
      names = Object.keys(carried);
    }
  }
  const last = events.at(-1);
  return {
    source: "recorded",
    title: events[0]?.runId ? `${events[0].runId} (${title})` : title,
    names,
    time: last?.time ?? 0,
    generation: last?.generation ?? -1,
    values,
    mode,
    reasons,
    phase: null,
    statechart: {},
    iteration: null,
  };
}

/**
 * Parses JSON-lines audit events (one event per line, as `examples/engine-demo.ts --out` writes
 * them). Blank lines are skipped; anything else that is not an event object with a string `type`
 * and numeric `seq` and `time` is a {@link RecordingError} naming `name` and the line.
 */
export function parseAuditJsonl(text: string, name: string): AuditEvent[] {
  const events: AuditEvent[] = [];
  for (const { value, line } of parseJsonLines(text, name, (message) => new RecordingError(message))) {
    const record = value as { type?: unknown; seq?: unknown; time?: unknown } | null;
    if (typeof record !== "object" || record === null || Array.isArray(record))
      throw new RecordingError(`${name}:${line}: expected an audit event object`);
    if (typeof record.type !== "string") throw new RecordingError(`${name}:${line}: "type" must be a string`);
    if (typeof record.seq !== "number" || typeof record.time !== "number")
      throw new RecordingError(`${name}:${line}: "seq" and "time" must be numbers`);
    events.push(value as AuditEvent);
  }
  return events;
}

/**
 * Reads a recording: a JSON-lines file of audit events; a decision-log directory (segment files,
 * see `src/log`), whose records with a string `type` and a numeric `time` are the audit events;
 * or a directory whose `*.jsonl` files (in name order) together hold one run's events. Throws a
 * {@link RecordingError} when the path cannot be read or holds no events in any of these forms.
 *
 * @remarks
 * A decision log gives every record its own `seq` (an audit event stored in it has none), so the
 * events read from one carry the log's sequence numbers. A damaged log is read up to the damage
 * (a torn tail is left out), which suits a viewer.
 */
export function readRecording(path: string): AuditEvent[] {
  let files: string[];
  try {
    if (!statSync(path).isDirectory()) files = [path];
    else if (listSegments(path).length > 0) return readDecisionLogEvents(path);
    else
      files = readdirSync(path)
        .filter((f) => f.endsWith(".jsonl"))
        .sort()
        .map((f) => join(path, f));
  } catch (error) {
    if (error instanceof RecordingError) throw error;
    throw new RecordingError(`cannot read ${path}: ${errorMessage(error)}`);
  }
  if (files.length === 0)
    throw new RecordingError(`${path}: no decision log segments or .jsonl files in this directory`);
  const events: AuditEvent[] = [];
  for (const file of files) {
    let text: string;
    try {
      text = readFileSync(file, "utf8");
    } catch (error) {
      throw new RecordingError(`cannot read ${file}: ${errorMessage(error)}`);
    }
    for (const event of parseAuditJsonl(text, file)) events.push(event);
  }
  return events;
}

/** The audit events of the decision log in `dir` (records with a string type and a numeric time). */
function readDecisionLogEvents(dir: string): AuditEvent[] {
  const events: AuditEvent[] = [];
  for (const entry of readDecisionLog(dir, { strict: false }).records) {
    const record = entry.record as { readonly type?: unknown; readonly time?: unknown };
    if (typeof record.type === "string" && typeof record.time === "number")
      events.push(entry.record as unknown as AuditEvent);
  }
  if (events.length === 0) throw new RecordingError(`${dir}: the decision log holds no audit events`);
  return events;
}
