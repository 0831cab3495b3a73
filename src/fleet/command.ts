/**
 * The fleet's control command and its canonical byte encoding, the exact bytes a MAC covers.
 *
 * @remarks
 * The encoding is a fixed layout of length-prefixed fields, never `JSON.stringify` (whose key
 * order follows construction order): a tag and version, then every field in a fixed order,
 * each as a 4-byte big-endian length followed by its bytes. Strings are UTF-8, numbers are
 * IEEE-754 doubles big-endian, and the parameter values are sorted by name, so the same logical
 * command always has the same bytes whatever order its object keys were built in.
 * @packageDocumentation
 */

/** What a command asks replicas to do. */
export type FleetCommandKind = "apply";

/** A control command that crosses a process boundary (coordinator → replicas). */
export interface FleetCommand {
  /** What to do (today: apply `values` as fleet generation `generation`). */
  readonly kind: FleetCommandKind;
  /** Unique per command: the nonce a replay is recognised by. */
  readonly commandId: string;
  /** The tuning run the command belongs to; replicas refuse other runs. */
  readonly runId: string;
  /** When it was signed, ms since the Unix epoch (the signer's wall clock). */
  readonly issuedAt: number;
  /** The leader's lease epoch: the fencing token (a deposed leader's epoch is lower). */
  readonly epoch: number;
  /** The fleet generation this command creates; replicas expect it to be above theirs. */
  readonly generation: number;
  /** Target values in raw units, by parameter name. */
  readonly values: Readonly<Record<string, number>>;
}

const TAG = "arqon.fleet.command/v1";
const encoder = new TextEncoder();

/** Canonical bytes of a command (see the module remarks). Cold path: allocates. */
export function canonicalCommandBytes(command: FleetCommand): Uint8Array {
  const parts: Uint8Array[] = [];
  const text = (value: string) => parts.push(encoder.encode(value));
  const number = (value: number) => {
    const bytes = new Uint8Array(8);
    new DataView(bytes.buffer).setFloat64(0, value, false);
    parts.push(bytes);
  };
  text(TAG);
  text(command.kind);
  text(command.commandId);
  text(command.runId);
  number(command.issuedAt);
  number(command.epoch);
  number(command.generation);
  const names = Object.keys(command.values).sort();
  number(names.length);
  for (const name of names) {
    text(name);
    number(command.values[name]!);
  }
  let size = 0;
  for (const part of parts) size += 4 + part.length;
  const out = new Uint8Array(size);
  const view = new DataView(out.buffer);
  let at = 0;
  for (const part of parts) {
    view.setUint32(at, part.length, false);
    out.set(part, at + 4);
    at += 4 + part.length;
  }
  return out;
}
