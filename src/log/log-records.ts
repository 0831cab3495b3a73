/**
 * How an engine's run is written into a decision log so that it can be replayed: the header
 * record (what rebuilds the engine) and one record per audit event.
 *
 * @packageDocumentation
 */
import { AUDIT_SCHEMA_VERSION, type AuditEvent } from "../audit/events.js";
import { type EngineConfig, explicitEngineConfig, resolveEngineConfig } from "../engine/config.js";
import { DECISION_RULES } from "../engine/decision-rules.js";
import { decodeNumbers, encodeNumbers } from "./json-numbers.js";
import { AUDIT_LOG_KIND, ENGINE_LOG_FORMAT, FLUSH_LOG_KIND, TIMER_LOG_KIND } from "./records.js";
import { DecodedAuditRecord } from "./ring-record.js";

// The record kinds (and the engine header's format) live with the other record shapes
// (records.ts), so that reading or compacting a log does not load the engine; they are
// re-exported here, where the records they name are built.
export { AUDIT_LOG_KIND, ENGINE_LOG_FORMAT, FLUSH_LOG_KIND, TIMER_LOG_KIND };

/**
 * `logVersion` of a header written by `createLoggedEngine` today: 3 means the log also holds every
 * timing the engine saw (`timer` and `flush` records, see {@link TimeRecord}) and ends with a close
 * marker when its engine closed cleanly. Headers without it (versions 1 and 2) hold neither:
 * replay then runs timers at their due times on a virtual clock.
 */
export const ENGINE_LOG_VERSION = 3;

/**
 * The first `logVersion` whose runs end with a close marker when their engine closed cleanly: a
 * log of this version or later without one lost its end or did not close (not `ENGINE_LOG_VERSION`,
 * which will grow past it).
 */
export const CLOSE_MARKER_LOG_VERSION = 3;

/**
 * A timing the engine saw, recorded so that replay can repeat it: timer `id` (the engine's
 * schedule calls numbered from 0) ran at engine-clock `time`, or the host flushed the audit
 * records at `time` (`id` −1); either after the engine assigned audit seq `after` and before it
 * assigned the next one. The record goes to the log at once, the audit records on the engine's
 * next drain: `after` can run ahead of the audit records a log cut short holds.
 */
export type TimeRecord = {
  readonly kind: typeof TIMER_LOG_KIND | typeof FLUSH_LOG_KIND;
  readonly id: number;
  readonly time: number;
  readonly after: number;
};

/** Config keys that cannot be written to a log (live objects and callbacks); replay supplies its own. */
const UNLOGGED_KEYS: ReadonlySet<string> = new Set(["scheduler", "onApply", "inspect"]);

/** A log repair as a restart record carries it (file names relative to the log's directory). */
export interface LoggedRepair {
  readonly kind: "torn-tail" | "corruption";
  /**
   * The segment where the valid data now ends, and the offset it ends at (what followed was taken
   * out: the rest of that segment and any later segments).
   */
  readonly segment: string;
  readonly truncatedAt: number;
  /** Bytes taken out of the log (moved aside for `"corruption"`). */
  readonly bytesDropped: number;
  /** For `"corruption"`: what was wrong, and the files now holding what was taken out. */
  readonly reason?: string;
  readonly setAside?: readonly string[];
}

/**
 * The first record of an engine's decision log: everything {@link replay} needs to rebuild the
 * engine. Numbers are encoded as {@link encodeNumbers} does.
 */
// A type alias, not an interface: it must fit the log writer's `Record<string, unknown>` records.
export type EngineLogHeader = {
  readonly kind: "header";
  readonly format: typeof ENGINE_LOG_FORMAT;
  /** Audit schema version of the events that follow. */
  readonly schema: number;
  /** Version of the arqon package that wrote the log, when known. */
  readonly packageVersion?: string;
  /** {@link ENGINE_LOG_VERSION} when the log records timings and a close marker; absent before. */
  readonly logVersion?: number;
  /**
   * The {@link DECISION_RULES} version the engine decided by; absent from logs written before the
   * rules were versioned. Replay decides by today's rules and reports a difference.
   */
  readonly rules?: number;
  /** Engine-clock ms when the engine was created (its first records carry this time). */
  readonly startTime: number;
  /** Parameter names in registry order. */
  readonly names: readonly string[];
  /**
   * The engine config as given, without `scheduler`, `onApply`, `inspect` or any other function
   * (replay runs on its own virtual clock and actuates nothing).
   */
  readonly config: Readonly<Record<string, unknown>>;
  /**
   * The options the engine ran with, every default filled in ({@link explicitEngineConfig}): replay
   * builds the engine from these, so a later change of a default does not change what it rebuilds.
   * Absent from logs written before it was recorded (see `LEGACY_ENGINE_DEFAULTS` in replay).
   */
  readonly resolved?: Readonly<Record<string, unknown>>;
  /**
   * How many runs a compaction removed whole before the first run the log holds; absent when none
   * (see `RUNS_BEFORE_KEY`). Above 0, this header starts no run: the log's first `restart` record
   * starts run `runsBefore + 1`.
   */
  readonly runsBefore?: number;
};

/** Options of {@link engineLogHeader}. */
export interface EngineLogHeaderOptions {
  /** Engine-clock ms at creation (`engine.now()` right after `createEngine`). */
  readonly startTime: number;
  /** Package version to record. */
  readonly packageVersion?: string;
  /**
   * Whether the log will hold the engine's timings and a close marker (`createLoggedEngine`): the
   * header then says {@link ENGINE_LOG_VERSION}. Default false.
   */
  readonly recordsTimings?: boolean;
}

/**
 * The header record for a decision log of an engine created with `config`.
 *
 * @remarks
 * Cold path. The config is copied without its live objects; give the run an explicit `runId`
 * and seed in `config` if the log must name them (the defaults derive from the seed anyway).
 * Beside it goes the resolved config (every default filled in), which replay prefers.
 *
 * @throws ConfigError when `config` is invalid (an engine could not have been built from it).
 */
export function engineLogHeader(config: EngineConfig, options: EngineLogHeaderOptions): EngineLogHeader {
  const kept: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(config)) {
    if (UNLOGGED_KEYS.has(key) || typeof value === "function" || value === undefined) continue;
    kept[key] = value;
  }
  return {
    kind: "header",
    format: ENGINE_LOG_FORMAT,
    schema: AUDIT_SCHEMA_VERSION,
    ...(options.packageVersion === undefined ? {} : { packageVersion: options.packageVersion }),
    ...(options.recordsTimings === true ? { logVersion: ENGINE_LOG_VERSION } : {}),
    rules: DECISION_RULES,
    startTime: options.startTime,
    names: Object.keys(config.params),
    config: encodeNumbers(kept) as Record<string, unknown>,
    resolved: encodeNumbers(explicitEngineConfig(resolveEngineConfig(config))) as Record<string, unknown>,
  };
}

/** A decision-log record holding one audit event (the log gives the record its own `seq`). */
export type AuditLogRecord = {
  readonly kind: typeof AUDIT_LOG_KIND;
  /** The event, numbers encoded as {@link encodeNumbers} does. */
  readonly event: Readonly<Record<string, unknown>>;
};

/** The decision-log record of `event` (cold path: allocates an encoded copy). */
export function auditLogRecord(event: AuditEvent): AuditLogRecord {
  return { kind: AUDIT_LOG_KIND, event: encodeNumbers(event) as Record<string, unknown> };
}

/**
 * The audit event a log record holds, or undefined for any other record (segment headers,
 * recovery notes…). Accepts an {@link AuditLogRecord}, a log entry wrapping one (`{ record }`),
 * or a bare audit event.
 */
export function auditEventOf(record: unknown): AuditEvent | undefined {
  if (typeof record !== "object" || record === null) return undefined;
  if (record instanceof DecodedAuditRecord) return record.event;
  const r = record as Record<string, unknown>;
  if (r.kind === AUDIT_LOG_KIND && typeof r.event === "object" && r.event !== null) {
    return isAuditEvent(r.event) ? (decodeNumbers(r.event) as AuditEvent) : undefined;
  }
  if (typeof r.record === "object" && r.record !== null && typeof r.segment === "string") {
    return auditEventOf(r.record);
  }
  return isAuditEvent(r) ? (decodeNumbers(r) as AuditEvent) : undefined;
}

/** The engine header a log record holds, or undefined (accepts a log entry wrapping one too). */
export function engineHeaderOf(record: unknown): EngineLogHeader | undefined {
  if (typeof record !== "object" || record === null) return undefined;
  const r = record as Record<string, unknown>;
  if (typeof r.record === "object" && r.record !== null && typeof r.segment === "string") {
    return engineHeaderOf(r.record);
  }
  if (r.kind !== "header" || r.format !== ENGINE_LOG_FORMAT) return undefined;
  if (typeof r.config !== "object" || r.config === null || !Array.isArray(r.names)) return undefined;
  return decodeNumbers(r) as EngineLogHeader;
}

/** The timing a log record holds (accepts a log entry wrapping one too), or undefined. */
export function timeRecordOf(record: unknown): TimeRecord | undefined {
  if (typeof record !== "object" || record === null) return undefined;
  const r = record as Record<string, unknown>;
  if (typeof r.record === "object" && r.record !== null && typeof r.segment === "string") {
    return timeRecordOf(r.record);
  }
  if (r.kind !== TIMER_LOG_KIND && r.kind !== FLUSH_LOG_KIND) return undefined;
  if (typeof r.id !== "number" || typeof r.time !== "number" || typeof r.after !== "number") return undefined;
  return { kind: r.kind, id: r.id, time: r.time, after: r.after };
}

function isAuditEvent(value: object): boolean {
  const e = value as Record<string, unknown>;
  return typeof e.type === "string" && typeof e.v === "number" && typeof e.seq === "number";
}
