/**
 * The dashboard's Fleet panel, computed on the server from a coordinator's snapshot: which
 * generation each replica runs, how far behind it is, and the bus counters.
 */
import type { BusStats, ReplicaView } from "../fleet/fleet-report.js";

/** What the Fleet panel reads of a coordinator's snapshot (a `CoordinatorSnapshot` has it all). */
export interface ObservedFleet {
  /** The coordinator's id. */
  readonly id: string;
  readonly leader: boolean;
  readonly leaderId: string | undefined;
  readonly epoch: number;
  /** The leader's epoch as this coordinator knows it (its own while it leads); absent: `epoch`. */
  readonly leaderEpoch?: number;
  readonly generation: number;
  readonly fleet: Readonly<Record<string, ReplicaView>>;
  readonly lagging: readonly string[];
}

/**
 * What the Fleet panel reads of a fleet coordinator: a `Coordinator` of `arqon/redis` fits (the
 * dashboard names only these shapes, so it does not need `ioredis`).
 */
export interface FleetObserved {
  snapshot(): ObservedFleet;
  busStats(): BusStats;
}

/**
 * How a replica stands: `current` (it runs the fleet generation, or trails it only for the moment a
 * command takes to arrive), `lagging` (it has not reached a generation the leader published
 * `lagAfterMs` ago or earlier), or `stale` (it has not reported for `staleAfterMs`: it may be down
 * or cut off from Redis, so its generation is old news).
 */
export type ReplicaState = "current" | "lagging" | "stale";

/** One row of the replicas table. */
export interface FleetReplicaRow {
  readonly replica: string;
  /** The fleet generation live on the replica (the one it acknowledged). */
  readonly generation: number;
  /** Fleet generation minus the replica's (0 when it is up to date). */
  readonly lag: number;
  /** Milliseconds since its latest report, by the wall clocks of its host and the dashboard's. */
  readonly ackAgeMs: number;
  /** Leader epoch of the latest command it accepted. */
  readonly epoch: number;
  /** Commands it refused so far. */
  readonly rejected: number;
  readonly state: ReplicaState;
}

/** The Fleet panel's content (the `fleet` field of `/state` and of the SSE messages). */
export interface FleetView {
  /** Id of the coordinator the dashboard is attached to. */
  readonly coordinator: string;
  /** Whether that coordinator leads now. */
  readonly leader: boolean;
  /** Holder of the leader lease as last read (null when nobody leads). */
  readonly leaderId: string | null;
  /**
   * The leader's epoch: the attached coordinator's tenure while it leads, else the highest epoch
   * it has seen (its past tenures, the replicas' reports; 0 before any): the current leader's once
   * the replicas report it.
   */
  readonly epoch: number;
  /** Fleet generation of the latest command. */
  readonly generation: number;
  /** A replica silent for longer than this is `stale`, ms. */
  readonly staleAfterMs: number;
  /** Replicas by id. */
  readonly replicas: readonly FleetReplicaRow[];
  readonly bus: BusStats;
}

/**
 * Default silence after which a replica counts as stale, ms: three of the leader's re-sign
 * periods (5 s by default), each of which makes every listening replica report again.
 */
export const DEFAULT_STALE_AFTER_MS = 15_000;

/**
 * The Fleet panel of `coordinator` at wall-clock time `now` (ms).
 *
 * @remarks
 * Stale wins over lagging: a replica that stopped reporting is shown as such even when its last
 * known generation is also behind.
 */
export function fleetView(
  coordinator: FleetObserved,
  now: number = Date.now(),
  staleAfterMs: number = DEFAULT_STALE_AFTER_MS,
): FleetView {
  const snapshot = coordinator.snapshot();
  const lagging = new Set(snapshot.lagging);
  const replicas = Object.entries(snapshot.fleet)
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    .map(([replica, view]): FleetReplicaRow => {
      const ackAgeMs = Math.max(0, now - view.at);
      return {
        replica,
        generation: view.generation,
        lag: Math.max(0, snapshot.generation - view.generation),
        ackAgeMs,
        epoch: view.epoch,
        rejected: view.rejected ?? 0,
        state: ackAgeMs > staleAfterMs ? "stale" : lagging.has(replica) ? "lagging" : "current",
      };
    });
  return {
    coordinator: snapshot.id,
    leader: snapshot.leader,
    leaderId: snapshot.leaderId ?? null,
    epoch: snapshot.leaderEpoch ?? snapshot.epoch,
    generation: snapshot.generation,
    staleAfterMs,
    replicas,
    bus: coordinator.busStats(),
  };
}
