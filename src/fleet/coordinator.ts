/**
 * A fleet coordinator: while it holds the leader lease, it tunes the fleet with an arqon engine fed
 * by every replica's digests, and publishes each apply as a signed command.
 *
 * @packageDocumentation
 */
import { randomUUID } from "node:crypto";
import type { Redis } from "ioredis";
import { type Observable, type SchedulerLike, Subject, type Subscription } from "rxjs";
import { MAX_TIMER_MS } from "../../machines/timer-limit.js";
import type { AuditEvent, ModeChangedEvent } from "../audit/events.js";
import { type EngineConfig, engineConfigIssues, resolveEngineConfig } from "../engine/config.js";
import type { Digest } from "../engine/digest.js";
import { createEngine, type DigestVerdict, type Engine, type EngineSnapshot } from "../engine/engine.js";
import { restoreHalt } from "../engine/restored-halt.js";
import {
  DEFAULT_SETTLE_TIMEOUT_MS,
  isThenable,
  SettleTimeoutError,
} from "../engine/safety/guarded-callback.js";
import { ConfigError, type ConfigIssue, errorMessage } from "../errors.js";
import { clockFromScheduler } from "../runtime/scheduler-clock.js";
import { withinMs } from "../runtime/within-ms.js";
import { shownValue } from "../shown-value.js";
import { unknownKeyIssues } from "../unknown-options.js";
import type { FleetCommand } from "./command.js";
import type { FleetDigest } from "./digest-batch.js";
import { type FleetBaseline, parseFleetBaseline, sameValues, TenureBaseline } from "./fleet-baseline.js";
import {
  paramsDescription,
  paramsDifferences,
  paramsFingerprint,
  storedDescription,
} from "./fleet-params.js";
import type { BusStats, ReplicaView } from "./fleet-report.js";
import { isReplyError, keyedError } from "./keyed-error.js";
import { LeaderLease } from "./lease.js";
import { objectOptionIssue } from "./object-option-issue.js";
import { redisClientIssue } from "./redis-client-issue.js";
import { CommandSigner, type Keyring, keyringIssues } from "./signing.js";
import { COORDINATOR_GROUP, type FleetKeys, fleetKeys, fleetPrefix } from "./streams.js";
import {
  type ConsumerStats,
  consumerOptionIssues,
  TelemetryConsumer,
  type TelemetryConsumerOptions,
} from "./telemetry-consumer.js";

export type { FleetBaseline } from "./fleet-baseline.js";
export type { BusStats, ReplicaView } from "./fleet-report.js";

/**
 * What a coordinator needs of the engine metrics it is given: `createEngineMetrics` (`arqon/metrics`)
 * makes them. Declared here, as the metrics' side of it, so that the fleet does not depend on the
 * metrics, which read the fleet.
 */
export interface TenureMetrics {
  /** The engine attached, if any. */
  readonly engine: Engine | undefined;
  attach(engine: Engine): void;
  detach(): void;
  observe(digest: Digest): DigestVerdict;
  timeApply(
    onApply: (values: Float64Array, generation: number) => void | PromiseLike<void>,
  ): (values: Float64Array, generation: number) => void | PromiseLike<void>;
}

/** Options of {@link createCoordinator}. */
export interface CoordinatorOptions {
  /** The coordinator's connection (it makes a duplicate for blocking reads). */
  readonly redis: Redis;
  /** Unique per coordinator process (lease owner and consumer name; default a random UUID). */
  readonly id?: string;
  /** Signed into every command; replicas refuse another run's (a non-empty string). */
  readonly runId: string;
  readonly keyring: Keyring;
  /** The engine that tunes the fleet (its `onApply` is wrapped; `params.init` is replaced on resume). */
  readonly engine: EngineConfig;
  /**
   * Key prefix: the replicas'. Default `arqon:fleet:<runId>` (`fleetPrefix`), so that runs sharing
   * a Redis keep apart; two runs given one prefix share a lease and a telemetry stream.
   */
  readonly prefix?: string;
  /**
   * Leader lease time to live, ms: a whole number from 50 to 2 147 483 647 (default 3 000). A
   * standby takes over within 2× this.
   */
  readonly leaseMs?: number;
  /**
   * How often the leader re-signs the current generation for late joiners, ms: whole, ≥ 1 (default
   * 5 000). Keep it below the replicas' `maxCommandAgeMs` (default 30 000): a replica refuses a
   * command older than that as stale, and waits for the next re-sign.
   */
  readonly refreshMs?: number;
  /**
   * A replica counts as lagging when its acknowledged generation is below one the leader published
   * at least this long ago, ms: whole, ≥ 0 (default 2 000); a replica one command behind for a
   * moment is not.
   */
  readonly lagAfterMs?: number;
  /** Approximate command stream length kept: whole, ≥ 1 (default 10 000). */
  readonly commandMaxLen?: number;
  /**
   * A replica's report that has not changed for this long, ms, is removed from the acks hash by
   * the leader: its replica is taken as gone (killed, its pod replaced under a new name), and no
   * longer counts as a replica nor as lagging (`busStats().expiredReplicas` counts the removals).
   * A live replica rewrites its report with every batch of commands it reads (refused ones
   * included), at least every `refreshMs`; one that comes back writes it again. Ages count from
   * the leader's first command at the earliest, so a time without a leader ages no report. Whole, at least twice `refreshMs` (default
   * {@link DEFAULT_REPLICA_EXPIRY_MS}).
   */
  readonly replicaExpiryMs?: number;
  /**
   * Telemetry consumer tuning (batch size, block time, claim idle time, max deliveries, and the
   * approximate length the dead-letter stream is trimmed to, default 10 000), each a whole number
   * ≥ 1.
   */
  readonly telemetry?: Pick<
    TelemetryConsumerOptions,
    "count" | "blockMs" | "claimIdleMs" | "maxDeliveries" | "deadLetterMaxLen"
  >;
  /**
   * Called with each failure of a promotion (e.g. the consumer group cannot be created: `NOPERM`,
   * `WRONGTYPE`; Redis unreachable half-way). The coordinator has then let the lease go and
   * contends again after a back-off; `snapshot().promotionFailures` counts these failures. Must
   * not throw (what it throws is ignored).
   */
  readonly onError?: (error: unknown) => void;
  /**
   * The fingerprint of the fleet's stored params that this coordinator's params may replace: a
   * deliberate change of the params (a rename, new bounds). Without it, a coordinator whose params
   * differ from the fleet's stored ones never leads; its refusal names the fingerprint to give here.
   */
  readonly replaceParams?: string;
  /**
   * Engine metrics (`createEngineMetrics`, with no engine attached) that follow the engine this
   * coordinator tunes with across its tenures: each promotion's engine is attached as it is
   * created and detached when its tenure ends, so the gauges describe the leader's engine while
   * this coordinator leads (and leave the scrape while it stands by), and the counters and
   * histograms go on from their totals at every tenure. Digests are observed through them
   * (`arqon_t2_decide_seconds`, `arqon_digest_ingest_seconds`), and each apply is timed as the
   * engine's actuator call (`arqon_t1_apply_seconds`): the host's `onApply` and the hand-off of
   * its command to the publisher (the write to Redis follows, untimed). The coordinator owns
   * them from then on: give each coordinator its own, and attach no other engine to them (a
   * promotion that finds them reading another engine fails, reported to `onError`).
   */
  readonly metrics?: TenureMetrics;
}

/** A point-in-time view of a coordinator. */
export interface CoordinatorSnapshot {
  readonly id: string;
  /** Whether it holds the lease now. */
  readonly leader: boolean;
  /** Owner of the lease as last read from Redis (about every 500 ms); undefined when nobody leads. */
  readonly leaderId: string | undefined;
  /** Lease epoch of its tenure (0 when standby). */
  readonly epoch: number;
  /**
   * Its own tenure's epoch while it leads; else the highest epoch it has seen, its past tenures'
   * and the replicas' reports (0 before any): the current leader's once the replicas report it.
   */
  readonly leaderEpoch: number;
  /**
   * Why the fleet is halted, when it is: a leader whose engine is `halted` stores its reason in
   * Redis, and the next leader starts halted with it, until an acknowledged reset on a leader.
   */
  readonly halted: string | undefined;
  /**
   * The fleet generation of the latest command; a standby reads it from the stored state (about
   * every 500 ms), so its fleet view is as meaningful as the leader's.
   */
  readonly generation: number;
  /** replica → what it acknowledged. */
  readonly fleet: Readonly<Record<string, ReplicaView>>;
  /**
   * Replicas below a generation published `lagAfterMs` ago or earlier, as of the latest read of
   * the fleet that succeeded (while reads fail, the list they left).
   */
  readonly lagging: readonly string[];
  /** The engine's snapshot while leading. */
  readonly engine: EngineSnapshot | undefined;
  /** Digests dropped before the engine because they were of an older leader's generation. */
  readonly olderGenerationDigests: number;
  readonly consumer: ConsumerStats | undefined;
  /** Promotions that failed after the lease was taken (each passed to `onError`; the lease was let go). */
  readonly promotionFailures: number;
  /** The message of the latest failed promotion; undefined when none failed. */
  readonly lastPromotionError: string | undefined;
  /** The fingerprint of this coordinator's params (names, min, max, maxDelta, scale). */
  readonly paramsFingerprint: string;
  /**
   * Why this coordinator will not lead: its params differ from the fleet's stored ones (what
   * differs, and how to change them on purpose); undefined when they agree.
   */
  readonly paramsMismatch: string | undefined;
  /**
   * Commands that did not reach the fleet (each passed to `onError`). One Redis refused (an error
   * reply) ended the tenure it belonged to; one lost with the connection is re-signed; one that
   * reached Redis only after the lease had passed (an outage it waited out in the client's queue)
   * is dropped with its tenure, and the next resumes from what the fleet last got.
   */
  readonly publishFailures: number;
  /** The message of the latest failed publish; undefined when none failed. */
  readonly lastPublishError: string | undefined;
  /** Times the command stream had used up its ids and was written anew (each passed to `onError`). */
  readonly commandStreamResets: number;
  /**
   * The fleet's baseline as stored (a standby reads it about every 500 ms): the values a rollback
   * of the fleet should return to, set by the first leader at `init` and by every
   * `tuningEngine.setBaseline()` since. Undefined when none is stored (a state of an older version).
   */
  readonly baseline: FleetBaseline | undefined;
  /**
   * Whether this leader's engine holds the fleet's baseline, so that its rollbacks (the
   * operator's, SafeMode's) return there: a new leader's engine is created with it. False when
   * none is stored, or the stored one does not fit the params (other names, a value outside
   * narrowed bounds): the engine's baseline is then where it resumed, until
   * `tuningEngine.setBaseline()`.
   */
  readonly engineHasFleetBaseline: boolean;
}

/**
 * The highest epoch a replica's report is believed for: 2^40 tenures is more than any fleet will
 * see. A report above it (a forged or corrupted acks entry) is not followed: raising the counter
 * to it would soon run epochs past 2^53, where a double no longer tells two of them apart.
 */
const MAX_REPORTED_EPOCH = 2 ** 40;

/** The highest believable epoch among the replicas' reports (see {@link MAX_REPORTED_EPOCH}). */
function reportedEpoch(views: readonly ReplicaView[]): number {
  return Math.max(0, ...views.map((view) => (view.epoch <= MAX_REPORTED_EPOCH ? view.epoch : 0)));
}

/** How often the coordinator reads its view of the fleet and the bus from Redis, ms. */
const VIEW_PERIOD_MS = 500;

/** Thrown inside a promotion that {@link Coordinator.close} ended while it awaited Redis. */
const CLOSED = Symbol("closed");

/** Default {@link CoordinatorOptions.refreshMs}. */
const DEFAULT_REFRESH_MS = 5_000;

/**
 * Default {@link CoordinatorOptions.replicaExpiryMs}: five minutes, far above the 5 s a live
 * replica's report goes unchanged at most with the default `refreshMs`, so that only a replica
 * gone (or cut off for minutes) is removed.
 */
export const DEFAULT_REPLICA_EXPIRY_MS = 300_000;

/**
 * Deletes the acks hash's field ARGV[1] only while it holds ARGV[2] (the report found unchanged),
 * and then that replica's seq watermark in the seqs hash (KEYS[2]) too: kept for a replica gone
 * for good, it would stay for ever, one field per replica id a fleet ever had.
 */
const REMOVE_UNCHANGED_REPORT = `if redis.call('HGET', KEYS[1], ARGV[1]) == ARGV[2] then
  redis.call('HDEL', KEYS[2], ARGV[1])
  return redis.call('HDEL', KEYS[1], ARGV[1])
end
return 0`;

/** Thrown inside a promotion whose params differ from the fleet's (see {@link Coordinator.paramsRefusal}). */
const PARAMS_REFUSED = Symbol("params refused");

// Sets (ARGV[3] = 'set', reason ARGV[4]) or clears the fleet's stored halt, only while the caller
// still holds the lease and no later tenure wrote the state: a deposed leader's write that Redis
// runs late (ioredis queues commands while it reconnects) must not undo the next leader's halt.
// Stores the fleet's baseline (ARGV[3], JSON), fenced as STORE_HALT is.
const STORE_BASELINE = `if redis.call('GET', KEYS[1]) ~= ARGV[1] then return 0 end
if tonumber(redis.call('HGET', KEYS[2], 'epoch') or '0') > tonumber(ARGV[2]) then return 0 end
redis.call('HSET', KEYS[2], 'baseline', ARGV[3])
return 1`;

const STORE_HALT = `if redis.call('GET', KEYS[1]) ~= ARGV[1] then return 0 end
if tonumber(redis.call('HGET', KEYS[2], 'epoch') or '0') > tonumber(ARGV[2]) then return 0 end
if ARGV[3] == 'set' then redis.call('HSET', KEYS[2], 'halted', ARGV[4])
  if ARGV[5] == '' then redis.call('HDEL', KEYS[2], 'haltReasons') else redis.call('HSET', KEYS[2], 'haltReasons', ARGV[5]) end
else redis.call('HDEL', KEYS[2], 'halted', 'haltReasons') end
return 1`;

/** The highest stream id: a stream whose last id it is takes no entry with an id Redis picks. */
const LAST_STREAM_ID = "18446744073709551615-18446744073709551615";

// Publishes a command and records the state a standby resumes from, only while the caller still
// owns the lease (so a deposed leader cannot write either, whatever it believes). Idempotent: the
// state records the latest command's id, and ioredis resends a script left unanswered when the
// connection dropped, which Redis may have run already (a second copy would be a replay).
// A stream whose last id is the highest one (an entry added with that id by hand) can never take
// another: it is deleted and written anew (returns 2), and the replicas read the new one from its
// start, as after a Redis restart. Any other XADD error is returned, with nothing written. A
// caller that no longer owns the lease gets 0, and one whose tenure a later one followed gets 3:
// nothing is written either way.
const PUBLISH = `if redis.call('GET', KEYS[1]) ~= ARGV[1] then return 0 end
if tonumber(redis.call('HGET', KEYS[3], 'epoch') or '0') > tonumber(ARGV[6]) then return 3 end
if redis.call('HGET', KEYS[3], 'command') == ARGV[7] then return 1 end
local written = 1
local added = redis.pcall('XADD', KEYS[2], 'MAXLEN', '~', ARGV[2], '*', 'c', ARGV[3])
if type(added) == 'table' and added.err then
  local info = redis.pcall('XINFO', 'STREAM', KEYS[2])
  local exhausted = false
  if type(info) == 'table' and not info.err then
    for i = 1, #info - 1, 2 do
      if info[i] == 'last-generated-id' and info[i + 1] == '${LAST_STREAM_ID}' then exhausted = true end
    end
  end
  if not exhausted then return added end
  redis.call('DEL', KEYS[2])
  redis.call('XADD', KEYS[2], 'MAXLEN', '~', ARGV[2], '*', 'c', ARGV[3])
  written = 2
end
redis.call('HSET', KEYS[3], 'generation', ARGV[4], 'values', ARGV[5], 'epoch', ARGV[6], 'command', ARGV[7], 'params', ARGV[8])
return written`;

/**
 * One coordinator of a fleet; run two or more, one leads.
 *
 * @remarks
 * Leadership: every `leaseMs / 3` a standby tries `SET NX PX` and the leader renews (Lua, owner
 * checked). A new leader takes the next epoch, reads the stored state (fleet generation and
 * values), starts its engine from those values (no jump; from the configured ones when Redis lost
 * them), re-signs the current generation, and
 * reads digests through the consumer group (claiming what the previous leader left). Fleet
 * generations continue from the stored one: fleet generation = stored base + engine generation.
 * A leader that cannot renew for a whole lease stops tuning at once, and one that reads a replica
 * report ahead of its epoch or generation (Redis lost its data) steps down so that the next
 * tenure starts above it.
 *
 * A promotion that fails half-way (the consumer group cannot be created, Redis goes away) leaves
 * nothing behind: the engine is closed, the blocking connection dropped, the lease let go, and
 * the failure counted and passed to `onError`; the coordinator contends again after a back-off
 * (one lease, doubling per consecutive failure up to 16 leases), so that a healthy standby takes
 * over meanwhile. Stored values outside the configured bounds (bounds narrowed since) are clamped
 * into them, and the tenure then starts one generation above the stored one.
 */
export class Coordinator {
  readonly id: string;
  private readonly keys: FleetKeys;
  private readonly lease: LeaderLease;
  private readonly signer: CommandSigner;
  private readonly leaseMs: number;
  private readonly refreshMs: number;
  private readonly replicaExpiryMs: number;
  /** Each report in the acks hash as this coordinator last read it, and since when it read it so. */
  private readonly reportsSeen = new Map<string, { readonly text: string; readonly since: number }>();
  private expiredReplicas = 0;
  /**
   * When this tenure's first command reached Redis (undefined while none has): before, no replica
   * had a command to rewrite its report with, so no report is old for want of one.
   */
  private commandsFlowingSince: number | undefined;
  /** The engine's scheduler: the host's async applies are timed on it, as the engine times them. */
  private readonly engineScheduler: SchedulerLike;
  /** Stop the timers of the host's applies still pending (see {@link publishOnceApplied}). */
  private readonly pendingApplies = new Set<() => void>();
  private engine: Engine | undefined;
  /** The engine this coordinator last attached to `options.metrics` (see {@link lead}). */
  private metricsEngine: Engine | undefined;
  private consumer: TelemetryConsumer | undefined;
  private blocking: Redis | undefined;
  private base = 0;
  private fleetGeneration = 0;
  private latestValues: Record<string, number> = {};
  private publishing: Promise<void> = Promise.resolve();
  private leaseTimer: NodeJS.Timeout | undefined;
  /** Ends the tenure when the lease runs out unrenewed (see {@link watchLease}). */
  private lapseTimer: NodeJS.Timeout | undefined;
  /** The lease upkeep step queued and not begun yet (one is enough). */
  private nextTick: Promise<void> | undefined;
  private viewTimer: NodeJS.Timeout | undefined;
  /** The read of the view Redis has not answered yet (see {@link refreshView}). */
  private viewRead: Promise<void> | undefined;
  private lastRefreshAt = 0;
  private fleet: Record<string, ReplicaView> = {};
  private leaderId: string | undefined;
  private readonly eventSubject = new Subject<AuditEvent>();
  private tenureEvents: Subscription | undefined;
  private olderGenerationDigests = 0;
  private deadLettersBefore = 0;
  private processedBefore = 0;
  /** Commands the replicas refused, kept monotonic across their restarts (see {@link countRejected}). */
  private rejectedTotal = 0;
  /** The `rejected` figure of each replica's latest report read. */
  private readonly rejectedSeen = new Map<string, number>();
  /** Tenures' consumers while they stop: their counts join the totals once they have stopped. */
  private readonly retiring = new Set<TelemetryConsumer>();
  private groupLag = 0;
  /** What XINFO's lag read the last time the group was caught up: its counters' skew (see `undelivered`). */
  private lagSkew = 0;
  /** Whether the latest {@link refreshView} failed: the view then holds its last figures. */
  private viewStale = false;
  private groupPending = 0;
  private transition: Promise<void> = Promise.resolve();
  private closed = false;
  private closing: Promise<void> | undefined;
  private promotionFailures = 0;
  /** The error Redis last answered a view read with (reported once while it repeats). */
  private lastViewError: string | undefined;
  /** Failed promotions since the latest one that succeeded (sets the back-off). */
  private failedInARow = 0;
  private lastPromotionError: string | undefined;
  /** The highest epoch seen: this coordinator's tenures and the replicas' reports (see {@link LeaderLease.tryAcquire}). */
  private highestEpoch = 0;
  /** Why the fleet is halted, as last stored in Redis or set by this leader's engine. */
  private haltedReason: string | undefined;
  /**
   * The SafeMode reasons of the fleet's halt, as the leader that halted stored them (undefined
   * when unknown: a halt stored before fleets kept them). An operator's halt is `manualHalt` alone,
   * which the alert rules do not page for; a halt SafeMode latched keeps its own reasons on every
   * later leader, although each restores it with a halt of its own.
   */
  private haltedReasons: readonly string[] | undefined;
  /** The stored halt this tenure restores, until its engine reports the halt (see {@link storeHalt}). */
  private restoringHalt: { readonly reasons: readonly string[] | undefined } | undefined;
  /** No contending for the lease before this time (ms), after a failed promotion. */
  private contendAfter = 0;
  private commandCount = 0;
  /** Commands Redis did not take (see {@link publish}). */
  private publishFailures = 0;
  private lastPublishError: string | undefined;
  /** Command streams written anew because their ids were used up (see {@link PUBLISH}). */
  private commandStreamResets = 0;
  /** The epoch of a tenure ended by a refused command: its queued commands are dropped. */
  private abandonedEpoch = 0;
  /** The fleet's baseline, as stored or set by this leader's engine. */
  private fleetBaseline: FleetBaseline | undefined;
  /** Whether this tenure's engine holds {@link fleetBaseline} (see the snapshot). */
  private engineHasFleetBaseline = false;
  /** This coordinator's params as the state hash records them (see fleet-params.ts). */
  private readonly paramsText: string;
  private readonly paramsPrint: string;
  /** Why it will not lead (params differ from the fleet's), as last found; undefined when they agree. */
  private paramsMismatch: string | undefined;
  /** The lease refusal last passed to `onError` (cleared once the lease is taken or renewed). */
  private reportedLeaseError: string | undefined;
  /** The mismatch last passed to `onError`: each is reported once, not at every read. */
  private reportedMismatch: string | undefined;
  /** (generation, published at) of recent commands, oldest first, for the lagging test. */
  private published: [number, number][] = [];
  /**
   * The replicas lagging when the fleet was last read. Judged then, not at each call: a view
   * Redis has not refreshed would otherwise age into lagging replicas that may well be current.
   */
  private lagging: readonly string[] = [];

  /**
   * @throws RangeError naming each option out of range (the lease, the commands, the telemetry
   * consumer would otherwise fail at every tenure, silently).
   * @throws ConfigError when `options.engine` is invalid (no engine could be built from it) and
   * every other option is valid, its paths under `engine.`; otherwise the RangeError lists the
   * engine config's problems with the others.
   */
  constructor(private readonly options: CoordinatorOptions) {
    const issues = coordinatorOptionIssues(options);
    // Refused here rather than at every promotion, where it would only burn epochs.
    const engineIssues = engineConfigIssuesOf(options);
    // One error lists every problem: a RangeError when an option besides the engine's config is
    // wrong (the config's problems with it), else the engine config's own ConfigError.
    if (issues.length > 0) {
      const all = [...issues, ...engineIssues.map(({ path, message }) => `${path}: ${message}`)];
      throw new RangeError(`invalid coordinator options: ${all.join("; ")}`);
    }
    if (engineIssues.length > 0) throw new ConfigError(engineIssues);
    const resolved = resolveEngineConfig(options.engine);
    this.engineScheduler = resolved.scheduler;
    this.paramsText = paramsDescription(resolved.params);
    this.paramsPrint = paramsFingerprint(this.paramsText);
    this.id = options.id ?? randomUUID();
    this.keys = fleetKeys(options.prefix ?? fleetPrefix(options.runId));
    this.leaseMs = options.leaseMs ?? 3_000;
    this.refreshMs = options.refreshMs ?? DEFAULT_REFRESH_MS;
    this.replicaExpiryMs = options.replicaExpiryMs ?? DEFAULT_REPLICA_EXPIRY_MS;
    this.lease = new LeaderLease(options.redis, this.keys, this.id, this.leaseMs);
    this.signer = new CommandSigner(options.keyring);
  }

  /**
   * The audit events of this coordinator's engine, across every tenure (a new engine is created at
   * each promotion; its events continue this stream). Hot: nothing is replayed.
   */
  readonly events: Observable<AuditEvent> = this.eventSubject.asObservable();

  /** Whether it leads now. */
  get leader(): boolean {
    return this.engine !== undefined;
  }

  /** The engine tuning the fleet while this coordinator leads; undefined while it stands by. */
  get tuningEngine(): Engine | undefined {
    return this.engine;
  }

  /** Whether {@link Coordinator.close} was called: it neither leads nor follows the fleet any more. */
  get isClosed(): boolean {
    return this.closed;
  }

  /** Starts contending for the lease and watching the fleet. */
  async start(): Promise<void> {
    await this.tick();
    if (this.closed) return;
    this.leaseTimer = setInterval(() => void this.tick(), Math.max(1, Math.floor(this.leaseMs / 3)));
    this.viewTimer = setInterval(() => void this.refreshView(), VIEW_PERIOD_MS);
    await this.refreshView();
  }

  /** Feeds the engine one digest of a replica (the consumer calls this). */
  private onDigest(_replica: string, digest: FleetDigest): void {
    const engine = this.engine;
    if (engine === undefined) return;
    if (digest.generation < this.base) {
      this.olderGenerationDigests++;
      return;
    }
    const observed = {
      objective: digest.objective,
      generation: digest.generation - this.base,
      timestamp: digest.timestamp,
    };
    const metrics = this.options.metrics;
    if (metrics?.engine === engine) metrics.observe(observed);
    else engine.observe(observed);
  }

  /**
   * Lease upkeep; serialised so that promotions and demotions never overlap. A call while a step
   * is queued and not begun joins it: while Redis hangs, the timer must not pile steps up.
   */
  private tick(): Promise<void> {
    if (this.nextTick !== undefined) return this.nextTick;
    const step = this.serially(async () => {
      this.nextTick = undefined;
      if (this.closed) return;
      const now = Date.now();
      try {
        if (this.engine !== undefined) {
          // No longer than the lease lasts: a renewal unanswered by then (a hung connection, a
          // client waiting to reconnect) is as good as refused, and the next steps must not wait.
          const renewed = await withinMs(this.lease.renew(now), Math.max(0, this.lease.heldUntil - now));
          // Closed meanwhile: close() ended the tenure and hands the lease back.
          if (this.closed) return;
          if (renewed === true) this.reportedLeaseError = undefined;
          if (renewed === false || !this.lease.heldAt(Date.now())) await this.demote();
          else if (renewed === true) {
            this.watchLease();
            this.syncStoredHalt();
            if (now - this.lastRefreshAt >= this.refreshMs)
              this.publish(this.latestValues, this.fleetGeneration);
          }
        } else if (
          now >= this.contendAfter &&
          this.paramsMismatch === undefined &&
          (await this.lease.tryAcquire(now, this.highestEpoch)) > 0
        ) {
          this.reportedLeaseError = undefined;
          if (this.closed) await this.lease.release();
          else {
            this.watchLease();
            await this.promote();
          }
        }
      } catch (error) {
        // Redis answered with an error (NOPERM, NOAUTH, READONLY): it will answer the same next
        // time, and this coordinator never leads until someone fixes it, so the host hears of it.
        if (isReplyError(error)) this.noteLeaseError(error);
        // Redis unreachable or refusing: a leader that cannot renew within its lease must stop tuning.
        if (this.engine !== undefined && !this.lease.heldAt(Date.now())) await this.demote();
      }
    });
    this.nextTick = step;
    return step;
  }

  /**
   * Arms the timer that ends the tenure once the lease runs out unrenewed. It depends on no Redis
   * answer and no upkeep step: a step may wait on Redis (a promotion, an epoch floor), and the
   * lease may then pass to a standby while this leader still tunes.
   */
  private watchLease(): void {
    clearTimeout(this.lapseTimer);
    this.lapseTimer = setTimeout(
      () => {
        if (this.closed || this.engine === undefined) return;
        // A timer may fire a moment early.
        if (this.lease.heldAt(Date.now())) return this.watchLease();
        const stopped = this.retire();
        // The next promotion waits for this tenure's queued commands, as after any demotion.
        void this.serially(() => this.settle(stopped));
      },
      Math.max(1, this.lease.heldUntil - Date.now()),
    );
  }

  /**
   * Runs `step` after the transitions already queued, whether they succeeded or not: one that
   * failed must not stop the lease upkeep for good.
   */
  private serially(step: () => Promise<void>): Promise<void> {
    const run = this.transition.then(step, step);
    this.transition = run.catch(() => undefined);
    return run;
  }

  /**
   * Starts a tenure, the lease just taken. Never throws: a promotion that fails (or that close()
   * ended) leaves nothing running, lets the lease go, and (unless closed) is counted, reported to
   * `onError` and followed by a back-off before this coordinator contends again.
   */
  private async promote(): Promise<void> {
    try {
      // The back-off is reset by the tenure's first command Redis takes (see publish), not here:
      // a tenure whose every command is refused would otherwise retry at once, over and over.
      await this.lead();
    } catch (error) {
      const stopped = this.retire();
      // Best effort: a lease that cannot be released expires by itself.
      await withinMs(this.lease.release(), this.leaseMs);
      await withinMs(stopped, this.leaseMs);
      // A params refusal was reported already; the coordinator stands by until the params agree.
      if (error === CLOSED || error === PARAMS_REFUSED || this.closed) return;
      this.promotionFailures++;
      this.failedInARow++;
      this.lastPromotionError = errorMessage(error);
      this.contendAfter = Date.now() + this.leaseMs * 2 ** Math.min(this.failedInARow - 1, 4);
      this.reportError(error);
    }
  }

  /** The body of {@link promote}; throws {@link CLOSED} when close() ended it while it awaited Redis. */
  private async lead(): Promise<void> {
    const { redis } = this.options;
    const state = await redis.hgetall(this.keys.state);
    if (this.closed) throw CLOSED;
    // Checked before anything is written: a coordinator of other params would sign commands the
    // replicas refuse, and its state would overwrite the tuned values.
    this.noteParamsMismatch(this.paramsRefusal(state));
    if (this.paramsMismatch !== undefined) throw PARAMS_REFUSED;
    const config = this.options.engine;
    const resumed = resumedParams(config.params, state.values);
    const { adjusted } = resumed;
    const fleetBaseline = parseFleetBaseline(state.baseline);
    // The fleet's baseline (an operator's setBaseline on an earlier leader, or the first tenure's
    // start) is where this tenure's rollbacks return, not the values it resumes from.
    const params = withBaseline(resumed.params, fleetBaseline);
    // Replicas refuse a generation below the one they reached. Normally the stored generation is
    // at least what any replica acknowledged; above it, Redis lost the state hash, and the tenure
    // starts one above the replicas' (a generation they hold stands for values no longer known).
    // Stored values moved into narrowed bounds are new values: a new generation too.
    const storedGeneration = state.generation === undefined ? 0 : Number(state.generation);
    const acked = Math.max(0, ...Object.values(this.fleet).map(heldGeneration));
    this.base = acked > storedGeneration ? acked + 1 : storedGeneration + (adjusted ? 1 : 0);
    const hostOnApply = config.onApply;
    const metrics = this.options.metrics;
    const engine: Engine = createEngine({
      ...config,
      params,
      onApply: timedBy(metrics, (values, generation): void | Promise<void> => {
        const applied = recordOf(engine.names, values);
        const fleetGeneration = this.base + generation;
        // A throw goes on to the engine (a rollback, its breaker), and nothing is published.
        const result = hostOnApply?.(values, generation);
        if (!isThenable(result)) {
          this.publish(applied, fleetGeneration);
          return;
        }
        // Returned to the engine, which rolls back when it rejects or does not settle in time.
        return this.publishOnceApplied(engine, result, applied, fleetGeneration);
      }),
    });
    // Held first, so that a promotion failing from here on closes it (retire).
    this.engine = engine;
    // Right after it is created: its events are a hot stream. An engine of this coordinator's
    // earlier tenure still attached (its close has not completed the stream) is let go first;
    // any other engine is someone else's, and taking the metrics from it would blind them.
    if (metrics !== undefined) {
      if (metrics.engine !== undefined && metrics.engine !== this.metricsEngine)
        throw new Error(
          "metrics: they read an engine this coordinator did not attach (another coordinator's?); give each coordinator metrics of its own",
        );
      metrics.detach();
      metrics.attach(engine);
      this.metricsEngine = engine;
    }
    this.highestEpoch = Math.max(this.highestEpoch, this.lease.epoch);
    this.haltedReason = state.halted;
    this.haltedReasons = state.halted === undefined ? undefined : reasonList(state.haltReasons);
    this.restoringHalt = state.halted === undefined ? undefined : { reasons: this.haltedReasons };
    const resumedValues = recordOf(engine.names, engine.values);
    this.fleetBaseline = fleetBaseline;
    this.engineHasFleetBaseline =
      fleetBaseline !== undefined && sameValues(fleetBaseline.values, engine.snapshot().baseline);
    const baselines = new TenureBaseline(this.base, resumedValues, state.values === undefined);
    this.tenureEvents = engine.events.subscribe((event) => {
      if (event.type === "mode.changed") this.storeHalt(engine, event);
      const baseline = baselines.onEvent(event);
      if (baseline !== undefined) this.storeBaseline(engine, baseline);
      this.eventSubject.next(event);
    });
    // A halt outlives its leader: until an acknowledged reset, every tenure starts halted, with
    // the halt's latched reasons (SafeMode's repeatedTrips stays SafeMode's on this engine too).
    if (state.halted !== undefined) restoreHalt(engine, state.halted, this.haltedReasons ?? []);
    const blocking = redis.duplicate();
    this.blocking = blocking;
    // Failures of the blocking reads are handled by the consumer loop; keep ioredis from logging them.
    blocking.on("error", () => undefined);
    const consumer = new TelemetryConsumer({
      ...this.options.telemetry,
      redis,
      blocking,
      keys: this.keys,
      keyring: this.options.keyring,
      consumer: this.id,
      // The lease says no other coordinator reads: what the last one left comes first.
      takeOver: true,
      // Only while this tenure lasts: a retired consumer's late read must not feed the next engine.
      onDigest: (replica, digest) => {
        if (this.engine === engine) this.onDigest(replica, digest);
      },
    });
    await consumer.start();
    if (this.engine !== engine) {
      // close(), or the lease timer, ended the tenure while the consumer started: stop it too.
      void this.retireConsumer(consumer);
      throw this.closed ? CLOSED : new Error("the lease ran out while the promotion awaited Redis");
    }
    this.consumer = consumer;
    // The lease timer acts only once an engine runs: a lease that ran out before is caught here.
    if (!this.lease.heldAt(Date.now()))
      throw new Error("the lease ran out while the promotion awaited Redis");
    this.fleetGeneration = this.base;
    this.latestValues = recordOf(engine.names, engine.values);
    // Re-sign the current generation under the new epoch: replicas learn the new leader, and the
    // fleet's configuration stays where it was.
    this.publish(this.latestValues, this.base);
  }

  /**
   * Keeps the fleet's halt in the state hash, where the next leader reads it: set when this
   * tenure's engine enters `halted`, removed when an acknowledged reset takes it out. Fenced as
   * commands are (see {@link STORE_HALT}): only while this coordinator holds the lease and no
   * later tenure wrote the state. A write refused or lost is not retried; the engine itself stays
   * halted, and a halt this leader could not store ends with its tenure.
   */
  private storeHalt(engine: Engine, event: ModeChangedEvent): void {
    if (this.engine !== engine || event.from === event.to) return;
    const halted = event.to === "halted";
    if (!halted && event.from !== "halted") return;
    // The tenure's own halt that restores the stored one keeps the stored reasons: its event holds
    // only their latched ones, and `manualHalt` for a halt stored without reasons, which would
    // then stand for SafeMode's on every later leader.
    const restoring = halted ? this.restoringHalt : undefined;
    this.restoringHalt = undefined;
    if (restoring !== undefined) {
      this.writeHalt(this.haltedReason ?? event.note ?? "halted", restoring.reasons);
      return;
    }
    if (halted) this.writeHalt(event.note ?? `halted (${event.reasons.join(", ")})`, event.reasons);
    else this.writeHalt(undefined, undefined);
  }

  /**
   * The backstop of {@link storeHalt}, at each lease renewal: an engine whose mode changed without
   * its event reaching this coordinator (an `auditRecordSink` that refuses records keeps them, and
   * their events, in the ring) has its halt stored, or cleared, all the same (named by its reasons:
   * the operator's text travels with the event).
   */
  private syncStoredHalt(): void {
    const engine = this.engine;
    if (engine === undefined) return;
    const halted = engine.mode === "halted";
    if (halted === (this.haltedReason !== undefined)) return;
    if (!halted) {
      this.writeHalt(undefined, undefined);
      return;
    }
    const reasons = engine.snapshot().reasons;
    this.writeHalt(`halted (${reasons.join(", ")})`, this.restoringHalt?.reasons ?? reasons);
  }

  /**
   * Keeps the fleet's baseline in the state hash (fenced as the halt is): the first tenure's, at
   * `init`, and each one the operator sets since. A write refused or lost is not retried.
   */
  private storeBaseline(engine: Engine, baseline: FleetBaseline): void {
    if (this.engine !== engine) return;
    this.fleetBaseline = baseline;
    this.engineHasFleetBaseline = true;
    const { lease, state } = this.keys;
    const text = JSON.stringify(baseline);
    this.options.redis
      .eval(STORE_BASELINE, 2, lease, state, this.id, String(this.lease.epoch), text)
      .catch(() => undefined);
  }

  /**
   * Stores `reason` as the fleet's halt, with its SafeMode `reasons` when known, or clears both when
   * `reason` is undefined (fenced: {@link STORE_HALT}).
   */
  private writeHalt(reason: string | undefined, reasons: readonly string[] | undefined): void {
    this.haltedReason = reason;
    this.haltedReasons = reason === undefined ? undefined : reasons;
    const { lease, state } = this.keys;
    const epoch = String(this.lease.epoch);
    const [action, text] = reason === undefined ? ["clear", ""] : ["set", reason];
    const list = reason === undefined ? "" : (reasons ?? []).join(",");
    this.options.redis
      .eval(STORE_HALT, 2, lease, state, this.id, epoch, action, text, list)
      .catch(() => undefined);
  }

  /**
   * Why this coordinator must not lead a fleet whose state is `state`: its params differ from the
   * fleet's stored ones (names, min, max, maxDelta, scale), and `replaceParams` does not name the
   * stored ones. Undefined when they agree, when the fleet has no state yet (the first leader
   * defines it), or when the change is deliberate.
   */
  private paramsRefusal(state: Readonly<Record<string, string>>): string | undefined {
    const stored = storedDescription(state);
    if (stored === undefined || stored === this.paramsText) return undefined;
    const differences = paramsDifferences(stored, this.paramsText);
    if (differences.length === 0) return undefined;
    const fingerprint = paramsFingerprint(stored);
    if (this.options.replaceParams === fingerprint) return undefined;
    return (
      `coordinator ${JSON.stringify(this.id)} will not lead: its params differ from the fleet's ` +
      `(stored params ${fingerprint}): ${differences.join("; ")}. To change the fleet's params on ` +
      `purpose, give the coordinators replaceParams: ${JSON.stringify(fingerprint)} and the ` +
      `replicas the new params, or start a new fleet under another prefix`
    );
  }

  /** Records why this coordinator will not lead (or that it may); passes each new reason to `onError` once. */
  private noteParamsMismatch(mismatch: string | undefined): void {
    this.paramsMismatch = mismatch;
    // Reported once while it lasts; one that ends and comes back is reported again.
    if (mismatch === undefined) this.reportedMismatch = undefined;
    if (mismatch === undefined || mismatch === this.reportedMismatch) return;
    this.reportedMismatch = mismatch;
    this.reportError(new RangeError(mismatch));
  }

  /** Passes a refusal to take or renew the lease to `onError`, once while the same one lasts. */
  private noteLeaseError(error: unknown): void {
    const message = errorMessage(error);
    if (message === this.reportedLeaseError) return;
    this.reportedLeaseError = message;
    const doing = this.engine === undefined ? "take" : "renew";
    this.reportError(
      new Error(`coordinator ${JSON.stringify(this.id)} could not ${doing} the fleet's lease: ${message}`, {
        cause: error,
      }),
    );
  }

  /** Passes `error` to the host's `onError`, whose own throw must not stop the coordinator. */
  private reportError(error: unknown): void {
    try {
      this.options.onError?.(error);
    } catch {
      // Ignored, as documented.
    }
  }

  /**
   * A replica that saw a higher epoch, or reached a higher generation, than this leader's refuses
   * every command it signs. Normally that means another coordinator took over and this one's
   * renewal is about to fail; but when Redis lost its data (a restart without AOF) the epoch
   * counter and the state hash started again below what the replicas hold, and every new leader
   * would be refused. So the leader raises the counter to the highest epoch reported, steps down
   * and lets the lease go: the next tenure, this coordinator's or another's, takes an epoch above
   * it and starts above the generation the replicas report (see {@link promote}).
   */
  private checkFleetAhead(): void {
    if (this.engine === undefined) return;
    const views = Object.values(this.fleet);
    const epoch = reportedEpoch(views);
    const generation = Math.max(0, ...views.map(heldGeneration));
    const ahead = () => epoch > this.lease.epoch || generation > this.fleetGeneration;
    if (!ahead()) return;
    void this.serially(async () => {
      if (this.closed || this.engine === undefined || !ahead()) return;
      try {
        await this.lease.raiseEpochFloor(epoch);
        await this.demote();
        await this.lease.release();
      } catch {
        // Redis unreachable: the lease upkeep demotes a leader that cannot renew.
      }
    });
  }

  private demote(): Promise<void> {
    return this.settle(this.retire());
  }

  /** Waits for a retired tenure (`stopped`: see {@link retire}) to be over. */
  private async settle(stopped: Promise<void>): Promise<void> {
    // A publish of this tenure still queued must not land after the next one began.
    await this.publishing;
    // The consumer's blocking read ends with its connection, except one queued while the client
    // waited to reconnect, which ioredis never answers: the lease upkeep must not wait on that.
    await withinMs(stopped, this.leaseMs);
  }

  /**
   * Ends the tenure here and now, with no Redis call awaited first: no engine, no consumer, no
   * blocking connection, no epoch to sign with. Resolves once the consumer's read in progress
   * ended (which waits on Redis) and the engine closed.
   */
  private retire(): Promise<void> {
    // Events still in the engine's ring are delivered first: a halt among them is stored for the
    // next leader before this tenure lets go (the write goes ahead of the lease release).
    this.engine?.flushEvents();
    const engine = this.engine;
    const consumer = this.consumer;
    const events = this.tenureEvents;
    this.engine = undefined;
    this.consumer = undefined;
    this.tenureEvents = undefined;
    this.commandsFlowingSince = undefined;
    clearTimeout(this.lapseTimer);
    // Their timers would outlive the engine (and keep the process up); what the host's promises
    // do later still reaches the closed engine, and publishes nothing (another tenure, or none).
    for (const stopTimer of this.pendingApplies) stopTimer();
    this.pendingApplies.clear();
    this.lease.epoch = 0;
    this.blocking?.disconnect();
    this.blocking = undefined;
    const stopped = consumer === undefined ? Promise.resolve() : this.retireConsumer(consumer);
    const closed = (engine?.close() ?? Promise.resolve())
      .catch(() => undefined)
      .then(() => events?.unsubscribe());
    return Promise.all([stopped, closed]).then(() => undefined);
  }

  /** Stops a tenure's consumer; busStats counts it until its figures join the totals (no dip). */
  private async retireConsumer(consumer: TelemetryConsumer): Promise<void> {
    this.retiring.add(consumer);
    try {
      await consumer.stop();
    } finally {
      const stats = consumer.stats();
      this.deadLettersBefore += stats.deadLetters;
      this.processedBefore += stats.processed;
      this.retiring.delete(consumer);
    }
  }

  /**
   * Publishes an apply once the host's async `onApply` resolved. Rejects as the host's promise
   * does, or when it does not settle within the engine's settle timeout, and then publishes
   * nothing: the engine counts that apply failed and rolls back, so the fleet must not take it.
   */
  private publishOnceApplied(
    engine: Engine,
    applying: PromiseLike<void>,
    values: Record<string, number>,
    generation: number,
  ): Promise<void> {
    const clock = clockFromScheduler(this.engineScheduler);
    return new Promise<void>((resolve, reject) => {
      let done = false;
      const stopTimer = () => clock.clearTimeout(timer);
      const finish = (): boolean => {
        if (done) return false;
        done = true;
        stopTimer();
        this.pendingApplies.delete(stopTimer);
        return true;
      };
      // On the engine's clock and set before the engine's own settle timer (the engine starts it
      // once this returns): at the same due time this one fires first, so an apply the engine
      // counts as timed out is never published.
      const timer = clock.setTimeout(() => {
        if (finish()) reject(new SettleTimeoutError(DEFAULT_SETTLE_TIMEOUT_MS));
      }, DEFAULT_SETTLE_TIMEOUT_MS);
      this.pendingApplies.add(stopTimer);
      Promise.resolve(applying).then(
        () => {
          if (!finish()) return;
          // Not for a tenure that ended meanwhile, nor below a generation published since
          // (replicas refuse it, and the re-signing would go back to it).
          if (this.engine === engine && generation >= this.fleetGeneration) this.publish(values, generation);
          resolve();
        },
        (error: unknown) => {
          if (finish()) reject(error);
        },
      );
    });
  }

  /**
   * Signs and publishes an apply (serialised; never throws into the engine).
   *
   * @remarks
   * A command Redis refuses (an error reply: the key is not a stream, out of memory, an ACL) is
   * one the fleet never gets while the engine has applied it: the engine would run ahead of the
   * fleet, and reject the replicas' digests as another generation's. So the tenure ends there
   * (see {@link abandonTenure}), and the next one resumes from the stored state. A command that
   * did not reach Redis (connection lost) is left to the lease upkeep, and the next re-sign
   * carries the latest values; one that reached it only once the lease had passed (it waited out
   * an outage in the client's queue) ends with its tenure, which the lease upkeep closes, and the
   * next tenure resumes from the stored state. All are counted and passed to `onError`.
   */
  private publish(values: Record<string, number>, generation: number): void {
    const epoch = this.lease.epoch;
    if (epoch === 0) return;
    const engine = this.engine;
    this.fleetGeneration = generation;
    this.latestValues = values;
    this.lastRefreshAt = Date.now();
    this.remember(generation, this.lastRefreshAt);
    const command: FleetCommand = {
      kind: "apply",
      commandId: `${this.id}:${epoch}:${++this.commandCount}`,
      runId: this.options.runId,
      issuedAt: Date.now(),
      epoch,
      generation,
      values,
    };
    const envelope = JSON.stringify(this.signer.sign(command));
    this.publishing = this.publishing.then(async () => {
      // The tenure ended on a refused command: its later ones must not reach the fleet either.
      if (epoch === this.abandonedEpoch) return;
      try {
        const written = await this.options.redis.eval(
          PUBLISH,
          3,
          this.keys.lease,
          this.keys.commands,
          this.keys.state,
          this.id,
          String(this.options.commandMaxLen ?? 10_000),
          envelope,
          String(generation),
          JSON.stringify(values),
          String(epoch),
          command.commandId,
          this.paramsText,
        );
        if (written === 2) {
          this.commandStreamResets++;
          this.reportError(
            new Error(
              `the command stream ${this.keys.commands} had used up its ids (an entry of id ${LAST_STREAM_ID} was added to it): the leader deleted it and wrote generation ${generation} to it anew; the replicas read it again from its start`,
            ),
          );
        }
        if (written === 1 || written === 2) {
          this.failedInARow = 0;
          // Replicas rewrite their reports on reading a command: their ages count from here (in
          // this tenure: one that ended while the write was out gets nothing).
          if (engine !== undefined && this.engine === engine) this.commandsFlowingSince ??= Date.now();
        } else if (written === 3) {
          // A later tenure wrote the state, yet the lease check passed (another coordinator given
          // this one's id, say): every command of this tenure would be fenced so. It ends here.
          this.publishFailed(
            generation,
            "a later leader's tenure had written the fleet's state when Redis ran it; nothing was written",
          );
          if (engine !== undefined) this.abandonTenure(engine, epoch);
        } else {
          // Redis ran the script too late to write it: the command waited (in the client's
          // offline queue through an outage, behind a hung connection) while the lease passed.
          // The engine applied it and the fleet never will: a command lost, counted as one. The
          // lease upkeep then finds the lease gone and ends the tenure.
          this.publishFailed(
            generation,
            "this coordinator no longer held the lease when Redis ran it (it ran out while the command waited, as in an outage); nothing was written",
          );
          void this.tick();
        }
      } catch (error) {
        this.publishFailed(generation, errorMessage(error), error);
        // Redis answered with an error: the command is not written, and the engine has moved past
        // what the fleet got. Even a passing refusal (LOADING, READONLY in a failover) ends the
        // tenure: the next one resumes from the stored state, which the fleet did get.
        if (isReplyError(error) && engine !== undefined) this.abandonTenure(engine, epoch);
      }
    });
  }

  /**
   * Counts a command the fleet did not get (see {@link publish}): `reason` becomes
   * `lastPublishError`, and `onError` hears of it, naming the generation and the stream.
   */
  private publishFailed(generation: number, reason: string, cause?: unknown): void {
    this.publishFailures++;
    this.lastPublishError = reason;
    this.reportError(
      new Error(
        `coordinator ${JSON.stringify(this.id)} could not publish generation ${generation} to ${this.keys.commands}: ${reason}`,
        cause === undefined ? undefined : { cause },
      ),
    );
  }

  /**
   * Ends the tenure of `engine` after a command Redis refused: the engine applied values the fleet
   * never got, and cannot be wound back one apply. The lease is let go after a back-off set as
   * for a failed promotion, so a standby (or this coordinator, later) resumes from the stored
   * state, which holds what the fleet last received.
   */
  private abandonTenure(engine: Engine, epoch: number): void {
    if (this.engine !== engine) return;
    this.abandonedEpoch = epoch;
    this.failedInARow++;
    this.contendAfter = Date.now() + this.leaseMs * 2 ** Math.min(this.failedInARow - 1, 4);
    const stopped = this.retire();
    void this.serially(async () => {
      await this.settle(stopped);
      await withinMs(this.lease.release(), this.leaseMs).catch(() => undefined);
    });
  }

  /**
   * Refreshes the view (every {@link VIEW_PERIOD_MS}). One read at a time: while Redis leaves one
   * unanswered (a connection that hangs, a client that queues while it waits to reconnect) none
   * is added, so nothing piles up in the client. A read unanswered for one lease, and no less
   * than a period, counts as failed: the view says it is stale, as a leader that cannot renew
   * for that long stops leading, until a read succeeds.
   */
  private async refreshView(): Promise<void> {
    this.viewRead ??= this.readView().finally(() => {
      this.viewRead = undefined;
    });
    const answered = await withinMs(
      this.viewRead.then(() => true),
      Math.max(VIEW_PERIOD_MS, this.leaseMs),
    );
    if (answered === undefined) this.viewStale = true;
  }

  /** Reads the acks hash, the lease holder, and the group's lag and pending counts; never rejects. */
  private async readView(): Promise<void> {
    // Whether the acks, the lease and the state were read: an error Redis answers after that (the
    // digest stream's key of another type) leaves those figures fresh.
    let viewRead = false;
    try {
      const { redis } = this.options;
      const { acks: acksKey, lease: leaseKey, state: stateKey } = this.keys;
      const keyed = (command: string, key: string) => (error: unknown) => {
        throw keyedError(error, command, key);
      };
      const [acks, leaderId, [stored, halted, params, values, baseline, haltReasons]] = await Promise.all([
        redis.hgetall(acksKey).catch(keyed("HGETALL", acksKey)),
        redis.get(leaseKey).catch(keyed("GET", leaseKey)),
        redis
          .hmget(stateKey, "generation", "halted", "params", "values", "baseline", "haltReasons")
          .catch(keyed("HMGET", stateKey)),
      ]);
      if (this.closed) return;
      viewRead = true;
      // A standby whose params differ from the fleet's says so, and does not contend.
      if (this.engine === undefined) {
        this.fleetBaseline = parseFleetBaseline(baseline);
        const state: Record<string, string> = {};
        if (params !== null) state.params = params;
        if (values !== null) state.values = values;
        this.noteParamsMismatch(this.paramsRefusal(state));
      }
      this.leaderId = leaderId ?? undefined;
      // The leader knows its own halt; a standby learns the fleet's from the stored state.
      if (this.engine === undefined) {
        this.haltedReason = halted ?? undefined;
        this.haltedReasons = halted === null ? undefined : reasonList(haltReasons ?? undefined);
      }
      // A standby learns the fleet generation from the stored state, and dates it by when it
      // first saw it, so its lagging test works as the leader's does.
      const generation = stored === null ? Number.NaN : Number(stored);
      if (
        this.engine === undefined &&
        Number.isSafeInteger(generation) &&
        generation !== this.fleetGeneration
      ) {
        this.fleetGeneration = generation;
        this.remember(generation, Date.now());
      }
      await this.expireReports(acks);
      if (this.closed) return;
      // No prototype: a replica may be named `__proto__`, which a plain object would not keep.
      const fleet: Record<string, ReplicaView> = Object.create(null);
      for (const [replica, text] of Object.entries(acks)) {
        const view = replicaViewOf(text);
        // A report that does not parse, or holds other than whole numbers, is left out of the view.
        if (view !== undefined) fleet[replica] = view;
      }
      this.fleet = fleet;
      this.highestEpoch = Math.max(this.highestEpoch, reportedEpoch(Object.values(fleet)));
      this.lagging = this.laggingReplicas();
      this.countRejected(fleet);
      this.checkFleetAhead();
      const groups = (await redis.xinfo("GROUPS", this.keys.digests).catch(() => [])) as unknown[][];
      // Closed meanwhile: its view stays marked stale (see shutDown).
      if (this.closed) return;
      let group: Map<string, unknown> | undefined;
      for (const entry of groups) {
        const fields = new Map<string, unknown>();
        for (let i = 0; i + 1 < entry.length; i += 2) fields.set(String(entry[i]), entry[i + 1]);
        if (fields.get("name") === COORDINATOR_GROUP) group = fields;
      }
      if (group === undefined) {
        // No group (no coordinator could lead, e.g. NOPERM on XGROUP): nothing was delivered, and
        // every entry of the stream waits unread.
        this.groupPending = 0;
        const length = await redis.xlen(this.keys.digests).catch((error: unknown) => {
          throw keyedError(error, "XLEN", this.keys.digests);
        });
        if (this.closed) return;
        this.groupLag = length;
      } else {
        this.groupPending = Number(group.get("pending") ?? 0);
        this.groupLag = await this.undelivered(group);
        if (this.closed) return;
      }
      this.viewStale = false;
      this.lastViewError = undefined;
    } catch (error) {
      // The view keeps its last value while Redis is unreachable, and says it is stale; so it does
      // when Redis answers its first reads with an error (NOPERM, NOAUTH, LOADING): nothing was
      // read. An error on the digest stream after them (a key of another type) is no outage: the
      // replicas' figures are fresh. Either answer, naming its command and key, goes to onError
      // once: it will be the same at every read until someone fixes it.
      const answered = isReplyError(error);
      this.viewStale = !(viewRead && answered);
      if (!answered) return;
      const message = errorMessage(error);
      if (message === this.lastViewError) return;
      this.lastViewError = message;
      this.reportError(
        new Error(`coordinator ${JSON.stringify(this.id)} could not read the fleet's view: ${message}`, {
          cause: error,
        }),
      );
    }
  }

  /**
   * The digest entries the group has not delivered yet: 0 when its last-delivered-id is the
   * stream's last entry, else XINFO's `lag` less the skew of Redis's counters learnt the last time
   * the group was caught up (and at least 1); the stream's length when Redis gives no lag.
   *
   * @remarks
   * XINFO's `lag` is entries added minus entries read, two counters Redis keeps beside the
   * stream, and they can disagree with it: after an AOF rewrite and a restart a user's fleet read
   * a lag of thousands for good while its leader was caught up, and the lag alert fired. Whether
   * the group is caught up is plain from the entry ids, and what `lag` reads then is the skew,
   * which stays the same until the counters are rebuilt again. Counting the entries instead would
   * fetch them, whole batches of digests, twice a second while the bus is behind.
   */
  private async undelivered(group: Map<string, unknown>): Promise<number> {
    const last = group.get("last-delivered-id");
    const lag = group.get("lag");
    const counted = typeof lag === "number" || typeof lag === "string" ? Number(lag) : Number.NaN;
    const key = this.keys.digests;
    let stream: unknown[];
    try {
      stream = (await this.options.redis.xinfo("STREAM", key)) as unknown[];
    } catch (error) {
      // Gone since the group was read (Redis restarted without its data): nothing is undelivered.
      if (isReplyError(error) && /no such key/i.test(errorMessage(error))) return 0;
      throw keyedError(error, "XINFO STREAM", key);
    }
    const at = stream.indexOf("last-generated-id");
    const newest = at < 0 ? undefined : stream[at + 1];
    if (typeof last === "string" && last === newest) {
      this.lagSkew = Number.isFinite(counted) ? counted : 0;
      return 0;
    }
    // Behind. Redis gives no lag once entries past the last delivered one were trimmed (a group
    // left behind by MAXLEN): every entry left is then undelivered. A skew larger than the lag
    // read now means the counters were rebuilt since it was learnt: it no longer applies.
    if (!Number.isFinite(counted)) {
      const length = await this.options.redis.xlen(key).catch((error: unknown) => {
        throw keyedError(error, "XLEN", key);
      });
      return Math.max(1, length);
    }
    if (counted < this.lagSkew) this.lagSkew = 0;
    return Math.max(1, counted - this.lagSkew);
  }

  /** Records a generation published at `at`; drops what the lagging test no longer needs. */
  private remember(generation: number, at: number): void {
    this.published.push([generation, at]);
    // Bounded whether or not anyone reads the snapshot or the bus counters.
    this.settledGeneration();
  }

  /** The highest generation published `lagAfterMs` ago or earlier (0 when none); drops older history. */
  private settledGeneration(): number {
    const cutoff = Date.now() - (this.options.lagAfterMs ?? 2_000);
    let settled = 0;
    let keepFrom = 0;
    for (let i = 0; i < this.published.length; i++) {
      const [generation, at] = this.published[i]!;
      if (at > cutoff) break;
      settled = generation;
      keepFrom = i;
    }
    if (keepFrom > 0) this.published = this.published.slice(keepFrom);
    return settled;
  }

  /**
   * Notes when each report in `acks` last changed, and, when leading, removes those unchanged for
   * `replicaExpiryMs` (from `acks` too). Ages are counted on this coordinator's clock from when it
   * first read a report's text, and no earlier than its tenure's first command (a leaderless gap
   * leaves every report unchanged), so the replicas' clocks do not matter; a report is removed only
   * while it still holds that text, so one written meanwhile (the replica came back) stays.
   */
  private async expireReports(acks: Record<string, string>): Promise<void> {
    const now = Date.now();
    for (const replica of this.reportsSeen.keys())
      if (!Object.hasOwn(acks, replica)) this.reportsSeen.delete(replica);
    const expired: [string, string][] = [];
    const flowing = this.commandsFlowingSince;
    for (const [replica, text] of Object.entries(acks)) {
      const seen = this.reportsSeen.get(replica);
      if (seen?.text !== text) this.reportsSeen.set(replica, { text, since: now });
      else if (flowing !== undefined && now - Math.max(seen.since, flowing) >= this.replicaExpiryMs)
        expired.push([replica, text]);
    }
    if (!this.leader) return;
    for (const [replica, text] of expired) {
      const removed = await this.options.redis.eval(
        REMOVE_UNCHANGED_REPORT,
        2,
        this.keys.acks,
        this.keys.seqs,
        replica,
        text,
      );
      if (removed !== 1) continue;
      this.expiredReplicas++;
      this.reportsSeen.delete(replica);
      delete acks[replica];
    }
  }

  /** The replicas of the view below the settled generation now. */
  private laggingReplicas(): string[] {
    const settled = this.settledGeneration();
    return Object.entries(this.fleet)
      .filter(([, view]) => view.generation < settled)
      .map(([replica]) => replica);
  }

  /**
   * Adds to the refused-commands total what each replica refused since its previous report.
   *
   * @remarks
   * A report's `rejected` counts the refusals of the replica's process, so it starts again at 0
   * when the replica restarts: a figure below the last one read means a restart, and all of it is
   * new. A replica whose report left the acks hash keeps its last figure here, so that the total
   * never goes down and a report coming back is not counted twice. Refusals of a restarted
   * replica are missed only when its new count passes the old one between two reads (500 ms).
   */
  private countRejected(fleet: Record<string, ReplicaView>): void {
    for (const [replica, view] of Object.entries(fleet)) {
      const now = view.rejected ?? 0;
      const before = this.rejectedSeen.get(replica);
      this.rejectedTotal += before === undefined || now < before ? now : now - before;
      this.rejectedSeen.set(replica, now);
    }
  }

  /**
   * Bus counters for metrics (no I/O). `deadLetters`, `rejectedCommands`, `digestsProcessed`,
   * `publishFailures` and `commandStreamResets` are counters of this coordinator's process: they
   * never go down while it runs.
   */
  busStats(): BusStats {
    let deadLetters = this.deadLettersBefore;
    let processed = this.processedBefore;
    for (const consumer of [this.consumer, ...this.retiring]) {
      if (consumer === undefined) continue;
      const stats = consumer.stats();
      deadLetters += stats.deadLetters;
      processed += stats.processed;
    }
    const replicas = Object.values(this.fleet);
    return {
      lag: this.groupLag,
      pending: this.groupPending,
      deadLetters,
      rejectedCommands: this.rejectedTotal,
      digestsProcessed: processed,
      publishFailures: this.publishFailures,
      commandStreamResets: this.commandStreamResets,
      expiredReplicas: this.expiredReplicas,
      paramsMismatch: this.paramsMismatch !== undefined,
      replicas: replicas.length,
      laggingReplicas: this.lagging.length,
      leader: this.leader,
      halted: this.haltedReason !== undefined,
      // Unknown reasons are left out: every halt then pages, which is the safe side.
      ...(this.haltedReason === undefined
        ? { haltReasons: [] }
        : this.haltedReasons === undefined
          ? {}
          : { haltReasons: this.haltedReasons }),
      stale: this.viewStale,
    };
  }

  /** A point-in-time view (allocates). */
  snapshot(): CoordinatorSnapshot {
    return {
      id: this.id,
      leader: this.leader,
      leaderId: this.leaderId,
      epoch: this.lease.epoch,
      leaderEpoch: this.engine === undefined ? this.highestEpoch : this.lease.epoch,
      halted: this.haltedReason,
      generation: this.fleetGeneration,
      fleet: { ...this.fleet },
      lagging: [...this.lagging],
      engine: this.engine?.snapshot(),
      olderGenerationDigests: this.olderGenerationDigests,
      consumer: this.consumer?.stats(),
      promotionFailures: this.promotionFailures,
      lastPromotionError: this.lastPromotionError,
      paramsFingerprint: this.paramsPrint,
      paramsMismatch: this.paramsMismatch,
      publishFailures: this.publishFailures,
      lastPublishError: this.lastPublishError,
      commandStreamResets: this.commandStreamResets,
      baseline: this.fleetBaseline,
      engineHasFleetBaseline: this.engine !== undefined && this.engineHasFleetBaseline,
    };
  }

  /**
   * Stops contending, stops the engine and the telemetry consumer, and hands the lease back.
   *
   * @remarks
   * The engine and the consumer stop here at once, whatever Redis does. A lease renewal or a
   * promotion in flight (each notices the close when its Redis call returns and hands back what it
   * took), the tenure's queued commands and the lease release then get one lease time (`leaseMs`)
   * together: close() returns within about that while Redis is unreachable, and the lease then
   * expires by itself. Calling it again returns the same promise.
   */
  close(): Promise<void> {
    this.closing ??= this.shutDown();
    return this.closing;
  }

  private async shutDown(): Promise<void> {
    this.closed = true;
    // What it last read of the fleet is no longer followed: the view says so, and names no leader.
    this.viewStale = true;
    this.leaderId = undefined;
    clearInterval(this.leaseTimer);
    clearInterval(this.viewTimer);
    // A lease taken for a promotion still under way is held too (its epoch is set).
    const held = this.engine !== undefined || this.lease.epoch > 0;
    const stopped = this.retire();
    const handedBack = (async () => {
      await this.publishing;
      if (held) await this.lease.release();
    })().catch(() => undefined);
    await withinMs(Promise.all([stopped, handedBack, this.transition]), this.leaseMs);
    this.eventSubject.complete();
  }
}

/**
 * The engine's parameters for a new tenure: each starts at its stored value, moved into the
 * configured bounds when they were narrowed since (`adjusted` then), or at the configured `init`
 * when none is stored. Stored values that cannot be read count as adjusted (the configured ones
 * are used).
 */
function resumedParams(
  specs: EngineConfig["params"],
  text: string | undefined,
): { params: Record<string, EngineConfig["params"][string]>; adjusted: boolean } {
  let stored: Record<string, unknown> | undefined;
  let adjusted = false;
  if (text !== undefined) {
    try {
      const parsed: unknown = JSON.parse(text);
      if (typeof parsed === "object" && parsed !== null) stored = parsed as Record<string, unknown>;
      else adjusted = true;
    } catch {
      adjusted = true;
    }
  }
  const params: Record<string, EngineConfig["params"][string]> = {};
  for (const [name, spec] of Object.entries(specs)) {
    const value = stored === undefined || !Object.hasOwn(stored, name) ? undefined : stored[name];
    if (value === undefined) {
      params[name] = spec;
    } else if (typeof value !== "number" || !Number.isFinite(value)) {
      params[name] = spec;
      adjusted = true;
    } else {
      const init = Math.min(spec.max, Math.max(spec.min, value));
      if (init !== value) adjusted = true;
      params[name] = { ...spec, init };
    }
  }
  return { params, adjusted };
}

/**
 * `params` with the fleet's baseline as each one's `baseline`, moved into bounds that were
 * narrowed since (as resumed values are). A parameter the stored baseline does not name keeps the
 * config's own `baseline` (or its `init`): `engineHasFleetBaseline` is then false.
 */
function withBaseline(
  params: Record<string, EngineConfig["params"][string]>,
  baseline: FleetBaseline | undefined,
): Record<string, EngineConfig["params"][string]> {
  if (baseline === undefined) return params;
  const out: Record<string, EngineConfig["params"][string]> = {};
  for (const [name, spec] of Object.entries(params)) {
    const value = Object.hasOwn(baseline.values, name) ? baseline.values[name] : undefined;
    out[name] =
      value === undefined || !Number.isFinite(value)
        ? spec
        : { ...spec, baseline: Math.min(spec.max, Math.max(spec.min, value)) };
  }
  return out;
}

function recordOf(names: readonly string[], values: ArrayLike<number>): Record<string, number> {
  const out: Record<string, number> = {};
  names.forEach((name, i) => {
    out[name] = values[i]!;
  });
  return out;
}

/** The shortest lease a coordinator takes, ms. */
const MIN_LEASE_MS = 50;

/** The options {@link createCoordinator} takes: any other key is a misspelling, refused by name. */
const COORDINATOR_OPTION_KEYS = [
  "redis",
  "id",
  "runId",
  "keyring",
  "engine",
  "prefix",
  "leaseMs",
  "refreshMs",
  "replicaExpiryMs",
  "lagAfterMs",
  "commandMaxLen",
  "telemetry",
  "onError",
  "replaceParams",
  "metrics",
] as const satisfies readonly (keyof CoordinatorOptions)[];

/** The keys of {@link CoordinatorOptions.telemetry}. */
const COORDINATOR_TELEMETRY_KEYS = [
  "count",
  "blockMs",
  "claimIdleMs",
  "maxDeliveries",
  "deadLetterMaxLen",
] as const satisfies readonly (keyof NonNullable<CoordinatorOptions["telemetry"]>)[];

/**
 * What is wrong with the options of a coordinator (besides its engine config's fields: a missing
 * engine is named here), each as `<field>: <reason>`.
 */
function coordinatorOptionIssues(options: CoordinatorOptions): string[] {
  const notObject = objectOptionIssue(options, "options", "an object of coordinator options");
  if (notObject !== undefined) return [notObject];
  const issues: string[] = [];
  const text = (field: "id" | "runId" | "prefix", optional: boolean) => {
    const value: unknown = options[field];
    if ((value !== undefined || !optional) && (typeof value !== "string" || value === ""))
      issues.push(`${field}: must be a non-empty string (got ${shownValue(value)})`);
  };
  // As createReplica checks it: anything else resolved, then stood by for good, reporting nothing.
  const redisIssue = redisClientIssue(options.redis);
  if (redisIssue !== undefined) issues.push(redisIssue);
  const onError: unknown = options.onError;
  if (onError !== undefined && typeof onError !== "function")
    issues.push(`onError: must be a function (got ${shownValue(onError)})`);
  issues.push(...unknownKeyIssues(options, COORDINATOR_OPTION_KEYS, ""));
  const metricsIssue = engineMetricsIssue(options.metrics);
  if (metricsIssue !== undefined) issues.push(metricsIssue);
  // Its fields are checked as the engine's config (see the constructor); it must be there first.
  const engineIssue = objectOptionIssue(options.engine, "engine", "an engine config { seed, params, … }");
  if (engineIssue !== undefined) issues.push(engineIssue);
  issues.push(...keyringIssues(options.keyring, "keyring"));
  // Anything but an object would be spread into the consumer's options, or ignored.
  const telemetryIssue =
    options.telemetry === undefined
      ? undefined
      : objectOptionIssue(options.telemetry, "telemetry", "an object of telemetry options");
  if (telemetryIssue !== undefined) issues.push(telemetryIssue);
  else if (options.telemetry !== undefined)
    issues.push(...unknownKeyIssues(options.telemetry, COORDINATOR_TELEMETRY_KEYS, "telemetry."));
  const whole = (
    field: "leaseMs" | "refreshMs" | "lagAfterMs" | "commandMaxLen" | "replicaExpiryMs",
    min: number,
    max?: number,
  ) => {
    const value = options[field];
    if (value === undefined) return;
    if (Number.isSafeInteger(value) && value >= min && (max === undefined || value <= max)) return;
    const range = max === undefined ? `≥ ${min}` : `from ${min} to ${max}`;
    issues.push(`${field}: must be a whole number ${range} (got ${value})`);
  };
  text("id", true);
  text("runId", false);
  text("prefix", true);
  const replace: unknown = options.replaceParams;
  if (replace !== undefined && (typeof replace !== "string" || replace === ""))
    issues.push(
      `replaceParams: must be a non-empty string, a fingerprint of stored params (got ${shownValue(replace)})`,
    );
  // PX takes whole milliseconds, and the lease's timers cannot wait longer than a Node timer. A
  // lease shorter than a promotion's round trips to Redis runs out before it can lead: 1 ms
  // failed some 50 promotions a second and never led.
  whole("leaseMs", MIN_LEASE_MS, MAX_TIMER_MS);
  whole("refreshMs", 1);
  whole("lagAfterMs", 0);
  // XADD refuses a MAXLEN below 0 or not whole, and 0 would trim the commands a replica must read.
  whole("commandMaxLen", 1);
  whole("replicaExpiryMs", 1);
  // A live replica's report goes unchanged for up to refreshMs (it is rewritten with each command):
  // a shorter expiry would remove live replicas, again and again.
  const expiry = options.replicaExpiryMs ?? DEFAULT_REPLICA_EXPIRY_MS;
  const refresh = options.refreshMs ?? DEFAULT_REFRESH_MS;
  if (Number.isSafeInteger(expiry) && Number.isSafeInteger(refresh) && expiry < 2 * refresh)
    issues.push(
      options.replicaExpiryMs === undefined
        ? `refreshMs: at most half the default replicaExpiryMs (${expiry} ms), since a live replica's report goes unchanged for up to refreshMs; give replicaExpiryMs too (got ${refresh})`
        : `replicaExpiryMs: must be at least twice refreshMs (${refresh} ms), since a live replica's report goes unchanged for up to refreshMs (got ${expiry})`,
    );
  if (telemetryIssue === undefined)
    issues.push(...consumerOptionIssues(options.telemetry ?? {}, "telemetry."));
  return issues;
}

/**
 * The problems of the coordinator's engine config, each named under `engine.`: `seed: expected a
 * number` alone would not say which config of the options it is. None when the options or the
 * engine are no objects: {@link coordinatorOptionIssues} names those.
 */
function engineConfigIssuesOf(options: unknown): ConfigIssue[] {
  const engine =
    typeof options === "object" && options !== null ? (options as CoordinatorOptions).engine : undefined;
  if (objectOptionIssue(engine, "engine", "an engine config") !== undefined) return [];
  return engineConfigIssues(engine).map(({ path, message }) => ({
    path: path === "" ? "engine" : `engine.${path}`,
    message,
  }));
}

/**
 * What is wrong with a coordinator's `metrics` option: something other than engine metrics, or
 * metrics already reading an engine (the coordinator attaches its own at each promotion).
 */
function engineMetricsIssue(metrics: unknown): string | undefined {
  if (metrics === undefined) return undefined;
  const methods = ["attach", "detach", "observe", "timeApply"] as const;
  const isMetrics =
    typeof metrics === "object" &&
    metrics !== null &&
    methods.every((name) => typeof (metrics as Record<string, unknown>)[name] === "function");
  if (!isMetrics)
    return `metrics: must be engine metrics from createEngineMetrics (got ${shownValue(metrics)})`;
  if ((metrics as TenureMetrics).engine !== undefined)
    return "metrics: already read an engine; give the coordinator metrics of their own (it attaches each tenure's engine)";
  return undefined;
}

/** `onApply`, timed by `metrics` into `arqon_t1_apply_seconds` when there are metrics. */
function timedBy(
  metrics: TenureMetrics | undefined,
  onApply: (values: Float64Array, generation: number) => void | Promise<void>,
): (values: Float64Array, generation: number) => void | PromiseLike<void> {
  return metrics === undefined ? onApply : metrics.timeApply(onApply);
}

/** Creates a coordinator and starts contending for leadership. */
export async function createCoordinator(options: CoordinatorOptions): Promise<Coordinator> {
  const coordinator = new Coordinator(options);
  await coordinator.start();
  return coordinator;
}

/** A replica's report from the acks hash, or undefined unless every figure is a whole number ≥ 0. */
function replicaViewOf(text: string): ReplicaView | undefined {
  let view: unknown;
  try {
    view = JSON.parse(text);
  } catch {
    return undefined;
  }
  if (typeof view !== "object" || view === null) return undefined;
  const v = view as Record<string, unknown>;
  const whole = (x: unknown) => typeof x === "number" && Number.isSafeInteger(x) && x >= 0;
  if (!whole(v.generation) || !whole(v.epoch) || !whole(v.rejected) || typeof v.at !== "number")
    return undefined;
  if (v.target !== undefined && !whole(v.target)) return undefined;
  return view as ReplicaView;
}

/** The highest generation a replica refuses to go below: its target (older reports: its live one). */
function heldGeneration(view: ReplicaView): number {
  return Math.max(view.generation, view.target ?? 0);
}

/** The SafeMode reasons a state hash's `haltReasons` field lists (comma-separated), if it has one. */
function reasonList(field: string | undefined): readonly string[] | undefined {
  if (field === undefined || field === "") return undefined;
  return field.split(",");
}
