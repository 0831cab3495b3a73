/**
 * The replica's side of the telemetry bus: digests are buffered locally and shipped in batches by
 * a timer, behind the bus's own circuit breaker. Never on the replica's hot path.
 *
 * @packageDocumentation
 */
import type { Redis } from "ioredis";
import { type Actor, createActor } from "xstate";
import { type CircuitBreakerOptions, circuitBreakerMachine } from "../../machines/circuit-breaker.machine.js";
import { encodeBatch, type FleetDigest } from "./digest-batch.js";
import type { Keyring } from "./signing.js";

/** Options of {@link TelemetryPublisher}. */
export interface TelemetryPublisherOptions {
  readonly redis: Redis;
  /** The digest stream key. */
  readonly stream: string;
  readonly replica: string;
  readonly keyring: Keyring;
  /** Digests held locally before new ones are dropped (default 4096). */
  readonly bufferSize?: number;
  /** How often the buffer is shipped, ms (default 50). */
  readonly flushMs?: number;
  /** Most digests per stream entry (default 500). */
  readonly batchSize?: number;
  /** Approximate stream length kept (`XADD MAXLEN ~`, default 100 000). */
  readonly maxLen?: number;
  /**
   * Seq of the first digest minus one (default: the start time in ms × 1000). The default keeps a
   * restarted replica's seqs above those of its earlier run, so the coordinator's (replica, seq)
   * idempotency never mistakes them for duplicates (it would take over 1000 digests per ms).
   */
  readonly firstSeq?: number;
  /** The bus breaker (default: opens after 3 failed flushes, 1 s backoff doubling to 60 s). */
  readonly breaker?: CircuitBreakerOptions;
}

/** Counters of a {@link TelemetryPublisher}. */
export interface PublisherStats {
  /** Digests handed to {@link TelemetryPublisher.publish}. */
  readonly published: number;
  /** Digests written to the stream (acknowledged by Redis). */
  readonly shipped: number;
  /** Digests dropped because the local buffer was full. */
  readonly droppedFull: number;
  /** Digests lost with a failed write (telemetry is at most once). */
  readonly lostInFlight: number;
  /** Digests waiting in the local buffer. */
  readonly buffered: number;
  /** Digests in a write not answered yet (published = shipped + lost + dropped + buffered + inFlight). */
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
 * in one pipeline. A failed write loses that batch (telemetry is at most once; counted) and is
 * reported to the breaker; while the breaker is open, nothing is sent and the buffer fills, then
 * drops. Nothing here throws into the caller.
 */
export class TelemetryPublisher {
  private readonly buffer: FleetDigest[] = [];
  private readonly bufferSize: number;
  private readonly batchSize: number;
  private readonly maxLen: number;
  private readonly breaker: Actor<typeof circuitBreakerMachine>;
  private readonly timer: NodeJS.Timeout;
  private seq: number;
  private flushing = false;
  private inFlight = 0;
  private current: Promise<void> = Promise.resolve();
  private counts = { published: 0, shipped: 0, droppedFull: 0, lostInFlight: 0 };

  constructor(private readonly options: TelemetryPublisherOptions) {
    this.bufferSize = options.bufferSize ?? 4096;
    this.batchSize = options.batchSize ?? 500;
    this.maxLen = options.maxLen ?? 100_000;
    this.seq = options.firstSeq ?? Date.now() * 1000;
    this.breaker = createActor(circuitBreakerMachine, { input: options.breaker }).start();
    this.timer = setInterval(() => void this.flush(), options.flushMs ?? 50);
    this.timer.unref();
  }

  /** Queues one digest measured under `generation`. Returns false when the buffer was full. */
  publish(objective: number, generation: number, timestamp = Date.now()): boolean {
    this.counts.published++;
    if (this.buffer.length >= this.bufferSize) {
      this.counts.droppedFull++;
      return false;
    }
    this.buffer.push({ seq: ++this.seq, generation, objective, timestamp });
    return true;
  }

  /** Counters (cheap). */
  stats(): PublisherStats {
    const state = this.breaker.getSnapshot().value;
    return {
      ...this.counts,
      buffered: this.buffer.length,
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
    if (this.buffer.length === 0) return;
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
      const results = await pipeline.exec();
      const failed = results === null || results.some(([error]) => error !== null);
      if (failed) throw new Error("XADD failed");
      this.counts.shipped += taken.length;
      this.breaker.send({ type: "call.succeeded" });
    } catch {
      this.counts.lostInFlight += taken.length;
      this.breaker.send({ type: "call.failed" });
    } finally {
      this.inFlight = 0;
      this.flushing = false;
    }
  }

  /** Ships what is left (best effort) and stops the timer. */
  async close(): Promise<void> {
    clearInterval(this.timer);
    await this.current;
    await this.flush();
    this.breaker.stop();
  }
}
