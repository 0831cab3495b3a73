import { asyncScheduler, Observable, type SchedulerLike, type Subscription } from "rxjs";
import { isTimerMs, timerMsRange } from "../../machines/timer-limit.js";
import { UsageError } from "../errors.js";
import { isSchedulerLike } from "../runtime/scheduler-like.js";
import { shownValue } from "../shown-value.js";
import { unknownOptionKeys, unknownOptionsText } from "../unknown-options.js";
import type { Engine, EngineSnapshot } from "./engine.js";

/** Options of {@link engineSnapshots}. */
export interface EngineSnapshotsOptions {
  /**
   * After an audit event, how long to wait for more before taking the next snapshot, in ms
   * (default 100): a burst of events within this time yields one snapshot, taken at its end.
   */
  readonly everyMs?: number;
  /**
   * The scheduler that times the wait (default RxJS `asyncScheduler`). Pass the engine's own
   * scheduler when the engine runs in virtual time, so that the snapshots follow its clock (a test,
   * a replay). A screen over a simulation that runs faster than real time may keep the default on
   * purpose: it then renders at most once per `everyMs` of real time, however fast the simulation
   * runs, at the price of a view that trails the engine by up to that long.
   */
  readonly scheduler?: SchedulerLike;
}

const SNAPSHOTS_OPTIONS = ["everyMs", "scheduler"];

/**
 * `options` with their defaults, checked; a `UsageError` names `caller` (the function the host
 * called, which may pass them on) when `everyMs` is not a number ≥ 0 a timer can wait, `scheduler`
 * is no RxJS scheduler or an option is unknown (`also`: further keys the caller takes itself).
 */
export function checkedSnapshotsOptions(
  options: EngineSnapshotsOptions,
  caller: string,
  also: readonly string[] = [],
): { readonly everyMs: number; readonly scheduler: SchedulerLike } {
  const known = [...SNAPSHOTS_OPTIONS, ...also];
  const unknown = unknownOptionKeys(options, known);
  if (unknown.length > 0) throw new UsageError(`${caller}: ${unknownOptionsText(unknown, known)}`);
  const everyMs = options.everyMs ?? SNAPSHOT_EVERY_MS;
  // A delay past Node's longest timer would fire at once: the throttle would silently be off.
  if (!(typeof everyMs === "number" && isTimerMs(everyMs, false)))
    throw new UsageError(
      `${caller}: everyMs must be a number of milliseconds ${timerMsRange(false)}, got ${shownValue(everyMs)}`,
    );
  const scheduler = options.scheduler ?? asyncScheduler;
  // Taken on trust, it would throw from inside the engine's event delivery at the first event.
  if (!isSchedulerLike(scheduler))
    throw new UsageError(
      `${caller}: scheduler must be an RxJS SchedulerLike (with now() and schedule()), got ${shownValue(scheduler)}`,
    );
  return { everyMs, scheduler };
}

/** The default of {@link EngineSnapshotsOptions.everyMs}. */
export const SNAPSHOT_EVERY_MS = 100;

/**
 * The engine's state as a stream: one {@link EngineSnapshot} when subscribed, then one after each
 * burst of audit events, so that a UI sees every change without polling.
 *
 * @remarks
 * Each subscription takes a snapshot at once, then listens to `engine.events`; the first event of
 * a burst starts a timer of `everyMs` and, when it fires, one snapshot is taken (as RxJS `auditTime`),
 * so the cost is at most one snapshot per `everyMs` however busy the engine is, and nothing at all
 * while it is idle. A change that writes no audit event (an accepted digest, say) shows up with the
 * next event. When the engine closes, `events` completes: a snapshot still pending is taken and
 * delivered at once (no timer outlives the engine), then the stream completes. Subscribing to a closed engine yields one snapshot and completes.
 * Snapshots allocate, so this is for UIs and reports, not the hot path. Throws a `UsageError` when
 * `everyMs` is not a number ≥ 0 that a timer can wait (at most 2³¹ − 1 ms), `scheduler` is no RxJS
 * scheduler (with `now()` and `schedule()`), or an option is unknown.
 *
 * @example
 * ```ts
 * const subscription = engineSnapshots(engine, { everyMs: 250 }).subscribe((s) =>
 *   render(s.generation, s.values),
 * );
 * ```
 */
export function engineSnapshots<N extends string = string>(
  engine: Pick<Engine<N>, "events" | "snapshot">,
  options: EngineSnapshotsOptions = {},
): Observable<EngineSnapshot<N>> {
  const { everyMs, scheduler } = checkedSnapshotsOptions(options, "engineSnapshots");
  return new Observable<EngineSnapshot<N>>((subscriber) => {
    subscriber.next(engine.snapshot());
    // RxJS's auditTime, except at the end: when the engine closes, a snapshot still waiting is
    // taken at once and the stream completes, rather than holding a timer (and the host's process)
    // for up to `everyMs` after the close.
    let waiting: Subscription | undefined;
    const take = () => {
      waiting = undefined;
      subscriber.next(engine.snapshot());
    };
    const events = engine.events.subscribe({
      next: () => {
        if (waiting !== undefined) return;
        let ran = false;
        const scheduled = scheduler.schedule(() => {
          ran = true;
          take();
        }, everyMs);
        // A scheduler that runs due work at once (queueScheduler, everyMs 0) has taken it already.
        if (!ran) waiting = scheduled;
      },
      error: (error: unknown) => {
        waiting?.unsubscribe();
        subscriber.error(error);
      },
      complete: () => {
        if (waiting !== undefined) {
          waiting.unsubscribe();
          take();
        }
        subscriber.complete();
      },
    });
    return () => {
      waiting?.unsubscribe();
      events.unsubscribe();
    };
  });
}
