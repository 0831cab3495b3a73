/**
 * The fleet's parameter space as the state hash records it, and how a coordinator's own compares.
 *
 * @remarks
 * A coordinator whose params differ from the fleet's (a parameter renamed, bounds changed) signs
 * commands the replicas refuse or cannot reach, and its state overwrites the tuned values. So the
 * leader stores a canonical description of its params with each command, and a coordinator
 * leads only when its own description matches the stored one.
 * @packageDocumentation
 */
import { createHash } from "node:crypto";
import type { ParamSpec } from "../space/param-registry.js";

/** What of a parameter must agree across a fleet: what Tier 1 checks and how the engine moves it. */
interface StoredSpec {
  readonly min: number;
  readonly max: number;
  readonly maxDelta: number;
  readonly scale: string;
}

/**
 * The canonical description of `params` (resolved: `maxDelta` filled in): JSON with the names
 * sorted and each spec's fields in a fixed order. `init` is left out: it only says where a fleet
 * with no state starts.
 */
export function paramsDescription(params: Readonly<Record<string, ParamSpec>>): string {
  const out: Record<string, StoredSpec> = {};
  for (const name of Object.keys(params).sort()) {
    const spec = params[name]!;
    out[name] = {
      min: spec.min,
      max: spec.max,
      maxDelta: spec.maxDelta ?? Number.NaN,
      scale: spec.scale ?? "linear",
    };
  }
  return JSON.stringify(out);
}

/**
 * The description a state hash stands for: its `params` field, or for a state written before
 * fleets recorded one, the names of its stored values alone (`null` specs: compared by name only).
 * Undefined when the fleet has no state yet.
 */
export function storedDescription(state: Readonly<Record<string, string>>): string | undefined {
  if (state.params !== undefined) return state.params;
  if (state.values === undefined) return undefined;
  let values: unknown;
  try {
    values = JSON.parse(state.values);
  } catch {
    return undefined;
  }
  if (typeof values !== "object" || values === null) return undefined;
  return JSON.stringify(
    Object.fromEntries(
      Object.keys(values)
        .sort()
        .map((name) => [name, null]),
    ),
  );
}

/** A short, stable name of a description: the first 16 hex digits of its SHA-256. */
export function paramsFingerprint(description: string): string {
  return createHash("sha256").update(description).digest("hex").slice(0, 16);
}

/**
 * How `own` differs from the fleet's `stored` description, one entry per difference
 * (`poolSize: missing here`, `batch.max: 256 here, 512 in the fleet`); empty when they agree. A
 * stored description that does not parse is one difference.
 */
export function paramsDifferences(stored: string, own: string): string[] {
  let fleet: Record<string, StoredSpec | null>;
  try {
    const parsed: unknown = JSON.parse(stored);
    if (typeof parsed !== "object" || parsed === null || Array.isArray(parsed)) throw new Error();
    fleet = parsed as Record<string, StoredSpec | null>;
  } catch {
    return [`params: the stored description is not a JSON object (${stored.slice(0, 80)})`];
  }
  const mine = JSON.parse(own) as Record<string, StoredSpec>;
  const out: string[] = [];
  for (const name of Object.keys(fleet).sort())
    if (!Object.hasOwn(mine, name)) out.push(`${name}: missing here (the fleet has it)`);
  for (const name of Object.keys(mine).sort()) {
    if (!Object.hasOwn(fleet, name)) {
      out.push(`${name}: not in the fleet`);
      continue;
    }
    const theirs = fleet[name];
    // A state stored before fleets recorded their params gives names only.
    if (theirs === null || typeof theirs !== "object") continue;
    for (const field of ["min", "max", "maxDelta", "scale"] as const) {
      const here = mine[name]![field];
      if (!Object.is(here, theirs[field]))
        out.push(`${name}.${field}: ${String(here)} here, ${String(theirs[field])} in the fleet`);
    }
  }
  return out;
}
