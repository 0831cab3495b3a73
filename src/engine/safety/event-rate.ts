/**
 * Counts events in a sliding time window: "at most `limit` within `windowMs`". Keeps the times
 * of the latest `limit` events in a ring (empty slots hold −∞, which no window contains), so a
 * check is O(limit) and nothing allocates after construction (limits are small: violations per
 * minute, rollbacks per hour, governor trips).
 */
export class EventRate {
  /** Events that fill the window. */
  readonly limit: number;
  /** Width of the sliding window (ms). */
  readonly windowMs: number;
  private readonly times: Float64Array;
  private next = 0;

  /** @param limit - events per window (an integer ≥ 0; 0 means every event is over the limit). */
  constructor(limit: number, windowMs: number) {
    this.limit = limit;
    this.windowMs = windowMs;
    this.times = new Float64Array(Math.max(1, limit)).fill(Number.NEGATIVE_INFINITY);
  }

  /** Events recorded within the window ending at `now` (at most `limit`). */
  count(now: number): number {
    let inside = 0;
    for (let k = 0; k < this.times.length; k++) if (now - this.times[k]! < this.windowMs) inside++;
    return inside;
  }

  /** Events remembered, inside the window or not (at most `limit`). */
  get recorded(): number {
    let n = 0;
    for (let k = 0; k < this.times.length; k++) if (this.times[k]! > Number.NEGATIVE_INFINITY) n++;
    return n;
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
    return this.count(now);
  }

  /** Takes back the latest recorded event (if any is remembered), as if it had not happened. */
  retractLast(): void {
    const last = (this.next - 1 + this.times.length) % this.times.length;
    if (this.times[last] === Number.NEGATIVE_INFINITY) return;
    this.times[last] = Number.NEGATIVE_INFINITY;
    this.next = last;
  }

  /** When the window will hold fewer than `limit` events again (−Infinity if it already does). */
  belowLimitAt(now: number): number {
    if (this.count(now) < this.limit) return Number.NEGATIVE_INFINITY;
    // The ring is full of events inside the window: the oldest is at `next`.
    return this.times[this.next]! + this.windowMs;
  }

  /** Forgets every event. */
  clear(): void {
    this.times.fill(Number.NEGATIVE_INFINITY);
    this.next = 0;
  }
}
