import type { InspectionEvent } from "xstate";
import { errorMessage } from "../errors.js";
import { type JsonValue, type SafeJsonOptions, toJsonSafe } from "./safe-json.js";

/**
 * Where inspection events go: a function XState calls synchronously for every event of every
 * actor in a system (`createActor(logic, { inspect })`, or the `inspect` option of `createEngine`
 * and `createSolver`).
 *
 * @remarks
 * It runs inside the actor's `send`, so its cost is added to every control event; a sink should
 * do little work per call (or copy what it needs and defer the rest).
 */
export type InspectionSink = (event: InspectionEvent) => void;

/**
 * `sink`, made unable to throw into the actor that calls it: XState calls it inside `send`, so a
 * throw would abort the transition (and, from a timer, escape into the host's event loop). A throw
 * is dropped, so inspection never changes what it watches; the first one is reported with
 * `console.warn`, so that a broken sink does not go unnoticed.
 */
export function quietSink(sink: InspectionSink): InspectionSink {
  let reported = false;
  return (event) => {
    try {
      sink(event);
    } catch (error) {
      if (reported) return;
      reported = true;
      console.warn(
        `arqon: the inspect sink threw (${errorMessage(error)}); this and later throws are dropped`,
      );
    }
  };
}

/** One of XState's inspection event types (`"@xstate.actor"`, `"@xstate.event"`, …). */
export type InspectionEventType = InspectionEvent["type"];

/**
 * An inspection event as plain JSON, taken at the moment it happened (what the JSONL sink writes).
 *
 * @remarks
 * Actors are named by their session id (unique in the process), their id (unique among their
 * siblings) and their system id (when registered, e.g. `"spsa"`, `"hotPath"`).
 */
export interface InspectionRecord {
  /** Position of the event in this sink's stream, from 1. */
  readonly seq: number;
  /** The XState inspection type. */
  readonly type: InspectionEventType;
  /** Session id of the actor concerned (for `@xstate.event`, the recipient). */
  readonly actorId: string;
  /** The actor's id among its siblings, when it has one. */
  readonly id?: string;
  /** `@xstate.actor`: the id of the machine the actor runs, when it runs one. */
  readonly machine?: string;
  /** The actor's system id, when registered (not yet known by its `@xstate.actor` event). */
  readonly systemId?: string;
  /** Session id of the actor's parent, when it has one. */
  readonly parentId?: string;
  /** Session id of the system's root actor. */
  readonly rootId: string;
  /** `@xstate.event`: session id of the sender, when known. */
  readonly sourceId?: string;
  /** The event received or being processed (`@xstate.event`, `@xstate.snapshot`, `@xstate.microstep`). */
  readonly event?: JsonValue;
  /** The actor's snapshot: status, state value, context, output and error when present. */
  readonly snapshot?: JsonValue;
  /** `@xstate.action`: the action's type and params. */
  readonly action?: JsonValue;
}

interface ActorRefFields {
  readonly sessionId?: unknown;
  readonly id?: unknown;
  readonly systemId?: unknown;
  readonly _parent?: { readonly sessionId?: unknown };
}

/** The parts of a snapshot worth recording (snapshots also carry machine internals). */
function snapshotFields(snapshot: unknown, options: SafeJsonOptions): JsonValue {
  if (typeof snapshot !== "object" || snapshot === null) return toJsonSafe(snapshot, options);
  const s = snapshot as Record<string, unknown>;
  const out: Record<string, JsonValue> = {};
  for (const key of ["status", "value", "context", "output", "error"]) {
    if (s[key] !== undefined) out[key] = toJsonSafe(s[key], options);
  }
  return out;
}

/**
 * Converts an inspection event to an {@link InspectionRecord} now (copies; throws only a RangeError
 * for a limit in `options` that is not a whole number ≥ 0 or Infinity, whatever the event holds).
 */
export function toInspectionRecord(
  event: InspectionEvent,
  seq: number,
  options: SafeJsonOptions = {},
): InspectionRecord {
  const ref = event.actorRef as ActorRefFields;
  const record: {
    -readonly [K in keyof InspectionRecord]: InspectionRecord[K];
  } = {
    seq,
    type: event.type,
    actorId: String(ref.sessionId),
    rootId: event.rootId,
  };
  if (typeof ref.id === "string") record.id = ref.id;
  if (typeof ref.systemId === "string") record.systemId = ref.systemId;
  if (typeof ref._parent?.sessionId === "string") record.parentId = ref._parent.sessionId;
  switch (event.type) {
    case "@xstate.event": {
      const source = event.sourceRef as ActorRefFields | undefined;
      if (typeof source?.sessionId === "string") record.sourceId = source.sessionId;
      record.event = toJsonSafe(event.event, options);
      break;
    }
    case "@xstate.snapshot":
    case "@xstate.transition":
    case "@xstate.microstep":
      record.event = toJsonSafe(event.event, options);
      record.snapshot = snapshotFields(event.snapshot, options);
      break;
    case "@xstate.action":
      record.action = toJsonSafe(event.action, options);
      break;
    case "@xstate.actor": {
      // Sent while the actor is being constructed: its system id and snapshot are not set yet.
      const machineId = (event.actorRef as { logic?: { config?: { id?: unknown } } }).logic?.config?.id;
      if (typeof machineId === "string") record.machine = machineId;
      break;
    }
  }
  return record;
}
