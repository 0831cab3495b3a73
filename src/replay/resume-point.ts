/**
 * Where an engine restarted on a decision log can pick up: the values its last run had tuned to,
 * and the baseline in force, so that a deploy does not send every knob back to its `init`.
 */
import type { AuditEvent } from "../audit/events.js";
import { type EngineConfig, type ParamSpecInput, resolveEngineConfig } from "../engine/config.js";
import { hasDecisionLog } from "../log/segments.js";
import { ParamRegistry } from "../space/param-registry.js";
import {
  type DecisionLogInput,
  ReplayInputError,
  type ReplayLog,
  type ReplayRun,
  readReplayLog,
  readReplayLogAsync,
} from "./read-log.js";

/** What a decision log's last run ended on: see {@link resumePoint}. */
export interface ResumePoint {
  /** The run it was read from (the log's last, 1-based). */
  readonly run: number;
  /**
   * The values to start from: those the run's last centre, rollback or manual apply wrote (a
   * perturbation is a probe around the centre, not a tuned point), else the values the run
   * started from (its header's `init`s: a run that changed nothing resumes where it began).
   */
  readonly values: Readonly<Record<string, number>>;
  /** The generation of that run that made `values` live (0: the values it started from). */
  readonly generation: number;
  /**
   * The baseline in force when the run ended: the live values at its last `setBaseline`, else the
   * one it started with (each parameter's `baseline`, or its `init`). Undefined when the log no
   * longer tells (a compacted log whose records before the last `setBaseline`, or before the run's
   * first change, are gone, or some of those after it): {@link resumedConfig} then keeps the
   * config's own.
   */
  readonly baseline: Readonly<Record<string, number>> | undefined;
}

/**
 * Reads where the last run of the decision log in `log` ended: the values it had tuned to and the
 * baseline in force (see {@link ResumePoint}). Undefined when `log` is a directory that holds no
 * log yet (a first start), or when the log's last run records neither its values nor its start
 * (a log written before applies carried their values).
 *
 * @remarks
 * Cold path, for a restart: it reads the whole log and holds the caller's thread while it does
 * ({@link resumePointAsync} does not). Give the result to {@link resumedConfig} and the config it
 * returns to `createLoggedEngine` on the same directory: the new run's header records the values it
 * starts from, so replay rebuilds it as it ran.
 *
 * On a compacted log (see `compactDecisionLog`), the last tuned point left of the last run, with
 * that run's number: when no audit record of the run after it is gone, or when the log still tells
 * the generation the run ended on (its close marker) and each generation after the point's is a
 * perturbation left in the log. Never the run's start once records that may have changed its values
 * are gone.
 *
 * @throws LogError when the log directory is damaged or cannot be read; ReplayInputError when it is
 * not an engine's decision log, or when records of its last run are gone (a compacted log) and
 * none of those left says where it ended (`keep` 0, or only the close marker kept, say).
 */
export function resumePoint(log: DecisionLogInput): ResumePoint | undefined {
  if (typeof log === "string" && !hasDecisionLog(log)) return undefined;
  return resumePointOf(readReplayLog(log));
}

/** {@link resumePoint}, reading off the event loop's thread and in slices between which it turns. */
export async function resumePointAsync(log: DecisionLogInput): Promise<ResumePoint | undefined> {
  if (typeof log === "string" && !hasDecisionLog(log)) return undefined;
  return resumePointOf(await readReplayLogAsync(log));
}

/**
 * `config` starting from `point`: each parameter the point holds starts at its value (`init`)
 * with the point's baseline (`baseline`), both clamped into the parameter's current range, since
 * the bounds may have been narrowed since that run. A parameter the point does not hold (added
 * since) keeps its own `init` and `baseline`; the point's values for parameters the config no
 * longer has are left out. Without a point (a first start), `config` is returned as it is.
 *
 * @throws ConfigError when `config` is invalid, before anything is read from the point.
 */
export function resumedConfig<const N extends string>(
  config: EngineConfig<N>,
  point: ResumePoint | undefined,
): EngineConfig<N> {
  const registry = new ParamRegistry(resolveEngineConfig(config).params);
  if (point === undefined) return config;
  const params: Record<string, ParamSpecInput> = {};
  for (const [name, spec] of Object.entries<ParamSpecInput>(config.params)) {
    const value = point.values[name];
    if (value === undefined || !Number.isFinite(value)) {
      params[name] = spec;
      continue;
    }
    const i = registry.indexOf(name);
    const clamp = (x: number) => Math.min(registry.max[i]!, Math.max(registry.min[i]!, x));
    const baseline = point.baseline?.[name];
    params[name] = {
      ...spec,
      init: clamp(value),
      // The known-good point stays the operator's (the config's own, when the point has none),
      // never the tuned value resumed.
      baseline: clamp(baseline !== undefined && Number.isFinite(baseline) ? baseline : registry.baseline[i]!),
    };
  }
  return { ...config, params: params as EngineConfig<N>["params"] };
}

/** The resume point of a log already read. */
function resumePointOf(log: ReplayLog): ResumePoint | undefined {
  const run = log.runs.at(-1);
  if (run === undefined) return undefined;
  const { events, indices } = run;
  // Whether records of the run are gone after log position `from` (the run is the log's last).
  const goneAfter = (from: number) => removedAfter(run, log.lastSeq, from);
  // A run whose first audit records are gone (a compacted log, or a full audit ring that dropped
  // them) does not tell what happened before its first record left, nor does one with no audit
  // record left once any of its records were removed. Records removed between two left whose audit
  // seqs run on were no audit records (timings, say); a gap in the audit seqs where the log's own
  // seqs run on is a full ring's, where the last of what is left still stands.
  const startLost = events.length > 0 ? events[0]!.seq !== 1 : goneAfter(run.start);
  const auditGone = (k: number) =>
    removedBetween(run.logSeqs, indices[k - 1]!, indices[k]!) && events[k]!.seq !== events[k - 1]!.seq + 1;
  const start = startingPoint(run.header);
  let live: Readonly<Record<string, number>> | undefined = startLost ? undefined : start?.values;
  let baseline: Readonly<Record<string, number>> | undefined = startLost ? undefined : start?.baseline;
  // The run's last tuned point left (before any, its start: generation 0, its header's values), the
  // generations of the perturbations left after it, and whether audit records after it are gone.
  let tuned = { values: start?.values, generation: 0 };
  let probes = new Set<number>();
  let goneSinceTuned = startLost;
  let removedSome = startLost;
  for (let k = 0; k < events.length; k++) {
    const event = events[k]!;
    if (k > 0 && auditGone(k)) {
      // The records removed here may have held an apply or a setBaseline.
      live = undefined;
      baseline = undefined;
      goneSinceTuned = true;
      removedSome = true;
    }
    if (event.type === "apply" || event.type === "rollback") {
      // An apply written without its values (an old log) leaves the live values unknown.
      live = event.values;
      const { generation } = event;
      if (isTunedPoint(event)) {
        tuned = { values: event.values, generation };
        probes = new Set();
        goneSinceTuned = false;
      } else probes.add(generation);
    } else if (event.type === "baseline.set") {
      // An operator's setBaseline takes the live values, and its record leaves them out.
      baseline = event.values ?? live;
    }
  }
  // Records removed after the last audit record left may have held more (a setBaseline, say).
  const lastLost = goneAfter(indices.at(-1) ?? run.start);
  if (lastLost) baseline = undefined;
  // The tuned point is where the run ended when no audit record after it is gone, or when the log
  // tells the generation the run ended on (its close marker's, or its last record's when none
  // after it is gone) and each generation after the point's is a perturbation left in the log:
  // every apply and rollback raises the generation by exactly one, so no other change came after it.
  const ended = run.close?.generation ?? (lastLost ? undefined : events.at(-1)?.generation);
  const onlyProbesUpTo = (last: number) => {
    for (let g = tuned.generation + 1; g <= last; g++) if (!probes.has(g)) return false;
    return last >= tuned.generation;
  };
  const endedThere = !(goneSinceTuned || lastLost) || (ended !== undefined && onlyProbesUpTo(ended));
  if (tuned.values === undefined || !endedThere) {
    // Nothing is gone: an old log, whose last run records neither its values nor its start.
    if (!(removedSome || lastLost)) return undefined;
    const which = lastLost
      ? "its last records are gone"
      : startLost
        ? "its first records are gone"
        : "records of it were removed";
    throw new ReplayInputError(
      `cannot tell where run ${run.run} of the log ended: ${which} (a compacted log) and ` +
        "none of those left records a tuned point (a centre, rollback or manual apply with its values) " +
        "known to be the run's last; start from the config (resumedConfig(config, undefined))",
    );
  }
  return {
    run: run.run,
    values: { ...tuned.values },
    generation: tuned.generation,
    baseline: baseline === undefined ? undefined : { ...baseline },
  };
}

/**
 * Whether the log's own seqs show records removed between log positions `from` and `to` (a
 * compaction, an edit: the writer numbers records without gaps). False where the records carry no
 * log seqs (records given bare): nothing tells.
 */
function removedBetween(logSeqs: readonly (number | undefined)[], from: number, to: number): boolean {
  for (let i = from + 1; i <= to; i++) {
    const previous = logSeqs[i - 1];
    const seq = logSeqs[i];
    if (previous !== undefined && seq !== undefined && seq !== previous + 1) return true;
  }
  return false;
}

/**
 * Whether records of the log's last run were removed after log position `from`: its seqs jump
 * after it, or the log's last seq lies past its last record (a compaction dropped the log's last
 * records and kept their last seq).
 */
function removedAfter(run: ReplayRun, lastSeq: number | undefined, from: number): boolean {
  const end = run.logSeqs.length - 1;
  const lastRecordSeq = run.logSeqs[end];
  return (
    removedBetween(run.logSeqs, from, end) ||
    (lastSeq !== undefined && lastRecordSeq !== undefined && lastSeq > lastRecordSeq)
  );
}

/** A change that leaves the engine on a tuned point: not a perturbation around one. */
function isTunedPoint(event: AuditEvent): event is Extract<AuditEvent, { type: "apply" | "rollback" }> {
  if (event.type === "rollback") return true;
  return (
    event.type === "apply" &&
    (event.kind === "centre" || event.kind === "rollback" || event.kind === "manual")
  );
}

/**
 * The values and baseline a run started from (its generation 0), as its header's resolved config
 * records them; undefined for a header written before the resolved config was recorded.
 */
export function startingPoint(
  header: ReplayRun["header"],
): { values: Record<string, number>; baseline: Record<string, number> } | undefined {
  const params = header.resolved?.params as
    | Readonly<Record<string, { readonly init?: unknown; readonly baseline?: unknown }>>
    | undefined;
  if (params === undefined) return undefined;
  const values: Record<string, number> = {};
  const baseline: Record<string, number> = {};
  for (const name of header.names) {
    const { init, baseline: given } = params[name] ?? {};
    if (typeof init !== "number") return undefined;
    values[name] = init;
    baseline[name] = typeof given === "number" ? given : init;
  }
  return { values, baseline };
}
