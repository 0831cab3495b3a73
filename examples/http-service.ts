/**
 * A Node HTTP service that tunes one of its own knobs from its own measured latency.
 *
 * The service answers requests in batches of `batchSize`: each batch goes to a simulated
 * downstream that takes a fixed 8 ms per call plus 0.1 ms per request, one call at a time; a batch
 * that has not filled within 100 ms goes out as it is. Small batches pay the fixed cost too often
 * (below 5 the downstream cannot keep up with the load, so 5 is the knob's hard lower bound);
 * large ones keep requests waiting for the batch to fill. An in-process load generator sends a
 * bounded, seeded Poisson stream of about 500 requests per second to 127.0.0.1 only.
 *
 * The run has three phases: "before" (2 s at the starting batch size, engine not observing),
 * "tuning" (an embedded engine receives one digest per 100 ms of arrivals: the median
 * server-side latency of the requests that arrived in that period, stamped with the generation
 * they were all served under) and "after" (2 s at the tuned batch size, engine no longer
 * observing). It prints the latency of the first and last phase and exits by itself.
 *
 * Usage: `tsx examples/http-service.ts [--seconds N] [--seed N]` (N: tuning seconds, default 15).
 */
import { Agent, createServer, request, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { performance } from "node:perf_hooks";
import { pathToFileURL } from "node:url";
import { parseArgs } from "node:util";
import { createEngine } from "arqon";
import { Prng } from "arqon/testing";

/** The artificial workload. */
export const WORKLOAD = Object.freeze({
  /** Requests per second sent by the load generator (Poisson arrivals). */
  arrivalsPerSecond: 500,
  /** A batch that has not filled after this long is sent as it is, ms. */
  lingerMs: 100,
  /** Fixed cost of one downstream call, ms. */
  callOverheadMs: 8,
  /** Cost per request in a downstream call, ms. */
  perRequestMs: 0.1,
  /** Requests in flight above which the load generator skips a request (keeps the run bounded). */
  maxInFlight: 512,
});

/**
 * Turns a fractional knob into whole batch sizes whose running average is the knob: 5.3 gives
 * 5, 5, 6, … with three batches in ten of size 6. Deterministic (no randomness).
 */
export class DitheredSize {
  private carry = 0;

  /** The next whole size (≥ 1) for the target `size`. */
  next(size: number): number {
    const target = Math.max(1, size);
    const whole = Math.floor(target);
    this.carry += target - whole;
    if (this.carry >= 1) {
      this.carry -= 1;
      return whole + 1;
    }
    return whole;
  }
}

/** What the service measured over one arrival period, under one generation. */
export interface PeriodLatency {
  /** Median latency of the period's requests, ms (the objective the service reports). */
  readonly p50: number;
  /** Mean latency of the period's requests, ms. */
  readonly mean: number;
  /** The generation every one of its requests arrived and was answered under. */
  readonly generation: number;
  /** Requests in the period. */
  readonly count: number;
}

interface Period {
  generation: number;
  pending: number;
  latencies: number[];
  mixed: boolean;
}

/**
 * Groups requests by arrival period and reports each period's latency once all of its requests
 * have answered.
 *
 * @remarks
 * Grouping by arrival, not by completion, keeps the mean unbiased: right after a change, the
 * requests completing first are the fast ones, so a completion-time window would flatter the new
 * setting. A period whose requests did not all arrive and finish under one generation measured a
 * mix of two settings; it is dropped and counted in {@link ArrivalPeriods.mixed} instead.
 */
export class ArrivalPeriods {
  /** Periods dropped because their requests saw more than one generation. */
  mixed = 0;
  private readonly periods = new Map<number, Period>();
  private nextToReport = 0;

  /**
   * @param periodMs - length of an arrival period, ms
   * @param start - time of the start of period 0, ms
   */
  constructor(
    readonly periodMs: number,
    readonly start: number,
  ) {}

  /** Notes an arrival at `now` under `generation`; returns the period to pass to {@link complete}. */
  arrive(now: number, generation: number): number {
    const index = Math.max(this.nextToReport, Math.floor((now - this.start) / this.periodMs));
    let period = this.periods.get(index);
    if (period === undefined) {
      period = { generation, pending: 0, latencies: [], mixed: false };
      this.periods.set(index, period);
    }
    if (period.generation !== generation) period.mixed = true;
    period.pending++;
    return index;
  }

  /** Notes that a request of `index` answered after `latencyMs`, with `generation` live then. */
  complete(index: number, latencyMs: number, generation: number): void {
    const period = this.periods.get(index);
    if (period === undefined) return;
    period.pending--;
    period.latencies.push(latencyMs);
    if (period.generation !== generation) period.mixed = true;
  }

  /** The periods that ended before `now` and have every request answered, in order. */
  takeReady(now: number): PeriodLatency[] {
    const ready: PeriodLatency[] = [];
    const current = Math.floor((now - this.start) / this.periodMs);
    while (this.nextToReport < current) {
      const period = this.periods.get(this.nextToReport);
      if (period !== undefined && period.pending > 0) break;
      this.periods.delete(this.nextToReport);
      this.nextToReport++;
      if (period === undefined || period.latencies.length === 0) continue;
      if (period.mixed) {
        this.mixed++;
        continue;
      }
      const stats = latencyStats(period.latencies);
      ready.push({ p50: stats.p50, mean: stats.mean, generation: period.generation, count: stats.count });
    }
    return ready;
  }
}

/** Latency statistics of one phase, ms. */
export interface LatencyStats {
  readonly count: number;
  readonly mean: number;
  readonly p50: number;
  readonly p99: number;
}

/** Mean, median and 99th percentile (nearest rank) of `latencies`; NaN when empty. */
export function latencyStats(latencies: readonly number[]): LatencyStats {
  const sorted = [...latencies].sort((a, b) => a - b);
  const n = sorted.length;
  const rank = (q: number) => (n === 0 ? Number.NaN : sorted[Math.min(n - 1, Math.ceil(q * n) - 1)]!);
  const mean = n === 0 ? Number.NaN : sorted.reduce((s, x) => s + x, 0) / n;
  return { count: n, mean, p50: rank(0.5), p99: rank(0.99) };
}

/** The batching HTTP service; its knob is read through `batchSize()` whenever a batch starts. */
export class BatchingService {
  /** Called with each request's server-side latency and arrival period. */
  onAnswered: (latencyMs: number, period: number) => void = () => {};
  /** Called when a request arrives; returns the arrival period to hand back on answer. */
  onArrival: () => number = () => 0;
  readonly server: Server;
  private readonly sizes = new DitheredSize();
  private pending: { res: ServerResponse; arrivedAt: number; period: number }[] = [];
  private target = 0;
  private linger: NodeJS.Timeout | undefined;
  private readonly queue: { res: ServerResponse; arrivedAt: number; period: number }[][] = [];
  private busy = false;

  constructor(private readonly batchSize: () => number) {
    this.server = createServer((req, res) => {
      req.resume();
      const arrivedAt = performance.now();
      const period = this.onArrival();
      if (this.pending.length === 0) {
        this.target = this.sizes.next(this.batchSize());
        this.linger = setTimeout(() => this.dispatch(), WORKLOAD.lingerMs);
      }
      this.pending.push({ res, arrivedAt, period });
      if (this.pending.length >= this.target) this.dispatch();
    });
    this.server.keepAliveTimeout = 5000;
  }

  private dispatch(): void {
    clearTimeout(this.linger);
    this.linger = undefined;
    if (this.pending.length === 0) return;
    this.queue.push(this.pending);
    this.pending = [];
    this.work();
  }

  /** The simulated downstream: one call at a time, taking callOverheadMs + perRequestMs × size. */
  private work(): void {
    if (this.busy) return;
    const batch = this.queue.shift();
    if (batch === undefined) return;
    this.busy = true;
    const cost = WORKLOAD.callOverheadMs + WORKLOAD.perRequestMs * batch.length;
    setTimeout(() => {
      const now = performance.now();
      for (const { res, arrivedAt, period } of batch) {
        res.end(`{"batch":${batch.length}}`);
        this.onAnswered(now - arrivedAt, period);
      }
      this.busy = false;
      this.work();
    }, cost);
  }

  close(): Promise<void> {
    clearTimeout(this.linger);
    this.server.closeAllConnections();
    return new Promise((done) => this.server.close(() => done()));
  }
}

/**
 * A seeded Poisson stream of arrivals at `perSecond`, released by whoever polls {@link due}.
 *
 * @remarks
 * The arrival times come from the seed alone (exponential gaps), so a poll that comes late (Node's
 * 5 ms interval does, more so under load) releases every arrival owed since the last one: the
 * offered rate is the stated one and the run's requests do not depend on the timer's punctuality.
 */
export class PoissonArrivals {
  private next: number;

  /**
   * @param perSecond - mean arrivals per second
   * @param prng - source of the gaps
   * @param start - time of the start of the stream, ms
   */
  constructor(
    private readonly perSecond: number,
    private readonly prng: Prng,
    start: number,
  ) {
    this.next = start + this.gap();
  }

  /** How many arrivals fell after the previous poll (or the start) and at or before `now` (ms). */
  due(now: number): number {
    let count = 0;
    while (this.next <= now) {
      count++;
      this.next += this.gap();
    }
    return count;
  }

  /** An exponential gap, ms (1 − u is in (0, 1], so the log is finite). */
  private gap(): number {
    return (-Math.log(1 - this.prng.next()) * 1000) / this.perSecond;
  }
}

/**
 * Sends Poisson arrivals at {@link WORKLOAD}.arrivalsPerSecond to `port` on 127.0.0.1 for
 * `seconds`, then waits for the answers. Resolves with how many requests were sent and how many
 * were skipped (too many in flight) or failed.
 */
export async function generateLoad(
  port: number,
  agent: Agent,
  seconds: number,
  prng: Prng,
): Promise<{ sent: number; skipped: number; failed: number }> {
  const tickMs = 5;
  let sent = 0;
  let skipped = 0;
  let failed = 0;
  let inFlight = 0;
  let drained: () => void = () => {};
  const send = () => {
    if (inFlight >= WORKLOAD.maxInFlight) {
      skipped++;
      return;
    }
    inFlight++;
    sent++;
    const done = () => {
      if (--inFlight === 0) drained();
    };
    const req = request({ host: "127.0.0.1", port, path: "/work", agent, timeout: 5000 }, (res) => {
      res.resume();
      res.on("end", done);
      res.on("error", () => {
        failed++;
        done();
      });
    });
    req.on("timeout", () => req.destroy(new Error("timeout")));
    req.on("error", () => {
      failed++;
      done();
    });
    req.end();
  };
  const start = performance.now();
  const end = start + seconds * 1000;
  const arrivals = new PoissonArrivals(WORKLOAD.arrivalsPerSecond, prng, start);
  await new Promise<void>((finish) => {
    const timer = setInterval(() => {
      const now = performance.now();
      for (let k = arrivals.due(Math.min(now, end)); k > 0; k--) send();
      if (now >= end) {
        clearInterval(timer);
        finish();
      }
    }, tickMs);
  });
  if (inFlight > 0) await new Promise<void>((resolve) => (drained = resolve));
  return { sent, skipped, failed };
}

/** Runs the three phases and returns the process exit code. */
export async function runHttpService(
  argv: readonly string[],
  write: (text: string) => void,
): Promise<number> {
  const usage = "usage: tsx examples/http-service.ts [--seconds N (tuning, 0 < N ≤ 600)] [--seed N]\n";
  let seconds: number;
  let seed: number;
  try {
    const { values } = parseArgs({
      args: [...argv],
      options: {
        seconds: { type: "string", default: "15" },
        seed: { type: "string", default: "11" },
        help: { type: "boolean", short: "h", default: false },
      },
      strict: true,
    });
    if (values.help) {
      write(usage);
      return 0;
    }
    seconds = Number(values.seconds);
    seed = Number(values.seed);
    if (!(Number.isFinite(seconds) && seconds > 0 && seconds <= 600))
      throw new Error(
        `--seconds must be a number of seconds in (0, 600], got ${JSON.stringify(values.seconds)}`,
      );
    if (values.seed.trim() === "" || !Number.isSafeInteger(seed))
      throw new Error(`--seed must be an integer, got ${JSON.stringify(values.seed)}`);
  } catch (error) {
    write(`http-service: ${(error as Error).message}\n${usage}`);
    return 2;
  }
  const initialBatch = 16;
  // Below 5 the downstream (8 ms per call) cannot keep up with the load: the floor is the
  // operator's hard bound, not something the tuner has to discover by overloading the service.
  // A window is 2 digests (about 0.3 s with the periods that spanned a change), so the balanced
  // guardrails (an apply per 100 ms at most) never hold it back; moves of up to 6 per apply and a
  // perturbation of ±2.7 (c = 0.045 of the range) stand out of the latency noise; "auto" sets its
  // step gain after 3 iterations so that most of the run is spent moving.
  const engine = createEngine({
    seed,
    runId: `http-service-${seed}`,
    params: { batchSize: { min: 5, max: 64, init: initialBatch, maxDelta: 6 } },
    spsa: { c: 0.045, calibrationIterations: 3 },
    window: { digests: 2, ms: 1000 },
    guardrails: "balanced",
  });
  // Rollbacks and SafeMode trips, so that the output never hides one.
  let rollbacks = 0;
  const trips: string[] = [];
  const audit = engine.events.subscribe((event) => {
    if (event.type === "rollback") rollbacks++;
    else if (event.type === "mode.changed" && event.to !== "normal" && event.from === "normal")
      trips.push(`${event.to}${event.reasons.length > 0 ? ` (${event.reasons.join(", ")})` : ""}`);
  });
  let knob = () => engine.value("batchSize");
  const service = new BatchingService(() => knob());
  await new Promise<void>((ready) => service.server.listen(0, "127.0.0.1", ready));
  const { port } = service.server.address() as AddressInfo;
  const agent = new Agent({ keepAlive: true, maxSockets: 256 });
  const prng = Prng.fromSeed(seed, 0x4c0ad);
  write(
    `HTTP service on 127.0.0.1:${port}: batches requests for a downstream that takes ` +
      `${WORKLOAD.callOverheadMs} ms + ${WORKLOAD.perRequestMs} ms per request; ` +
      `load ${WORKLOAD.arrivalsPerSecond} requests/s.\n`,
  );

  // Phase 1 and 3 collect every latency; phase 2 feeds the engine per arrival period.
  let latencies: number[] = [];
  service.onArrival = () => 0;
  service.onAnswered = (latencyMs) => latencies.push(latencyMs);
  const measure = async (label: string, phaseSeconds: number) => {
    latencies = [];
    const load = await generateLoad(port, agent, phaseSeconds, prng);
    const stats = latencyStats(latencies);
    write(
      `${label.padEnd(7)} batchSize ${knob().toFixed(1).padStart(4)}: ` +
        `mean ${stats.mean.toFixed(1)} ms, p50 ${stats.p50.toFixed(1)} ms, p99 ${stats.p99.toFixed(1)} ms ` +
        `(${stats.count} requests${load.failed + load.skipped > 0 ? `, ${load.failed} failed, ${load.skipped} skipped` : ""})\n`,
    );
    return stats;
  };

  const tune = async (): Promise<number> => {
    const before = await measure("before", 2);

    const periods = new ArrivalPeriods(100, performance.now());
    service.onArrival = () => periods.arrive(performance.now(), engine.generation);
    service.onAnswered = (latencyMs, period) => {
      periods.complete(period, latencyMs, engine.generation);
      for (const measured of periods.takeReady(performance.now())) {
        engine.observe({ objective: measured.p50, generation: measured.generation, timestamp: engine.now() });
      }
    };
    const progress = setInterval(() => {
      const s = engine.snapshot();
      write(
        `  tuning: batchSize ${s.values.batchSize!.toFixed(1)} (centre ${s.centre.batchSize!.toFixed(1)}), ` +
          `gen ${s.generation}, ${s.phase}, mode ${s.mode}, ${rollbacks} rollbacks, ` +
          `digests ${s.digests.accepted} ok / ${s.digests.rejected} rejected, ` +
          `${periods.mixed} periods spanned a change\n`,
      );
    }, 2000);
    await generateLoad(port, agent, seconds, prng);
    clearInterval(progress);

    // Keep the tuned centre (the live value may be a perturbation around it).
    const tuned = engine.snapshot().centre.batchSize!;
    knob = () => tuned;
    service.onArrival = () => 0;
    service.onAnswered = (latencyMs) => latencies.push(latencyMs);
    const after = await measure("after", 2);

    engine.flushEvents();
    const s = engine.snapshot();
    // The knob back where it started (a rollback, or moves that cancelled out): any latency
    // difference between the phases is then not the tuner's doing.
    const moved = tuned.toFixed(1) !== initialBatch.toFixed(1);
    const safety =
      trips.length === 0
        ? `mode ${s.mode}, no SafeMode trip`
        : `SafeMode tripped ${trips.length}× (first to ${trips[0]}), mode ${s.mode} at the end`;
    const change =
      `mean latency ${before.mean.toFixed(1)} → ${after.mean.toFixed(1)} ms ` +
      `(${Math.abs(100 * (1 - after.mean / before.mean)).toFixed(0)} % ${after.mean <= before.mean ? "lower" : "higher"}` +
      `${moved ? "" : "; not from tuning: the knob ended where it started"}), ` +
      `p99 ${before.p99.toFixed(1)} → ${after.p99.toFixed(1)} ms.\n`;
    write(
      `${moved ? "Tuning moved batchSize" : "Tuning left batchSize where it started,"} ` +
        `${initialBatch} → ${tuned.toFixed(1)} in ${seconds} s ` +
        `(${s.applies.applied} applies incl. ${rollbacks} rollbacks, ${s.applies.refused} refusals, ` +
        `${s.iteration} SPSA iterations; ${safety}); ${change}`,
    );
    return 0;
  };

  try {
    return await tune();
  } finally {
    audit.unsubscribe();
    await engine.close();
    await service.close();
    agent.destroy();
  }
}

const invokedDirectly =
  process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href;
if (invokedDirectly) {
  process.exitCode = await runHttpService(process.argv.slice(2), (text) => process.stdout.write(text));
}
