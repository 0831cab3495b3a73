/**
 * What replaying a run does to its engine: the engine built from the run's header, and each logged
 * input turned into the call that made it.
 */

import type { SchedulerLike } from "rxjs";
import type { AuditEvent, CommandEvent } from "../audit/events.js";
import { withoutUndefinedKeys } from "../config-input.js";
import type { EngineConfig } from "../engine/config.js";
import type { Digest } from "../engine/digest.js";
import { createEngine } from "../engine/engine.js";
import { type HaltRestoring, RESTORE_HALT } from "../engine/restored-halt.js";
import {
  CLOSE_MARKER_LOG_VERSION,
  type EngineLogHeader,
  type LoggedRepair,
  type TimeRecord,
} from "../log/log-records.js";
import { digestToReplay } from "./digest-input.js";
import { withLegacyDefaults, withRecordedDefaults } from "./legacy-defaults.js";
import type { GenerationRange } from "./read-log.js";
import type { MissingRecords, ReplayEngine, ReplayOptions, ReplayRunResult } from "./replay.js";
import type { Unfired } from "./scripted-clock.js";

/** What replaying a run logged with `captureDigests: false` says. */
export const NO_DIGESTS_MESSAGE =
  "this run was logged with captureDigests: false: its windows counted digests the log does not hold, the inputs replay needs, so it cannot be replayed";

/** Whether the run's engine captured its digests (recorded options, else the pinned defaults). */
export function capturedDigests(header: EngineLogHeader): boolean {
  const options = header.resolved ?? withLegacyDefaults(header.config);
  return (options as { readonly captureDigests?: unknown }).captureDigests !== false;
}

/**
 * The engine that replays a run: built from the resolved options its header records (or the
 * config it gives, with the pinned legacy defaults), with `hooks` in place of the logged engine's
 * audit sink and command hook, `options.override` merged in, and `clock` as its scheduler.
 */
export function replayEngine(
  header: EngineLogHeader,
  options: ReplayOptions,
  hooks: { readonly auditSink?: () => void; readonly onCommand?: () => void },
  clock: SchedulerLike,
): ReplayEngine {
  const recorded = header.resolved;
  // An override key set to undefined leaves the logged value alone (it means "not given"), and an
  // override of a nested option changes that option only: the rest stays as logged.
  const config: EngineConfig = {
    ...(mergeOverride(
      {
        ...(recorded === undefined ? withLegacyDefaults(header.config) : withRecordedDefaults(recorded)),
        ...hooks,
      },
      withoutUndefinedKeys(options.override ?? {}),
    ) as unknown as EngineConfig),
    scheduler: clock,
  };
  return (options.createEngine ?? createEngine)(config);
}

/** Whether `value` is an object literal (prototype `Object.prototype` or `null`). */
function isPlainObject(value: unknown): value is Readonly<Record<string, unknown>> {
  if (typeof value !== "object" || value === null) return false;
  const proto: unknown = Object.getPrototypeOf(value);
  return proto === Object.prototype || proto === null;
}

/**
 * `base` with `override` merged in: a plain object of the override merges into the plain object
 * it overrides, key by key and at every depth; anything else (a number, a string, an array, a
 * function, a class instance) replaces what it overrides. Neither input is modified.
 */
function mergeOverride(
  base: Readonly<Record<string, unknown>>,
  override: Readonly<Record<string, unknown>>,
): Record<string, unknown> {
  const merged: Record<string, unknown> = { ...base };
  for (const [key, value] of Object.entries(override)) {
    if (value === undefined) continue; // "not given", at every depth
    const under = Object.hasOwn(merged, key) ? merged[key] : undefined;
    const next = isPlainObject(value) && isPlainObject(under) ? mergeOverride(under, value) : value;
    // Defined, not assigned: a key named "__proto__" stays a key.
    Object.defineProperty(merged, key, { value: next, enumerable: true, writable: true, configurable: true });
  }
  return merged;
}

/** Whether replay feeds `event` to the engine (a digest or a command) rather than compares it. */
export function isInput(event: AuditEvent): boolean {
  return event.type === "digest.accepted" || event.type === "digest.rejected" || event.type === "command";
}

/**
 * What replaying `event` means: a call on the engine, a message when the input cannot be
 * rebuilt, or undefined when the event is an output to compare.
 */
export function inputOf(
  event: AuditEvent,
  engine: ReplayEngine,
  refused: ReadonlySet<number>,
): (() => void) | string | undefined {
  switch (event.type) {
    case "digest.accepted":
    case "digest.rejected": {
      const digest = digestToReplay(event);
      return typeof digest === "string" ? digest : () => void engine.observe(digest.digest as Digest);
    }
    case "command": {
      const call = commandCall(event, engine);
      if (typeof call === "string" || !refused.has(event.seq)) return call;
      // Refused in the logged run, so refused here too (by the command hook): it throws, as it did.
      return () => {
        try {
          call();
        } catch {}
      };
    }
    default:
      return undefined;
  }
}

function commandCall(event: CommandEvent, engine: ReplayEngine): (() => void) | string {
  const note = event.note ?? "";
  switch (event.command) {
    case "setBaseline":
      return () => engine.setBaseline();
    case "rollback":
      return () => void (event.note === undefined ? engine.rollback() : engine.rollback(event.note));
    case "halt": {
      const halt = engine.halt?.bind(engine);
      if (halt === undefined) return "this engine has no halt()";
      const restores = event.restores;
      if (restores === undefined) return () => halt(note);
      const restoring = (engine as Partial<HaltRestoring>)[RESTORE_HALT];
      return typeof restoring === "function"
        ? () => restoring.call(engine, note, restores)
        : "this engine cannot restore a halt's reasons";
    }
    case "resetSafeMode": {
      const reset = engine.resetSafeMode?.bind(engine);
      return reset === undefined
        ? "this engine has no resetSafeMode()"
        : () => void reset({ acknowledge: note });
    }
    default:
      return `a "${event.command}" command cannot be replayed`;
  }
}

/**
 * The commands a logged run refused (each `command` record followed by its `command.refused`), taken
 * from the run's events in log order: their seqs, and a command hook for the replaying engine that
 * refuses the same ones, in order, with the logged reason, so that it writes the same records and
 * takes no more effect than they did. A command's refusal is logged before any later input, so it
 * is known by the time the replay reaches the next input.
 */
export class CommandRefusals {
  /** The seqs of the commands refused. */
  readonly seqs = new Set<number>();
  // The reason of each refused command, by its place among the run's commands.
  private readonly reasons = new Map<number, string>();
  private commands = 0;
  private lastCommandSeq = -1;
  private made = 0;

  /** Takes the run's next logged event. */
  take(event: AuditEvent): void {
    if (event.type === "command") {
      this.lastCommandSeq = event.seq;
      this.commands++;
    } else if (event.type === "command.refused" && this.lastCommandSeq >= 0) {
      this.seqs.add(this.lastCommandSeq);
      this.reasons.set(this.commands - 1, event.note ?? "");
    }
  }

  /** The replaying engine's command hook: throws the logged reason for a command that was refused. */
  readonly onCommand = (): void => {
    const reason = this.reasons.get(this.made++);
    if (reason !== undefined) throw new Error(reason);
  };
}

/** Why the replay could not run the timer of a logged `timing` (see `ScriptedClock.fire`). */
export function unfiredReason(timing: TimeRecord, unfired: Unfired): string {
  const ran = `the logged run ran timer ${timing.id} at t=${timing.time} ms`;
  if (unfired.kind === "missing") return `${ran}, which the replay has not scheduled (or cancelled)`;
  const other = "so it is another timer (the replay scheduled its timers in another order)";
  return `${ran}, after audit record ${timing.after}, but the replay scheduled its timer ${timing.id} after record ${unfired.scheduledAfter}, ${other}`;
}

/** What a run's result tells of the run itself, whatever its replay gave. */
export type RunAbout = Pick<
  ReplayRunResult,
  "run" | "start" | "generations" | "closed" | "records" | "dropped" | "options" | "rules" | "repair"
>;

/** The part of a run's result that the log alone tells (see `ReplayRunResult`). */
export function runAbout(run: {
  readonly run: number;
  readonly start: number;
  readonly header: EngineLogHeader;
  readonly repair: LoggedRepair | undefined;
  readonly generations: GenerationRange | undefined;
  /** Whether the run ends with its close marker. */
  readonly closed: boolean;
  /** The run's logged audit events. */
  readonly records: number;
  readonly dropped: readonly MissingRecords[];
}): RunAbout {
  const { header, repair } = run;
  return {
    run: run.run,
    start: run.start,
    generations: run.generations,
    // A log written before close markers cannot tell a closed run from one cut short.
    closed: (header.logVersion ?? 0) >= CLOSE_MARKER_LOG_VERSION ? run.closed : null,
    records: run.records,
    dropped: run.dropped,
    options: header.resolved === undefined ? "pinned" : "recorded",
    rules: header.rules ?? null,
    ...(repair === undefined ? {} : { repair }),
  };
}
