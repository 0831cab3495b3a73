/**
 * Names of the Redis keys one fleet uses, all under one prefix.
 *
 * @packageDocumentation
 */
import { shownValue } from "../shown-value.js";

/** The keys of a fleet, all under one prefix. */
export interface FleetKeys {
  /** Stream of telemetry digest batches (replicas → coordinator). */
  readonly digests: string;
  /** Stream of signed commands (coordinator → every replica). */
  readonly commands: string;
  /** Stream of digest batches that could not be processed (bad MAC, malformed, too many deliveries). */
  readonly deadLetters: string;
  /** String: the leader lease (value = owner id). */
  readonly lease: string;
  /** Counter: the lease epoch, bumped by every new leader (the fencing token). */
  readonly epoch: string;
  /** Hash: the latest fleet generation, values, epoch and command id (what a new leader resumes from). */
  readonly state: string;
  /** Hash: replica → the fleet generation it acknowledged. */
  readonly acks: string;
  /** Hash: replica → highest digest seq processed (idempotency across coordinators). */
  readonly seqs: string;
}

/**
 * The prefix a fleet's keys take by default: its run's own, `arqon:fleet:<runId>`, so that two runs
 * sharing one Redis share no lease, stream or state (under one prefix, a coordinator of one run
 * stood by behind another run's leader, and took in its replicas' telemetry).
 */
export function fleetPrefix(runId: string): string {
  if (typeof runId !== "string" || runId === "")
    throw new RangeError(`fleetPrefix: runId must be a non-empty string, got ${shownValue(runId)}`);
  return `arqon:fleet:${runId}`;
}

/**
 * The keys under `prefix` ({@link fleetPrefix} gives a run's default one).
 *
 * @throws RangeError when `prefix` is not a non-empty string (called with none, as before runs had
 * their own keys, it would name keys such as `undefined:lease`).
 */
export function fleetKeys(prefix: string): FleetKeys {
  if (typeof prefix !== "string" || prefix === "")
    throw new RangeError(
      `fleetKeys: prefix must be a non-empty string (a run's default is fleetPrefix(runId)), got ${shownValue(prefix)}`,
    );
  return {
    digests: `${prefix}:digests`,
    commands: `${prefix}:commands`,
    deadLetters: `${prefix}:dead-letters`,
    lease: `${prefix}:lease`,
    epoch: `${prefix}:epoch`,
    state: `${prefix}:state`,
    acks: `${prefix}:acks`,
    seqs: `${prefix}:seqs`,
  };
}

/** Consumer group of the coordinators on the digest stream. */
export const COORDINATOR_GROUP = "coordinators";

/** A stream entry's fields as ioredis returns them (flat name, value, name, value …). */
export function fieldsOf(flat: readonly string[]): Map<string, string> {
  const fields = new Map<string, string>();
  for (let i = 0; i + 1 < flat.length; i += 2) fields.set(flat[i]!, flat[i + 1]!);
  return fields;
}
