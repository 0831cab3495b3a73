/**
 * Counts events in a sliding time window: "at most `limit` within `windowMs`". Keeps the times
 * of the latest `limit` events in a ring, so a check is O(limit) and nothing allocates after
 * construction (limits are small: violations per minute, rollbacks per hour).
 */
export class EventRate {
  /** Events that fill the window. */
  readonly limit: number;
  /** Width of the sliding window (ms). */
  readonly windowMs: number;
  private readonly times: Float64Array;
  private next = 0;
  private stored = 0;

  /** @param limit - events per window (an integer ≥ 0; 0 means every event is over the limit). */
  constructor(limit: number, windowMs: number) {
    this.limit = limit;
    this.windowMs = windowMs;
    this.times = new Float64Array(Math.max(1, limit));
  }

  /** Events recorded within the window ending at `now` (at most `limit`). */
  count(now: number): number {
    let inside = 0;
    for (let k = 0; k < this.stored; k++) if (now - this.times[k]! < this.windowMs) inside++;
    return inside;
  }

  /** Whether `limit` events already lie within the window ending at `now` (one more would exceed it). */
  full(now: number): boolean {
    return this.count(now) >= this.limit;
  }

  /** Records an event at `now`; returns how many lie within the window, this one included. */
  record(now: number): number {
    if (this.limit === 0) return 1;
    this.times[this.next] = now;
    this.next = (this.next + 1) % this.times.length;
    if (this.stored < this.times.length) this.stored++;
    return this.count(now);
  }

  /** When the window will hold fewer than `limit` events again (−Infinity if it already does). */
  belowLimitAt(now: number): number {
    if (this.count(now) < this.limit) return Number.NEGATIVE_INFINITY;
    // The ring is full: the oldest stored time is at `next`.
    return this.times[this.next % this.times.length]! + this.windowMs;
  }

  /** Forgets every event. */
  clear(): void {
    this.next = 0;
    this.stored = 0;
  }
}
