/**
 * What a coordinator reports about its fleet. Kept apart from the coordinator (and so from
 * `ioredis`) because the dashboard reads these shapes too.
 *
 * @packageDocumentation
 */

/** The bus counters that `arqon/metrics` exports (cheap to read; refreshed about once a second). */
export interface BusStats {
  /**
   * Digest stream entries not yet delivered to the group: 0 when it has delivered the stream's
   * last entry, else XINFO GROUPS' lag less the skew its counters showed when the group was last
   * caught up (they can be off by thousands after an AOF rewrite and a restart); the stream's
   * length while there is no group (no coordinator could lead: every entry waits unread).
   */
  readonly lag: number;
  /** Entries delivered but not acknowledged. */
  readonly pending: number;
  /** Entries this coordinator moved to the dead-letter stream. */
  readonly deadLetters: number;
  /** Commands the replicas refused, from their reports; never goes down when a replica restarts. */
  readonly rejectedCommands: number;
  /** Digests this coordinator handed to its engine. */
  readonly digestsProcessed: number;
  /**
   * Commands this coordinator's tenures could not publish (`arqon_bus_publish_failures_total`):
   * Redis refused them, which ended the tenure, they were lost with the connection, or Redis ran
   * them only after the lease had passed (an outage they waited out in the client's queue). Never
   * goes down while the coordinator runs, across its tenures. Left out by a source that cannot tell.
   */
  readonly publishFailures?: number;
  /**
   * Command streams this coordinator found with their ids used up, and wrote anew
   * (`arqon_bus_command_stream_resets_total`); never goes down. Left out by a source that cannot tell.
   */
  readonly commandStreamResets?: number;
  /**
   * Reports the leader removed from the acks hash because they went unchanged for
   * `replicaExpiryMs` (their replicas taken as gone; `arqon_bus_expired_replicas_total`); never goes
   * down. Left out by a source that cannot tell.
   */
  readonly expiredReplicas?: number;
  /** Replicas that reported to the acks hash. */
  readonly replicas: number;
  /** Replicas whose acknowledged generation is below one published `lagAfterMs` ago or earlier. */
  readonly laggingReplicas: number;
  /** Whether this coordinator leads the fleet (`arqon_bus_leader`). Left out by a source that cannot tell. */
  readonly leader?: boolean;
  /**
   * Whether this coordinator will not lead because its params differ from the fleet's stored ones
   * (`arqon_bus_params_mismatch`; the coordinator's `snapshot().paramsMismatch` says what differs).
   * Left out by a source that cannot tell.
   */
  readonly paramsMismatch?: boolean;
  /**
   * Whether the fleet is halted (`arqon_bus_halted`): the leader's engine latched `halted`, as the
   * leader stored it (a standby reads it from Redis). Left out by a source that cannot tell.
   */
  readonly halted?: boolean;
  /**
   * The SafeMode reasons of the fleet's halt (empty when it is not halted), as the leader that
   * halted stored them, so that a standby and every later leader report the same ones
   * (`arqon_bus_halt_reason`). `manualHalt` alone is an operator's `engine.halt`, which the alert
   * rules do not page for. Left out by a source that cannot tell (a halt stored before fleets kept
   * its reasons): then every halt pages.
   */
  readonly haltReasons?: readonly string[];
  /**
   * True when the latest read of Redis failed to reach it or went unanswered for a lease (at least
   * 500 ms), so the figures above are the last ones read (`arqon_bus_up` is then 0); an error Redis
   * answered with (a key of another type) is not one. Left out by a source that cannot go stale.
   */
  readonly stale?: boolean;
}

/** One replica in the fleet view. */
export interface ReplicaView {
  readonly generation: number;
  /**
   * The generation it is walking to (it refuses commands below it); equal to `generation` once
   * reached. Absent from reports of replicas before it was added.
   */
  readonly target?: number;
  readonly epoch: number;
  readonly rejected: number;
  /** Wall-clock ms of its latest report. */
  readonly at: number;
}
