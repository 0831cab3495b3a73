import { fromTransition } from "xstate";
import type { HotPathEvent, HotPathState } from "../../machines/hot-path.logic.js";
import { RollbackReason } from "../audit/rollback-reason.js";
import type { Executor } from "../hotpath/executor.js";
import type { LiveConfig } from "../hotpath/live-config.js";

/**
 * Actor logic of the hot-path actor: it owns the control commands on the live config (set
 * baseline, rollback), so they appear in the actor system and its inspection like any other
 * event, while the per-proposal applies stay direct calls on the executor.
 */
export function createHotPathLogic(executor: Executor, live: LiveConfig, now: () => number) {
  const state = (): HotPathState => ({
    generation: live.generation,
    baselineGeneration: live.hasBaseline ? live.baselineGeneration : -1,
  });
  return fromTransition((_: HotPathState, event: HotPathEvent): HotPathState => {
    switch (event.type) {
      case "baseline.set":
        executor.setBaseline(now());
        break;
      case "rollback":
        executor.rollback((event.code ?? RollbackReason.Manual) as RollbackReason, now(), event.reason);
        break;
    }
    return state();
  }, state);
}
