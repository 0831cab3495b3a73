/**
 * The replica's side of the telemetry bus: digests are buffered locally and shipped in batches by
 * a timer, behind the bus's own circuit breaker. Never on the replica's hot path.
 *
 * @packageDocumentation
 */
import type { Redis } from "ioredis";
import { type Actor, createActor } from "xstate";
import {
  type CircuitBreakerOptions,
  circuitBreakerMachine,
  circuitBreakerOptionProblems,
} from "../../machines/circuit-breaker.machine.js";
import { MAX_TIMER_MS } from "../../machines/timer-limit.js";
import { beforeDeadline } from "../runtime/deadline.js";
import { shownValue } from "../shown-value.js";
import { optionProblemText } from "../unknown-options.js";
import { encodeBatch, type FleetDigest } from "./digest-batch.js";
import { checkedKeyring, type Keyring } from "./signing.js";

/** Options of {@link TelemetryPublisher}. */
export interface TelemetryPublisherOptions {
  readonly redis: Redis;
  /** The digest stream key (non-empty). */
  readonly stream: string;
  /** The replica id batches are sent under (non-empty: the coordinator refuses a batch without one). */
  readonly replica: string;
  readonly keyring: Keyring;
  /** Digests held locally before new ones are dropped (a whole number ≥ 1, default 4096). */
  readonly bufferSize?: number;
  /** How often the buffer is shipped, ms (a whole number from 1 to 2 147 483 647, default 50). */
  readonly flushMs?: number;
  /** Most digests per stream entry (a whole number ≥ 1, default 500). */
  readonly batchSize?: number;
  /** Approximate stream length kept (`XADD MAXLEN ~`; a whole number ≥ 1, default 100 000). */
  readonly maxLen?: number;
  /**
   * Seq of the first digest minus one (a whole number ≥ 0; default: the start time in ms × 1000,
   * raised by {@link TelemetryPublisher.continueAbove}). The default keeps a restarted replica's
   * seqs above those of its earlier run, so the coordinator's (replica, seq) idempotency never
   * mistakes them for duplicates (it would take over 1000 digests per ms), unless the wall clock
   * stepped back: a replica raises it then to the watermark the coordinator stored for it.
   */
  readonly firstSeq?: number;
  /**
   * How long a flush's write may go unanswered before it counts as failed, ms (a whole number from
   * 1 to 2 147 483 647, default {@link DEFAULT_WRITE_TIMEOUT_MS}). A client that queues commands
   * while disconnected (ioredis's default offline queue) or a connection that hangs would
   * otherwise keep one write pending for as long as the client retries: the breaker would not
   * open, and the digests would wait in the client's queue instead of being counted lost.
   */
  readonly writeTimeoutMs?: number;
  /** The bus breaker (default: opens after 3 failed flushes, 1 s backoff doubling to 60 s). */
  readonly breaker?: CircuitBreakerOptions;
}

/**
 * Default {@link TelemetryPublisherOptions.writeTimeoutMs}: far above a healthy write's round trip
 * (well under a millisecond on a LAN), so that only an outage or a hung connection reaches it.
 */
export const DEFAULT_WRITE_TIMEOUT_MS = 2_000;

const isWhole = (value: unknown, min: number): boolean =>
  typeof value === "number" && Number.isSafeInteger(value) && value >= min;

const isNonEmptyString = (value: unknown): boolean => typeof value === "string" && value !== "";

/**
 * A digest's measured value as it travels: a value that is not a number (undefined for a missing
 * measurement, a string, a bigint) becomes NaN, which the engine rejects alone. As it is, the
 * coordinator would dead-letter the whole batch (a bigint would even fail the flush's encoding).
 */
const measured = (value: unknown): number => (typeof value === "number" ? value : Number.NaN);

/** The publisher's tuning options, which the replica passes through as its `telemetry` option. */
export type PublisherTuning = Pick<
  TelemetryPublisherOptions,
  "bufferSize" | "flushMs" | "batchSize" | "maxLen" | "firstSeq" | "writeTimeoutMs" | "breaker"
>;

/**
 * The problems of publisher tuning, each as "field: reason", the field under `path`. Bad values
 * would fail later and silently, not at once: a batch size of 0 ships nothing, a fractional maxLen
 * fails every XADD (and opens the breaker), a NaN flush period becomes 1 ms.
 */
export function publisherTuningIssues(tuning: PublisherTuning, path = ""): string[] {
  const issues: string[] = [];
  for (const field of ["bufferSize", "batchSize", "maxLen"] as const) {
    const value = tuning[field];
    if (value !== undefined && !isWhole(value, 1))
      issues.push(`${path}${field}: must be a whole number ≥ 1 (got ${shownValue(value)})`);
  }
  for (const field of ["flushMs", "writeTimeoutMs"] as const) {
    const value = tuning[field];
    if (value !== undefined && !(isWhole(value, 1) && value <= MAX_TIMER_MS)) {
      issues.push(
        `${path}${field}: must be a whole number from 1 to ${MAX_TIMER_MS} (got ${shownValue(value)})`,
      );
    }
  }
  const firstSeq = tuning.firstSeq;
  if (firstSeq !== undefined && !isWhole(firstSeq, 0)) {
    issues.push(`${path}firstSeq: must be a whole number ≥ 0 (got ${shownValue(firstSeq)})`);
  }
  // The breaker chart would refuse them too, but only once started, from a timer: uncaught.
  for (const problem of circuitBreakerOptionProblems(tuning.breaker)) {
    const { field } = problem;
    const at = field === "" ? "breaker" : `breaker.${field}`;
    const value = field === "" ? undefined : (tuning.breaker as Readonly<Record<string, unknown>>)[field];
    const refused = field === "" || problem.known !== undefined ? "" : ` (got ${shownValue(value)})`;
    issues.push(`${path}${at}: ${optionProblemText(problem)}${refused}`);
  }
  return issues;
}

/** Counters of a {@link TelemetryPublisher}. */
export interface PublisherStats {
  /** Digests handed to {@link TelemetryPublisher.publish}. */
  readonly published: number;
  /** Digests written to the stream (acknowledged by Redis). */
  readonly shipped: number;
  /** Digests dropped because the local buffer was full. */
  readonly droppedFull: number;
  /**
   * Digests refused by `publish`: for a generation that is not a whole number ≥ 0 (or, on a
   * replica, options `publish` does not take), or published once `close` was called (nothing
   * would ship them).
   */
  readonly refused: number;
  /**
   * Digests lost with a failed write (telemetry is at most once), or with one left unanswered for
   * `writeTimeoutMs`: never resent, though Redis may still take that one late (see
   * {@link TelemetryPublisherOptions.writeTimeoutMs}).
   */
  readonly lostInFlight: number;
  /** Digests waiting in the local buffer. */
  readonly buffered: number;
  /**
   * Digests left in the buffer when `close` gave up (its grace ran out, or the breaker was open):
   * nothing will ship them, so they are no longer counted as buffered.
   */
  readonly unshipped: number;
  /**
   * Digests in a write not answered yet (published = shipped + lost + dropped + refused + buffered
   * + unshipped + inFlight).
   */
  readonly inFlight: number;
  /** The bus breaker's state. */
  readonly breaker: "closed" | "open" | "halfOpen";
}

/**
 * Batches digests into the digest stream.
 *
 * @remarks
 * `publish` is synchronous and O(1): it stamps the next seq and pushes onto a bounded buffer (a
 * full buffer drops the digest and counts it). A timer ships up to `batchSize` digests per entry
 * in one pipeline. A failed write, or one unanswered for `writeTimeoutMs`, loses that batch
 * (telemetry is at most once; counted) and is reported to the breaker; while the breaker is open,
 * nothing is sent and the buffer fills, then drops. Nothing here throws into the caller.
 */
export class TelemetryPublisher {
  private readonly buffer: FleetDigest[] = [];
  private readonly bufferSize: number;
  private readonly batchSize: number;
  private readonly maxLen: number;
  private readonly writeTimeoutMs: number;
  private readonly breaker: Actor<typeof circuitBreakerMachine>;
  private readonly timer: NodeJS.Timeout;
  private seq: number;
  private flushing = false;
  private inFlight = 0;
  private current: Promise<void> = Promise.resolve();
  private counts = { published: 0, shipped: 0, droppedFull: 0, refused: 0, lostInFlight: 0 };
  /** Set by {@link close}: its timer is stopped, so a digest queued later would never ship. */
  private closed = false;
  /** Set once {@link close} stops flushing: what the buffer holds then will never ship. */
  private gaveUp = false;

  /** @throws RangeError naming every bad option (the keyring's problems first). */
  constructor(private readonly options: TelemetryPublisherOptions) {
    checkedKeyring(options.keyring);
    // An empty replica id would get every batch dead-lettered by the coordinator.
    const issues = (["stream", "replica"] as const)
      .filter((field) => !isNonEmptyString(options[field]))
      .map((field) => `${field}: must be a non-empty string (got ${shownValue(options[field])})`);
    const redis: unknown = options.redis;
    if (!(typeof redis === "object" && redis !== null && typeof (redis as Redis).pipeline === "function"))
      issues.unshift(`redis: must be an ioredis client (got ${shownValue(redis)})`);
    issues.push(...publisherTuningIssues(options));
    if (issues.length > 0) throw new RangeError(`invalid telemetry publisher options: ${issues.join("; ")}`);
    this.bufferSize = options.bufferSize ?? 4096;
    this.batchSize = options.batchSize ?? 500;
    this.maxLen = options.maxLen ?? 100_000;
    this.writeTimeoutMs = options.writeTimeoutMs ?? DEFAULT_WRITE_TIMEOUT_MS;
    this.seq = options.firstSeq ?? Date.now() * 1000;
    this.breaker = createActor(circuitBreakerMachine, { input: options.breaker }).start();
    this.timer = setInterval(() => void this.flush(), options.flushMs ?? 50);
    this.timer.unref();
  }

  /**
   * Queues one digest measured under `generation`. An objective or timestamp that is not a number
   * is queued as NaN (the coordinator's engine rejects that digest alone). Returns false, counting
   * it, when the buffer was full, `generation` is not a whole number ≥ 0 (the coordinator would
   * dead-letter the whole batch for it), or the publisher was closed.
   */
  publish(objective: number, generation: number, timestamp = Date.now()): boolean {
    this.counts.published++;
    if (this.closed || !isWhole(generation, 0)) {
      this.counts.refused++;
      return false;
    }
    if (this.buffer.length >= this.bufferSize) {
      this.counts.droppedFull++;
      return false;
    }
    this.buffer.push({
      seq: ++this.seq,
      generation,
      objective: measured(objective),
      timestamp: measured(timestamp),
    });
    return true;
  }

  /**
   * Counts a digest its caller refused before queueing it (as published and refused: the counts
   * still add up). Returns false, as {@link publish} does for a refused digest.
   */
  refuse(): false {
    this.counts.published++;
    this.counts.refused++;
    return false;
  }

  /**
   * Numbers the digests published from now on above `watermark` (the highest seq the coordinator
   * processed for this replica), unless `firstSeq` was given or they already are. A restart after
   * the wall clock stepped back would otherwise number them below it, and the coordinator would
   * drop them all as duplicates until the clock caught up. A `watermark` that is not a whole
   * number ≥ 0 (an unreadable stored value) is ignored. Digests published before keep their seqs.
   */
  continueAbove(watermark: number): void {
    if (this.options.firstSeq !== undefined || !isWhole(watermark, 0)) return;
    this.seq = Math.max(this.seq, watermark);
  }

  /** Counters (cheap). */
  stats(): PublisherStats {
    const state = this.breaker.getSnapshot().value;
    return {
      ...this.counts,
      buffered: this.gaveUp ? 0 : this.buffer.length,
      unshipped: this.gaveUp ? this.buffer.length : 0,
      inFlight: this.inFlight,
      breaker: typeof state === "string" ? (state as "closed" | "open") : "halfOpen",
    };
  }

  /** Ships what is buffered now (the timer calls it; tests may too). Resolves when the write is answered. */
  flush(): Promise<void> {
    if (this.flushing) return this.current;
    this.current = this.ship();
    return this.current;
  }

  private async ship(): Promise<void> {
    // Once close gave up, what is left is counted unshipped: a later flush must not ship it.
    if (this.buffer.length === 0 || this.gaveUp) return;
    const state = this.breaker.getSnapshot();
    if (state.matches("open")) return;
    if (state.matches({ halfOpen: "ready" })) this.breaker.send({ type: "probe.started" });
    else if (state.matches({ halfOpen: "probing" })) return;
    this.flushing = true;
    const taken = this.buffer.splice(0, this.batchSize * 8);
    this.inFlight = taken.length;
    try {
      const pipeline = this.options.redis.pipeline();
      for (let i = 0; i < taken.length; i += this.batchSize) {
        const batch = taken.slice(i, i + this.batchSize);
        const fields = encodeBatch(this.options.keyring, this.options.replica, batch);
        pipeline.xadd(this.options.stream, "MAXLEN", "~", this.maxLen, "*", ...fields);
      }
      const results = await beforeDeadline(pipeline.exec(), this.writeTimeoutMs, "telemetry write");
      const failed = results === null || results.some(([error]) => error !== null);
      if (failed) throw new Error("XADD failed");
      this.counts.shipped += taken.length;
      // A write that outlived close()'s grace is counted, but the breaker is stopped by then.
      if (!this.gaveUp) this.breaker.send({ type: "call.succeeded" });
    } catch {
      this.counts.lostInFlight += taken.length;
      if (!this.gaveUp) this.breaker.send({ type: "call.failed" });
    } finally {
      this.inFlight = 0;
      this.flushing = false;
    }
  }

  /**
   * Stops the timer and ships what is left, best effort: flush after flush (each takes at most
   * `batchSize` × 8 digests), until what was buffered at the call is gone, a flush sends nothing
   * (the breaker is open), or `graceMs` has passed (no new flush starts then; one in flight
   * completes or fails later and is counted).
   */
  async close(graceMs = Number.POSITIVE_INFINITY): Promise<void> {
    this.closed = true;
    clearInterval(this.timer);
    let graceOver = false;
    let endGrace = () => {};
    // A write in flight is not waited for past the grace (it may take up to writeTimeoutMs).
    const graceEnded = new Promise<void>((resolve) => {
      endGrace = resolve;
    });
    const grace = Number.isFinite(graceMs)
      ? setTimeout(() => {
          graceOver = true;
          this.gaveUp = true;
          endGrace();
        }, graceMs)
      : undefined;
    grace?.unref();
    try {
      await Promise.race([this.current, graceEnded]);
      // Bounded by what is buffered now, so digests published meanwhile cannot keep it going.
      let left = this.buffer.length;
      while (left > 0 && this.buffer.length > 0 && !graceOver) {
        const before = this.counts.shipped + this.counts.lostInFlight;
        await Promise.race([this.flush(), graceEnded]);
        const sent = this.counts.shipped + this.counts.lostInFlight - before;
        if (sent === 0) break;
        left -= sent;
      }
    } finally {
      this.gaveUp = true;
      clearTimeout(grace);
      this.breaker.stop();
    }
  }
}
