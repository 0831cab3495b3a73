import type { InspectionEvent } from "xstate";
import { type InspectionEventType, type InspectionSink, toInspectionRecord } from "./inspection-record.js";
import type { SafeJsonOptions } from "./safe-json.js";

/** Anything with a `write(string)`, such as a Node `Writable` or `process.stdout`. */
export interface LineWritable {
  write(chunk: string): unknown;
}

/** Options of {@link createJsonlInspector}. */
export interface JsonlInspectorOptions extends SafeJsonOptions {
  /**
   * The inspection event types written (default: all). `["@xstate.actor", "@xstate.snapshot"]`
   * keeps a log of every actor's states without the events and microsteps between them.
   */
  readonly include?: readonly InspectionEventType[];
}

/** An inspection sink that writes one JSON line per event. */
export interface JsonlInspector {
  /** The sink to pass as `inspect`. */
  readonly inspect: InspectionSink;
  /** Lines written so far. */
  readonly written: number;
  /** The first error met while serialising or writing (the sink never throws into XState), else undefined. */
  readonly error: unknown;
  /**
   * Stops writing; for a file opened by the sink, ends it and resolves once it is flushed and
   * closed. A writable passed in is left open (its owner closes it).
   */
  close(): Promise<void>;
}

interface NodeFileStream {
  write(chunk: string): boolean;
  end(callback: () => void): void;
  once(event: "error", listener: (error: unknown) => void): void;
}

/** Opens `path` for appending with Node's `fs`, loaded only when a path is given (so browsers can load this module). */
function openAppendStream(path: string): NodeFileStream {
  const fs = globalThis.process?.getBuiltinModule?.("node:fs");
  if (fs === undefined)
    throw new Error("createJsonlInspector(path) needs Node's fs; pass a writable instead");
  return fs.createWriteStream(path, { flags: "a", encoding: "utf8" }) as unknown as NodeFileStream;
}

/**
 * Creates an inspection sink that writes each event as one line of JSON (an
 * {@link InspectionRecord}) to a file (appended) or to a writable.
 *
 * @remarks
 * The record is built when the event happens: snapshots are copied then, typed arrays included,
 * so later in-place writes do not change the log. Values JSON cannot hold (typed arrays, cycles,
 * functions, non-finite numbers, bigints, actor references) are written in a safe form (see
 * {@link toJsonSafe}). The sink never throws into XState: the first failure is kept in `error`
 * and later events are still attempted. Cost: one serialisation per event, at the control
 * cadence (never per digest).
 *
 * @example
 * ```ts
 * const log = createJsonlInspector("inspect.jsonl", { include: ["@xstate.snapshot"] });
 * const engine = createEngine({ ...config, inspect: log.inspect });
 * // …
 * await engine.close();
 * await log.close();
 * ```
 */
export function createJsonlInspector(
  target: string | LineWritable,
  options: JsonlInspectorOptions = {},
): JsonlInspector {
  const owned = typeof target === "string" ? openAppendStream(target) : undefined;
  const out: LineWritable = owned ?? (target as LineWritable);
  const include = options.include === undefined ? undefined : new Set(options.include);
  const json: SafeJsonOptions = {
    ...(options.maxDepth === undefined ? {} : { maxDepth: options.maxDepth }),
    ...(options.maxArrayLength === undefined ? {} : { maxArrayLength: options.maxArrayLength }),
  };
  let written = 0;
  let error: unknown;
  let closed = false;
  owned?.once("error", (e) => {
    error ??= e;
  });

  const inspect = (event: InspectionEvent): void => {
    if (closed || (include !== undefined && !include.has(event.type))) return;
    try {
      out.write(`${JSON.stringify(toInspectionRecord(event, written + 1, json))}\n`);
      written++;
    } catch (e) {
      error ??= e;
    }
  };

  return {
    inspect,
    get written() {
      return written;
    },
    get error() {
      return error;
    },
    close() {
      if (closed) return Promise.resolve();
      closed = true;
      if (owned === undefined) return Promise.resolve();
      return new Promise<void>((resolve) => owned.end(() => resolve()));
    },
  };
}
