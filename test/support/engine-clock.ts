import type { SchedulerAction, SchedulerLike } from "rxjs";
import { VirtualTimeScheduler } from "rxjs";

/**
 * A virtual-time RxJS scheduler that tests move forward by hand, for engines created with
 * `scheduler: clock`.
 *
 * @remarks
 * `VirtualTimeScheduler.flush()` runs every queued action whatever its time; this clock runs
 * only the actions due by the target time, one distinct due time at a time, and calls `onStep`
 * after each, so a test can check the engine between two scheduled events (at most one apply
 * happens per due time while the guardrails' minimum interval is positive).
 */
export class ManualClock extends VirtualTimeScheduler {
  /** Moves the clock to `time` (ms), running every action due by then in time order. */
  advanceTo(time: number, onStep?: () => void): void {
    if (!(time >= this.frame))
      throw new RangeError(`cannot move the clock back from ${this.frame} to ${time}`);
    for (let next = this.actions[0]; next !== undefined && next.delay <= time; next = this.actions[0]) {
      this.maxFrames = next.delay;
      this.flush();
      onStep?.();
    }
    this.maxFrames = time;
    this.frame = time;
  }

  /** Moves the clock forward by `ms`. */
  advanceBy(ms: number, onStep?: () => void): void {
    this.advanceTo(this.frame + ms, onStep);
  }

  /** Actions (timers) still queued. */
  get pendingActions(): number {
    return this.actions.length;
  }
}

/** `clock`, except that the schedule call `breaks` picks throws, once. */
export function brokenOnce(clock: ManualClock, breaks: (call: number, delay: number | undefined) => boolean) {
  let calls = 0;
  let broken = false;
  const scheduler: SchedulerLike = {
    now: () => clock.now(),
    schedule<T>(work: (this: SchedulerAction<T>, state?: T) => void, delay?: number, state?: T) {
      calls++;
      if (!broken && breaks(calls, delay)) {
        broken = true;
        throw new Error(`schedule #${calls} failed`);
      }
      return clock.schedule(work, delay, state);
    },
  };
  return scheduler;
}
