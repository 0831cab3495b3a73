/**
 * The Redis journal of a shared study: an append-only list of operations, appended only by a
 * writer that has read every earlier entry.
 */
import type { Redis } from "ioredis";
import type { SolverConfig } from "../solver/config.js";
import type { Told } from "../solver/solver.js";

/** Format version of journal entries. */
export const JOURNAL_VERSION = 1;

/** One operation of a shared study, in the order every worker replays them. */
export type JournalEntry =
  /** The first entry: the study's solver configuration. */
  | { readonly op: "create"; readonly v: typeof JOURNAL_VERSION; readonly config: SolverConfig }
  /** A worker asked for trials and received these ids. */
  | { readonly op: "ask"; readonly worker: string; readonly max: number; readonly ids: readonly number[] }
  /** A worker told results (asked trials by id, or warm-start points). */
  | { readonly op: "tell"; readonly worker: string; readonly results: readonly Told[] }
  /** A worker reported that a trial's evaluation failed. */
  | {
      readonly op: "fail";
      readonly worker: string;
      readonly id: number;
      readonly reason: string;
      readonly cancelled?: true;
    };

/**
 * Appends ARGV[2] to the list KEYS[1] only if the list still holds ARGV[1] entries; returns the
 * new length, or -1 when someone appended first. Redis runs a script atomically, so of two
 * writers that read the same journal, exactly one appends.
 */
const APPEND_IF_LENGTH = `
local length = redis.call('LLEN', KEYS[1])
if length ~= tonumber(ARGV[1]) then return -1 end
return redis.call('RPUSH', KEYS[1], ARGV[2])
`;

/** A study's journal in Redis (the list `arqon:study:<name>:journal`). */
export class RedisJournal {
  readonly key: string;
  private readonly redis: Redis;

  constructor(redis: Redis, study: string) {
    this.redis = redis;
    this.key = `arqon:study:${study}:journal`;
  }

  /** The entries from position `from` (0-based) to the end, parsed. */
  async readFrom(from: number): Promise<JournalEntry[]> {
    const raw = await this.redis.lrange(this.key, from, -1);
    return raw.map((text, i) => parseEntry(text, from + i));
  }

  /**
   * Appends `entry` at position `position` (the journal must hold exactly `position` entries).
   * Returns false, appending nothing, when the journal has grown since it was read.
   */
  async appendAt(position: number, entry: JournalEntry): Promise<boolean> {
    const length = (await this.redis.eval(
      APPEND_IF_LENGTH,
      1,
      this.key,
      position,
      JSON.stringify(entry),
    )) as number;
    return length === position + 1;
  }

  /** Removes the journal (the study is gone for every worker). */
  async delete(): Promise<void> {
    await this.redis.del(this.key);
  }
}

/** Parses entry `position`, refusing anything that is not a journal entry of this version. */
function parseEntry(text: string, position: number): JournalEntry {
  let entry: unknown;
  try {
    entry = JSON.parse(text);
  } catch {
    throw new JournalError(position, "is not JSON");
  }
  const op = (entry as { op?: unknown } | null)?.op;
  if (op === "create") {
    const v = (entry as { v?: unknown }).v;
    if (v !== JOURNAL_VERSION)
      throw new JournalError(position, `has version ${String(v)}, expected ${JOURNAL_VERSION}`);
    return entry as JournalEntry;
  }
  if (op === "ask" || op === "tell" || op === "fail") return entry as JournalEntry;
  throw new JournalError(position, `has an unknown op ${JSON.stringify(op)}`);
}

/** A journal entry that cannot be read or replayed. */
export class JournalError extends Error {
  override readonly name = "JournalError";
  /** Position of the entry in the journal (0-based). */
  readonly position: number;

  constructor(position: number, reason: string) {
    super(`shared study journal entry ${position} ${reason}`);
    this.position = position;
  }
}
