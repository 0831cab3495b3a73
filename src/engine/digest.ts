/**
 * Telemetry digests: what a host reports after measuring its system, and the check that decides
 * whether a digest may feed an evaluation window.
 *
 * @packageDocumentation
 */

import * as rejection from "../audit/digest-rejection.js";
import { malformedCode, notAnObjectCode, THREW_CODE } from "../audit/malformed-digest.js";

// Module-local copies for the per-digest checks: V8 (Node 20) reads an imported binding through a
// cell, checking that it is initialised, at every use, but folds a local const into the code.
const { DIGEST_ACCEPTED, DigestRejection } = rejection;

/**
 * One measurement of the live system, reported by the host through `engine.observe()`.
 *
 * @remarks
 * `generation` is the live-config generation the measurement was taken under (read it from
 * `engine.generation` when the measurement starts). Times are milliseconds on the engine's clock.
 * Only `objective` (lower is better) drives the optimiser, and `constraintMargin` the
 * constraint-first rules; the other health metrics are recorded in the audit trail and drive
 * nothing. Each optional metric, when present, must be a number other than NaN (a `timestamp`, a
 * finite one), else the digest is malformed; the metrics' ranges are the host's to keep and are not
 * checked: nothing reads them, and a metric in another unit (an error rate in per cent) must not
 * cost every digest.
 */
export interface Digest {
  /** The value to minimise, measured under `generation`. Must be finite. */
  objective: number;
  /** Live-config generation the measurement belongs to (a non-negative integer). */
  generation: number;
  /** When the measurement was taken, ms on the engine clock; absent means "now". */
  timestamp?: number;
  /** Distance to the nearest constraint: ≥ 0 satisfied, < 0 violated. */
  constraintMargin?: number;
  /** 99th-percentile latency of the measured period, in the host's unit (recorded, not acted on). */
  latencyP99?: number;
  /** Work done per unit time in the measured period, in the host's unit (recorded, not acted on). */
  throughput?: number;
  /**
   * Fraction of failed operations in the measured period, 0–1 (recorded, not acted on: fold
   * failures into `objective`, or a limit on them into `constraintMargin`).
   */
  errorRate?: number;
}

export { DIGEST_ACCEPTED, DigestRejection, rejectionName } from "../audit/digest-rejection.js";

/**
 * A digest's fields, each read once from the host's object by {@link readDigest}. An optional
 * field that is absent is NaN (a present one may not be NaN, so the two cannot be confused), as is
 * any field that is not a number or could not be read. One instance is reused for every digest.
 */
export class DigestFields {
  // One small Float64Array, not seven number fields: V8 keeps every double field of an object in a
  // heap number of its own, so each digest would touch seven scattered boxes (seven cache lines
  // with thousands of engines per process). The array's 56 bytes sit beside its header, and a
  // store into it never allocates. Accessors this small are inlined, so nothing is boxed either.
  private readonly v = new Float64Array(7).fill(Number.NaN);
  /**
   * What made the digest malformed (see src/audit/malformed-digest.ts): its field and problem in
   * one small integer, −1 when it is not malformed.
   */
  malformed = -1;

  get objective(): number {
    return this.v[0]!;
  }
  set objective(x: number) {
    this.v[0] = x;
  }
  get generation(): number {
    return this.v[1]!;
  }
  set generation(x: number) {
    this.v[1] = x;
  }
  get timestamp(): number {
    return this.v[2]!;
  }
  set timestamp(x: number) {
    this.v[2] = x;
  }
  get constraintMargin(): number {
    return this.v[3]!;
  }
  set constraintMargin(x: number) {
    this.v[3] = x;
  }
  get latencyP99(): number {
    return this.v[4]!;
  }
  set latencyP99(x: number) {
    this.v[4] = x;
  }
  get throughput(): number {
    return this.v[5]!;
  }
  set throughput(x: number) {
    this.v[5] = x;
  }
  get errorRate(): number {
    return this.v[6]!;
  }
  set errorRate(x: number) {
    this.v[6] = x;
  }
}

/** True when an optional numeric field is absent (undefined) or a number other than NaN. */
function isOptionalMetric(value: unknown): boolean {
  return value === undefined || (typeof value === "number" && !Number.isNaN(value));
}

/** `value` when it is a number, else NaN. */
function numberOrNaN(value: unknown): number {
  return typeof value === "number" ? value : Number.NaN;
}

/**
 * Reads every field of the host's digest `d` exactly once into `out`, and checks that they are
 * well formed: returns {@link DIGEST_ACCEPTED} or {@link DigestRejection.Malformed}.
 *
 * @remarks
 * Nothing about `d` is trusted: a getter or Proxy may answer differently on each read, or throw.
 * Reading each field once and using only the copies makes what is validated what is used. A read
 * that throws is caught (the digest is Malformed; fields read before it keep their values). `out`
 * is written after every read is done, so a getter that re-enters `observe` cannot mix two digests.
 * Allocation-free; never throws.
 */
export function readDigest(d: unknown, out: DigestFields): number {
  // Each field is converted to a number (NaN when it is not one) right after its read, so that only
  // numbers and booleans live past the try: a variable of unknown type declared outside it would be
  // boxed, and a host's objective read out of a double field would allocate a heap number per
  // digest. The raw values stay inside the try, where only a malformed digest passes them on (to
  // malformedCode); B3's ingest figures and the allocation test hold with them there.
  let objective = Number.NaN;
  let generation = Number.NaN;
  let timestamp = Number.NaN;
  let constraintMargin = Number.NaN;
  let latencyP99 = Number.NaN;
  let throughput = Number.NaN;
  let errorRate = Number.NaN;
  let numbers = false; // objective and generation are numbers
  let optionalOk = true; // timestamp absent or finite, other metrics absent or numbers (not NaN)
  let readable = typeof d === "object" && d !== null;
  let wellFormed = false;
  let malformed = readable ? -1 : notAnObjectCode(d);
  if (readable) {
    try {
      const fields = d as Record<string, unknown>;
      const o = fields.objective;
      objective = numberOrNaN(o);
      const g = fields.generation;
      generation = numberOrNaN(g);
      numbers = typeof o === "number" && typeof g === "number";
      const t = fields.timestamp;
      timestamp = numberOrNaN(t);
      // A NaN or infinite timestamp would slip through every time comparison.
      optionalOk = t === undefined || (typeof t === "number" && Number.isFinite(t));
      const m = fields.constraintMargin;
      constraintMargin = numberOrNaN(m);
      optionalOk = isOptionalMetric(m) && optionalOk;
      const l = fields.latencyP99;
      latencyP99 = numberOrNaN(l);
      optionalOk = isOptionalMetric(l) && optionalOk;
      const p = fields.throughput;
      throughput = numberOrNaN(p);
      optionalOk = isOptionalMetric(p) && optionalOk;
      const e = fields.errorRate;
      errorRate = numberOrNaN(e);
      optionalOk = isOptionalMetric(e) && optionalOk;
      wellFormed = numbers && optionalOk && Number.isSafeInteger(generation) && generation >= 0;
      // Which field, and why: worked out from the values read, only for a digest found malformed.
      if (!wellFormed) malformed = malformedCode(o, g, [t, m, l, p, e]);
    } catch {
      readable = false;
      malformed = THREW_CODE;
    }
  }
  out.objective = objective;
  out.generation = generation;
  out.timestamp = timestamp;
  out.constraintMargin = constraintMargin;
  out.latencyP99 = latencyP99;
  out.throughput = throughput;
  out.errorRate = errorRate;
  out.malformed = malformed;
  return readable && wellFormed ? DIGEST_ACCEPTED : DigestRejection.Malformed;
}

/**
 * Decides whether a well-formed digest (fields read by {@link readDigest}) may feed the evaluation
 * window of `expectedGeneration`; the checks after Malformed, with the parameters of
 * {@link checkDigest}. Allocation-free.
 */
export function checkDigestFields(
  f: DigestFields,
  expectedGeneration: number,
  lastApplyAt: number,
  now: number,
  settleMs: number,
  maxAgeMs: number,
  maxSkewMs: number,
): number {
  const at = Number.isNaN(f.timestamp) ? now : f.timestamp;
  if (f.generation !== expectedGeneration) return DigestRejection.WrongGeneration;
  // Too old before settling: a digest stamped long before the apply is stale whatever settleMs
  // says, and "settling" sent an operator with settleMs 0 looking at the wrong setting.
  if (now - at > maxAgeMs) return DigestRejection.TooOld;
  if (at < lastApplyAt + settleMs) return DigestRejection.Settling;
  if (at > now + maxSkewMs) return DigestRejection.FromFuture;
  // Last: a NaN the time checks would refuse measured no moment that counts, so it must not
  // count towards a burst that rolls the last apply back (a restart while settling, say).
  if (!Number.isFinite(f.objective)) return DigestRejection.NonFiniteObjective;
  return DIGEST_ACCEPTED;
}

/**
 * {@link checkDigestFields} for a digest without a timestamp once the settle period after the last
 * apply is known to have passed: then no time check can fail (the digest is taken now), and no
 * clock needs reading. Allocation-free.
 */
export function checkSettledUntimedDigest(f: DigestFields, expectedGeneration: number): number {
  if (f.generation !== expectedGeneration) return DigestRejection.WrongGeneration;
  if (!Number.isFinite(f.objective)) return DigestRejection.NonFiniteObjective;
  return DIGEST_ACCEPTED;
}

/** Scratch for {@link checkDigest}. */
const scratch = new DigestFields();

/**
 * Decides whether a digest may feed the evaluation window of `expectedGeneration`.
 *
 * @param d - Whatever the host passed; nothing about it is trusted.
 * @param expectedGeneration - Generation of the live config being evaluated.
 * @param lastApplyAt - Time of the apply that created that generation (ms; −Infinity if none).
 * @param now - Current engine time (ms).
 * @param settleMs - Digests taken less than this long after the apply are too early.
 * @param maxAgeMs - Digests older than this (relative to `now`) are stale.
 * @param maxSkewMs - Digests dated more than this ahead of `now` are refused.
 * @returns {@link DIGEST_ACCEPTED} (0) or a {@link DigestRejection} code.
 *
 * @remarks
 * Checks run in this order: Malformed, WrongGeneration, Settling, TooOld, FromFuture,
 * NonFiniteObjective. A digest without `timestamp` is taken at `now`. Boundaries are accepted
 * (`timestamp = lastApplyAt + settleMs`, `now − timestamp = maxAgeMs`, `timestamp = now + maxSkewMs`).
 * An optional field set to `undefined` counts as absent; `null` counts as present and is Malformed.
 * Each field is read once ({@link readDigest}); the engine keeps those copies and uses nothing else.
 *
 * Performance contract: allocation-free, no closures, no exceptions escape. It never throws on
 * any input: a throwing getter or Proxy trap is a bug in the host, but telemetry must never
 * crash the host's loop, so such a read is caught and the digest is reported Malformed. The
 * `try` costs nothing on the normal path in current V8.
 */
export function checkDigest(
  d: unknown,
  expectedGeneration: number,
  lastApplyAt: number,
  now: number,
  settleMs: number,
  maxAgeMs: number,
  maxSkewMs: number,
): number {
  const malformed = readDigest(d, scratch);
  if (malformed !== DIGEST_ACCEPTED) return malformed;
  return checkDigestFields(scratch, expectedGeneration, lastApplyAt, now, settleMs, maxAgeMs, maxSkewMs);
}
