import type { SchedulerLike } from "rxjs";
import type { TimeReader } from "./safety/instability-governor.js";

/**
 * The engine's time for one `observe` call, read from the scheduler at most once and only if
 * something asks for it.
 *
 * @remarks
 * Why: on Node 20 every wall-clock read (`Date.now()`, `performance.now()`) returns a fresh heap
 * number, 16 bytes. Most accepted digests need no time at all (no timestamp to age, the settle
 * period long past, no trip), so reading the clock lazily keeps the ingest path allocation-free.
 * The value lives in a double field, so handing it on allocates nothing more.
 */
export class EntryTime implements TimeReader {
  private time = 0;
  private known = false;

  constructor(private readonly scheduler: SchedulerLike) {}

  /** Forgets the time read for the previous call. */
  reset(): void {
    this.known = false;
  }

  now(): number {
    if (!this.known) {
      this.time = this.scheduler.now();
      this.known = true;
    }
    return this.time;
  }
}
