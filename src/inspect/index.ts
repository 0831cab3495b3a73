/**
 * `arqon/inspect`: sinks for XState inspection events, to pass as the `inspect` option of
 * `createEngine`, `createSolver`, `fromEngine` engines or any `createActor`.
 *
 * - {@link createMemoryInspector}: keeps events in memory (tests).
 * - {@link createJsonlInspector}: one JSON line per event, to a file or a writable.
 *
 * The Stately inspector UI over a local WebSocket relay is `createStatelyInspector` of
 * `arqon/inspect/stately`, an entry point of its own like every sink of an optional peer
 * (`@statelyai/inspect`): an app that bundles these sinks never needs that package.
 *
 * @packageDocumentation
 */

export {
  type InspectionEventType,
  type InspectionRecord,
  type InspectionSink,
  toInspectionRecord,
} from "./inspection-record.js";
export {
  createJsonlInspector,
  type JsonlInspector,
  type JsonlInspectorOptions,
  type LineWritable,
} from "./jsonl-inspector.js";
export { createMemoryInspector, type InspectedSnapshot, type MemoryInspector } from "./memory-inspector.js";
export { MissingPeerError } from "./optional-peer.js";
export { type JsonValue, type SafeJsonOptions, stringifySafe, toJsonSafe } from "./safe-json.js";
