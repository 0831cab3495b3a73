import type { Observable } from "rxjs";
import type { AuditEvent, CommandEvent } from "../audit/events.js";
import type { EngineConfig } from "../engine/config.js";
import type { Digest } from "../engine/digest.js";
import { createEngine } from "../engine/engine.js";
import { firstDifference } from "./compare.js";
import { digestToReplay } from "./digest-input.js";
import { type DecisionLogInput, readReplayLog } from "./read-log.js";
import { ReplayClock } from "./virtual-clock.js";

/**
 * What {@link replay} drives: the part of the `Engine` API that inputs and commands go through.
 * `createEngine` returns one; tests may wrap it.
 */
export interface ReplayEngine {
  readonly events: Observable<AuditEvent>;
  observe(digest: Digest): unknown;
  setBaseline(): void;
  rollback(reason?: string): boolean;
  halt?(reason: string): void;
  resetSafeMode?(options: { acknowledge: string }): boolean;
  flushEvents(): number;
  close(): Promise<void>;
}

/** Options of {@link replay}. */
export interface ReplayOptions {
  /** Logged events shown before a divergence (default 5). */
  readonly context?: number;
  /**
   * Changes to the logged config (e.g. another `seed`, to check that replay notices). The
   * scheduler is always replay's own virtual clock.
   */
  readonly override?: Partial<EngineConfig>;
  /** Builds the engine (default `createEngine`). */
  readonly createEngine?: (config: EngineConfig) => ReplayEngine;
}

/** The first place where the replayed engine did not do what the log says. */
export interface ReplayDivergence {
  /** Position of the record in the log (the header is 0). */
  readonly index: number;
  /** Audit sequence number of the logged event. */
  readonly seq: number;
  /** The first differing field (`"values.batchSize"`, `"type"`…), or why the record could not be replayed. */
  readonly reason: string;
  /** The logged event. */
  readonly expected: AuditEvent;
  /** What the replayed engine wrote with that sequence number (null when it wrote nothing). */
  readonly actual: AuditEvent | null;
  /** The logged events just before it, oldest first. */
  readonly context: readonly AuditEvent[];
}

/** Outcome of {@link replay}. */
export type ReplayResult =
  | { readonly ok: true /** Logged events compared (all identical). */; readonly records: number }
  | { readonly ok: false; readonly divergence: ReplayDivergence };

/**
 * Rebuilds the engine a decision log describes and checks that it decides exactly as logged.
 *
 * @param log - The log: a directory, the contents `readDecisionLog` returns, or its records (the
 * header first, then audit records as `auditLogRecord` writes them; bare audit events work too).
 *
 * @remarks
 * The engine is created from the header's config on a {@link ReplayClock} set to the header's
 * start time. Each logged input — a captured digest (`digest.accepted`, or `digest.rejected`
 * when it can be rebuilt) or a control `command` — is replayed at its logged time: the clock is
 * advanced to that time (running the timers due by then), then the digest is observed or the
 * command called through the API. Finally the clock runs to the last logged time. Every logged
 * event is then compared, in log order, with the event the replay wrote under the same sequence
 * number, field by field and bit for bit (`Object.is`; `runId` ignored): proposals, applies with
 * their values, violations, windows, decisions, steps and mode transitions. Events the log lacks
 * (dropped by a full ring) are skipped. The first difference is returned with its context.
 *
 * Deterministic; cold path (keeps every event in memory).
 *
 * @throws ReplayInputError when the log has no engine header.
 */
export async function replay(log: DecisionLogInput, options: ReplayOptions = {}): Promise<ReplayResult> {
  const { header, events, indices } = readReplayLog(log);
  const startTime = header.startTime;
  const clock = new ReplayClock(startTime);
  const config = { ...header.config, ...options.override, scheduler: clock } as EngineConfig;
  const engine = (options.createEngine ?? createEngine)(config);
  const produced = new Map<number, AuditEvent>();
  const subscription = engine.events.subscribe((event) => produced.set(event.seq, event));
  const unreplayable = new Map<number, string>();
  let lastTime = startTime;
  try {
    for (const event of events) {
      if (event.time > lastTime) lastTime = event.time;
      const input = inputOf(event, engine);
      if (input === undefined) continue;
      // Delivery is left to the engine's own scheduled drains, as in the logged run: draining
      // earlier would change how full the audit ring gets, which the safety layer watches.
      clock.advanceTo(event.time);
      if (typeof input === "string") unreplayable.set(event.seq, input);
      else input();
    }
    clock.advanceTo(lastTime);
    engine.flushEvents();
  } finally {
    subscription.unsubscribe();
    await engine.close();
  }
  const contextSize = options.context ?? 5;
  for (let k = 0; k < events.length; k++) {
    const expected = events[k]!;
    const actual = produced.get(expected.seq) ?? null;
    const reason =
      unreplayable.get(expected.seq) ??
      (actual === null
        ? "the replayed engine wrote no event with this seq"
        : firstDifference(expected, actual));
    if (reason === undefined) continue;
    return {
      ok: false,
      divergence: {
        index: indices[k]!,
        seq: expected.seq,
        reason,
        expected,
        actual,
        context: events.slice(Math.max(0, k - contextSize), k),
      },
    };
  }
  return { ok: true, records: events.length };
}

/**
 * What replaying `event` means: a call on the engine, a message when the input cannot be
 * rebuilt, or undefined when the event is an output to compare.
 */
function inputOf(event: AuditEvent, engine: ReplayEngine): (() => void) | string | undefined {
  switch (event.type) {
    case "digest.accepted":
    case "digest.rejected": {
      const digest = digestToReplay(event);
      return typeof digest === "string" ? digest : () => void engine.observe(digest as Digest);
    }
    case "command":
      return commandCall(event, engine);
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
      return halt === undefined ? "this engine has no halt()" : () => halt(note);
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
