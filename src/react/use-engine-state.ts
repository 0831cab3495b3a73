import { useSelector } from "@xstate/react";
import type { AnyActorRef, SnapshotFrom } from "xstate";
import type { Engine } from "../engine/engine.js";

/** The live state of an engine's statecharts, as dotted state names (e.g. `"cycle.plus"`). */
export interface EngineStatechartState {
  /** The root actor's status: `"active"` while it runs, `"stopped"` after `close()`, `"error"` if it failed. */
  readonly status: SnapshotFrom<AnyActorRef>["status"] | undefined;
  /** The SPSA cycle's state (`systemId: "spsa"`), e.g. `"cycle.plus"` or `"stalled"`. */
  readonly spsa: string | undefined;
  /** The SafeMode chart's state (`systemId: "safeMode"`): `"normal"`, `"conservative"`, `"frozen"` or `"halted"`. */
  readonly safeMode: string | undefined;
}

/**
 * The live state of the engine's statecharts, re-rendering on every transition.
 *
 * @remarks
 * Reads the actors themselves with @xstate/react's `useSelector`: the root actor (`engine.actor`)
 * for its status, and its children found by system id for their state. Unlike
 * {@link useEngineSnapshot}, which follows audit events, this follows every transition (SPSA moves
 * through a few states per evaluation window), so keep the component that uses it small.
 * Every field is undefined while `engine` is null, and a chart the engine does not run reads undefined.
 */
export function useEngineState(engine: Engine | null | undefined): EngineStatechartState {
  const actor = engine?.actor;
  const status = useSelector(actor, (snapshot) => snapshot?.status);
  const spsa = useSelector(childOf(actor, "spsa"), stateOf);
  const safeMode = useSelector(childOf(actor, "safeMode"), stateOf);
  return { status, spsa, safeMode };
}

function childOf(actor: Engine["actor"] | undefined, systemId: string): AnyActorRef | undefined {
  return actor?.system.get(systemId) as AnyActorRef | undefined;
}

function stateOf(snapshot: SnapshotFrom<AnyActorRef> | undefined): string | undefined {
  const value = (snapshot as { value?: unknown } | undefined)?.value;
  return value === undefined ? undefined : stateName(value);
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
