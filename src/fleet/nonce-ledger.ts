/**
 * A bounded record of the command ids already accepted, so a replayed command is refused.
 *
 * @remarks
 * Each id is kept for as long as the command it belongs to can pass the freshness check, that is
 * through its `issuedAt + maxAgeMs` inclusive (a command exactly that old is still fresh); after
 * that a replay is refused as stale anyway, so the entry may go.
 * When the ledger is full of entries that are all still needed it FAILS CLOSED: the new command
 * is refused rather than an entry evicted (an eviction would reopen a replay window).
 */
export class NonceLedger {
  private readonly entries = new Map<string, number>();

  /** @param capacity - Most ids kept at once (a whole number ≥ 1). */
  constructor(readonly capacity: number) {
    if (!Number.isSafeInteger(capacity) || capacity < 1) {
      throw new RangeError(`nonce ledger capacity must be a whole number ≥ 1 (got ${capacity})`);
    }
  }

  /** Ids held now. */
  get size(): number {
    return this.entries.size;
  }

  /**
   * Records `id` as used through `expiresAt` (ms, inclusive: the id is freed only once `now` is
   * past it). Returns `"registered"`, `"replay"` when the id is held already, or `"full"` when no
   * room can be made by dropping expired entries.
   */
  register(id: string, expiresAt: number, now: number): "registered" | "replay" | "full" {
    const held = this.entries.get(id);
    if (held !== undefined && held >= now) return "replay";
    if (held === undefined && this.entries.size >= this.capacity) {
      this.dropExpired(now);
      if (this.entries.size >= this.capacity) return "full";
    }
    this.entries.set(id, expiresAt);
    return "registered";
  }

  /** Forgets every id whose command can no longer be fresh. O(size), only when the ledger is full. */
  private dropExpired(now: number): void {
    for (const [id, expiresAt] of this.entries) {
      if (expiresAt < now) this.entries.delete(id);
    }
  }
}
