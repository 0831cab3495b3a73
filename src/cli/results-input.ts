import { shownValue } from "../shown-value.js";
import type { Told } from "../solver/solver.js";
import type { ParamValue } from "../space/params.js";
import { didYouMean } from "../suggest.js";
import { usageError } from "./cli-error.js";

/** A trial the results say failed: `solver.fail(id, reason)`. */
export interface FailedEntry {
  /** Where it is in the input, for messages: `results[3]`. */
  readonly path: string;
  readonly id: number;
  /** The reason given, or undefined for the default one (`"failed": true`). */
  readonly reason: string | undefined;
}

/** Results read for `arqon tell`: those the solver's `tell` takes, and the failed trials. */
export interface ParsedResults {
  readonly told: Told[];
  /** Where each of `told` is in the input: `told[k]` is `results[toldAt[k]]`. */
  readonly toldAt: number[];
  readonly failed: FailedEntry[];
}

/** The keys one result may have. */
const RESULT_KEYS = ["id", "params", "value", "cost", "pruned", "failed"];

/**
 * Checks the shape of results JSON for `arqon tell` and returns them as solver results, with the
 * failed trials apart (the solver's `tell` takes no failure: `fail` records each).
 *
 * Accepted: an array (or a single object) of `{ "id": <trial id>, "value": <number>, "cost"?: <number> }`
 * for asked trials, or `{ "params": { name: number, … }, "value": <number>, "cost"?: <number> }` for
 * outside points (warm start), `{ "id": <trial id>, "pruned": true, "value"?: <number> }` for a trial
 * stopped early, or `{ "id": <trial id>, "failed": <reason> | true }` for a trial whose evaluation
 * failed. `"pruned"` and `"failed"` given as false or null mean what leaving them out means, and so
 * does null on any other key but a completed trial's value. Every problem is reported at once,
 * each with its path (`results[2].value: expected a finite number, got "nan"`), as one usage error.
 *
 * @remarks
 * Only the shape is checked here; whether ids are pending and params lie inside the bounds is the
 * solver's call, which refuses the whole batch with a UsageError when any item is wrong.
 */
export function parseResults(input: unknown): ParsedResults {
  const items = Array.isArray(input) ? input : [input];
  const problems: string[] = [];
  const results: Told[] = [];
  const failed: FailedEntry[] = [];
  const toldAt: number[] = [];
  items.forEach((item, index) => {
    const path = `results[${index}]`;
    if (typeof item !== "object" || item === null || Array.isArray(item)) {
      problems.push(`${path}: expected an object with "value" and "id" or "params"`);
      return;
    }
    // null means absent (Python's None, from a loop that writes every key) on every key but a
    // completed trial's value: the flags (as false does), the cost, and whichever of id and
    // params the entry does not use.
    const given = item as Record<string, unknown>;
    const failing = given.failed !== undefined && given.failed !== null && given.failed !== false;
    const stopped = failing || given.pruned === true;
    const record = Object.fromEntries(
      Object.entries(given).filter(([key, value]) => value !== null || (key === "value" && !stopped)),
    );
    const before = problems.length;
    for (const key of Object.keys(record)) {
      if (!RESULT_KEYS.includes(key)) {
        const hint = didYouMean(key, RESULT_KEYS);
        problems.push(`${path}.${key}: unknown key${hint === undefined ? "" : ` (${hint})`}`);
      }
    }
    // false means what leaving it out means, as for "pruned": a loop may write both flags always.
    if (record.failed !== undefined && record.failed !== false) {
      if (typeof record.failed !== "string" && record.failed !== true)
        problems.push(`${path}.failed: expected a reason (a string), true or false`);
      if (record.pruned !== undefined && record.pruned !== false)
        problems.push(`${path}.pruned: a failed trial was not pruned`);
      for (const key of ["value", "cost", "params"])
        if (record[key] !== undefined) problems.push(`${path}.${key}: a failed trial has no ${key}`);
      if (!(typeof record.id === "number" && Number.isSafeInteger(record.id)))
        problems.push(`${path}.id: expected the id of the trial that failed`);
      if (problems.length === before) {
        const reason = record.failed === true ? undefined : (record.failed as string);
        failed.push({ path, id: record.id as number, reason });
      }
      return;
    }
    // false means what leaving it out means, for code that writes "pruned": was_pruned.
    const pruned = record.pruned !== undefined && record.pruned !== false;
    if (pruned && record.pruned !== true) problems.push(`${path}.pruned: expected true or false`);
    if (pruned && record.params !== undefined) {
      problems.push(`${path}.pruned: only an asked trial (an id) can be pruned`);
    }
    if (!(pruned && record.value === undefined) && !isFiniteNumber(record.value)) {
      problems.push(`${path}.value: expected a finite number${got(record.value)}`);
    }
    if (record.cost !== undefined && !isFiniteNumber(record.cost)) {
      problems.push(`${path}.cost: expected a finite number${got(record.cost)}`);
    }
    const hasId = record.id !== undefined;
    const hasParams = record.params !== undefined;
    if (hasId === hasParams) {
      problems.push(
        `${path}: expected exactly one of "id" (an asked trial) or "params" (a warm-start point)`,
      );
    } else if (hasId && !(typeof record.id === "number" && Number.isSafeInteger(record.id))) {
      problems.push(`${path}.id: expected a whole number`);
    } else if (hasParams && !isPlainObject(record.params)) {
      problems.push(`${path}.params: expected an object of parameter values`);
    }
    if (problems.length > before) return;
    toldAt.push(index);
    const value = record.value as number;
    const cost = record.cost === undefined ? {} : { cost: record.cost as number };
    if (pruned) {
      const stoppedAt = record.value === undefined ? {} : { value };
      results.push({ id: record.id as number, pruned: true, ...stoppedAt, ...cost });
      return;
    }
    results.push(
      hasId
        ? { id: record.id as number, value, ...cost }
        : { params: { ...(record.params as Record<string, ParamValue>) }, value, ...cost },
    );
  });
  if (items.length === 0) problems.push("results: expected at least one result");
  if (problems.length > 0) throw usageError(`arqon tell: invalid results: ${problems.join("; ")}`);
  return { told: results, toldAt, failed };
}

/**
 * `, got <what>` for a value given that is not the one expected (`got "nan"`, `got null`), as the
 * solver's own messages say; nothing for a key left out, which has no value to show.
 */
function got(value: unknown): string {
  return value === undefined ? "" : `, got ${shownValue(value)}`;
}

function isFiniteNumber(value: unknown): value is number {
  return typeof value === "number" && Number.isFinite(value);
}

/** An object of values; the solver checks each against its parameter (kind, range, choices). */
function isPlainObject(value: unknown): value is Record<string, ParamValue> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}
