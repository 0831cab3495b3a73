/**
 * The Redis journal of a shared study: an append-only list of operations, appended only by a
 * writer that has read every earlier entry.
 */
import { createHash } from "node:crypto";
import type { Redis } from "ioredis";
import type { SolverConfig } from "../solver/config.js";
import type { Told } from "../solver/solver.js";
import { isSolverRules } from "../solver/solver-rules.js";

/**
 * Format version of the create entry this arqon writes. 2 records the creator's solver rules:
 * an arqon that predates them reads only version 1, so it refuses a study it would otherwise
 * replay under other rules. Version 1 entries are read (as created before the rules were
 * versioned, unless they hold rules).
 */
export const JOURNAL_VERSION = 2;

/** One operation of a shared study, in the order every worker replays them. */
export type JournalEntry =
  /**
   * The first entry: the study's solver configuration. `nonce` (random, absent from journals
   * written before it was added) tells a study re-created under the same name, with the same
   * configuration, from the one a worker replayed. `rules` is the `SOLVER_RULES` of the worker that
   * created it (absent from journals created before the rules were versioned): every worker must
   * propose by them.
   */
  | {
      readonly op: "create";
      readonly v: 1 | typeof JOURNAL_VERSION;
      readonly nonce?: string;
      readonly rules?: number;
      readonly config: SolverConfig;
    }
  /**
   * A worker asked for trials and received these ids. `beat` (with `beatMs`) names the heartbeat
   * key the worker refreshes every `beatMs` while it holds them (absent: a worker without a
   * heartbeat, whose trials are never judged stale).
   */
  | ({
      readonly op: "ask";
      readonly worker: string;
      readonly max: number;
      readonly ids: readonly number[];
      readonly beat?: string;
      readonly beatMs?: number;
    } & Stamped)
  /** A worker told results (asked trials by id, or warm-start points). */
  | ({ readonly op: "tell"; readonly worker: string; readonly results: readonly Told[] } & Stamped)
  /**
   * A worker recorded intermediate values of a pending trial, `[step, value]` in order (for the
   * study's pruner, which every worker runs on the reports in journal order). `prune` is the
   * verdict once they are recorded, as the worker that appended it reached it: a replay that
   * reaches another one (a pruner of another arqon) stops there.
   */
  | ({
      readonly op: "report";
      readonly worker: string;
      readonly id: number;
      readonly reports: readonly (readonly [number, number])[];
      readonly prune?: true;
    } & Stamped)
  /** A worker reported that a trial's evaluation failed. */
  | ({
      readonly op: "fail";
      readonly worker: string;
      readonly id: number;
      readonly reason: string;
      readonly cancelled?: true;
    } & Stamped)
  /**
   * A worker grew the study's budget to `budget` trials (`Solver.extend`): the total, not the
   * increase, so that a replay checks it against the budget it reached.
   */
  | ({ readonly op: "extend"; readonly worker: string; readonly budget: number } & Stamped);

/**
 * A random token naming one operation (absent from entries written before it was added): a worker
 * whose append was written but whose reply was lost (ioredis sends the script again after a
 * reconnect, and it then finds the journal one entry longer) recognises its own entry by it.
 */
interface Stamped {
  readonly token?: string;
}

/**
 * Appends ARGV[3] to the list KEYS[1] only if the list still holds ARGV[1] entries; returns the
 * new length, -1 when someone appended first, or -2 when the list is no longer the journal the
 * writer replayed: it must begin with the create entry whose SHA-1 is ARGV[2] (unless ARGV[2] is
 * empty: nothing read yet) and hold at least ARGV[1] entries, which a deleted journal (DEL, a
 * Redis restart without persistence) or one re-created under the same name does not. Redis runs
 * a script atomically, so of two writers that read the same journal, exactly one appends.
 */
const APPEND_IF_LENGTH = `
local length = redis.call('LLEN', KEYS[1])
if ARGV[2] ~= '' then
  local first = redis.call('LINDEX', KEYS[1], 0)
  if not first or redis.sha1hex(first) ~= ARGV[2] or length < tonumber(ARGV[1]) then return -2 end
end
if length ~= tonumber(ARGV[1]) then return -1 end
return redis.call('RPUSH', KEYS[1], ARGV[3])
`;

/**
 * Returns, of the list KEYS[1], the SHA-1 of its first entry ('' when it is empty), its length,
 * and at most ARGV[2] entries from position ARGV[1]: one consistent state, without sending the
 * create entry (the whole configuration) with every read.
 */
const READ_PAGE = `
local first = redis.call('LINDEX', KEYS[1], 0)
local from = tonumber(ARGV[1])
local entries = redis.call('LRANGE', KEYS[1], from, from + tonumber(ARGV[2]) - 1)
return {first and redis.sha1hex(first) or '', redis.call('LLEN', KEYS[1]), entries}
`;
const READ_PAGE_SHA = sha1(READ_PAGE);

/**
 * Entries read per reply: a long journal in one reply would outlast the command timeout over a
 * slow link (2000 entries of a study of a few parameters are some 200 kB).
 */
export const JOURNAL_PAGE_SIZE = 2000;

/** The Redis key of study `study`'s journal (a list). */
export function journalKey(study: string): string {
  return `arqon:study:${study}:journal`;
}

/** The Redis key of heartbeat `beat` of study `study` (a string that expires when beats stop). */
export function beatKey(study: string, beat: string): string {
  return `arqon:study:${study}:beat:${beat}`;
}

/**
 * A study's journal in Redis (the list `arqon:study:<name>:journal`), as one handle reads it: once
 * it has read the create entry, every read and append checks that the list is still that journal.
 */
export class RedisJournal {
  readonly key: string;
  private readonly redis: Redis;
  private readonly study: string;
  /** SHA-1 of the create entry this handle read ('' before it read one). */
  private created = "";

  constructor(
    redis: Redis,
    study: string,
    private readonly pageSize = JOURNAL_PAGE_SIZE,
  ) {
    this.redis = redis;
    this.study = study;
    this.key = journalKey(study);
  }

  /**
   * The entries from position `from` (0-based) to the end, parsed, read a page at a time.
   *
   * @throws JournalError when the journal is no longer the one read before (deleted, re-created,
   * or shorter than `from`), or when it is replaced between two pages.
   */
  async readFrom(from: number): Promise<JournalEntry[]> {
    const entries: JournalEntry[] = [];
    // The create entry's hash every page must show: the journal is append-only, so pages of one
    // journal agree, and a page of another (re-created between two pages) does not.
    let created = this.created;
    for (;;) {
      const position = from + entries.length;
      const [first, length, raw] = await this.page(position);
      if (created !== "" && (first !== created || length < position)) throw this.replaced(from);
      created = first;
      for (const text of raw) entries.push(parseEntry(text, from + entries.length));
      if (raw.length === 0 || position + raw.length >= length) break;
    }
    if (from === 0) this.created = created;
    return entries;
  }

  /** The hash of the first entry, the length, and up to a page of entries from `position`. */
  private async page(position: number): Promise<[string, number, string[]]> {
    const args = [1, this.key, position, this.pageSize] as const;
    // The script's hash, not its text, with every poll. A server that does not hold it (NOSCRIPT:
    // first use, a restart, SCRIPT FLUSH) gets the text by EVAL, which also caches it; SCRIPT LOAD
    // would need a permission (and a proxy route) that EVAL does not.
    try {
      return (await this.redis.evalsha(READ_PAGE_SHA, ...args)) as [string, number, string[]];
    } catch (error) {
      if (!(error instanceof Error && error.message.includes("NOSCRIPT"))) throw error;
      return (await this.redis.eval(READ_PAGE, ...args)) as [string, number, string[]];
    }
  }

  /**
   * Appends `entry` at position `position` (the journal must hold exactly `position` entries).
   * Returns false, appending nothing, when the journal has grown since it was read.
   *
   * @throws JournalError, appending nothing, when the journal is no longer the one read before.
   */
  async appendAt(position: number, entry: JournalEntry): Promise<boolean> {
    const length = (await this.redis.eval(
      APPEND_IF_LENGTH,
      1,
      this.key,
      position,
      this.created,
      JSON.stringify(entry),
    )) as number;
    if (length === -2) throw this.replaced(position);
    return length === position + 1;
  }

  /** Removes the journal (the study is gone for every worker). */
  async delete(): Promise<void> {
    await this.redis.del(this.key);
  }

  private replaced(position: number): JournalError {
    return new JournalError(
      position,
      `its journal was deleted or replaced since this worker read it (${this.key} no longer ` +
        `holds the ${position} entries this worker replayed); open the study again to go on with ` +
        "what the journal holds now",
      this.study,
    );
  }
}

/** SHA-1 in hex, as Lua's `redis.sha1hex` writes it. */
function sha1(text: string): string {
  return createHash("sha1").update(text).digest("hex");
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
    if (v !== 1 && v !== JOURNAL_VERSION)
      throw new JournalError(position, `has version ${String(v)}, expected 1 or ${JOURNAL_VERSION}`);
    const rules = (entry as { rules?: unknown }).rules;
    if (rules !== undefined && !isSolverRules(rules))
      throw new JournalError(
        position,
        `has rules ${JSON.stringify(rules)}, not a solver-rules version (a whole number from 1)`,
      );
    return entry as JournalEntry;
  }
  if (op === "report" && !isReportEntry(entry))
    throw new JournalError(
      position,
      "is not a report entry this arqon reads (a trial id and [step, value] pairs)",
    );
  if (op === "extend" && !Number.isSafeInteger((entry as { budget?: unknown }).budget))
    throw new JournalError(position, "is not an extend entry this arqon reads (a whole-number budget)");
  if (op === "ask" || op === "tell" || op === "fail" || op === "report" || op === "extend")
    return entry as JournalEntry;
  throw new JournalError(position, `has an unknown op ${JSON.stringify(op)}`);
}

/** Whether a parsed `report` entry has the shape replay reads: an id and `[step, value]` pairs. */
function isReportEntry(entry: unknown): boolean {
  const { id, reports } = entry as { id?: unknown; reports?: unknown };
  return (
    typeof id === "number" &&
    Array.isArray(reports) &&
    reports.every(
      (pair) =>
        Array.isArray(pair) &&
        pair.length === 2 &&
        typeof pair[0] === "number" &&
        typeof pair[1] === "number",
    )
  );
}

/**
 * A journal entry that cannot be read or replayed, or (given `study`) a journal that is no longer
 * the one a handle replayed.
 */
export class JournalError extends Error {
  override readonly name = "JournalError";
  /** Position of the entry in the journal (0-based); for a replaced journal, the handle's next one. */
  readonly position: number;
  /**
   * True when the journal is gone or is another study's (deleted, lost in a Redis restart without
   * persistence, re-created under the same name); false for an entry that cannot be read or replayed.
   */
  readonly replaced: boolean;

  constructor(position: number, reason: string, study?: string) {
    super(
      study === undefined ? `shared study journal entry ${position} ${reason}` : `study ${study}: ${reason}`,
    );
    this.position = position;
    this.replaced = study !== undefined;
  }
}
