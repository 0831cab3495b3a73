/**
 * The fleet's baseline: the values a rollback returns to, kept in the state hash so that it
 * outlives the leader that set it.
 *
 * @packageDocumentation
 */
import type { AuditEvent } from "../audit/events.js";

/** The values a rollback of the fleet returns to, and the fleet generation they were taken at. */
export interface FleetBaseline {
  readonly generation: number;
  readonly values: Readonly<Record<string, number>>;
}

/** The stored baseline (the state hash's `baseline` field), or undefined when absent or unreadable. */
export function parseFleetBaseline(text: string | null | undefined): FleetBaseline | undefined {
  if (typeof text !== "string") return undefined;
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    return undefined;
  }
  if (typeof parsed !== "object" || parsed === null) return undefined;
  const { generation, values } = parsed as Record<string, unknown>;
  if (!Number.isSafeInteger(generation) || typeof values !== "object" || values === null) return undefined;
  for (const value of Object.values(values)) if (typeof value !== "number") return undefined;
  return { generation: generation as number, values: values as Record<string, number> };
}

/** Whether two sets of values name the same parameters with the same numbers. */
export function sameValues(
  a: Readonly<Record<string, number>>,
  b: Readonly<Record<string, number>>,
): boolean {
  const names = Object.keys(a);
  return names.length === Object.keys(b).length && names.every((name) => Object.is(a[name], b[name]));
}

/**
 * Follows one tenure's engine events and says when the engine's baseline becomes the fleet's.
 *
 * @remarks
 * A `baseline.set` event carries no values unless the baseline is a config's `baseline` the
 * engine does not stand at: otherwise they are those of the latest apply or rollback before it
 * (events come in order), or the tenure's resume values before any. The engine's first
 * `baseline.set` is the one it takes at creation: the fleet's baseline only when the fleet had no
 * state (its first tenure, starting at `init`, or at the config's `baseline`).
 */
export class TenureBaseline {
  private generation = 0;
  private values: Readonly<Record<string, number>> | undefined;
  private creationSeen = false;

  constructor(
    /** The fleet generation of the engine's generation 0. */
    private readonly base: number,
    resumed: Readonly<Record<string, number>>,
    /** Whether the fleet had no stored state (this tenure defines its first baseline). */
    private readonly fresh: boolean,
  ) {
    this.values = resumed;
  }

  /** The fleet baseline `event` sets, or undefined when it sets none. */
  onEvent(event: AuditEvent): FleetBaseline | undefined {
    if (event.type === "apply" || event.type === "rollback") {
      this.generation = event.generation;
      this.values = event.values === undefined ? undefined : { ...event.values };
      return undefined;
    }
    if (event.type !== "baseline.set") return undefined;
    const creation = !this.creationSeen;
    this.creationSeen = true;
    if (creation && !this.fresh) return undefined;
    // A config's `baseline` comes with its values: the engine does not stand there.
    if (event.values !== undefined)
      return { generation: this.base + event.generation, values: { ...event.values } };
    if (this.values === undefined || event.generation !== this.generation) return undefined;
    return { generation: this.base + event.generation, values: this.values };
  }
}
