import { VirtualTimeScheduler } from "rxjs";

/**
 * The virtual clock a replay drives its engine with: an RxJS `VirtualTimeScheduler` that starts at
 * a given time and moves forward only when told, running the timers that fall due on the way.
 *
 * @remarks
 * `VirtualTimeScheduler.flush()` alone runs every queued timer whatever its due time; replay must
 * stop at each logged input's time, so {@link ReplayClock.advanceTo} runs the due timers one
 * distinct due time after another and then sets the clock to the target.
 */
export class ReplayClock extends VirtualTimeScheduler {
  /** A clock reading `startTime` ms. */
  constructor(startTime: number) {
    super();
    this.frame = startTime;
  }

  /**
   * Moves the clock to `time`, running in time order every timer due by then (including timers
   * those timers schedule). A time in the past leaves the clock where it is.
   */
  advanceTo(time: number): void {
    if (!(time >= this.frame)) return;
    for (let next = this.actions[0]; next !== undefined && next.delay <= time; next = this.actions[0]) {
      this.maxFrames = next.delay;
      this.flush();
    }
    this.maxFrames = time;
    this.frame = time;
  }
}
