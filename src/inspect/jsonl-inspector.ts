import type { InspectionEvent } from "xstate";
import { shownValue } from "../shown-value.js";
import { unknownOptionKeys, unknownOptionsText } from "../unknown-options.js";
import { type InspectionEventType, type InspectionSink, toInspectionRecord } from "./inspection-record.js";
import { checkSafeJsonOptions, type SafeJsonOptions } from "./safe-json.js";

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
  /**
   * Lines written so far. To a file the sink opened: lines the file took, counted as each write
   * completes (all of them by the time `close()` resolves); a line the file never took (it could
   * not be opened, or a write failed) is not counted. To a writable passed in: lines its `write`
   * accepted without throwing.
   */
  readonly written: number;
  /**
   * The first error met while serialising or writing (the sink never throws into XState), else
   * undefined. Once it is set the sink writes nothing more.
   */
  readonly error: unknown;
  /**
   * Stops writing; for a file opened by the sink, ends it and resolves once it is flushed and
   * closed. A writable passed in is left open (its owner closes it).
   */
  close(): Promise<void>;
}

const JSONL_OPTIONS = ["include", "maxDepth", "maxArrayLength"];

interface NodeFileStream {
  write(chunk: string, callback: (error?: unknown) => void): boolean;
  end(): void;
  on(event: "error", listener: (error: unknown) => void): void;
  once(event: "close", listener: () => void): void;
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
 * {@link toJsonSafe}). The sink never throws into XState: the first failure (a file that cannot
 * be opened or written, a writable that throws) is kept in `error`, and from then on nothing more
 * is written (a line after a failure could land after a gap, or in a stream that lost lines
 * before it). `written` counts only lines that were written. Cost: one serialisation per event,
 * at the control cadence (never per digest).
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
  // Checked now, before the file is opened: inside the sink a throw would only be kept in `error`.
  if (typeof target !== "string" && typeof (target as Partial<LineWritable> | null)?.write !== "function")
    throw new RangeError(
      `createJsonlInspector: target must be a file path or a writable (with write(string)), got ${shownValue(target)}`,
    );
  const unknown = unknownOptionKeys(options, JSONL_OPTIONS);
  if (unknown.length > 0)
    throw new RangeError(`createJsonlInspector: ${unknownOptionsText(unknown, JSONL_OPTIONS)}`);
  checkSafeJsonOptions("createJsonlInspector", options);
  checkIncludeOption(options.include);
  const owned = typeof target === "string" ? openAppendStream(target) : undefined;
  const writable = typeof target === "string" ? undefined : target;
  const include = options.include === undefined ? undefined : new Set(options.include);
  const json: SafeJsonOptions = {
    ...(options.maxDepth === undefined ? {} : { maxDepth: options.maxDepth }),
    ...(options.maxArrayLength === undefined ? {} : { maxArrayLength: options.maxArrayLength }),
  };
  // seq of the last line handed to the writable; `written` counts the lines that reached it.
  let seq = 0;
  let written = 0;
  let failed = false;
  let error: unknown;
  let closed = false;
  const fail = (e: unknown) => {
    if (failed) return;
    failed = true;
    error = e;
  };
  // Kept listening (not once): an "error" event without a listener would crash the process.
  owned?.on("error", fail);
  // "close" comes once the descriptor is closed, also after an error (the stream destroys itself
  // then); listened from the start so a close() called after it still resolves.
  const fileClosed =
    owned === undefined ? Promise.resolve() : new Promise<void>((resolve) => owned.once("close", resolve));
  // A file write counts once it completed; a write the stream could not do (never opened, or
  // destroyed by an error) calls back with that error.
  const onFileWrite = (e?: unknown) => {
    if (e === undefined || e === null) written++;
    else fail(e);
  };

  const inspect = (event: InspectionEvent): void => {
    if (closed || failed || (include !== undefined && !include.has(event.type))) return;
    try {
      const line = `${JSON.stringify(toInspectionRecord(event, seq + 1, json))}\n`;
      if (writable !== undefined) {
        writable.write(line);
        written++;
      } else owned?.write(line, onFileWrite);
      seq++;
    } catch (e) {
      fail(e);
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
      closed = true;
      // Every caller waits for the same "close". end() on a stream already ended, or destroyed by
      // an error, does nothing.
      owned?.end();
      return fileClosed;
    },
  };
}

/** The inspection event types XState v5 reports (a record, so that the compiler asks for every one). */
const INSPECTION_EVENT_TYPES = Object.keys({
  "@xstate.actor": true,
  "@xstate.event": true,
  "@xstate.snapshot": true,
  "@xstate.transition": true,
  "@xstate.microstep": true,
  "@xstate.action": true,
} satisfies Record<InspectionEventType, true>) as InspectionEventType[];

/** Refuses an `include` that is not a list of inspection event types: a misspelt type would record nothing. */
function checkIncludeOption(include: unknown): void {
  if (include === undefined) return;
  if (!Array.isArray(include))
    throw new RangeError(
      `createJsonlInspector: include must be an array of inspection event types, got ${shownValue(include)}`,
    );
  for (const type of include)
    if (!INSPECTION_EVENT_TYPES.includes(type as InspectionEventType))
      throw new RangeError(
        `createJsonlInspector: include holds ${shownValue(type)}, not an inspection event type (${INSPECTION_EVENT_TYPES.join(", ")})`,
      );
}
