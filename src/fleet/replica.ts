/**
 * A fleet replica: applies the coordinator's signed commands through its own Tier 1 and ships
 * its telemetry in batches.
 *
 * @packageDocumentation
 */
import type { Redis } from "ioredis";
import { MAX_TIMER_MS } from "../../machines/timer-limit.js";
import { ApplyKind } from "../audit/apply-kind.js";
import { AuditRing } from "../audit/ring.js";
import { RollbackReason } from "../audit/rollback-reason.js";
import { APPLIED, Violation, violationName } from "../audit/violation.js";
import { type EngineConfig, engineConfigIssues, resolveEngineConfig } from "../engine/config.js";
import { isThenable } from "../engine/safety/guarded-callback.js";
import { errorMessage } from "../errors.js";
import { Executor } from "../hotpath/executor.js";
import { LiveConfig } from "../hotpath/live-config.js";
import { beforeDeadline } from "../runtime/deadline.js";
import { withinMs } from "../runtime/within-ms.js";
import { shownValue } from "../shown-value.js";
import { ParamRegistry } from "../space/param-registry.js";
import { closestName } from "../suggest.js";
import { knownKeysText, unknownKeyIssues } from "../unknown-options.js";
import type { FleetCommand } from "./command.js";
import {
  paramsDescription,
  paramsDifferences,
  paramsFingerprint,
  storedDescription,
} from "./fleet-params.js";
import { isReplyError, keyedError } from "./keyed-error.js";
import { objectOptionIssue } from "./object-option-issue.js";
import { redisClientIssue } from "./redis-client-issue.js";
import {
  type CommandRejection,
  CommandVerifier,
  type Keyring,
  keyringIssues,
  ledgerCapacityIssue,
  type RejectionReason,
} from "./signing.js";
import { streamIdBelow } from "./stream-id.js";
import { type FleetKeys, fieldsOf, fleetKeys, fleetPrefix } from "./streams.js";
import {
  type PublisherStats,
  publisherTuningIssues,
  TelemetryPublisher,
  type TelemetryPublisherOptions,
} from "./telemetry-publisher.js";

/** Options of {@link createReplica}. */
export interface ReplicaOptions {
  /** Connection for commands and publishing (the replica also makes a duplicate for blocking reads). */
  readonly redis: Redis;
  /** This replica's id, unique in the fleet (non-empty). */
  readonly replica: string;
  /** The fleet run (non-empty); commands of other runs are refused. */
  readonly runId: string;
  readonly keyring: Keyring;
  /** The parameters and guardrails, as the coordinator's engine config has them (bounds, maxDelta). */
  readonly params: EngineConfig["params"];
  readonly guardrails?: EngineConfig["guardrails"];
  /**
   * Key prefix: the coordinator's. Default `arqon:fleet:<runId>` (`fleetPrefix`), so that runs
   * sharing a Redis keep apart; two runs given one prefix share a lease and a telemetry stream.
   */
  readonly prefix?: string;
  /** Oldest command accepted, ms (default 30 000; a finite number ≥ 0). */
  readonly maxCommandAgeMs?: number;
  /**
   * Most command ids kept to refuse a replayed command (default 10 000; a whole number from 1 to
   * 10 000 000). Each is kept for `maxCommandAgeMs` after its command was issued, and once that
   * many are kept the replica refuses new commands (`ledger-full`) rather than forget one, which
   * would let a replay through: it must hold every command the coordinator issues within
   * `maxCommandAgeMs` (the default, over 30 s, 333 a second).
   */
  readonly commandLedgerCapacity?: number;
  /**
   * How long `createReplica` waits for Redis to answer its first reads before it rejects, ms (a
   * whole number from 1 to 2 147 483 647, default {@link DEFAULT_START_TIMEOUT_MS}). A client that
   * retries without end (`maxRetriesPerRequest: null`, as queue libraries set it) would otherwise
   * leave the start pending for as long as Redis is unreachable.
   */
  readonly startTimeoutMs?: number;
  /**
   * The actuator: called after each Tier-1 step with the live values (registry order) and the
   * fleet generation live once the step is taken (the target's when the step reaches it). A throw,
   * or a returned promise that rejects, refuses the step: it is counted in `status().applyFailures`
   * and passed to `onError`, the step is undone in Tier 1 (the live values go back to those the
   * hook last took), the generation is not made live nor acknowledged, and the replica steps again
   * from there after a back-off. A returned promise (an `async` hook) is waited for before the
   * next step. (Typed `void` so that hooks returning anything still fit.)
   */
  readonly onApply?: (values: Float64Array, generation: number) => void;
  /** Called with every refused command (the audit trail); must not throw. */
  readonly onRejected?: (rejection: CommandRejection) => void;
  /**
   * Called with each failure of `onApply` (what it threw or rejected with), with a `RangeError`
   * when this replica finds its params differ from the fleet's (once per new difference; see
   * {@link ReplicaStatus.paramsMismatch}), and with a `RangeError` the first time `publish` refuses
   * a digest for each option at fault (see {@link Replica.publish}). Must not throw (what it
   * throws is ignored).
   */
  readonly onError?: (error: unknown) => void;
  /** Telemetry batching (buffer, flush period, breaker). */
  readonly telemetry?: Omit<TelemetryPublisherOptions, "redis" | "stream" | "replica" | "keyring">;
}

/** What a replica reports about itself. */
export interface ReplicaStatus {
  readonly replica: string;
  /** The fleet generation whose values are live here. */
  readonly generation: number;
  /** The fleet generation being moved to (above `generation` while catching up). */
  readonly targetGeneration: number;
  /** Highest leader epoch seen (commands of a lower epoch are refused). */
  readonly epoch: number;
  readonly values: Record<string, number>;
  /** Commands refused, by reason. */
  readonly rejected: Readonly<Record<RejectionReason, number>>;
  /** Commands accepted. */
  readonly accepted: number;
  /** Tier-1 refusals of steps toward a target (e.g. a target outside local bounds). */
  readonly tier1Refusals: number;
  /** Name of the latest Tier-1 violation (undefined when none). */
  readonly lastTier1Refusal: string | undefined;
  /** Steps `onApply` refused (threw or rejected); each is tried again after a back-off. */
  readonly applyFailures: number;
  /** The message of the latest `onApply` failure (undefined when none). */
  readonly lastApplyError: string | undefined;
  /**
   * Why this replica refuses the fleet's commands: its params differ from those the fleet's state
   * records (names, min, max, maxDelta, scale); undefined when they agree, or before the fleet has
   * a state. It holds its values meanwhile.
   */
  readonly paramsMismatch: string | undefined;
  readonly telemetry: PublisherStats;
}

/**
 * A replica of the tuned service.
 *
 * @remarks
 * Commands come from the command stream (plain `XREAD`: every replica sees every command). Each is
 * verified ({@link CommandVerifier}), then fenced: a command of a lower leader epoch than one seen
 * (a deposed leader), or of a lower fleet generation than the current target, is refused. The
 * accepted target is reached through this replica's own Tier-1 executor with the same bounds and
 * maxDelta as the coordinator's: one step when it is within maxDelta (the normal case), else a
 * walk of maxDelta-sized steps paced by the guardrails (a late joiner catching up). The fleet
 * generation becomes live, and is acknowledged in the acks hash, only when the values reached it
 * and `onApply` took them (a throw or rejection there is counted, undone and retried, never
 * rethrown). Outside an `onApply` call in progress, the live values are those the service holds,
 * so every call asks it to move at most maxDelta.
 */
/** When and under which generation a measurement published by {@link Replica.publish} was taken. */
export interface PublishOptions {
  /** When it was taken (ms since the epoch; default: now). */
  readonly timestamp?: number;
  /** The fleet generation live when it started (default: the one live at the call). */
  readonly generation?: number;
}

export class Replica {
  readonly names: readonly string[];
  /**
   * A copy of the live values in raw units, registry order, rewritten by every apply: writing into
   * it changes nothing live (only the Tier-1 executor writes the store).
   */
  readonly values: Float64Array;
  /** The live store itself, read by the replica's own steps. */
  private readonly live: LiveConfig;
  private readonly keys: FleetKeys;
  private readonly registry: ParamRegistry;
  private readonly executor: Executor;
  private readonly audit: AuditRing;
  private readonly verifier: CommandVerifier;
  private readonly publisher: TelemetryPublisher;
  /** The connection of the blocking reads, made once start() has read the latest command. */
  private blocking: Redis | undefined;
  private readonly target: Float64Array;
  private readonly step: Float64Array;
  private liveGeneration = 0;
  private targetGeneration = 0;
  private epoch = 0;
  private accepted = 0;
  private tier1Refusals = 0;
  private lastRefusal: string | undefined;
  private applyFailures = 0;
  private applyFailuresInARow = 0;
  private lastApplyError: string | undefined;
  /** Whether an async onApply has not settled yet: no step is taken until it has. */
  private applying = false;
  /** Earliest time of the next step after an onApply failure (the back-off). */
  private retryAt = 0;
  private proposals = 0;
  /**
   * The id of the latest command read. Starts at "0-0" (the stream was empty at start): never "$",
   * which would skip what is added before the first read (the blocking connection may still be
   * connecting then) or between two reads. Back to "0-0" when the stream was written anew below
   * it (see {@link Replica.rewindIfReset}).
   */
  private lastId = "0-0";
  private running = false;
  private loop: Promise<void> | undefined;
  private driveTimer: NodeJS.Timeout | undefined;
  private closing: Promise<void> | undefined;
  /** The report this replica last wrote to the acks hash: the one {@link close} removes. */
  private lastReport: string | undefined;
  /** This replica's params as the fleet's state hash records them (see fleet-params.ts). */
  private readonly paramsText: string;
  /** Why it refuses the fleet's commands (its params differ from the stored ones), as last read. */
  private paramsMismatch: string | undefined;
  /** Why the fleet's params could not be read, as last reported to `onError`. */
  private paramsReadError: string | undefined;
  /** The options at fault in digests `publish` refused, each reported to `onError` once. */
  private readonly publishRefusalsReported = new Set<string>();
  /** Unknown `publish` option keys, and whether each is near an option's name (a misspelling). */
  private readonly publishKeyNearness = new Map<string, boolean>();

  /** @throws RangeError naming every bad option, before anything is started. */
  constructor(private readonly options: ReplicaOptions) {
    const issues = replicaOptionIssues(options);
    if (issues.length > 0) throw new RangeError(`invalid replica options: ${issues.join("; ")}`);
    const resolved = resolveEngineConfig({
      seed: 0,
      params: options.params,
      ...(options.guardrails === undefined ? {} : { guardrails: options.guardrails }),
    });
    this.keys = fleetKeys(options.prefix ?? fleetPrefix(options.runId));
    this.registry = new ParamRegistry(resolved.params);
    this.paramsText = paramsDescription(resolved.params);
    this.names = this.registry.names;
    const live = new LiveConfig(this.registry.init);
    this.live = live;
    this.values = live.mirror;
    this.audit = new AuditRing({ runId: options.runId, capacity: 256, paramNames: this.names });
    this.executor = new Executor(this.registry, live, resolved.guardrails, this.audit);
    this.target = Float64Array.from(this.registry.init);
    this.step = new Float64Array(this.registry.size);
    this.verifier = new CommandVerifier({
      keyring: options.keyring,
      runId: options.runId,
      ...(options.maxCommandAgeMs === undefined ? {} : { maxAgeMs: options.maxCommandAgeMs }),
      ...(options.commandLedgerCapacity === undefined
        ? {}
        : { ledgerCapacity: options.commandLedgerCapacity }),
      ...(options.onRejected === undefined ? {} : { onRejected: options.onRejected }),
    });
    this.publisher = new TelemetryPublisher({
      ...options.telemetry,
      redis: options.redis,
      stream: this.keys.digests,
      replica: options.replica,
      keyring: options.keyring,
    });
  }

  /** The fleet generation live here; stamp digests with it (done by {@link Replica.publish}). */
  get generation(): number {
    return this.liveGeneration;
  }

  /**
   * Queues one measurement for the coordinator (O(1), never throws). `at` is its timestamp (ms,
   * default now), or `{ timestamp?, generation? }`: `generation` is the fleet generation the
   * measurement was taken under. Read {@link Replica.generation} when a measurement that spans some
   * time starts and pass it here, as a single engine's digest is stamped, so that one that
   * straddled a command is rejected by the coordinator's engine (wrong generation) instead of
   * counted for the new values; left out, it is the generation live at the call. An objective or
   * timestamp that is not a number (a missing measurement) travels as NaN, and the coordinator's
   * engine rejects that digest alone. Returns false, counting it, when the local buffer was full
   * (`droppedFull`), the replica was closed (nothing would ship it), or the options are wrong: a
   * `generation` that is not a whole number ≥ 0, a key near the name of `timestamp` or
   * `generation` (a misspelling; both counted in `refused`, and each passed to `onError` once, as a
   * RangeError naming it). Another key is ignored, as it always was, and said to `onError` once.
   * Never throws: a service's request path must not fail for its telemetry.
   */
  publish(objective: number, at?: number | PublishOptions): boolean {
    // Read field by field: an options object built here would allocate on every call.
    if (typeof at === "object" && at !== null) {
      const generation = at.generation ?? this.liveGeneration;
      // A misspelt key (`generaton`) would otherwise stamp the digest with the live generation,
      // the very mistake the option exists to avoid: refused, as a bad generation is. A key near
      // no option (a measurement object passed whole: `latency`) was always taken and ignored:
      // still taken, and said once, so that an upgrade does not stop a fleet's telemetry.
      for (const key in at) {
        if (key === "timestamp" || key === "generation") continue;
        if (this.misspeltPublishKey(key))
          return this.refusePublish(key, `${key}: unknown option ${knownKeysText(key, PUBLISH_KEYS)}`);
        this.reportPublishOnce(
          key,
          `${key}: not an option (known: ${PUBLISH_KEYS.join(", ")}); ignored, the digest was published`,
        );
      }
      if (!(Number.isSafeInteger(generation) && generation >= 0))
        return this.refusePublish(
          "generation",
          `generation: must be a whole number ≥ 0 (got ${shownValue(generation)})`,
        );
      return this.publisher.publish(objective, generation, at.timestamp ?? Date.now());
    }
    return this.publisher.publish(objective, this.liveGeneration, at ?? Date.now());
  }

  /**
   * Counts a digest refused for its options (`refused`) and tells `onError` why, once per `kind`
   * (the option at fault): the counter alone would not say which call is wrong, and a call made
   * for every measurement must not flood the host's error log.
   */
  private refusePublish(kind: string, problem: string): false {
    this.reportPublishOnce(
      kind,
      `${problem}; the digest was refused (counted in status().telemetry.refused; each such problem is reported once)`,
    );
    return this.publisher.refuse();
  }

  /** Tells `onError` of a problem with `publish`'s options, once per `kind` (the key at fault). */
  private reportPublishOnce(kind: string, problem: string): void {
    if (this.publishRefusalsReported.has(kind)) return;
    this.publishRefusalsReported.add(kind);
    try {
      this.options.onError?.(
        new RangeError(`replica ${JSON.stringify(this.options.replica)}: publish: ${problem}`),
      );
    } catch {
      // onError must not throw; what it throws is ignored.
    }
  }

  /** Whether an unknown `publish` option key reads as a misspelt option (cached: called per digest). */
  private misspeltPublishKey(key: string): boolean {
    let near = this.publishKeyNearness.get(key);
    if (near === undefined) {
      near = closestName(key, PUBLISH_KEYS) !== undefined;
      this.publishKeyNearness.set(key, near);
    }
    return near;
  }

  /**
   * Catches up with the latest command and numbers its telemetry above the seqs the coordinator
   * processed for this replica, then follows the command stream (on a connection of its own, made
   * only now). When it fails (Redis unreachable, a command refused by an ACL), it stops what the
   * replica started (the telemetry timer and breaker) before rejecting, and opens no connection:
   * the replica is then closed.
   */
  async start(): Promise<void> {
    const { redis, replica } = this.options;
    // ioredis rejects the reads with "Reached the max retries per request limit", which hides why
    // it could not connect (refused, unknown host, not a Redis): its last error event says.
    let connectionError: unknown;
    const noteConnectionError = (error: unknown) => {
      connectionError = error;
    };
    // A client is an EventEmitter; a stand-in without one is read as it is.
    const listens = typeof redis.on === "function" && typeof redis.off === "function";
    if (listens) redis.on("error", noteConnectionError);
    try {
      const [latest, watermark, state] = await beforeDeadline(
        Promise.all([
          (redis.xrevrange(this.keys.commands, "+", "-", "COUNT", 1) as Promise<[string, string[]][]>).catch(
            (error: unknown) => {
              throw keyedError(error, "XREVRANGE", this.keys.commands);
            },
          ),
          redis.hget(this.keys.seqs, replica).catch((error: unknown) => {
            throw keyedError(error, "HGET", this.keys.seqs);
          }),
          this.readFleetParams(),
        ]),
        this.options.startTimeoutMs ?? DEFAULT_START_TIMEOUT_MS,
        "the first reads",
      );
      if (state !== undefined) this.noteFleetParams(state);
      // The seqs of an earlier run of this replica may be above what its clock gives now.
      if (watermark !== null) this.publisher.continueAbove(Number(watermark));
      if (latest.length > 0) {
        const [id, flat] = latest[0]!;
        this.lastId = id;
        this.receive(fieldsOf(flat).get("c"));
      }
      await this.acknowledge();
      const blocking = this.options.redis.duplicate();
      // Failures of the blocking reads are handled by the follow loop; keep ioredis from logging them.
      blocking.on("error", () => undefined);
      this.blocking = blocking;
      this.running = true;
      this.loop = this.follow(blocking);
    } catch (error) {
      this.abandon();
      // ioredis's own message names neither the server nor the replica (after its retries:
      // "Reached the max retries per request limit").
      const cause =
        connectionError === undefined || errorMessage(connectionError) === errorMessage(error)
          ? ""
          : ` (last connection error: ${errorMessage(connectionError)})`;
      throw new Error(
        `replica ${JSON.stringify(replica)} could not start on Redis at ${redisAddress(redis)}: ${errorMessage(error)}${cause}`,
        { cause: error },
      );
    } finally {
      if (listens) redis.off("error", noteConnectionError);
    }
  }

  /** Handles one command envelope (JSON text) as if it came from the stream. Returns whether it was accepted. */
  receive(envelope: string | undefined): boolean {
    // An entry without the field is no envelope at all: say so, rather than "not valid JSON".
    if (envelope === undefined) {
      this.verifier.refuse("malformed", "c: missing (the stream entry has no command field)", undefined);
      return false;
    }
    const verdict = this.verifier.verify(envelope);
    if (!verdict.ok) return false;
    const command = verdict.command;
    if (command.epoch < this.epoch) {
      this.verifier.refuse("fenced", `epoch ${command.epoch} is below ${this.epoch}`, command.commandId);
      return false;
    }
    if (command.generation < this.targetGeneration) {
      this.verifier.refuse(
        "old-generation",
        `generation ${command.generation} is below ${this.targetGeneration}`,
        command.commandId,
      );
      return false;
    }
    // A replica of other bounds or another maxDelta would move the service outside the fleet's
    // envelope (or not reach its values): it holds still, and says why.
    if (this.paramsMismatch !== undefined) {
      this.verifier.refuse("params", this.paramsMismatch, command.commandId);
      return false;
    }
    const problem = this.targetProblem(command);
    if (problem !== undefined) {
      this.verifier.refuse("malformed", problem, command.commandId);
      return false;
    }
    this.accepted++;
    this.epoch = command.epoch;
    this.targetGeneration = command.generation;
    for (let i = 0; i < this.registry.size; i++) this.target[i] = command.values[this.names[i]!]!;
    this.drive();
    return true;
  }

  /** What this replica reports. */
  status(): ReplicaStatus {
    return {
      replica: this.options.replica,
      generation: this.liveGeneration,
      targetGeneration: this.targetGeneration,
      epoch: this.epoch,
      values: this.registry.toRecord(this.live.values),
      rejected: { ...this.verifier.rejected },
      accepted: this.accepted,
      tier1Refusals: this.tier1Refusals,
      lastTier1Refusal: this.lastRefusal,
      applyFailures: this.applyFailures,
      lastApplyError: this.lastApplyError,
      paramsMismatch: this.paramsMismatch,
      telemetry: this.publisher.stats(),
    };
  }

  /** Ships buffered telemetry now (normally a timer does). */
  flushTelemetry(): Promise<void> {
    return this.publisher.flush();
  }

  /**
   * Stops following commands, ships the telemetry left and removes this replica's report from the
   * acks hash (a replica gone for good would otherwise count as lagging once the fleet moves on;
   * only the report it wrote itself, not a later one of another process under its id), waiting
   * at most 2 s for that: while Redis is unreachable it returns then (the last write, still queued
   * in the client, completes or fails later and is counted as shipped or lost; telemetry is at
   * most once; the report may stay). Calling it again returns the same promise.
   */
  close(): Promise<void> {
    this.closing ??= this.shutDown();
    return this.closing;
  }

  private async shutDown(): Promise<void> {
    this.running = false;
    if (this.driveTimer !== undefined) clearTimeout(this.driveTimer);
    // Ends the read in progress, except one queued while the client waits to reconnect: ioredis
    // leaves that one unanswered, so the loop is not waited for beyond the grace period.
    this.blocking?.disconnect();
    await withinMs(
      Promise.all([this.loop, this.publisher.close(CLOSE_GRACE_MS), this.removeReport()]),
      CLOSE_GRACE_MS,
    );
  }

  /**
   * Deletes this replica's entry of the acks hash if it still holds the report written last (see
   * {@link REMOVE_OWN_REPORT}). Sent on the connection of the reports, after the last of them (no
   * report is written once closing), so Redis runs it after them. Never rejects.
   */
  private async removeReport(): Promise<void> {
    const report = this.lastReport;
    if (report === undefined) return;
    const { redis, replica } = this.options;
    await redis.eval(REMOVE_OWN_REPORT, 1, this.keys.acks, replica, report).catch(() => undefined);
  }

  /**
   * Stops what a replica that failed to start runs, at once: its caller has no handle to close it
   * with (createReplica rejected). No connection of its own was made yet (see {@link start}).
   */
  private abandon(): void {
    this.running = false;
    if (this.driveTimer !== undefined) clearTimeout(this.driveTimer);
    this.driveTimer = undefined;
    this.blocking?.disconnect();
    // Stops the flush timer and the breaker; what was published before start() is shipped best
    // effort, without waiting on a Redis that may not answer.
    void this.publisher.close(CLOSE_GRACE_MS);
  }

  /**
   * The fleet's stored params (`[params, values]` of its state hash), or undefined when Redis
   * refuses the read (an ACL without the state key): the replica then goes on as it was, and says
   * so to `onError` once. Not reaching Redis rejects, as any other read of the follow loop.
   */
  private async readFleetParams(): Promise<readonly (string | null)[] | undefined> {
    try {
      const state = await this.options.redis.hmget(this.keys.state, "params", "values");
      this.paramsReadError = undefined;
      return state;
    } catch (error) {
      if (!isReplyError(error)) throw error;
      const message = errorMessage(keyedError(error, "HMGET", this.keys.state));
      if (message !== this.paramsReadError) {
        this.paramsReadError = message;
        try {
          this.options.onError?.(
            new Error(
              `replica ${JSON.stringify(this.options.replica)} could not read the fleet's params (${message}): ` +
                "it cannot tell whether its own differ; grant it read access to the state key",
            ),
          );
        } catch {
          // onError must not throw; what it throws is ignored.
        }
      }
      return undefined;
    }
  }

  /**
   * Compares this replica's params with those the fleet's state records (`[params, values]` as read
   * from it), and reports a new difference to `onError` once. No state yet: the first leader's
   * params will be the fleet's, read with its first command.
   */
  private noteFleetParams([params, values]: readonly (string | null)[]): void {
    const state: Record<string, string> = {};
    if (params !== null && params !== undefined) state.params = params;
    if (values !== null && values !== undefined) state.values = values;
    const stored = storedDescription(state);
    const differences =
      stored === undefined || stored === this.paramsText ? [] : paramsDifferences(stored, this.paramsText);
    const before = this.paramsMismatch;
    this.paramsMismatch =
      differences.length === 0
        ? undefined
        : `replica ${JSON.stringify(this.options.replica)} refuses the fleet's commands: its params differ ` +
          `from the fleet's (stored params ${paramsFingerprint(stored!)}): ${differences.join("; ")}. ` +
          "Give it the params the fleet's coordinators have";
    if (this.paramsMismatch !== undefined && this.paramsMismatch !== before) {
      try {
        this.options.onError?.(new RangeError(this.paramsMismatch));
      } catch {
        // onError must not throw; what it throws is ignored, as for apply failures.
      }
    }
  }

  private targetProblem(command: FleetCommand): string | undefined {
    for (const name of this.names) {
      if (!(name in command.values)) return `command.values.${name}: missing`;
    }
    for (const name of Object.keys(command.values)) {
      if (this.registry.indexOf(name) < 0) return `command.values.${name}: not a parameter of this replica`;
    }
    return undefined;
  }

  private async follow(blocking: Redis): Promise<void> {
    while (this.running) {
      try {
        const reply = (await blocking.xread("BLOCK", 500, "STREAMS", this.keys.commands, this.lastId)) as
          | [string, [string, string[]][]][]
          | null;
        if (reply === null) {
          await this.rewindIfReset();
          continue;
        }
        // A command may come from a leader that changed the fleet's params (replaceParams).
        const state = await this.readFleetParams();
        if (state !== undefined) this.noteFleetParams(state);
        for (const [id, flat] of reply[0]![1]) {
          this.lastId = id;
          this.receive(fieldsOf(flat).get("c"));
        }
        // Written with every batch, refused ones included: a replica that refuses every command
        // (mid-walk, its params differing) still shows it is alive, and its refusals.
        await this.acknowledge();
      } catch {
        if (!this.running) return;
        // Redis unreachable: ioredis reconnects; wait a little before reading again.
        await new Promise((resolve) => setTimeout(resolve, 200));
      }
    }
  }

  /**
   * Reads the command stream again from its start when its last entry is below the latest id
   * read: Redis lost the stream (a restart without persistence, a failover) and wrote it anew with
   * ids from a clock behind the old one, which reading on from that id would never return. Every
   * entry of it is new here (one above that id would have been read); a command applied before
   * and written to it again is refused, as a replay (the nonce ledger) or as stale.
   */
  private async rewindIfReset(): Promise<void> {
    const latest = (await this.options.redis.xrevrange(this.keys.commands, "+", "-", "COUNT", 1)) as [
      string,
      string[],
    ][];
    if (latest.length > 0 && streamIdBelow(latest[0]![0], this.lastId)) this.lastId = "0-0";
  }

  /** Takes the next Tier-1 step toward the target (and schedules the one after, if any). */
  private drive(): void {
    if (this.driveTimer !== undefined) {
      clearTimeout(this.driveTimer);
      this.driveTimer = undefined;
    }
    // The settlement of the apply in progress drives again. While its params differ from the
    // fleet's the replica holds still, a walk under way included: the next command it takes
    // drives again.
    if (this.applying || this.closing !== undefined || this.paramsMismatch !== undefined) return;
    if (Date.now() < this.retryAt) {
      this.schedule(this.retryAt);
      return;
    }
    let reached = true;
    for (let i = 0; i < this.registry.size; i++) {
      const live = this.live.values[i]!;
      const limit = this.executor.maxDeltaInForce(i);
      const want = this.target[i]!;
      const move = Math.max(-limit, Math.min(limit, want - live));
      const next = Math.abs(want - live) <= limit ? want : live + move;
      if (next !== want) reached = false;
      this.step[i] = this.registry.toUnit(i, next);
    }
    if (reached && this.liveGeneration === this.targetGeneration) return;
    const now = Date.now();
    // What the service holds now: a step onApply refuses is rolled back to it (see settled).
    this.executor.setBaseline(now);
    const code =
      reached && this.sameAsLive()
        ? APPLIED
        : this.executor.apply(this.step, ++this.proposals, ApplyKind.Manual, now);
    this.audit.discard();
    if (code === APPLIED) {
      this.actuate(reached ? this.targetGeneration : this.liveGeneration);
      return;
    }
    if (code === Violation.RateLimited || code === Violation.MinInterval || code === Violation.Cooldown) {
      this.schedule(this.executor.applyAllowedAt());
      return;
    }
    // Bounds, maxDelta or a block refused the step: the target stays, nothing is written.
    this.tier1Refusals++;
    this.lastRefusal = violationName(code);
  }

  /**
   * Hands the step just taken to onApply; `generation` becomes live (and is acknowledged) once it
   * took the values. Nothing the hook throws or rejects with escapes: that is the host's loop.
   */
  private actuate(generation: number): void {
    let done = false;
    // Once: a hostile thenable may call both handlers, or one and then throw.
    const settle = (error: unknown, failed: boolean) => {
      if (done) return;
      done = true;
      this.settled(generation, error, failed);
    };
    try {
      const returned: unknown = this.options.onApply?.(this.values, generation);
      if (isThenable(returned)) {
        this.applying = true;
        returned.then(
          () => settle(undefined, false),
          (error: unknown) => settle(error, true),
        );
        return;
      }
    } catch (error) {
      settle(error, true);
      return;
    }
    settle(undefined, false);
  }

  /** The outcome of onApply for a step toward `generation`; schedules what comes next. */
  private settled(generation: number, error: unknown, failed: boolean): void {
    this.applying = false;
    if (failed) {
      // The service still holds the values before the step: the next step starts from them, so
      // it never asks for more than maxDelta (a rollback is not itself paced or bounded).
      this.executor.rollback(RollbackReason.Manual, Date.now());
      this.audit.discard();
      if (this.closing !== undefined) return;
      this.applyFailures++;
      this.applyFailuresInARow++;
      this.lastApplyError = errorMessage(error);
      this.retryAt = Date.now() + APPLY_RETRY_MS * 2 ** Math.min(this.applyFailuresInARow - 1, 5);
      try {
        this.options.onError?.(error);
      } catch {
        // The host's callback must not stop the replica.
      }
      this.schedule(this.retryAt);
      return;
    }
    if (this.closing !== undefined) return;
    this.applyFailuresInARow = 0;
    this.retryAt = 0;
    if (generation !== this.liveGeneration) {
      this.liveGeneration = generation;
      void this.acknowledge();
    }
    // A command that came while an async apply was in progress, or the walk's next step.
    if (!this.sameAsLive() || this.liveGeneration !== this.targetGeneration) {
      this.schedule(this.executor.applyAllowedAt());
    }
  }

  private sameAsLive(): boolean {
    for (let i = 0; i < this.registry.size; i++) if (this.live.values[i] !== this.target[i]) return false;
    return true;
  }

  private schedule(at: number): void {
    if (!this.running && this.loop !== undefined) return;
    const delay = Math.max(0, at - Date.now());
    this.driveTimer = setTimeout(() => this.drive(), delay);
    this.driveTimer.unref();
  }

  private async acknowledge(): Promise<void> {
    // A closing replica's report is being removed: one written now would outlive it.
    if (this.closing !== undefined) return;
    const report = JSON.stringify({
      generation: this.liveGeneration,
      target: this.targetGeneration,
      epoch: this.epoch,
      rejected: this.verifier.rejectedTotal,
      at: Date.now(),
    });
    this.lastReport = report;
    await this.options.redis.hset(this.keys.acks, this.options.replica, report).catch(() => undefined);
  }
}

/**
 * The problems of every option of a replica (its keyring, params and `telemetry` tuning included),
 * each as "field: reason". Each would otherwise fail later or as a TypeError naming no option: an
 * empty replica id gets every batch dead-lettered, an empty run id refuses every command, a NaN
 * command age turns off freshness and replay checks, a missing keyring fails on reading its keys.
 */
function replicaOptionIssues(options: ReplicaOptions): string[] {
  const notObject = objectOptionIssue(options, "options", "an object of replica options");
  if (notObject !== undefined) return [notObject];
  const issues: string[] = [];
  // Without these checks a missing connection fails in start() with a TypeError naming no option,
  // and a hook that is not a function throws from a timer, into the host.
  const redisIssue = redisClientIssue(options.redis);
  if (redisIssue !== undefined) issues.push(redisIssue);
  for (const field of ["onApply", "onRejected", "onError"] as const) {
    const hook: unknown = options[field];
    if (hook !== undefined && typeof hook !== "function")
      issues.push(`${field}: must be a function (got ${shownValue(hook)})`);
  }
  for (const field of ["replica", "runId", "prefix"] as const) {
    const value: unknown = options[field];
    if ((value !== undefined || field !== "prefix") && (typeof value !== "string" || value === ""))
      issues.push(`${field}: must be a non-empty string (got ${shownValue(value)})`);
  }
  issues.push(...keyringIssues(options.keyring, "keyring"));
  // The bounds and guardrails as the engine's config checks them: here, so that they are listed
  // with the other options' problems rather than thrown alone as a ConfigError.
  const { params, guardrails } = options;
  const space = { seed: 0, params, ...(guardrails === undefined ? {} : { guardrails }) };
  for (const { path, message } of engineConfigIssues(space)) issues.push(`${path}: ${message}`);
  issues.push(...unknownKeyIssues(options, REPLICA_OPTION_KEYS, ""));
  // Anything but an object would be spread into the publisher's options, or ignored.
  const telemetryIssue =
    options.telemetry === undefined
      ? undefined
      : objectOptionIssue(options.telemetry, "telemetry", "an object of telemetry options");
  if (telemetryIssue !== undefined) issues.push(telemetryIssue);
  else if (options.telemetry !== undefined)
    issues.push(...unknownKeyIssues(options.telemetry, REPLICA_TELEMETRY_KEYS, "telemetry."));
  const age = options.maxCommandAgeMs;
  if (age !== undefined && !(typeof age === "number" && Number.isFinite(age) && age >= 0)) {
    issues.push(`maxCommandAgeMs: must be a finite number ≥ 0 (got ${String(age)})`);
  }
  const capacity = ledgerCapacityIssue(options.commandLedgerCapacity, "commandLedgerCapacity");
  if (capacity !== undefined) issues.push(capacity);
  const startTimeout = options.startTimeoutMs;
  if (
    startTimeout !== undefined &&
    !(Number.isSafeInteger(startTimeout) && startTimeout >= 1 && startTimeout <= MAX_TIMER_MS)
  ) {
    issues.push(
      `startTimeoutMs: must be a whole number from 1 to ${MAX_TIMER_MS} (got ${shownValue(startTimeout)})`,
    );
  }
  if (telemetryIssue === undefined)
    issues.push(...publisherTuningIssues(options.telemetry ?? {}, "telemetry."));
  return issues;
}

/** The options {@link Replica.publish} takes. */
const PUBLISH_KEYS = ["timestamp", "generation"] as const satisfies readonly (keyof PublishOptions)[];

/** The options {@link createReplica} takes: any other key is a misspelling, refused by name. */
const REPLICA_OPTION_KEYS = [
  "redis",
  "replica",
  "runId",
  "keyring",
  "params",
  "guardrails",
  "prefix",
  "maxCommandAgeMs",
  "commandLedgerCapacity",
  "startTimeoutMs",
  "onApply",
  "onRejected",
  "onError",
  "telemetry",
] as const satisfies readonly (keyof ReplicaOptions)[];

/** The keys of {@link ReplicaOptions.telemetry}. */
const REPLICA_TELEMETRY_KEYS = [
  "bufferSize",
  "flushMs",
  "batchSize",
  "maxLen",
  "firstSeq",
  "writeTimeoutMs",
  "breaker",
] as const satisfies readonly (keyof NonNullable<ReplicaOptions["telemetry"]>)[];

/** Where `redis` connects, as host:port or a socket path (never its password). */
function redisAddress(redis: Redis): string {
  const { host, port, path } = redis.options;
  return path !== undefined && path !== null && path !== "" ? path : `${host ?? "localhost"}:${port ?? 6379}`;
}

/**
 * How long {@link Replica.close} waits for the read in progress, the last telemetry flush and the
 * removal of its report, ms.
 */
const CLOSE_GRACE_MS = 2_000;

/**
 * Deletes the acks hash's field ARGV[1] only while it holds ARGV[2], the report the closing replica
 * wrote: a removal that Redis runs late (queued while the client reconnects) must not delete the
 * report of a process started since under the same replica id.
 */
const REMOVE_OWN_REPORT = `if redis.call('HGET', KEYS[1], ARGV[1]) == ARGV[2] then return redis.call('HDEL', KEYS[1], ARGV[1]) end
return 0`;

/**
 * Default {@link ReplicaOptions.startTimeoutMs}: past ioredis's own give-up with its defaults
 * (20 retries, about 10 s), so that its error, which names the failure, comes first.
 */
export const DEFAULT_START_TIMEOUT_MS = 15_000;

/** First back-off after an onApply failure, ms; it doubles with each failure in a row, up to 32×. */
const APPLY_RETRY_MS = 1_000;

/**
 * Creates a replica and starts following the fleet's commands. Rejects when it cannot start, having
 * closed everything the replica opened.
 */
export async function createReplica(options: ReplicaOptions): Promise<Replica> {
  const replica = new Replica(options);
  await replica.start();
  return replica;
}
