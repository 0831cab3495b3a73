/**
 * `arqon/redis`: tune a fleet of replicas as one over Redis Streams (needs the optional peer
 * dependency `ioredis`).
 *
 * - {@link createCoordinator}: runs the tuning engine while it holds the leader lease, fed by every
 *   replica's digests, and publishes each apply as a signed command.
 * - {@link createReplica}: applies verified commands through its own Tier 1 and ships telemetry
 *   in batches, off its hot path.
 * - {@link CommandSigner} / {@link CommandVerifier}: HMAC-SHA256 commands with key rotation,
 *   freshness checks and a fail-closed nonce ledger.
 * @packageDocumentation
 */
export { canonicalCommandBytes, type FleetCommand, type FleetCommandKind } from "./fleet/command.js";
export {
  type BusStats,
  Coordinator,
  type CoordinatorOptions,
  type CoordinatorSnapshot,
  createCoordinator,
  DEFAULT_REPLICA_EXPIRY_MS,
  type ReplicaView,
  type TenureMetrics,
} from "./fleet/coordinator.js";
export type { FleetDigest } from "./fleet/digest-batch.js";
export { LeaderLease } from "./fleet/lease.js";
export { NonceLedger } from "./fleet/nonce-ledger.js";
export {
  createReplica,
  DEFAULT_START_TIMEOUT_MS,
  type PublishOptions,
  Replica,
  type ReplicaOptions,
  type ReplicaStatus,
} from "./fleet/replica.js";
export {
  type CommandRejection,
  CommandSigner,
  CommandVerifier,
  type Keyring,
  MIN_SECRET_BYTES,
  REJECTION_REASONS,
  type RejectionReason,
  rotateKeyring,
  type SignedCommand,
  type SigningKey,
  type Verdict,
  type VerifierOptions,
} from "./fleet/signing.js";
export { COORDINATOR_GROUP, type FleetKeys, fleetKeys, fleetPrefix } from "./fleet/streams.js";
export type { ConsumerStats, TelemetryConsumerOptions } from "./fleet/telemetry-consumer.js";
export { TelemetryConsumer } from "./fleet/telemetry-consumer.js";
export type { PublisherStats, TelemetryPublisherOptions } from "./fleet/telemetry-publisher.js";
export { DEFAULT_WRITE_TIMEOUT_MS, TelemetryPublisher } from "./fleet/telemetry-publisher.js";
