import type { Subscribable } from "rxjs";
import type { Engine } from "../engine/engine.js";
import type {
  DashboardControl,
  DashboardSource,
  DashboardUnits,
  DashboardView,
  TwinPoint,
} from "./source.js";
import { checkSourceOptions } from "./source-options.js";

/** The parts of an {@link Engine} the dashboard reads and controls. */
export type DashboardEngine = Pick<
  Engine,
  "names" | "events" | "actor" | "now" | "snapshot" | "rollback" | "halt" | "resetSafeMode" | "flushEvents"
>;

/** Options of {@link engineSource}. */
export interface EngineSourceOptions {
  /** Title of the page (default: the run id of the first event). */
  readonly title?: string;
  /** Units of the objective and the parameters, for the charts' axes. */
  readonly units?: DashboardUnits;
  /**
   * Measurements of an untuned twin (the same system left at the baseline configuration), on the
   * engine's clock: when given, the chart's baseline is this series instead of the objective
   * measured at the baseline configuration. Any RxJS `Observable` (or other `Subscribable`) works.
   */
  readonly twin?: Subscribable<TwinPoint>;
}

/** The keys of {@link EngineSourceOptions}: any other is refused by name. */
export const ENGINE_SOURCE_OPTION_KEYS = [
  "title",
  "units",
  "twin",
] as const satisfies readonly (keyof EngineSourceOptions)[];

/**
 * A {@link DashboardSource} attached to a running engine: its audit events, its snapshot and
 * statechart states, and its control methods (halt, acknowledged reset, rollback), so an action
 * from the page takes exactly the path an API call takes and is audited the same way.
 *
 * @remarks
 * `engine.events` is a hot stream: subscribe (start the server) right after creating the engine
 * to see every event. `view()` allocates one snapshot; the server calls it a few times a second
 * at most.
 */
export function engineSource(
  engine: DashboardEngine,
  options: EngineSourceOptions | string = {},
): DashboardSource {
  if (typeof options !== "string") checkSourceOptions("engineSource", options, ENGINE_SOURCE_OPTION_KEYS);
  const { title, units = {}, twin } = typeof options === "string" ? { title: options } : options;
  // Each action flushes the engine's audit events, so the page sees its record at once rather
  // than at the engine scheduler's next turn.
  const control: DashboardControl = {
    halt: (reason) => {
      engine.halt(reason);
      engine.flushEvents();
    },
    resetSafeMode: (acknowledge) => {
      const done = engine.resetSafeMode({ acknowledge });
      engine.flushEvents();
      return done;
    },
    rollback: (reason) => {
      const done = engine.rollback(reason);
      engine.flushEvents();
      return done;
    },
    // close() stops the engine's actors (and completes its events): its controls then do nothing.
    isClosed: () => engine.actor.getSnapshot().status === "stopped",
  };
  let runId: string | undefined;
  return {
    view(): DashboardView {
      const snapshot = engine.snapshot();
      return {
        source: "live",
        title: title ?? runId ?? "engine",
        names: engine.names,
        time: engine.now(),
        generation: snapshot.generation,
        values: snapshot.values,
        mode: snapshot.mode,
        reasons: snapshot.reasons,
        phase: snapshot.phase,
        statechart: statechartStates(engine),
        iteration: snapshot.iteration,
        baselineGeneration: snapshot.baselineGeneration,
        baseline: snapshot.baseline,
        units,
      };
    },
    subscribe(listener) {
      const subscription = engine.events.subscribe((event) => {
        runId ??= event.runId;
        listener(event);
      });
      return () => subscription.unsubscribe();
    },
    control,
    ...(twin === undefined
      ? {}
      : {
          subscribeTwin(listener: (point: TwinPoint) => void) {
            const subscription = twin.subscribe({ next: listener });
            return () => subscription.unsubscribe();
          },
        }),
  };
}

/** The state of the root actor and of each child actor that has a state value, by id. */
function statechartStates(engine: DashboardEngine): Record<string, string> {
  const root = engine.actor.getSnapshot();
  const states: Record<string, string> = { engine: root.status };
  const children = (root.children ?? {}) as Record<string, { getSnapshot(): unknown } | undefined>;
  for (const [id, child] of Object.entries(children)) {
    const value = (child?.getSnapshot() as { value?: unknown } | undefined)?.value;
    if (value !== undefined) states[id] = stateValueName(value);
  }
  return states;
}

/** `"a"` for a plain state, `"a.b"` for a nested one, `"a.b, c.d"` for parallel regions. */
export function stateValueName(value: unknown): string {
  if (typeof value === "string") return value;
  if (typeof value !== "object" || value === null) return String(value);
  return Object.entries(value as Record<string, unknown>)
    .map(([key, inner]) => {
      const innerName = stateValueName(inner);
      return innerName === "" ? key : `${key}.${innerName}`;
    })
    .join(", ");
}
