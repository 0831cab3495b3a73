/**
 * `arqon/react`: hooks that run an engine inside a React component and render what it does.
 *
 * - `useEngine` runs an engine while a component is mounted (StrictMode-safe).
 * - `useEngineSnapshot` follows its snapshots (or a selection), re-rendering after audit events.
 * - `useEngineEvents` keeps its most recent audit events.
 * - `useEngineState` follows its statecharts (their XState actors).
 *
 * The framework-free stores behind them are exported too, for other UI libraries.
 * react is an optional peer dependency, needed only by this entry.
 * @packageDocumentation
 */

export { createEventStore, type EventStoreOptions, RECENT_EVENTS_LIMIT } from "./event-store.js";
export { type ExternalStore, selectFrom } from "./external-store.js";
export { createSnapshotStore } from "./snapshot-store.js";
export { type EngineSource, useEngine } from "./use-engine.js";
export { useEngineEvents } from "./use-engine-events.js";
export { type UseEngineSnapshotOptions, useEngineSnapshot } from "./use-engine-snapshot.js";
export { type EngineStatechartState, stateName, useEngineState } from "./use-engine-state.js";
