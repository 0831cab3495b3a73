import type { DigestAcceptedEvent, DigestRejectedEvent } from "../audit/events.js";

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
 * numbers (the audit writes NaN for a field that was not a number).
 */
export function digestToReplay(event: DigestAcceptedEvent | DigestRejectedEvent): object | string {
  const objective = event.type === "digest.accepted" ? event.objective : event.value;
  const digest: Record<string, unknown> = { objective, generation: event.digestGeneration };
  for (const key of OPTIONAL_FIELDS) if (event[key] !== undefined) digest[key] = event[key];
  if (event.type === "digest.accepted") return digest;
  if (event.reason === "Malformed") {
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
    return digest;
  }
  if (event.captured === true) return digest;
  if (event.reason === "NonFiniteObjective" || event.reason === "WrongGeneration") return digest;
  return `digest rejected as ${event.reason} was logged without its fields (digest capture was off)`;
}
