/**
 * The coordinators' leader lease in Redis, with an epoch that fences deposed leaders.
 *
 * @packageDocumentation
 */
import type { Redis } from "ioredis";
import { MAX_TIMER_MS } from "../../machines/timer-limit.js";
import { keyedError } from "./keyed-error.js";
import type { FleetKeys } from "./streams.js";

// Renews only while the caller still owns the lease, in one atomic step.
const RENEW = `if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('PEXPIRE', KEYS[1], ARGV[2])
end
return 0`;

// Raises the epoch counter to at least ARGV[1] (never lowers it).
const RAISE_FLOOR = `local current = tonumber(redis.call('GET', KEYS[1]) or '0')
if current < tonumber(ARGV[1]) then redis.call('SET', KEYS[1], ARGV[1]) end
return 1`;

// Bumps the epoch counter, to above ARGV[1] at least: a tenure's epoch is never one already seen.
const NEXT_EPOCH = `local epoch = redis.call('INCR', KEYS[1])
local floor = tonumber(ARGV[1])
if epoch <= floor then
  epoch = floor + 1
  redis.call('SET', KEYS[1], epoch)
end
return epoch`;

// Releases only the caller's own lease.
const RELEASE = `if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('DEL', KEYS[1])
end
return 0`;

/**
 * One contender for leadership.
 *
 * @remarks
 * `tryAcquire` is `SET lease owner NX PX ttl`; a winner then bumps the epoch counter, and that
 * epoch goes into every command it signs, so replicas can refuse any command of a lower epoch
 * (a deposed leader's late commands). `renew` extends the lease only while this owner holds it
 * (a Lua script that checks the owner). A holder that has not renewed for a whole ttl must
 * consider itself deposed, whatever Redis says later: {@link LeaderLease.heldAt} tells it.
 */
export class LeaderLease {
  /** Epoch of the current tenure (0 while not leading). */
  epoch = 0;
  private renewedAt = Number.NEGATIVE_INFINITY;

  constructor(
    private readonly redis: Redis,
    private readonly keys: FleetKeys,
    /** This contender's id (unique per process). */
    readonly owner: string,
    /** Lease time to live, ms: a whole number from 1 to {@link MAX_TIMER_MS}. */
    readonly ttlMs: number,
  ) {
    // `PX` takes whole milliseconds only, and the holder's timers are set from the ttl.
    if (!Number.isInteger(ttlMs) || ttlMs < 1 || ttlMs > MAX_TIMER_MS)
      throw new RangeError(`lease ttlMs: must be a whole number from 1 to ${MAX_TIMER_MS} (got ${ttlMs})`);
    if (typeof owner !== "string" || owner === "")
      throw new RangeError(`lease owner: must be a non-empty string (got ${JSON.stringify(owner)})`);
  }

  /**
   * Takes the lease if nobody holds it. Returns the new epoch, or 0 when someone else leads. The
   * epoch is above `seen`, the highest this contender knows of: when Redis lost its data the
   * counter starts again from 0, and a tenure that took an epoch already used could not be told
   * from the one that used it.
   */
  async tryAcquire(now: number, seen = 0): Promise<number> {
    const { lease, epoch } = this.keys;
    const set = await this.redis.set(lease, this.owner, "PX", this.ttlMs, "NX").catch((error: unknown) => {
      throw keyedError(error, "SET", lease);
    });
    if (set !== "OK") return 0;
    let next: unknown;
    try {
      next = await this.redis.eval(NEXT_EPOCH, 1, epoch, String(seen));
    } catch (error) {
      // No epoch, no tenure: held, the lease would keep every other contender out until it lapsed.
      await this.redis.eval(RELEASE, 1, lease, this.owner).catch(() => {});
      throw keyedError(error, "EVAL", epoch);
    }
    this.epoch = Number(next);
    this.renewedAt = now;
    return this.epoch;
  }

  /** Extends the lease; false when this owner no longer holds it (it was deposed). */
  async renew(now: number): Promise<boolean> {
    const { lease } = this.keys;
    const renewed = await this.redis
      .eval(RENEW, 1, lease, this.owner, String(this.ttlMs))
      .catch((error: unknown) => {
        throw keyedError(error, "EVAL", lease);
      });
    if (renewed === 1) {
      // A late answer to an older renewal must not date the lease back.
      this.renewedAt = Math.max(this.renewedAt, now);
      return true;
    }
    this.epoch = 0;
    return false;
  }

  /** Whether the lease is surely still ours at `now` (renewed less than a ttl ago). */
  heldAt(now: number): boolean {
    return this.epoch > 0 && now < this.heldUntil;
  }

  /**
   * When the lease stops being surely ours unless renewed: a ttl after the latest renewal sent
   * (Redis extends it from when it runs the renewal, later).
   */
  get heldUntil(): number {
    return this.renewedAt + this.ttlMs;
  }

  /**
   * Raises the epoch counter to at least `floor`, so the next tenure's epoch is above it: for when
   * replicas report an epoch the counter no longer reaches (Redis lost its data).
   */
  async raiseEpochFloor(floor: number): Promise<void> {
    await this.redis.eval(RAISE_FLOOR, 1, this.keys.epoch, String(floor));
  }

  /** Gives the lease up (only if still ours). */
  async release(): Promise<void> {
    this.epoch = 0;
    await this.redis.eval(RELEASE, 1, this.keys.lease, this.owner);
  }
}
