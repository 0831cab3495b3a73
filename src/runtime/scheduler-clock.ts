import type { SchedulerLike, Subscription } from "rxjs";
import type { ActorOptions, AnyActorLogic } from "xstate";

/** XState's clock type (not exported by name from the package root). */
type Clock = NonNullable<ActorOptions<AnyActorLogic>["clock"]>;

/**
 * An XState clock backed by an RxJS scheduler, so statechart delays (`after`) run on the same
 * time source as the evaluation windows — real time with `asyncScheduler`, virtual time with a
 * `TestScheduler`.
 */
export function clockFromScheduler(scheduler: SchedulerLike): Clock {
  return {
    setTimeout: (fn: (...args: unknown[]) => void, ms: number) => scheduler.schedule(() => fn(), ms),
    clearTimeout: (handle: unknown) => (handle as Subscription).unsubscribe(),
  };
}
