import type { AuditEvent } from "../audit/events.js";
import type { Supervisor } from "../engine/supervisor.js";
import {
  type DashboardEngine,
  ENGINE_SOURCE_OPTION_KEYS,
  type EngineSourceOptions,
  engineSource,
} from "./engine-source.js";
import {
  ControlRefusedError,
  type DashboardControl,
  type DashboardSource,
  type DashboardView,
  engineAbsentView,
  type TwinPoint,
} from "./source.js";
import { checkSourceOptions } from "./source-options.js";

/** How often a source without `onSpawn` looks for an engine spawned again under its name, ms. */
const FOLLOW_EVERY_MS = 100;

/** What the source reads of a supervisor: a `Supervisor` fits; `onSpawn` may be left out. */
export type FollowedSupervisor = Pick<Supervisor, "get"> & Partial<Pick<Supervisor, "onSpawn">>;

/**
 * A {@link DashboardSource} attached to the engine a supervisor runs under `name`, whichever
 * engine that is: after a stop and a spawn under the same name (a restart, or a respawn from
 * `onFailure`), the view, the audit stream and the controls move to the new engine.
 *
 * @remarks
 * The source attaches to an engine spawned under the name inside the spawn (`onSpawn`), so none
 * of its events is missed, and looks the name up on every view and control action. Given an
 * object without `onSpawn`, it looks every 100 ms instead (a `Map` lookup; the timer does not keep
 * the process alive), and a respawned engine's events before that look are not shown. While no
 * engine runs under the name, the view has no values and mode `"unknown"`, controls are off, and a
 * control request is refused naming why.
 */
export function supervisorSource(
  supervisor: FollowedSupervisor,
  name: string,
  options: EngineSourceOptions = {},
): DashboardSource & { close(): void } {
  checkSourceOptions("supervisorSource", options, ENGINE_SOURCE_OPTION_KEYS);
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
  const stopFollowing =
    supervisor.onSpawn === undefined
      ? pollEvery(follow, FOLLOW_EVERY_MS)
      : supervisor.onSpawn((spawned) => {
          if (spawned === name) follow();
        });
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
      return engineAbsentView(title, lastTime ?? Date.now(), -1, units);
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
      stopFollowing();
      attached?.detach();
      attached = undefined;
      listeners.clear();
    },
  };
}

/** Calls `check` every `ms` until the returned function is called; keeps no process alive. */
function pollEvery(check: () => void, ms: number): () => void {
  const timer = setInterval(check, ms);
  timer.unref();
  return () => clearInterval(timer);
}
