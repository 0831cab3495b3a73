import type { DigestAcceptedEvent, DigestRejectedEvent } from "../audit/events.js";
import { malformedSample, threwWhileRead } from "../audit/malformed-digest.js";

/** Stands in for a field that was not a number, so that the rebuilt digest is malformed too. */
const NOT_A_NUMBER = "not a number";

const OPTIONAL_FIELDS = ["timestamp", "constraintMargin", "latencyP99", "throughput", "errorRate"] as const;

/**
 * The digest to feed again for a logged digest event, or a message saying why it cannot be
 * rebuilt.
 *
 * @remarks
 * An accepted digest, and a rejected one whose fields were captured, come back exactly. A
 * rejected digest without its fields can still be rebuilt when its verdict depends only on the
 * objective and generation (Malformed, WrongGeneration), or on the objective once the time checks
 * passed (NonFiniteObjective: rebuilt without a timestamp, it is taken when it was, and passes
 * them again, except one stamped ahead of the engine's clock, within `maxSkewMs`, while the settle
 * period had not ended: taken at the engine's time it is settling, and replay diverges there; a
 * log written with digest capture, as engine logs are by default, holds its stamp). A malformed digest
 * is rebuilt with a non-number field, so that it is refused the same way and records the same
 * numbers (the audit writes NaN for a field that was not a number); from audit schema 8 on, with
 * the very field and kind of value its record names (`field`, `problem`), or, when reading it
 * threw, as a digest whose read throws at the same field. The digest is `digest` of the result,
 * which may be no object at all (a digest that was `null`).
 */
export function digestToReplay(event: DigestAcceptedEvent | DigestRejectedEvent): ReplayDigest | string {
  const digest = rebuilt(event);
  return typeof digest === "string" ? digest : { digest: digest.value };
}

/** A digest to feed again (see {@link digestToReplay}). */
export interface ReplayDigest {
  readonly digest: unknown;
}

function rebuilt(event: DigestAcceptedEvent | DigestRejectedEvent): { value: unknown } | string {
  const objective = event.type === "digest.accepted" ? event.objective : event.value;
  const digest: Record<string, unknown> = { objective, generation: event.digestGeneration };
  for (const key of OPTIONAL_FIELDS) if (event[key] !== undefined) digest[key] = event[key];
  if (event.type === "digest.accepted") return { value: digest };
  if (event.reason === "Malformed") {
    if (event.field !== undefined && event.problem !== undefined) {
      const named = spoiled(digest, event.field, event.problem);
      if (named !== undefined) return named;
    }
    if (Number.isNaN(objective)) digest.objective = NOT_A_NUMBER;
    if (Number.isNaN(event.digestGeneration)) digest.generation = NOT_A_NUMBER;
    // Something else made it malformed: keep the numbers and spoil a field the log shows absent
    // (a field that is not a number is recorded as absent), a metric first, else the timestamp
    // (every metric present: a timestamp that was not a number, such as a Date). With none absent,
    // the numbers themselves are what made it malformed (e.g. a fractional generation).
    if (typeof digest.objective === "number" && typeof digest.generation === "number") {
      const absent =
        OPTIONAL_FIELDS.find((key) => key !== "timestamp" && event[key] === undefined) ??
        OPTIONAL_FIELDS.find((key) => event[key] === undefined);
      if (absent !== undefined) digest[absent] = NOT_A_NUMBER;
    }
    return { value: digest };
  }
  if (event.captured === true) return { value: digest };
  if (event.reason === "NonFiniteObjective" || event.reason === "WrongGeneration") return { value: digest };
  return `digest rejected as ${event.reason} was logged without its fields (digest capture was off)`;
}

/** The fields a digest's read goes through, in order (src/engine/digest.ts, readDigest). */
const READ_ORDER = ["objective", "generation", ...OPTIONAL_FIELDS] as const;

/**
 * `digest` (its numbers as recorded) with `field` spoiled the way `problem` says, or undefined
 * when `problem` is not one this version words.
 */
function spoiled(
  digest: Record<string, unknown>,
  field: string,
  problem: string,
): { value: unknown } | undefined {
  if (threwWhileRead(problem)) return { value: throwingAfterLastNumber(digest) };
  const sample = malformedSample(field, problem);
  // "got 1.5": the recorded generation is itself the fault.
  if (sample === undefined) return field === "generation" ? { value: digest } : undefined;
  if (field === "digest") return { value: sample.value };
  // A number the record kept (an infinite timestamp) is given again as it was.
  const kept = digest[field];
  if (typeof kept === "number" && !Number.isNaN(kept)) return { value: digest };
  if (sample.missing) delete digest[field];
  else digest[field] = sample.value;
  return { value: digest };
}

/**
 * A digest whose read throws after the last field the record holds a number for: the fields read
 * before a throw keep what they were (an absent one, or one that was no number, is NaN in the
 * record, as here), and every field from the throwing one on is NaN. Which field threw is not
 * recorded; any after the last number gives the same record.
 */
function throwingAfterLastNumber(digest: Record<string, unknown>): object {
  let last = -1;
  READ_ORDER.forEach((key, i) => {
    const value = digest[key];
    if (typeof value === "number" && !Number.isNaN(value)) last = i;
  });
  const out = {};
  for (let i = 0; i <= last + 1 && i < READ_ORDER.length; i++) {
    const key = READ_ORDER[i]!;
    const value = digest[key];
    if (i <= last)
      Object.defineProperty(out, key, {
        // A NaN before the last number: no number (the record cannot tell NaN from "3").
        value: typeof value === "number" ? value : undefined,
        enumerable: true,
      });
    else
      Object.defineProperty(out, key, {
        enumerable: true,
        get() {
          throw new Error("replayed: this digest's read threw here");
        },
      });
  }
  return out;
}
