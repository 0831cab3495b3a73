import { fromTransition } from "xstate";

/**
 * What the hot-path actor reports to inspectors. It is updated by control events only, not by
 * applies (which bypass the actor), so between two control events the live generation may be ahead.
 */
export interface HotPathState {
  readonly generation: number;
  readonly baselineGeneration: number;
}

/**
 * Control commands the hot-path actor takes. Applies are NOT among them: the SPSA cycle hands
 * target points to the executor by direct call (an `actor.send` costs microseconds; an apply
 * must cost about a hundred nanoseconds).
 */
export type HotPathEvent =
  | { readonly type: "baseline.set" }
  | {
      readonly type: "rollback";
      /** Free text kept with the audit record. */
      readonly reason: string;
      /** Why, as a `RollbackReason` code (default: manual). */
      readonly code?: number;
    };

/**
 * Stand-in logic for the hot-path actor, so the engine chart can be loaded and visualised on its
 * own. The engine replaces it with logic bound to the live config and the executor.
 */
export const hotPathPlaceholder = fromTransition(
  (state: HotPathState, _event: HotPathEvent): HotPathState => state,
  { generation: 0, baselineGeneration: -1 },
);
