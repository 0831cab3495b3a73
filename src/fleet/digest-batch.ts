/**
 * Telemetry digests as replicas send them, in MACed batches (one stream entry per batch).
 *
 * @remarks
 * Digests are not signed one by one (that would cost a MAC per tick); the batch is, at the bus
 * edge: the MAC covers the replica id and the exact payload text received, length-prefixed.
 *
 * JSON has no NaN or ±Infinity, so a non-finite objective or timestamp travels as the string
 * `"NaN"`, `"Infinity"` or `"-Infinity"` and is decoded back: the coordinator's engine then rejects
 * that one digest by its own rules (see docs/concepts/safe-mode.md) instead of the whole batch being
 * dead-lettered. Batches written before this encoding carry `null` there; they decode as NaN.
 * @packageDocumentation
 */
import { createHmac, timingSafeEqual } from "node:crypto";
import type { Keyring } from "./signing.js";

/** One replica's measurement, as it crosses the bus. */
export interface FleetDigest {
  /** Per-replica sequence number, +1 per digest, rising across restarts: the idempotency key with `replica`. */
  readonly seq: number;
  /** The fleet generation the measurement was taken under. */
  readonly generation: number;
  /** The value to minimise (lower is better); NaN or ±Infinity when the measurement failed. */
  readonly objective: number;
  /** Wall-clock ms when it was measured (a non-finite one is carried too; the engine rejects it). */
  readonly timestamp: number;
}

const TAG = "arqon.fleet.digests/v1";

function batchMac(secret: Uint8Array, replica: string, payload: string): Buffer {
  const hmac = createHmac("sha256", secret);
  for (const part of [TAG, replica, payload]) {
    const bytes = Buffer.from(part, "utf8");
    const length = Buffer.alloc(4);
    length.writeUInt32BE(bytes.length);
    hmac.update(length).update(bytes);
  }
  return hmac.digest();
}

/** JSON.stringify replacer: writes a non-finite number as its name (JSON would write null). */
function nonFiniteAsName(_key: string, value: unknown): unknown {
  return typeof value === "number" && !Number.isFinite(value) ? String(value) : value;
}

/** The numbers the payload may carry by name, and null (what the earlier encoding wrote for them). */
const NON_FINITE: ReadonlyMap<unknown, number> = new Map<unknown, number>([
  ["NaN", Number.NaN],
  ["Infinity", Number.POSITIVE_INFINITY],
  ["-Infinity", Number.NEGATIVE_INFINITY],
  [null, Number.NaN],
]);

/** A payload field as a number: itself, a non-finite one written by name or as null, else undefined. */
function numberField(value: unknown): number | undefined {
  return typeof value === "number" ? value : NON_FINITE.get(value);
}

/** Stream-entry fields of a batch: `r` replica, `d` payload (JSON array), `k` key id, `m` MAC. */
export function encodeBatch(ring: Keyring, replica: string, digests: readonly FleetDigest[]): string[] {
  const key = ring.keys.find((k) => k.id === ring.active)!;
  const payload = JSON.stringify(digests, nonFiniteAsName);
  return [
    "r",
    replica,
    "d",
    payload,
    "k",
    key.id,
    "m",
    batchMac(key.secret, replica, payload).toString("base64"),
  ];
}

/** A decoded batch, or why it was refused. */
export type DecodedBatch =
  | { readonly ok: true; readonly replica: string; readonly digests: readonly FleetDigest[] }
  | { readonly ok: false; readonly reason: "malformed" | "bad-mac"; readonly detail: string };

/**
 * Checks one parsed digest and turns its non-finite fields written by name back into numbers (in
 * place: the object is the decoder's own). Returns the first problem, or undefined.
 */
function digestProblem(value: unknown, index: number): string | undefined {
  if (typeof value !== "object" || value === null) return `d[${index}]: must be an object`;
  const d = value as Record<string, unknown>;
  if (typeof d.seq !== "number" || !Number.isSafeInteger(d.seq) || d.seq < 1)
    return `d[${index}].seq: must be a whole number ≥ 1`;
  if (typeof d.generation !== "number" || !Number.isSafeInteger(d.generation) || d.generation < 0) {
    return `d[${index}].generation: must be a whole number ≥ 0`;
  }
  const objective = numberField(d.objective);
  if (objective === undefined) return `d[${index}].objective: must be a number`;
  // A non-finite timestamp is the engine's to reject (that digest alone), like a non-finite objective.
  const timestamp = numberField(d.timestamp);
  if (timestamp === undefined) return `d[${index}].timestamp: must be a number`;
  d.objective = objective;
  d.timestamp = timestamp;
  return undefined;
}

/** Checks a batch's MAC (constant time) and then its shape. Never throws. */
export function decodeBatch(ring: Keyring, fields: ReadonlyMap<string, string>): DecodedBatch {
  const replica = fields.get("r");
  const payload = fields.get("d");
  const kid = fields.get("k");
  const mac = fields.get("m");
  if (replica === undefined || replica === "")
    return { ok: false, reason: "malformed", detail: "r: missing replica id" };
  if (payload === undefined) return { ok: false, reason: "malformed", detail: "d: missing payload" };
  const key = ring.keys.find((k) => k.id === kid);
  if (key === undefined || mac === undefined)
    return { ok: false, reason: "bad-mac", detail: `k: unknown key ${kid}` };
  const expected = batchMac(key.secret, replica, payload);
  const given = Buffer.from(mac, "base64");
  const sameLength = given.length === expected.length;
  if (!(timingSafeEqual(sameLength ? given : expected, expected) && sameLength)) {
    return { ok: false, reason: "bad-mac", detail: "m: MAC does not match the batch" };
  }
  // Fail closed: an end that is not a number (a keyring not checked) retires the key.
  if (key.validUntil !== undefined && !(Date.now() <= key.validUntil)) {
    return { ok: false, reason: "bad-mac", detail: `k: key ${key.id} is retired` };
  }
  let digests: unknown;
  try {
    digests = JSON.parse(payload);
  } catch {
    return { ok: false, reason: "malformed", detail: "d: not valid JSON" };
  }
  if (!Array.isArray(digests)) return { ok: false, reason: "malformed", detail: "d: must be an array" };
  for (const [index, digest] of digests.entries()) {
    const problem = digestProblem(digest, index);
    if (problem !== undefined) return { ok: false, reason: "malformed", detail: problem };
  }
  return { ok: true, replica, digests: digests as FleetDigest[] };
}
