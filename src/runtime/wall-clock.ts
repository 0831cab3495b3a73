import { asyncScheduler, type SchedulerLike } from "rxjs";

/**
 * A clock that never runs backwards, made from `read` (a wall clock, which may): when a reading is
 * earlier than the latest one returned, the difference is added to every later reading, so time
 * goes on from where it was at the rate `read` keeps. Allocation-free beyond `read` itself (the two
 * numbers it keeps live in a typed array, not in variables a closure would box on every write).
 */
export function monotonicClock(read: () => number): () => number {
  // [latest reading returned, offset added to `read`].
  const state = new Float64Array([Number.NEGATIVE_INFINITY, 0]);
  return () => {
    const t = read() + state[1]!;
    const latest = state[0]!;
    if (t < latest) {
      state[1] = state[1]! + (latest - t);
      return latest;
    }
    state[0] = t;
    return t;
  };
}

/**
 * The engine's default clock and timer source: RxJS `asyncScheduler`'s timers, and `Date.now()`
 * made monotonic ({@link monotonicClock}). The system clock can step back (an NTP correction, a
 * virtual machine resumed); the engine compares digest stamps and pacing with the time of its last
 * apply, and on a clock read back a minute it refused every digest as settling and held every
 * decision for that minute. Hosts stamp digests with `engine.now()`, which reads this clock.
 * Shared, so that every engine of a process reads one time.
 */
export const wallClock: SchedulerLike = {
  now: monotonicClock(() => Date.now()),
  schedule: asyncScheduler.schedule.bind(asyncScheduler) as SchedulerLike["schedule"],
};
