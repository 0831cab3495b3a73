import type { Subscribable } from "rxjs";
import type { AuditEvent } from "../audit/events.js";
import { type DashboardEngine, type EngineSourceOptions, engineSource } from "./engine-source.js";
import { DEFAULT_STALE_AFTER_MS, type FleetObserved, fleetView } from "./fleet-view.js";
import {
  ControlRefusedError,
  type DashboardControl,
  type DashboardSource,
  type DashboardView,
  engineAbsentView,
} from "./source.js";
import { checkSourceOptions } from "./source-options.js";

/** What the dashboard reads and controls of a fleet coordinator (a `Coordinator` of `arqon/redis` fits). */
export interface DashboardCoordinator extends FleetObserved {
  readonly id: string;
  /** Audit events of its engine, across leadership tenures. */
  readonly events: Subscribable<AuditEvent>;
  /** The engine it tunes with while it leads; undefined while it stands by. */
  readonly tuningEngine: DashboardEngine | undefined;
  /** Whether it was closed: it neither leads nor follows the fleet any more. Absent: never. */
  readonly isClosed?: boolean;
}

/** Options of {@link fleetSource}. */
export interface FleetSourceOptions extends Pick<EngineSourceOptions, "units"> {
  /** Title of the page (default: `fleet · <coordinator id>`). */
  readonly title?: string;
  /** A replica silent for longer than this is shown as stale, ms (default 15 000). */
  readonly staleAfterMs?: number;
  /** Wall clock for the replicas' report ages (default `Date.now`). */
  readonly now?: () => number;
}

/** The keys of {@link FleetSourceOptions}: any other is refused by name. */
export const FLEET_SOURCE_OPTION_KEYS = [
  "title",
  "units",
  "staleAfterMs",
  "now",
] as const satisfies readonly (keyof FleetSourceOptions)[];

/**
 * A {@link DashboardSource} attached to a fleet coordinator: the engine it tunes the fleet with
 * (while it leads) and the Fleet panel.
 *
 * @remarks
 * The coordinator makes a new engine at each promotion; the view follows whichever is current and
 * the audit stream continues across tenures. While the coordinator stands by, the view has no
 * values and mode `"unknown"`, and control actions fail naming the leader, whose dashboard can
 * act. The Fleet panel is meaningful either way (a standby reads the fleet from Redis).
 */
export function fleetSource(
  coordinator: DashboardCoordinator,
  options: FleetSourceOptions = {},
): DashboardSource {
  checkSourceOptions("fleetSource", options, FLEET_SOURCE_OPTION_KEYS);
  const title = options.title ?? `fleet · ${coordinator.id}`;
  const units = options.units ?? {};
  const now = options.now ?? Date.now;
  const staleAfterMs = options.staleAfterMs ?? DEFAULT_STALE_AFTER_MS;
  if (!(staleAfterMs > 0)) throw new RangeError(`staleAfterMs must be a number > 0, got ${staleAfterMs}`);
  if (typeof now !== "function")
    throw new RangeError(`fleetSource: now must be a function, got ${typeof now}`);
  let attached: { engine: DashboardEngine; source: DashboardSource } | undefined;
  const leading = (): DashboardSource | undefined => {
    const engine = coordinator.tuningEngine;
    if (engine === undefined) return undefined;
    if (attached?.engine !== engine) attached = { engine, source: engineSource(engine, { title, units }) };
    return attached.source;
  };
  const control = (): DashboardControl => {
    const live = leading()?.control;
    if (live !== undefined) return live;
    if (coordinator.isClosed === true)
      throw new ControlRefusedError(`coordinator ${coordinator.id} is closed`);
    const leader = coordinator.snapshot().leaderId;
    throw new ControlRefusedError(
      `coordinator ${coordinator.id} stands by; ${leader === undefined ? "no coordinator leads now" : `the leader is ${leader}`}`,
    );
  };
  return {
    view(): DashboardView {
      const live = leading();
      if (live !== undefined) return live.view();
      return engineAbsentView(title, now(), coordinator.snapshot().generation, units);
    },
    subscribe(listener) {
      const subscription = coordinator.events.subscribe({ next: listener });
      return () => subscription.unsubscribe();
    },
    control: {
      halt: (reason) => control().halt(reason),
      resetSafeMode: (acknowledge) => control().resetSafeMode(acknowledge),
      rollback: (reason) => control().rollback(reason),
      isClosed: () => coordinator.isClosed === true || leading()?.control?.isClosed?.() === true,
    },
    fleetView: () => fleetView(coordinator, now(), staleAfterMs),
  };
}
