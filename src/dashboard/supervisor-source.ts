import type { AuditEvent } from "../audit/events.js";
import type { Supervisor } from "../engine/supervisor.js";
import { type DashboardEngine, type EngineSourceOptions, engineSource } from "./engine-source.js";
import {
  ControlRefusedError,
  type DashboardControl,
  type DashboardSource,
  type DashboardView,
  type TwinPoint,
} from "./source.js";

/** How often the source looks for an engine spawned again under its name, ms. */
const FOLLOW_EVERY_MS = 100;

/**
 * A {@link DashboardSource} attached to the engine a supervisor runs under `name`, whichever
 * engine that is: after a stop and a spawn under the same name (a restart, or a respawn from
 * `onFailure`), the view, the audit stream and the controls move to the new engine.
 *
 * @remarks
 * The source looks the name up on every view and control action, and every 100 ms while it is
 * open (a `Map` lookup; the timer does not keep the process alive), so a respawned engine's events
 * reach the page from its first drain on. While no engine runs under the name, the view has no
 * values and mode `"unknown"`, controls are off, and a control request is refused naming why.
 */
export function supervisorSource(
  supervisor: Pick<Supervisor, "get">,
  name: string,
  options: EngineSourceOptions = {},
): DashboardSource & { close(): void } {
  const { title = name, units = {}, twin } = options;
  const listeners = new Set<(event: AuditEvent) => void>();
  let attached: { engine: DashboardEngine; source: DashboardSource; detach: () => void } | undefined;
  const follow = (): DashboardSource | undefined => {
    const engine = supervisor.get(name);
    if (attached?.engine === engine) return attached?.source;
    attached?.detach();
    attached = undefined;
    if (engine === undefined) return undefined;
    const source = engineSource(engine, { title, units });
    const detach = source.subscribe((event) => {
      for (const listener of listeners) listener(event);
    });
    attached = { engine, source, detach };
    return source;
  };
  // Engine-clock time of the last view of an engine: the clock a view without one keeps to.
  let lastTime: number | undefined;
  const timer = setInterval(follow, FOLLOW_EVERY_MS);
  timer.unref();
  follow();
  const control = (): DashboardControl => {
    const live = follow()?.control;
    if (live === undefined || live.isClosed?.() === true)
      throw new ControlRefusedError(`no engine named ${JSON.stringify(name)} runs now`);
    return live;
  };
  return {
    view(): DashboardView {
      const live = follow();
      if (live !== undefined) {
        const view = live.view();
        lastTime = view.time;
        return view;
      }
      return {
        source: "live",
        title,
        names: [],
        time: lastTime ?? Date.now(),
        generation: -1,
        values: null,
        mode: "unknown",
        reasons: [],
        phase: null,
        statechart: {},
        iteration: null,
        units,
      };
    },
    subscribe(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
    control: {
      halt: (reason) => control().halt(reason),
      resetSafeMode: (acknowledge) => control().resetSafeMode(acknowledge),
      rollback: (reason) => control().rollback(reason),
      // Off while nothing runs under the name, on again once an engine is spawned under it.
      isClosed: () => follow()?.control?.isClosed?.() !== false,
    },
    ...(twin === undefined
      ? {}
      : {
          subscribeTwin(listener: (point: TwinPoint) => void) {
            const subscription = twin.subscribe({ next: listener });
            return () => subscription.unsubscribe();
          },
        }),
    close() {
      clearInterval(timer);
      attached?.detach();
      attached = undefined;
      listeners.clear();
    },
  };
}
