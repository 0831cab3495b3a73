/**
 * The coordinator's side of the telemetry bus: a consumer-group reader of the digest stream that
 * claims idle entries, dead-letters poison and over-delivered entries, and is idempotent on
 * (replica, seq).
 *
 * @packageDocumentation
 */
import type { Redis } from "ioredis";
import { decodeBatch, type FleetDigest } from "./digest-batch.js";
import { keyedError } from "./keyed-error.js";
import type { Keyring } from "./signing.js";
import { COORDINATOR_GROUP, type FleetKeys, fieldsOf } from "./streams.js";

/** Options of {@link TelemetryConsumer}. */
export interface TelemetryConsumerOptions {
  /** For ordinary commands. */
  readonly redis: Redis;
  /** A connection of its own for the blocking reads. */
  readonly blocking: Redis;
  readonly keys: FleetKeys;
  readonly keyring: Keyring;
  /** This consumer's name in the group (unique per coordinator process). */
  readonly consumer: string;
  /** Called once per new digest, in stream order. Must not throw. */
  readonly onDigest: (replica: string, digest: FleetDigest) => void;
  /** Entries per read (default 100). */
  readonly count?: number;
  /** Longest blocking read, ms (default 200). */
  readonly blockMs?: number;
  /** An entry pending this long with another consumer is claimed, ms (default 2 000). */
  readonly claimIdleMs?: number;
  /** Deliveries after which an entry is dead-lettered instead of processed (default 5). */
  readonly maxDeliveries?: number;
  /** Approximate dead-letter stream length kept (default 10 000). */
  readonly deadLetterMaxLen?: number;
  /**
   * Claims every entry pending with any consumer, however briefly idle, before its first read:
   * for a consumer that knows no other one is reading (a coordinator that just took the lease),
   * so that what a dead one left is processed before anything newer (default false).
   */
  readonly takeOver?: boolean;
}

/** The whole-number options of {@link TelemetryConsumerOptions}: each must be ≥ 1 when given. */
const COUNTS = ["count", "blockMs", "claimIdleMs", "maxDeliveries", "deadLetterMaxLen"] as const;

/**
 * What is wrong with the tuning options of a consumer, each as `<prefix><field>: <reason>`; empty
 * when nothing is. (The coordinator checks its `telemetry` option with this, prefix "telemetry.".)
 */
export function consumerOptionIssues(
  options: Pick<TelemetryConsumerOptions, (typeof COUNTS)[number]>,
  prefix = "",
): string[] {
  const issues: string[] = [];
  for (const field of COUNTS) {
    const value = options[field];
    // BLOCK 0 blocks for ever, COUNT 0 reads everything, MAXLEN must be whole: none fails loudly.
    if (value !== undefined && !(Number.isSafeInteger(value) && value >= 1))
      issues.push(`${prefix}${field}: must be a whole number ≥ 1 (got ${value})`);
  }
  return issues;
}

/** Counters of a {@link TelemetryConsumer}. */
export interface ConsumerStats {
  /** Digests handed to `onDigest`. */
  readonly processed: number;
  /** Digests skipped because their (replica, seq) was processed already (or a later one was). */
  readonly duplicates: number;
  /** Entries moved to the dead-letter stream. */
  readonly deadLetters: number;
  /** Entries taken over from an idle consumer. */
  readonly claimed: number;
  /** Failed Redis calls (the loop backs off and goes on). */
  readonly busErrors: number;
}

type StreamEntry = [id: string, fields: string[] | null];

/**
 * Reads digest batches through the coordinators' consumer group.
 *
 * @remarks
 * Delivery: telemetry is at most once per (replica, seq): the highest seq processed per replica is
 * kept (and stored in Redis with each acknowledgement, so a standby coordinator starts from it);
 * an older or repeated seq is skipped as a duplicate. An entry that a dead consumer read but never
 * acknowledged is claimed (`XAUTOCLAIM`) after `claimIdleMs`, or before the first read with
 * `takeOver`, and processed; one delivered `maxDeliveries` times, or with a bad MAC or a malformed
 * payload, goes to the dead-letter stream with its reason and original id, and is acknowledged.
 */
export class TelemetryConsumer {
  private readonly watermark = new Map<string, number>();
  private counts = { processed: 0, duplicates: 0, deadLetters: 0, claimed: 0, busErrors: 0 };
  private running = false;
  private loop: Promise<void> | undefined;
  private lastClaimAt = 0;
  private readonly count: number;
  private readonly blockMs: number;
  private readonly claimIdleMs: number;
  private readonly maxDeliveries: number;
  private readonly deadLetterMaxLen: number;

  /** @throws RangeError naming each option that is out of range. */
  constructor(private readonly options: TelemetryConsumerOptions) {
    const issues = consumerOptionIssues(options);
    if (typeof options.consumer !== "string" || options.consumer === "")
      issues.unshift(`consumer: must be a non-empty string (got ${JSON.stringify(options.consumer)})`);
    if (issues.length > 0) throw new RangeError(`invalid telemetry consumer options: ${issues.join("; ")}`);
    this.count = options.count ?? 100;
    this.blockMs = options.blockMs ?? 200;
    this.claimIdleMs = options.claimIdleMs ?? 2_000;
    this.maxDeliveries = options.maxDeliveries ?? 5;
    this.deadLetterMaxLen = options.deadLetterMaxLen ?? 10_000;
  }

  /** Counters (cheap). */
  stats(): ConsumerStats {
    return { ...this.counts };
  }

  /** Loads the stored seq watermarks, makes sure the group exists, and starts reading. */
  async start(): Promise<void> {
    const stored = await this.options.redis.hgetall(this.options.keys.seqs);
    for (const [replica, seq] of Object.entries(stored)) this.watermark.set(replica, Number(seq));
    await this.ensureGroup();
    this.running = true;
    this.loop = this.run();
  }

  /** Stops after the read in progress. */
  async stop(): Promise<void> {
    this.running = false;
    await this.loop;
  }

  private async ensureGroup(): Promise<void> {
    try {
      await this.options.redis.xgroup(
        "CREATE",
        this.options.keys.digests,
        COORDINATOR_GROUP,
        "0",
        "MKSTREAM",
      );
    } catch (error) {
      if (!String(error).includes("BUSYGROUP"))
        throw keyedError(error, "XGROUP CREATE", this.options.keys.digests);
    }
  }

  private async run(): Promise<void> {
    let tookOver = this.options.takeOver !== true;
    while (this.running) {
      try {
        if (!tookOver) {
          // Before any newer entry: a seq claimed after a later one would count as a duplicate.
          await this.claimIdle(0);
          tookOver = true;
          this.lastClaimAt = Date.now();
        }
        const now = Date.now();
        if (now - this.lastClaimAt >= this.claimIdleMs / 2) {
          this.lastClaimAt = now;
          await this.claimIdle(this.claimIdleMs);
        }
        await this.readNew();
      } catch (error) {
        this.counts.busErrors++;
        if (String(error).includes("NOGROUP")) await this.ensureGroup().catch(() => undefined);
        // Back off before the next attempt so a dead Redis is not hammered.
        await new Promise((resolve) => setTimeout(resolve, Math.min(this.blockMs, 200)));
      }
    }
  }

  private async readNew(): Promise<void> {
    const { blocking, keys, consumer } = this.options;
    const reply = (await blocking.xreadgroup(
      "GROUP",
      COORDINATOR_GROUP,
      consumer,
      "COUNT",
      this.count,
      "BLOCK",
      this.blockMs,
      "STREAMS",
      keys.digests,
      ">",
    )) as [string, StreamEntry[]][] | null;
    if (reply === null) return;
    await this.handle(reply[0]![1], new Map());
  }

  /** Claims entries idle `minIdleMs` with other (dead) consumers and processes or dead-letters them. */
  private async claimIdle(minIdleMs: number): Promise<void> {
    const { redis, keys, consumer } = this.options;
    let cursor = "0-0";
    do {
      const [next, entries] = (await redis.xautoclaim(
        keys.digests,
        COORDINATOR_GROUP,
        consumer,
        minIdleMs,
        cursor,
        "COUNT",
        this.count,
      )) as [string, StreamEntry[]];
      cursor = next;
      const live = entries.filter((entry) => entry !== null && entry[1] !== null);
      if (live.length === 0) continue;
      this.counts.claimed += live.length;
      // Delivery counts of what was just claimed (XAUTOCLAIM counted this delivery).
      const pending = (await redis.xpending(
        keys.digests,
        COORDINATOR_GROUP,
        live[0]![0],
        live[live.length - 1]![0],
        live.length,
        consumer,
      )) as [string, string, number, number][];
      await this.handle(live, new Map(pending.map(([id, , , deliveries]) => [id, deliveries])));
    } while (cursor !== "0-0" && this.running);
  }

  private async handle(
    entries: readonly StreamEntry[],
    deliveries: ReadonlyMap<string, number>,
  ): Promise<void> {
    const { redis, keys, keyring } = this.options;
    const pipeline = redis.pipeline();
    const touched = new Set<string>();
    /** The dead letters' places in the pipeline: each is counted once Redis has taken it. */
    const deadLetters: number[] = [];
    for (const [id, flat] of entries) {
      if (flat === null) continue;
      const fields = fieldsOf(flat);
      if ((deliveries.get(id) ?? 1) > this.maxDeliveries) {
        deadLetters.push(pipeline.length);
        this.deadLetter(pipeline, id, flat, "too-many-deliveries");
        continue;
      }
      const batch = decodeBatch(keyring, fields);
      if (!batch.ok) {
        deadLetters.push(pipeline.length);
        this.deadLetter(pipeline, id, flat, `${batch.reason}: ${batch.detail}`);
        continue;
      }
      let last = this.watermark.get(batch.replica) ?? 0;
      for (const digest of batch.digests) {
        if (digest.seq <= last) {
          this.counts.duplicates++;
          continue;
        }
        last = digest.seq;
        this.counts.processed++;
        this.options.onDigest(batch.replica, digest);
      }
      this.watermark.set(batch.replica, last);
      touched.add(batch.replica);
    }
    for (const replica of touched) pipeline.hset(keys.seqs, replica, this.watermark.get(replica)!);
    pipeline.xack(keys.digests, COORDINATOR_GROUP, ...entries.map(([id]) => id));
    const results = await pipeline.exec();
    // Counted once Redis took them (it answers each command of a pipeline on its own), so the
    // count never runs ahead of the dead-letter stream.
    for (const at of deadLetters) if (results?.[at]?.[0] === null) this.counts.deadLetters++;
  }

  private deadLetter(
    pipeline: ReturnType<Redis["pipeline"]>,
    id: string,
    flat: string[],
    reason: string,
  ): void {
    pipeline.xadd(
      this.options.keys.deadLetters,
      "MAXLEN",
      "~",
      this.deadLetterMaxLen,
      "*",
      "reason",
      reason,
      "source",
      this.options.keys.digests,
      "id",
      id,
      ...flat,
    );
  }
}
