import type {
  ApplyEvent,
  AuditEvent,
  CommandEvent,
  CommandRefusedEvent,
  DecisionEvent,
  DecisionStepEvent,
  DigestAcceptedEvent,
  HomeostasisRecallEvent,
  HomeostasisRefutedEvent,
  ModeChangedEvent,
  RegimeShiftEvent,
  RollbackEvent,
  ViolationEvent,
  WindowClosedEvent,
} from "../audit/events.js";
import { startingPoint } from "../log/last-run-end.js";
import type { EngineLogHeader } from "../log/log-records.js";
import { LogRunSplitter, type RunSink } from "../log/log-runs.js";
import { shownValue } from "../shown-value.js";
import {
  type DecisionLogInput,
  describeGenerations,
  feedLog,
  type GenerationRange,
  ReplayInputError,
  readAgainIfCompactedNow,
} from "./read-log.js";
import { checkReaderOptions } from "./reader-options.js";
import { ReplayRunError } from "./run-choice.js";

/** Options of {@link explain}. */
export interface ExplainOptions {
  /**
   * The run of a continued log to look in (1-based, as {@link replay} numbers them). Default: the
   * last run in which an apply or rollback created the generation.
   */
  readonly run?: number;
}

/** What a measured window was for, in the chain that led to a generation. */
export type WindowRole = "plus" | "minus" | "measured";

/**
 * What a window aggregated: each digest's objective, or its negated constraint margin
 * (−constraintMargin, ≤ 0 feasible) while the engine sought feasibility (constraint-first mode).
 */
export type WindowMeasure = "objective" | "negatedMargin" | "mixed";

/** One evaluation window in an {@link Explanation}, with the digests that fed it. */
export interface ExplainedWindow {
  /** "plus" / "minus": the SPSA perturbation it measured; "measured": the point live before the change. */
  readonly role: WindowRole;
  /** Generation it measured. */
  readonly generation: number;
  /** The apply that made that generation live (absent for the engine's initial values). */
  readonly apply: ApplyEvent | RollbackEvent | undefined;
  /** The closed window. */
  readonly window: WindowClosedEvent;
  /** The captured digests it aggregated (empty when digest capture was off). */
  readonly digests: readonly DigestAcceptedEvent[];
  /**
   * What it measured: `"negatedMargin"` or `"mixed"` (objectives, then −margins from the first
   * negative margin on: the engine turned to feasibility while it was open) when its record says
   * so (`window.closed`'s `negatedMargin`, `mixedMeasure`), else `"objective"` (always, for a log
   * written before schema 6).
   */
  readonly measure: WindowMeasure;
  /** What each of `digests` gave it: its objective, or −constraintMargin (see `measure`). */
  readonly values: readonly number[];
}

/** The chain of records that produced one generation of the live values. */
export interface Explanation {
  /** The generation explained. */
  readonly generation: number;
  /** The run of the log it belongs to (1-based; generations restart with each run). */
  readonly run: number;
  /**
   * How many runs the log holds: the number of its last run (runs a compaction removed whole
   * count, as the log numbers the runs left after them).
   */
  readonly runCount: number;
  /**
   * Engine-clock ms when the run's engine was created (its header's `startTime`): epoch ms on a
   * wall clock, whatever the scheduler counted from on a virtual one.
   */
  readonly startTime: number;
  /** The record that created it: an apply (plus, minus, centre, manual…) or a rollback. */
  readonly change: ApplyEvent | RollbackEvent;
  /**
   * Values before the change: those the previous apply or rollback wrote, or, for the run's first
   * change, the values it started from (its header's resolved config); undefined when the log does
   * not hold them.
   */
  readonly previousValues: Readonly<Record<string, number>> | undefined;
  /** Values the change wrote (when the log has them). */
  readonly values: Readonly<Record<string, number>> | undefined;
  /** The gradient estimate behind a centre apply. */
  readonly decision: DecisionEvent | undefined;
  /**
   * What the decision's y⁺ and y⁻ measured: the measure of the plus and minus windows that fed it
   * (negated constraint margins in constraint-first mode); undefined without a decision.
   */
  readonly decisionMeasure: WindowMeasure | undefined;
  /** The step behind a centre apply. */
  readonly step: DecisionStepEvent | undefined;
  /** The windows that fed the change, with their digests. */
  readonly windows: readonly ExplainedWindow[];
  /** Tier-1 refusals between the previous change and this one. */
  readonly violations: readonly ViolationEvent[];
  /** Control commands between the previous change and this one. */
  readonly commands: readonly CommandEvent[];
  /** Commands refused after their record was written (each right after its command): no effect. */
  readonly refusedCommands: readonly CommandRefusedEvent[];
  /** SafeMode transitions between the previous change and this one. */
  readonly modeChanges: readonly ModeChangedEvent[];
  /** The regime detector's verdicts between the previous change and this one (a caused one precedes its rollback). */
  readonly regimeShifts: readonly RegimeShiftEvent[];
  /** Warm starts towards a remembered regime between the previous change and this one. */
  readonly recalls: readonly HomeostasisRecallEvent[];
  /** Warm starts stopped between the previous change and this one: the objective refuted the recall. */
  readonly refutedRecalls: readonly HomeostasisRefutedEvent[];
}

type Change = ApplyEvent | RollbackEvent;

const isChange = (e: AuditEvent): e is Change => e.type === "apply" || e.type === "rollback";

/**
 * The generations each run's applies and rollbacks created, the ones {@link explain} takes:
 * `run 1: generations 1–57; run 2: no generation`.
 */
function describeCreated(
  created: readonly { readonly run: number; readonly range: GenerationRange | undefined }[],
): string {
  return created
    .map(
      ({ run, range }) => `run ${run}: ${range === undefined ? "no generation" : describeGenerations(range)}`,
    )
    .join("; ");
}

/**
 * Explains how generation `generation` came about: the windows (and their digests) whose values
 * fed the decision, the gradient estimate and step, the Tier-1 outcome and the values written.
 *
 * @remarks
 * Cold path; reads the whole log, a segment at a time, and holds of each run only the records
 * since the window before its last two changes (what explaining its next change takes). For a
 * centre apply the windows are those measured under the
 * iteration's plus and minus generations; for any other change, the windows measured under the
 * generation before it. A log continued after a restart holds several runs, and each restarted
 * engine numbers its generations from its own start, so a generation can appear in more than one
 * run: the last run that created it is explained unless `options.run` names one. Only records of
 * that run are used.
 *
 * @throws ReplayInputError when `generation` is not a whole number ≥ 0, `options` holds a key
 * other than `run`, the log has no engine header, or no apply/rollback created
 * `generation` (in `options.run`, or in any run): the message lists the runs and the generations
 * their applies and rollbacks created (generation 0, a run's initial values, is never one).
 * `ReplayRunError` (a ReplayInputError) when `options.run` names no run of the log.
 */
export function explain(
  log: DecisionLogInput,
  generation: number,
  options: ExplainOptions = {},
): Explanation {
  checkReaderOptions("explain", options, ["run"] satisfies (keyof ExplainOptions)[]);
  if (!(typeof generation === "number" && Number.isSafeInteger(generation) && generation >= 0))
    throw new ReplayInputError(
      `explain: generation must be a whole number ≥ 0, got ${shownValue(generation)}`,
    );
  return readAgainIfCompactedNow(log, () => {
    const finder = new ChangeFinder(generation, options.run);
    const splitter = new LogRunSplitter(finder);
    feedLog(log, (record) => splitter.take(record));
    splitter.end();
    return finder.explanation();
  });
}

/**
 * Looks through a log's runs, as their records come, for the change that created a generation,
 * and explains it from the records around it.
 */
class ChangeFinder implements RunSink {
  private readonly created: { readonly run: number; range: { first: number; last: number } | undefined }[] =
    [];
  private current: RunRecords | undefined;
  // The run that created the generation last, its records up to the change.
  private found: RunRecords | undefined;

  constructor(
    private readonly generation: number,
    private readonly chosenRun: number | undefined,
  ) {}

  record(): void {}

  startRun(run: number, _start: number, header: EngineLogHeader): void {
    this.created.push({ run, range: undefined });
    this.current =
      this.chosenRun === undefined || run === this.chosenRun ? new RunRecords(run, header) : undefined;
  }

  event(event: AuditEvent): void {
    if (isChange(event)) {
      const created = this.created.at(-1)!;
      const range = created.range;
      created.range = {
        first: Math.min(range?.first ?? event.generation, event.generation),
        last: Math.max(range?.last ?? event.generation, event.generation),
      };
    }
    const run = this.current;
    if (run === undefined) return;
    run.take(event);
    if (isChange(event) && event.generation === this.generation) {
      // The run's first change to create it; a later run that creates it too is explained instead.
      this.found = run;
      this.current = undefined;
    } else if (isChange(event)) run.changed();
  }

  timing(): void {}

  close(): void {}

  failure(): void {}

  /** The explanation found, once the whole log has been read. */
  explanation(): Explanation {
    const first = this.created[0]?.run ?? 1;
    const last = this.created.at(-1)?.run ?? 0;
    const chosen = this.chosenRun;
    if (chosen !== undefined && !(Number.isInteger(chosen) && chosen >= first && chosen <= last))
      throw new ReplayRunError(chosen, last, "options.run", first);
    if (this.found === undefined) {
      const where = chosen === undefined ? "the log" : `run ${chosen} of the log`;
      // Generation 0 is where a run starts: only generations an apply or rollback created are listed.
      const initial = this.generation === 0 ? " (a run's initial values)" : "";
      throw new ReplayInputError(
        `no apply or rollback in ${where} created generation ${this.generation}${initial}; applies and rollbacks created ${describeCreated(this.created)}`,
      );
    }
    return { ...explainChange(this.found, this.generation), runCount: last };
  }
}

/**
 * A run's audit events from the window that closed last before its second-to-last change (or from
 * its start): all that explaining a change arriving now reads. The windows measured under the
 * generations of its last two changes closed after them, and each took the digests accepted after
 * the window before it.
 */
class RunRecords {
  events: AuditEvent[] = [];
  /**
   * Whether the run's events so far are all in the log: their seqs run 1, 2, 3… A compacted log
   * (which keeps only its last records), a record removed or one the full ring dropped leaves a
   * gap, and then no earlier change is known not to lie in it.
   */
  whole = true;
  private taken = 0;
  // Where in `events` the last window closed, and the last window before the run's last change (-1: none).
  private lastWindow = -1;
  private windowBeforeLastChange = -1;

  constructor(
    readonly run: number,
    readonly header: EngineLogHeader,
  ) {}

  take(event: AuditEvent): void {
    if (event.seq !== ++this.taken) this.whole = false;
    if (event.type === "window.closed") this.lastWindow = this.events.length;
    this.events.push(event);
  }

  /**
   * The event just taken is a change, not the one looked for: what lies before the window before
   * the change before it goes (a change arriving later has this one and that one as its last two).
   */
  changed(): void {
    const keepFrom = this.windowBeforeLastChange;
    this.windowBeforeLastChange = this.lastWindow;
    if (keepFrom <= 0) return;
    this.events = this.events.slice(keepFrom);
    this.lastWindow -= keepFrom;
    this.windowBeforeLastChange -= keepFrom;
  }
}

/** Explains the change that is the last event `run` took (see {@link explain}); `runCount` is set by the caller. */
function explainChange(records: RunRecords, generation: number): Explanation {
  const { events, header } = records;
  const at = events.length - 1;
  const change = events[at] as Change;
  const changes = events.slice(0, at).filter(isChange);
  const previous = changes.at(-1);
  const since = previous === undefined ? 0 : events.indexOf(previous) + 1;
  const span = events.slice(since, at + 1);
  const decision = change.type === "apply" && change.kind === "centre" ? lastOf(span, "decision") : undefined;
  const step = decision === undefined ? undefined : lastOf(span, "decision.step");

  const windows: ExplainedWindow[] = [];
  // A window holds the last `count` values accepted while it was open: digests of its generation
  // after the window that closed before it (a window that closes and the next one that opens in
  // the same millisecond cannot be told apart by time) and not before it opened.
  const measure = (role: WindowRole, measured: number, apply: Change | undefined) => {
    let afterPrevious = 0;
    for (let k = 0; k < at; k++) {
      const window = events[k]!;
      if (window.type !== "window.closed") continue;
      const from = afterPrevious;
      afterPrevious = k + 1;
      if (window.generation !== measured || window.count === 0) continue;
      const measure: WindowMeasure =
        window.mixedMeasure === true
          ? "mixed"
          : window.negatedMargin === true
            ? "negatedMargin"
            : "objective";
      // Each digest as the window took it: its objective until the engine sought feasibility (in a
      // mixed window, from the first negative margin on), then −margin; a digest without a margin
      // fed no window measuring the margin.
      let onMargin = measure === "negatedMargin";
      const fed: { digest: DigestAcceptedEvent; value: number }[] = [];
      for (let i = from; i < k; i++) {
        const e = events[i]!;
        if (e.type !== "digest.accepted" || e.digestGeneration > measured || e.time < window.openedAt)
          continue;
        // An earlier generation's digest fed this window only across a rollback that kept it open
        // (a paused cycle's window); the digest that caused an automatic rollback fed none.
        const next = events[i + 1];
        if (next?.type === "rollback" && next.time === e.time && next.reason !== "manual") continue;
        if (measure === "mixed" && !onMargin && e.constraintMargin !== undefined && e.constraintMargin < 0)
          onMargin = true;
        if (!onMargin) fed.push({ digest: e, value: e.objective });
        else if (e.constraintMargin !== undefined) fed.push({ digest: e, value: -e.constraintMargin });
      }
      const kept = fed.slice(-window.count);
      const digests = kept.map((f) => f.digest);
      const values = kept.map((f) => f.value);
      windows.push({ role, generation: measured, apply, window, digests, measure, values });
    }
  };
  const minus = previous?.type === "apply" && previous.kind === "minus" ? previous : undefined;
  const plusCandidate = changes.at(-2);
  const plus = plusCandidate?.type === "apply" && plusCandidate.kind === "plus" ? plusCandidate : undefined;
  if (decision !== undefined && plus !== undefined && minus !== undefined) {
    measure("plus", plus.generation, plus);
    measure("minus", minus.generation, minus);
  } else {
    measure("measured", generation - 1, previous);
  }
  return {
    generation,
    run: records.run,
    // Known once the whole log is read: set by the caller.
    runCount: records.run,
    startTime: header.startTime,
    change,
    previousValues:
      previous !== undefined ? previous.values : records.whole ? startingPoint(header)?.values : undefined,
    values: change.values,
    decision,
    // y± are the values of the last plus and minus windows, measured alike (a switch of measure
    // restarts the iteration): the last window's measure is the decision's.
    decisionMeasure: decision === undefined ? undefined : (windows.at(-1)?.measure ?? "objective"),
    step,
    windows,
    violations: span.filter((e): e is ViolationEvent => e.type === "violation"),
    commands: span.filter((e): e is CommandEvent => e.type === "command"),
    refusedCommands: span.filter((e): e is CommandRefusedEvent => e.type === "command.refused"),
    modeChanges: span.filter((e): e is ModeChangedEvent => e.type === "mode.changed"),
    regimeShifts: span.filter((e): e is RegimeShiftEvent => e.type === "regime.shift"),
    recalls: span.filter((e): e is HomeostasisRecallEvent => e.type === "homeostasis.recall"),
    refutedRecalls: span.filter((e): e is HomeostasisRefutedEvent => e.type === "homeostasis.refuted"),
  };
}

function lastOf<T extends AuditEvent["type"]>(
  events: readonly AuditEvent[],
  type: T,
): Extract<AuditEvent, { type: T }> | undefined {
  for (let k = events.length - 1; k >= 0; k--) {
    const e = events[k]!;
    if (e.type === type) return e as Extract<AuditEvent, { type: T }>;
  }
  return undefined;
}

const num = (x: number) => (Number.isInteger(x) ? String(x) : x.toPrecision(6).replace(/\.?0+$/, ""));

function vector(values: Readonly<Record<string, number>>): string {
  return Object.entries(values)
    .map(([name, x]) => `${name} ${num(x)}`)
    .join(", ");
}

/** One line saying what the regime detector concluded and what the engine did about it. */
function regimeLine(r: RegimeShiftEvent, at: (time: number) => string): string {
  const seen = `rise of ${num(r.sigmas)}σ seen at ${r.kinds.join(", ") || "no point"}, centre moved ${num(r.displacement)} maxDeltas since its onset`;
  if (r.verdict === "exogenous")
    return `regime: environment shift (${seen}) at ${at(r.time)}: followed, gain re-opened, not rolled back`;
  if (r.verdict === "caused")
    return `regime: regression caused by the tuner (${seen}) at ${at(r.time)}: the governor's trip rolls it back`;
  return `regime: ${r.verdict} (${seen}) at ${at(r.time)}`;
}

/** Engine times at or after 2000-01-01 are taken as wall-clock epoch ms; earlier ones as a virtual clock's. */
const WALL_CLOCK_FROM = Date.UTC(2000, 0, 1);

/** Seconds since the run started, to the millisecond: `+12.345 s`. */
function sinceStart(start: number): (time: number) => string {
  return (time) => {
    const seconds = (time - start) / 1000;
    return `${seconds < 0 ? "−" : "+"}${Math.abs(seconds).toFixed(3)} s`;
  };
}

/** When the run started: its date on a wall clock, its engine time on a virtual one. */
function startLine(start: number): string {
  const when =
    Number.isFinite(start) && start >= WALL_CLOCK_FROM && start <= 8.64e15
      ? new Date(start).toISOString()
      : `engine time ${num(start)} ms (a virtual clock, not a date)`;
  return `  times: seconds since the run started, at ${when}`;
}

/**
 * A plain-text rendering of an {@link Explanation}, one fact per line; the first line names the
 * run when the log holds more than one. Times are seconds since the run started (`+1.250 s`); the
 * second line says when that was (a date on a wall clock). The structured explanation keeps the
 * engine-clock ms.
 */
export function renderExplanation(x: Explanation): string {
  const c = x.change;
  const at = sinceStart(x.startTime);
  const what = c.type === "apply" ? `apply "${c.kind}"` : `rollback (${c.reason})`;
  const inRun = x.runCount > 1 ? ` (run ${x.run} of ${x.runCount})` : "";
  const lines = [
    `generation ${x.generation}${inRun}: ${what}, proposal ${c.proposalId}, at ${at(c.time)}${c.note === undefined ? "" : ` — ${JSON.stringify(c.note)}`}`,
    startLine(x.startTime),
  ];
  if (x.values !== undefined) {
    const before = x.previousValues;
    lines.push(
      `  values: ${Object.entries(x.values)
        .map(([name, v]) =>
          before?.[name] === undefined ? `${name} ${num(v)}` : `${name} ${num(before[name])} → ${num(v)}`,
        )
        .join(", ")}`,
    );
  } else lines.push("  values: not in the log (written without values)");
  // A refusal follows its command's record (the latest command before it): that command took no effect.
  const refusals = new Map<number, CommandRefusedEvent>();
  for (const r of x.refusedCommands) {
    const command = x.commands.findLast((c) => c.seq < r.seq);
    if (command !== undefined) refusals.set(command.seq, r);
  }
  for (const command of x.commands) {
    const refusal = refusals.get(command.seq);
    lines.push(
      `  command: ${command.command}${command.note === undefined ? "" : ` ${JSON.stringify(command.note)}`} at ${at(command.time)}` +
        (command.restores === undefined ? "" : ` (restores ${command.restores.join(", ")})`) +
        (refusal === undefined ? "" : ` (refused, took no effect: ${refusal.note ?? "no reason given"})`),
    );
  }
  for (const r of x.regimeShifts) lines.push(`  ${regimeLine(r, at)}`);
  for (const h of x.recalls)
    lines.push(
      `  homeostasis: warm start towards remembered regime ${h.entry} (level ${num(h.level)}, recalled ${h.hits} time${h.hits === 1 ? "" : "s"}), ` +
        `${num(h.distance)} maxDeltas away, at ${at(h.time)}: ${vector(h.target)}`,
    );
  for (const r of x.refutedRecalls)
    lines.push(
      `  homeostasis: warm start towards remembered regime ${r.entry} stopped (${r.recall}): the objective fell ` +
        `${num(r.fall)} where a return predicted ${num(r.predictedFall)}, at ${at(r.time)}`,
    );
  for (const m of x.modeChanges)
    lines.push(`  mode: ${m.from} → ${m.to} (${m.reasons.join(", ") || "no reason"}) at ${at(m.time)}`);
  if (x.windows.length === 0) lines.push("  windows: none closed");
  for (const w of x.windows) {
    const margin = w.measure === "negatedMargin";
    const mixed = w.measure === "mixed";
    const kind = margin ? "−margins" : mixed ? "objectives, then −margins" : "digests";
    const digests =
      w.digests.length === 0 ? "digests not captured" : `${kind} [${w.values.map(num).join(", ")}]`;
    const label = margin
      ? ", negated constraint margin"
      : mixed
        ? ", objective then negated constraint margin: the engine turned to feasibility in it"
        : "";
    lines.push(
      `  window (${w.role}, generation ${w.generation}${label}): ` +
        `${w.window.count} values, ${digests} → ${num(w.window.value)}, ` +
        `from ${at(w.window.openedAt)} to ${at(w.window.time)}${w.window.timedOut ? " (timed out)" : ""}`,
    );
  }
  if (x.decision !== undefined) {
    const d = x.decision;
    const margins =
      x.decisionMeasure === "negatedMargin" ? " (negated constraint margins, not objectives)" : "";
    lines.push(
      `  decision: iteration ${d.iteration} (${d.outcome}), y+ ${num(d.yPlus)}, y− ${num(d.yMinus)}${margins}`,
    );
    // Read with the step line below: a perturbation is c_k capped at half the parameter's move
    // budget, and the step follows the smoothed estimate, so neither is a_k·ĝ with c_k.
    lines.push(
      `  gradient estimate ĝ (unit cube; each perturbation c_k, at most half its move budget): ${vector(d.gradient)}`,
    );
  }
  if (x.step !== undefined) {
    const s = x.step;
    // A feasibility step (its windows measured negated margins) has no a_k: `a` is the fraction of
    // each parameter's room it moved.
    const gain =
      x.decisionMeasure === "negatedMargin"
        ? `feasibility step, ${num(s.a)} of each parameter's room`
        : `a_k ${num(s.a)}`;
    const rule =
      x.decisionMeasure === "negatedMargin"
        ? ""
        : " (−a_k × ĝ smoothed by spsa.smoothing, each within its move budget less its perturbation)";
    lines.push(`  step: ${gain}, c_k ${num(s.c)}, ${s.clipped} clipped: ${vector(s.step)}${rule}`);
  }
  for (const v of x.violations)
    lines.push(
      `  Tier 1 refused proposal ${v.proposalId}: ${v.violation}${v.paramName === undefined ? "" : ` on ${v.paramName}`} (${num(v.value)} vs limit ${num(v.limit)})`,
    );
  lines.push(`  Tier 1 accepted it: generation ${x.generation - 1} → ${x.generation}`);
  return `${lines.join("\n")}\n`;
}
