/**
 * HMAC-SHA256 signing and verification of fleet commands, with key ids for rotation, freshness
 * checks and a fail-closed nonce ledger.
 *
 * @packageDocumentation
 */
import { createHmac, timingSafeEqual } from "node:crypto";
import { shownValue } from "../shown-value.js";
import { canonicalCommandBytes, type FleetCommand } from "./command.js";
import { NonceLedger } from "./nonce-ledger.js";

/** One signing key. */
export interface SigningKey {
  /** Key id carried by every signed command, so verifiers know which secret to use. */
  readonly id: string;
  /** The shared secret (at least 32 bytes). */
  readonly secret: Uint8Array;
  /**
   * Wall-clock ms after which verifiers refuse commands under this key (absent: no end). Set it
   * to "rotation time + overlap" when a new key takes over, so commands signed just before the
   * rotation still verify during the overlap window and never after.
   */
  readonly validUntil?: number;
}

/** The keys a process knows, and the one it signs with. */
export interface Keyring {
  /** Id of the key new commands are signed with. */
  readonly active: string;
  readonly keys: readonly SigningKey[];
}

/** Smallest secret accepted, in bytes (the HMAC-SHA256 output size). */
export const MIN_SECRET_BYTES = 32;

/**
 * A keyring that signs with `next` from now on and still accepts the old active key for
 * `overlapMs` (wall-clock ms from `now`).
 *
 * @throws RangeError for a keyring or key that is not valid, or an `overlapMs` or `now` that is
 * not a finite number (an old key given a NaN end would verify for ever).
 */
export function rotateKeyring(ring: Keyring, next: SigningKey, overlapMs: number, now: number): Keyring {
  checkedKeyring(ring);
  if (typeof overlapMs !== "number" || !Number.isFinite(overlapMs) || overlapMs < 0)
    throw new RangeError(
      `rotateKeyring: overlapMs must be a finite number of ms ≥ 0, got ${shownValue(overlapMs)}`,
    );
  if (typeof now !== "number" || !Number.isFinite(now))
    throw new RangeError(
      `rotateKeyring: now must be a wall-clock time in ms (Date.now()), got ${shownValue(now)}`,
    );
  const keys = ring.keys.map((key) =>
    key.id === ring.active
      ? { ...key, validUntil: Math.min(key.validUntil ?? Infinity, now + overlapMs) }
      : key,
  );
  return checkedKeyring({ active: next.id, keys: [...keys.filter((key) => key.id !== next.id), next] });
}

/** A command with its key id and MAC, as it travels. */
export interface SignedCommand {
  readonly v: 1;
  readonly kid: string;
  /** Base64 of the 32-byte HMAC-SHA256 over {@link canonicalCommandBytes}. */
  readonly mac: string;
  readonly command: FleetCommand;
}

/**
 * Every problem of `ring`, each as "field: reason", before anything reads it: a keyring missing
 * or of another shape would otherwise fail as a TypeError naming no option. `field` (such as
 * `"keyring"`) leads each field's path; without it the paths are the keyring's own (`active`).
 */
export function keyringIssues(ring: unknown, field?: string): string[] {
  const at = (path: string) => (field === undefined ? path : `${field}.${path}`);
  if (typeof ring !== "object" || ring === null || Array.isArray(ring))
    return [`${field ?? "keyring"}: must be a keyring { active, keys } (got ${shownValue(ring)})`];
  const { active, keys } = ring as { active?: unknown; keys?: unknown };
  const issues: string[] = [];
  if (!Array.isArray(keys)) {
    issues.push(`${at("keys")}: must be an array of keys { id, secret } (got ${shownValue(keys)})`);
    if (typeof active !== "string" || active === "")
      issues.push(`${at("active")}: must be a non-empty string, the id of a key (got ${shownValue(active)})`);
    return issues;
  }
  const ids = new Set<unknown>();
  for (const [index, key] of keys.entries()) {
    if (typeof key !== "object" || key === null) {
      issues.push(`${at(`keys[${index}]`)}: must be a key { id, secret } (got ${shownValue(key)})`);
      continue;
    }
    const { id, secret, validUntil } = key as { id?: unknown; secret?: unknown; validUntil?: unknown };
    if (typeof id !== "string" || id === "")
      issues.push(`${at(`keys[${index}].id`)}: must be a non-empty string`);
    if (ids.has(id)) issues.push(`${at(`keys[${index}].id`)}: duplicate key id ${JSON.stringify(id)}`);
    ids.add(id);
    if (!(secret instanceof Uint8Array) || secret.length < MIN_SECRET_BYTES) {
      issues.push(`${at(`keys[${index}].secret`)}: must be at least ${MIN_SECRET_BYTES} bytes`);
    }
    // A retired key's end must be a number: NaN or a string would never end it.
    if (validUntil !== undefined && !(typeof validUntil === "number" && !Number.isNaN(validUntil)))
      issues.push(
        `${at(`keys[${index}].validUntil`)}: must be a wall-clock time in ms (Date.now() + overlap) or absent, got ${shownValue(validUntil)}`,
      );
  }
  if (typeof active !== "string" || active === "")
    issues.push(`${at("active")}: must be a non-empty string, the id of a key (got ${shownValue(active)})`);
  else if (!ids.has(active)) issues.push(`${at("active")}: no key has id ${JSON.stringify(active)}`);
  return issues;
}

/** `ring` when it is valid; else throws a RangeError naming every bad field. */
export function checkedKeyring(ring: Keyring): Keyring {
  const issues = keyringIssues(ring);
  if (issues.length > 0) throw new RangeError(`invalid keyring: ${issues.join("; ")}`);
  return ring;
}

function macOf(secret: Uint8Array, command: FleetCommand): Buffer {
  return createHmac("sha256", secret).update(canonicalCommandBytes(command)).digest();
}

/** Signs commands with a keyring's active key. */
export class CommandSigner {
  private readonly key: SigningKey;

  constructor(ring: Keyring) {
    checkedKeyring(ring);
    this.key = ring.keys.find((key) => key.id === ring.active)!;
  }

  /** The signed envelope of `command`. */
  sign(command: FleetCommand): SignedCommand {
    return { v: 1, kid: this.key.id, mac: macOf(this.key.secret, command).toString("base64"), command };
  }
}

/** Why a command was refused, in the order the checks run. */
export type RejectionReason =
  | "malformed"
  | "unknown-key"
  | "bad-mac"
  | "key-expired"
  | "wrong-run"
  | "stale"
  | "from-future"
  | "replay"
  | "ledger-full"
  | "fenced"
  | "old-generation"
  | "params";

/** Every {@link RejectionReason}, in check order. */
export const REJECTION_REASONS: readonly RejectionReason[] = [
  "malformed",
  "unknown-key",
  "bad-mac",
  "key-expired",
  "wrong-run",
  "stale",
  "from-future",
  "replay",
  "ledger-full",
  "fenced",
  "old-generation",
  "params",
];

/** One audited refusal. */
export interface CommandRejection {
  readonly reason: RejectionReason;
  /** What exactly was wrong (names the field for `malformed`). */
  readonly detail: string;
  /** The command id when it could be read. */
  readonly commandId: string | undefined;
  /** Wall-clock ms of the refusal. */
  readonly at: number;
}

/** Options of {@link CommandVerifier}. */
export interface VerifierOptions {
  readonly keyring: Keyring;
  /** The run commands must belong to. */
  readonly runId: string;
  /** Oldest accepted command, ms after `issuedAt` (default 30 000; a finite number ≥ 0). */
  readonly maxAgeMs?: number;
  /** Furthest accepted `issuedAt` ahead of the verifier's clock, ms (default 2 000; finite, ≥ 0). */
  readonly maxFutureSkewMs?: number;
  /**
   * Most command ids the nonce ledger holds at once (default {@link DEFAULT_LEDGER_CAPACITY}; a
   * whole number from 1 to {@link MAX_LEDGER_CAPACITY}). Each is held for `maxAgeMs` after its
   * command was issued, and a full ledger refuses new commands (`ledger-full`): it needs room for
   * every command issued within `maxAgeMs`.
   */
  readonly ledgerCapacity?: number;
  /** Wall clock, ms (default `Date.now`). */
  readonly now?: () => number;
  /** Called with every refusal (the audit trail); must not throw. */
  readonly onRejected?: (rejection: CommandRejection) => void;
}

/** Command ids a nonce ledger holds by default: 333 commands a second over the default 30 s window. */
export const DEFAULT_LEDGER_CAPACITY = 10_000;

/** Most command ids a nonce ledger may hold (about 100 bytes each: 1 GB). */
export const MAX_LEDGER_CAPACITY = 10_000_000;

/** The problem of a ledger capacity (`field`: how the caller names it), or undefined when it is fine. */
export function ledgerCapacityIssue(value: unknown, field: string): string | undefined {
  if (value === undefined) return undefined;
  if (typeof value === "number" && Number.isSafeInteger(value) && value >= 1 && value <= MAX_LEDGER_CAPACITY)
    return undefined;
  return `${field}: must be a whole number from 1 to ${MAX_LEDGER_CAPACITY} (got ${String(value)})`;
}

/**
 * The problems of a verifier's options other than its keyring, each as "field: reason". A NaN
 * window (e.g. `Number(process.env.X)` of an unset variable) would pass every freshness check and
 * expire every nonce at once, turning off replay protection.
 */
function verifierOptionIssues(options: VerifierOptions): string[] {
  const issues: string[] = [];
  if (typeof options.runId !== "string" || options.runId === "") {
    issues.push(`runId: must be a non-empty string (got ${JSON.stringify(options.runId)})`);
  }
  for (const field of ["maxAgeMs", "maxFutureSkewMs"] as const) {
    const value = options[field];
    if (value !== undefined && !(typeof value === "number" && Number.isFinite(value) && value >= 0)) {
      issues.push(`${field}: must be a finite number ≥ 0 (got ${String(value)})`);
    }
  }
  const capacity = ledgerCapacityIssue(options.ledgerCapacity, "ledgerCapacity");
  if (capacity !== undefined) issues.push(capacity);
  return issues;
}

/** The verifier's verdict: the command, or the refusal. */
export type Verdict =
  | { readonly ok: true; readonly command: FleetCommand }
  | { readonly ok: false; readonly rejection: CommandRejection };

const MAC_BYTES = 32;
const BASE64 = /^[A-Za-z0-9+/]+={0,2}$/;

/** The first problem of a wire envelope's shape (a field name and a reason), or undefined. */
export function envelopeProblem(value: unknown): string | undefined {
  if (typeof value !== "object" || value === null) return "envelope: must be an object";
  const envelope = value as Record<string, unknown>;
  if (envelope.v !== 1) return "v: must be 1";
  if (typeof envelope.kid !== "string" || envelope.kid === "") return "kid: must be a non-empty string";
  if (typeof envelope.mac !== "string" || !BASE64.test(envelope.mac)) return "mac: must be base64";
  const command = envelope.command;
  if (typeof command !== "object" || command === null) return "command: must be an object";
  const c = command as Record<string, unknown>;
  if (c.kind !== "apply") return 'command.kind: must be "apply"';
  for (const field of ["commandId", "runId"] as const) {
    if (typeof c[field] !== "string" || c[field] === "")
      return `command.${field}: must be a non-empty string`;
  }
  if (typeof c.issuedAt !== "number" || !Number.isFinite(c.issuedAt))
    return "command.issuedAt: must be a finite number";
  for (const field of ["epoch", "generation"] as const) {
    const n = c[field];
    if (typeof n !== "number" || !Number.isSafeInteger(n) || n < 0) {
      return `command.${field}: must be a whole number ≥ 0`;
    }
  }
  if (typeof c.values !== "object" || c.values === null || Array.isArray(c.values)) {
    return "command.values: must be an object of numbers";
  }
  for (const [name, v] of Object.entries(c.values)) {
    if (typeof v !== "number" || !Number.isFinite(v))
      return `command.values.${name}: must be a finite number`;
  }
  return undefined;
}

/**
 * Verifies signed commands: MAC in constant time, then the key's validity window, run id,
 * freshness and future skew, and only then registers the command id in the nonce ledger.
 *
 * @remarks
 * Every refusal is counted by reason ({@link CommandVerifier.rejected}) and handed to
 * `onRejected`. Verification never throws: a malformed envelope is a `malformed` refusal naming
 * the field. Fencing (epoch and generation) is the caller's business, recorded here through
 * {@link CommandVerifier.refuse} so that all refusals share one count and one audit.
 */
export class CommandVerifier {
  /** Refusals so far, by reason. */
  readonly rejected: Record<RejectionReason, number>;
  private readonly keys: ReadonlyMap<string, SigningKey>;
  private readonly ledger: NonceLedger;
  private readonly maxAgeMs: number;
  private readonly maxFutureSkewMs: number;
  private readonly runId: string;
  private readonly now: () => number;
  private readonly onRejected: ((rejection: CommandRejection) => void) | undefined;

  /** @throws RangeError naming every bad option (the keyring's own problems first). */
  constructor(options: VerifierOptions) {
    checkedKeyring(options.keyring);
    const issues = verifierOptionIssues(options);
    if (issues.length > 0) throw new RangeError(`invalid verifier options: ${issues.join("; ")}`);
    this.keys = new Map(options.keyring.keys.map((key) => [key.id, key]));
    this.maxAgeMs = options.maxAgeMs ?? 30_000;
    this.maxFutureSkewMs = options.maxFutureSkewMs ?? 2_000;
    this.ledger = new NonceLedger(options.ledgerCapacity ?? DEFAULT_LEDGER_CAPACITY);
    this.runId = options.runId;
    this.now = options.now ?? Date.now;
    this.onRejected = options.onRejected;
    this.rejected = Object.fromEntries(REJECTION_REASONS.map((reason) => [reason, 0])) as Record<
      RejectionReason,
      number
    >;
  }

  /** Total refusals. */
  get rejectedTotal(): number {
    let total = 0;
    for (const reason of REJECTION_REASONS) total += this.rejected[reason];
    return total;
  }

  /** Verifies an envelope (parsed JSON, or the JSON text as received). Never throws. */
  verify(input: unknown): Verdict {
    let value = input;
    if (typeof input === "string") {
      try {
        value = JSON.parse(input);
      } catch {
        return this.refuse("malformed", "envelope: not valid JSON", undefined);
      }
    }
    const problem = envelopeProblem(value);
    const envelope = value as SignedCommand;
    if (problem !== undefined) {
      const id = (envelope as { command?: { commandId?: unknown } } | null)?.command?.commandId;
      return this.refuse("malformed", problem, typeof id === "string" ? id : undefined);
    }
    const command = envelope.command;
    const id = command.commandId;
    const key = this.keys.get(envelope.kid);
    if (key === undefined)
      return this.refuse("unknown-key", `kid ${JSON.stringify(envelope.kid)} is not known`, id);
    const given = Buffer.from(envelope.mac, "base64");
    const expected = macOf(key.secret, command);
    // Compare equal-length buffers only (timingSafeEqual throws otherwise); a short MAC is compared
    // against the expected one anyway so that both paths cost the same.
    const sameLength = given.length === MAC_BYTES;
    const matches = timingSafeEqual(sameLength ? given : expected, expected) && sameLength;
    if (!matches) return this.refuse("bad-mac", "MAC does not match the command", id);
    const now = this.now();
    // Fail closed: an end that is not a number (a keyring not checked) retires the key.
    if (key.validUntil !== undefined && !(now <= key.validUntil)) {
      return this.refuse("key-expired", `key ${key.id} was retired at ${key.validUntil}`, id);
    }
    if (command.runId !== this.runId)
      return this.refuse("wrong-run", `run ${command.runId} is not ${this.runId}`, id);
    // The ledger holds the id through freshUntil inclusive: the same bound as this check, so a
    // replay is refused either as stale or as a replay, at every instant.
    const freshUntil = command.issuedAt + this.maxAgeMs;
    if (now > freshUntil) {
      return this.refuse("stale", `issued ${now - command.issuedAt} ms ago (max ${this.maxAgeMs})`, id);
    }
    if (command.issuedAt - now > this.maxFutureSkewMs) {
      return this.refuse(
        "from-future",
        `issued ${command.issuedAt - now} ms ahead (max ${this.maxFutureSkewMs})`,
        id,
      );
    }
    const registered = this.ledger.register(id, freshUntil, now);
    if (registered === "replay") return this.refuse("replay", `command ${id} was accepted before`, id);
    if (registered === "full")
      return this.refuse("ledger-full", `nonce ledger holds ${this.ledger.capacity} ids`, id);
    return { ok: true, command };
  }

  /** Counts and audits a refusal (also used by callers for fencing refusals). */
  refuse(reason: RejectionReason, detail: string, commandId: string | undefined): Verdict {
    this.rejected[reason]++;
    const rejection: CommandRejection = { reason, detail, commandId, at: this.now() };
    try {
      this.onRejected?.(rejection);
    } catch {
      // An audit listener's failure must not turn a refusal into an exception.
    }
    return { ok: false, rejection };
  }
}
