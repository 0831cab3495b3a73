import { useMemo, useSyncExternalStore } from "react";
import type { AnyActorRef, Snapshot, SnapshotFrom } from "xstate";
import type { SafeModeName } from "../../machines/safe-mode-reasons.js";
import type { SpsaStateName } from "../../machines/spsa.machine.js";
import type { Engine } from "../engine/engine.js";
import { createActorStore } from "./actor-store.js";
import { checkEngineArgument } from "./engine-argument.js";
import { type ExternalStore, selectFrom } from "./external-store.js";

/** The live state of an engine's statecharts. */
export interface EngineStatechartState {
  /** The root actor's status: `"active"` while it runs, `"stopped"` after `close()`, `"error"` if it failed. */
  // Snapshot<unknown>, not SnapshotFrom<AnyActorRef>: the latter's status is `any`, so a misspelt
  // status would compile.
  readonly status: Snapshot<unknown>["status"] | undefined;
  /** The SPSA cycle's state (`systemId: "spsa"`) as a dotted name, e.g. `"cycle.plus"` or `"stalled"`. */
  readonly spsa: SpsaStateName | undefined;
  /**
   * The SafeMode chart's mode (`systemId: "safeMode"`): `"normal"`, `"conservative"`, `"frozen"` or
   * `"halted"`, without the chart's substates (e.g. `"frozen"` for `frozen.dwelling`).
   */
  readonly safeMode: SafeModeName | undefined;
}

/**
 * The live state of the engine's statecharts, re-rendering whenever a field changes.
 *
 * @remarks
 * Reads the actors themselves with `useSyncExternalStore`: the root actor (`engine.actor`) for its
 * status, and its children found by system id for their state. It follows transitions, failures
 * and the stop of `close()` (after which `status` is `"stopped"` and the charts, no longer run,
 * read undefined); an actor that failed reads `status: "error"` instead of throwing. Unlike
 * {@link useEngineSnapshot}, which follows audit events, this follows every SPSA transition (a few
 * per evaluation window), so keep the component that uses it small.
 * Every field is undefined while `engine` is null, and a chart the engine does not run reads undefined.
 */
export function useEngineState(engine: Engine | null | undefined): EngineStatechartState {
  checkEngineArgument(engine, "useEngineState", true);
  const actor = engine?.actor;
  const status = useActorSelection(actor, statusOf);
  // The chart with system id "spsa" is the SPSA chart (machines/spsa.machine.ts), which has no
  // parallel regions: its dotted name is one of its states.
  const spsa = useActorSelection(childOf(actor, "spsa"), stateOf) as SpsaStateName | undefined;
  const safeMode = useActorSelection(childOf(actor, "safeMode"), topStateOf);
  return { status, spsa, safeMode };
}

/**
 * What `selector` picks from `actor`'s snapshot (from undefined while there is no actor),
 * re-rendering when the actor moves, fails or stops. `selector` must be stable.
 */
function useActorSelection<T>(
  actor: AnyActorRef | undefined,
  selector: (snapshot: SnapshotFrom<AnyActorRef> | undefined) => T,
): T {
  const store: ExternalStore<SnapshotFrom<AnyActorRef> | undefined> = useMemo(
    () => (actor ? createActorStore(actor) : NO_ACTOR),
    [actor],
  );
  const getSelection = useMemo(() => selectFrom(store, selector), [store, selector]) as () => T;
  return useSyncExternalStore(store.subscribe, getSelection, getSelection);
}

/** The store of "no actor": nothing to listen to, always undefined. */
const NO_ACTOR: ExternalStore<undefined> = {
  subscribe: () => () => {},
  getSnapshot: () => undefined,
};

function statusOf(snapshot: SnapshotFrom<AnyActorRef> | undefined): EngineStatechartState["status"] {
  return snapshot?.status;
}

function childOf(actor: Engine["actor"] | undefined, systemId: string): AnyActorRef | undefined {
  return actor?.system.get(systemId) as AnyActorRef | undefined;
}

function stateOf(snapshot: SnapshotFrom<AnyActorRef> | undefined): string | undefined {
  const value = (snapshot as { value?: unknown } | undefined)?.value;
  return value === undefined ? undefined : stateName(value);
}

/**
 * The top-level state only: SafeMode's substates (`dwelling`, `settled`) time its step-down and
 * are not modes; reading them would also re-render on every substate change.
 */
function topStateOf(snapshot: SnapshotFrom<AnyActorRef> | undefined): SafeModeName | undefined {
  const value = (snapshot as { value?: unknown } | undefined)?.value;
  if (value === undefined) return undefined;
  // The chart's top-level states are exactly the modes (machines/safe-mode.machine.ts).
  return (
    typeof value === "object" && value !== null ? Object.keys(value).join(", ") : String(value)
  ) as SafeModeName;
}

/**
 * A state value as one dotted name: `"plus"` stays, `{ cycle: "plus" }` becomes `"cycle.plus"`;
 * parallel regions are joined with `", "`.
 */
export function stateName(value: unknown): string {
  if (typeof value === "string") return value;
  if (typeof value !== "object" || value === null) return String(value);
  return Object.entries(value as Record<string, unknown>)
    .map(([key, inner]) => {
      const innerName = stateName(inner);
      return innerName === "" ? key : `${key}.${innerName}`;
    })
    .join(", ");
}
