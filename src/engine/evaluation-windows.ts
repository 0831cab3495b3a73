import type { OperatorFunction, SchedulerLike, Subscription } from "rxjs";
import { asyncScheduler, Observable } from "rxjs";
import { MAX_TIMER_MS } from "../../machines/timer-limit.js";
import { type Aggregation, aggregate } from "./aggregate.js";

/** Commands that drive {@link evaluationWindows}: open a fresh window, or drop the open one. */
export type WindowControl = "open" | "discard";

/** One closed evaluation window, emitted by {@link evaluationWindows}. */
export interface WindowResult {
  /** Ordinal of the "open" command that started this window (1-based; replaced and discarded windows use numbers too). */
  readonly seq: number;
  /** How many values the window held when it closed. */
  readonly count: number;
  /** The aggregate of those values; NaN when the window timed out empty. */
  readonly value: number;
  /** True when the time limit closed the window, false when it filled up. */
  readonly timedOut: boolean;
  /** Scheduler time (ms) of the "open" command. */
  readonly openedAt: number;
  /** Scheduler time (ms) at which the window closed. */
  readonly closedAt: number;
}

/**
 * Counters kept by {@link evaluationWindows}; pass your own object to read them.
 *
 * @remarks
 * Plain mutable numbers, updated in place without allocation. One object may be shared by
 * several subscriptions, which then add up.
 */
export interface EvaluationWindowStats {
  /** "open" commands honoured. */
  opened: number;
  /** Windows closed because they held `count` values. */
  filled: number;
  /** Windows closed by their time limit (empty ones included). */
  timedOut: number;
  /** Open windows dropped by a "discard" command. */
  discarded: number;
  /** Open windows dropped because a new "open" replaced them. */
  replaced: number;
  /** Values that arrived while no window was open, and were ignored. */
  dropped: number;
}

/** A zeroed {@link EvaluationWindowStats}. */
export function createWindowStats(): EvaluationWindowStats {
  return { opened: 0, filled: 0, timedOut: 0, discarded: 0, replaced: 0, dropped: 0 };
}

/** Options of {@link evaluationWindows}. */
export interface EvaluationWindowOptions {
  /** A window closes as soon as it holds this many values (a positive integer). */
  readonly count: number;
  /** A window closes this long (ms, > 0) after it opened, whatever it holds; omit for count-only windows. */
  readonly ms?: number;
  /** How the values of a window are reduced to one (see {@link aggregate}). */
  readonly aggregation: Aggregation;
  /** Trim fraction for `"trimmed-mean"` (see {@link aggregate}). */
  readonly trim: number;
  /** Clock and timer source; default `asyncScheduler` (virtual time inside `TestScheduler.run`). */
  readonly scheduler?: SchedulerLike;
  /** Counters to update; a private object is used when omitted. */
  readonly stats?: EvaluationWindowStats;
}

/**
 * Collects accepted objective values into evaluation windows that close after `count` values or
 * `ms` milliseconds, whichever comes first, and emits each closed window's aggregate.
 *
 * <span class="informal">Windows are opened on command, not continuously: the engine opens one
 * after each apply, so every window measures exactly one live configuration.</span>
 *
 * No window is open until `control` emits `"open"`. Each `"open"` starts a fresh window at
 * `scheduler.now()` (dropping a window that was still open) and, when `ms` is set, schedules its
 * time limit on `scheduler`. Values that arrive while no window is open are ignored and counted in
 * `stats.dropped`. A window closes when it holds `count` values (`timedOut: false`, its timer is
 * cancelled) or when `ms` elapses (`timedOut: true`, with whatever it holds; `value` is NaN when it
 * is empty). After a close no window is open until the next `"open"`; `"discard"` closes the open
 * window without emitting.
 *
 * Completion of the source completes the output and abandons a partly filled window; errors of
 * the source or of `control` are forwarded. Completion of `control` only stops further commands.
 *
 * ## Example
 * ```ts
 * const control = new Subject<WindowControl>();
 * objectives$
 *   .pipe(evaluationWindows(control, { count: 5, ms: 500, aggregation: "trimmed-mean", trim: 0.1 }))
 *   .subscribe((w) => decide(w));
 * control.next("open");
 * ```
 *
 * @remarks
 * Emission is synchronous: the value that fills a window is still inside its `next` call when the
 * result reaches the subscriber, so a caller that pushes a value sees any reaction to it when
 * `next` returns. State is settled before emitting, so the subscriber may send `"open"` or
 * `"discard"` (or push further values) re-entrantly.
 *
 * Performance contract: the per-value path does not allocate (values go into a Float64Array of
 * `count` slots allocated per subscription) and does no lookups; each emitted window allocates
 * one small result object, and each timed window one scheduler action.
 *
 * @see {@link aggregate}
 * @param control - `"open"` / `"discard"` commands; unknown strings are ignored.
 * @param options - See {@link EvaluationWindowOptions}.
 * @return A function that turns a stream of finite objective values into a stream of {@link WindowResult}.
 * @throws RangeError when `count` is not a positive safe integer or `ms` is not a finite number > 0.
 * A scheduler that runs a window's time limit inside `schedule()` ends the stream with an
 * {@link InlineSchedulerError}.
 */
export function evaluationWindows(
  control: Observable<WindowControl>,
  options: EvaluationWindowOptions,
): OperatorFunction<number, WindowResult> {
  const { count, ms } = options;
  if (!Number.isSafeInteger(count) || count < 1) {
    throw new RangeError(`evaluationWindows: count must be a positive integer, got ${String(count)}`);
  }
  if (ms !== undefined && !(Number.isFinite(ms) && ms > 0)) {
    throw new RangeError(`evaluationWindows: ms must be a finite number > 0 when given, got ${String(ms)}`);
  }
  return (source) =>
    new Observable<WindowResult>((subscriber) => {
      const windows = new WindowCollector(options, (result) => subscriber.next(result));
      subscriber.add(
        control.subscribe({
          next: (command) => {
            // A scheduler that runs the time limit inside schedule() ends the stream, saying so,
            // rather than reach RxJS's unhandled-error report from the control's subscriber.
            try {
              windows.command(command);
            } catch (error) {
              subscriber.error(error);
            }
          },
          error: (error: unknown) => subscriber.error(error),
        }),
      );
      subscriber.add(
        source.subscribe({
          next: (value) => windows.push(value),
          error: (error: unknown) => subscriber.error(error),
          complete: () => subscriber.complete(),
        }),
      );
      return () => windows.stop();
    });
}

/**
 * Windows in a row that fill in time before a lengthened limit is given up (and they must span the
 * time {@link WindowCollector.lengthenLimit} asks for).
 */
const FILLS_TO_RESTORE = 3;
/**
 * Windows in a row, each filled within a quarter of a lengthened limit (over `steadyMs` at
 * least), after which the limit is shortened to twice the longest of their waits: it was
 * stretched too far for telemetry that still needs a stretch (see
 * {@link WindowCollector.lengthenLimit}).
 */
const FILLS_TO_SHORTEN = 8;

/**
 * A scheduler ran a window's time limit inside `schedule()`, before any time passed: it does not
 * defer delayed work, which the engine's windows, pacing and audit delivery all need.
 */
export class InlineSchedulerError extends Error {
  override readonly name = "InlineSchedulerError";
  constructor() {
    super(
      "the scheduler ran a delayed action inside schedule(), before its delay passed: an engine needs one that defers delayed work (asyncScheduler, the default, or a VirtualTimeScheduler)",
    );
  }
}

/**
 * The state machine behind {@link evaluationWindows}, for a caller that feeds values and commands
 * by direct calls (the engine, on its per-digest path) and takes closed windows in `emit`.
 *
 * @remarks
 * Same semantics as the operator. {@link WindowCollector.push} is a two-line method V8 inlines
 * into its caller: the value reaches the body through a double field, so pushing a number that
 * the caller holds unboxed allocates nothing (an argument to a call that is not inlined would be
 * boxed into a heap number).
 */
export class WindowCollector {
  private readonly count: number;
  /** The time limit of the windows opened from now on: `configuredMs`, or longer once lengthened. */
  private ms: number | undefined;
  private readonly configuredMs: number | undefined;
  /** When the open window's time limit started counting (its opening, or the settle period's end). */
  private limitStart = 0;
  /** Windows in a row, while lengthened, that filled within `configuredMs` of their limit's start. */
  private quickFills = 0;
  /** When the first of those windows started its limit. */
  private quickSince = 0;
  /**
   * Windows in a row, while lengthened, that filled within `steadyMs` less the configured limit,
   * and when the first began.
   */
  private steadyFills = 0;
  private steadySince = 0;
  /** See {@link WindowCollector.lengthenLimit}. */
  private steadyMs = 0;
  /**
   * Windows in a row, while lengthened, that filled within a quarter of the limit, when the first
   * began, and the longest wait.
   */
  private paceFills = 0;
  private paceSince = 0;
  private paceLongest = 0;
  private readonly aggregation: Aggregation;
  private readonly trim: number;
  private readonly scheduler: SchedulerLike;
  private readonly stats: EvaluationWindowStats;
  private readonly values: Float64Array;
  private readonly scratch: Float64Array;
  private isOpen = false;
  private filled = 0;
  private openedAt = 0;
  private seq = 0;
  private timer: Subscription | null = null;
  /** Whether `open` is inside the scheduler's `schedule()`, where no time limit may run. */
  private scheduling = false;
  /**
   * Where a caller writes the value to add before {@link pushInput} (the digest path's form of
   * {@link push}): a number passed as an argument of a call V8 does not inline is boxed (16 bytes
   * per digest), a store into a Float64Array never is.
   */
  readonly input = new Float64Array(1);
  /** One function for every timer; the window it was scheduled for travels as the action state. */
  private readonly onTimeLimit: (windowSeq?: number) => void;

  /** @throws RangeError when `count` is not a positive safe integer or `ms` is not a finite number > 0. */
  constructor(
    options: EvaluationWindowOptions,
    private readonly emit: (result: WindowResult) => void,
  ) {
    const { count, ms } = options;
    if (!Number.isSafeInteger(count) || count < 1) {
      throw new RangeError(`evaluationWindows: count must be a positive integer, got ${String(count)}`);
    }
    if (ms !== undefined && !(Number.isFinite(ms) && ms > 0)) {
      throw new RangeError(`evaluationWindows: ms must be a finite number > 0 when given, got ${String(ms)}`);
    }
    this.count = count;
    this.ms = ms;
    this.configuredMs = ms;
    this.aggregation = options.aggregation;
    this.trim = options.trim;
    this.scheduler = options.scheduler ?? asyncScheduler;
    this.stats = options.stats ?? createWindowStats();
    this.values = new Float64Array(count);
    this.scratch = new Float64Array(count);
    // A late timer can never close a newer window.
    this.onTimeLimit = (windowSeq?: number): void => {
      // Run inside schedule(): the window would time out as it opened, and the engine reopen it
      // at once, for ever.
      if (this.scheduling) throw new InlineSchedulerError();
      if (!this.isOpen || windowSeq !== this.seq) return;
      this.timer = null; // this action is finishing; nothing to cancel
      this.stats.timedOut++;
      // A window that waited out the lengthened limit breaks every run of fills in time.
      this.quickFills = 0;
      this.steadyFills = 0;
      this.paceFills = 0;
      this.close(true);
    };
  }

  /** `"open"` or `"discard"`; unknown strings are ignored. */
  command(command: WindowControl): void {
    if (command === "open") this.open();
    else if (command === "discard") this.discard();
  }

  /**
   * Starts a fresh window now (dropping one still open). Its time limit runs from `limitFrom`
   * (scheduler time) when that is later than now: the engine passes the end of the settle period,
   * during which no digest can count, so that waiting for it does not use the window up.
   */
  open(limitFrom = Number.NEGATIVE_INFINITY): void {
    if (this.isOpen) this.stats.replaced++;
    this.cancelTimer();
    this.seq++;
    this.isOpen = true;
    this.filled = 0;
    const now = this.scheduler.now();
    this.openedAt = now;
    this.limitStart = limitFrom > now ? limitFrom : now;
    this.stats.opened++;
    if (this.ms === undefined) return;
    // Capped at the longest timer Node keeps: a longer delay would fire after 1 ms.
    const delay = Math.min(MAX_TIMER_MS, this.ms + (limitFrom > now ? limitFrom - now : 0));
    this.scheduling = true;
    try {
      this.timer = this.scheduler.schedule(this.onTimeLimit, delay, this.seq);
    } finally {
      this.scheduling = false;
    }
  }

  /**
   * Lengthens the time limit of the windows opened from now on to `ms`, when they have one and it
   * is shorter (a window without a limit keeps none; the open one keeps its timer), until the
   * telemetry keeps pace with the configured limit again: it sped up, or the lengthening came
   * from stray digests in an outage, and a long limit would only delay noticing the next gap. The
   * configured limit comes back after {@link FILLS_TO_RESTORE} or more windows in a row (no
   * timeout between them) either fill within it, over at least `steadyMs` from the first one's
   * start, or fill within `steadyMs` less one configured limit (the engine passes the time its
   * configured windows take to stall: these waits leave them a limit to spare for jitter), over at
   * least twice the lengthened limit. The spans keep the few windows that one
   * burst of digests fills quickly (a service that reports several at once every few seconds) from
   * giving the limit up at every burst. A limit stretched too far for telemetry that still needs
   * a stretch (stray digests minutes apart in an outage of a service that reports every few
   * seconds) is shortened instead, once {@link FILLS_TO_SHORTEN} windows in a row have filled
   * within a quarter of it, over `steadyMs` at least, to twice the longest of their waits.
   */
  lengthenLimit(ms: number, steadyMs: number): void {
    if (this.ms === undefined || !(ms > this.ms)) return;
    this.ms = Math.min(ms, MAX_TIMER_MS);
    this.quickFills = 0;
    this.steadyFills = 0;
    this.paceFills = 0;
    this.steadyMs = steadyMs;
  }

  /** The time limit of the windows opened from now on (ms; undefined: they close on count only). */
  get limitMs(): number | undefined {
    return this.ms;
  }

  /** Whether that limit is longer than the configured one ({@link WindowCollector.lengthenLimit}). */
  get lengthened(): boolean {
    return this.ms !== this.configuredMs;
  }

  /** Drops the open window, if any, without emitting. */
  discard(): void {
    if (!this.isOpen) return;
    this.isOpen = false;
    this.filled = 0;
    this.cancelTimer();
    this.stats.discarded++;
  }

  /** Adds one value to the open window (counted as dropped when none is open). */
  push(value: number): void {
    this.input[0] = value;
    this.pushInput();
  }

  /** No window is open from now on, and no timer is pending. */
  stop(): void {
    this.isOpen = false;
    this.cancelTimer();
  }

  /** Whether a window is open: a value pushed now is aggregated, not dropped. */
  get collecting(): boolean {
    return this.isOpen;
  }

  /** Adds `input[0]` to the open window (counted as dropped when none is open). */
  pushInput(): void {
    if (!this.isOpen) {
      this.stats.dropped++;
      return;
    }
    this.values[this.filled++] = this.input[0]!;
    if (this.filled === this.count) {
      this.stats.filled++;
      if (this.ms !== this.configuredMs) this.noteFill();
      this.close(false);
    }
  }

  /** While lengthened: a window filled; restores the configured limit after enough in time. */
  private noteFill(): void {
    const now = this.scheduler.now();
    const waited = now - this.limitStart;
    if (waited > this.configuredMs!) this.quickFills = 0;
    else if (this.quickFills++ === 0) this.quickSince = this.limitStart;
    // Waits the configured windows take without stalling, with one limit to spare for jitter
    // (waits right up to a stall restored the limit, and the next wait stalled: it flapped).
    if (waited > Math.max(this.configuredMs!, this.steadyMs - this.configuredMs!)) this.steadyFills = 0;
    else if (this.steadyFills++ === 0) this.steadySince = this.limitStart;
    if (waited > this.ms! / 4) this.paceFills = 0;
    else if (this.paceFills++ === 0) {
      this.paceSince = this.limitStart;
      this.paceLongest = waited;
    } else if (waited > this.paceLongest) this.paceLongest = waited;
    const quick = this.quickFills >= FILLS_TO_RESTORE && now - this.quickSince >= this.steadyMs;
    const steady = this.steadyFills >= FILLS_TO_RESTORE && now - this.steadySince >= 2 * this.ms!;
    const paced = this.paceFills >= FILLS_TO_SHORTEN && now - this.paceSince >= this.steadyMs;
    if (quick || steady) this.ms = this.configuredMs;
    else if (paced) this.ms = Math.max(this.configuredMs!, 2 * this.paceLongest);
    else return;
    this.quickFills = 0;
    this.steadyFills = 0;
    this.paceFills = 0;
  }

  private cancelTimer(): void {
    if (this.timer !== null) {
      this.timer.unsubscribe();
      this.timer = null;
    }
  }

  // Settles every piece of state before emitting, so a re-entrant "open" from the receiver starts
  // from a clean slate and nothing here runs after it.
  private close(timedOut: boolean): void {
    this.isOpen = false;
    this.cancelTimer();
    const held = this.filled;
    this.filled = 0;
    const result: WindowResult = {
      seq: this.seq,
      count: held,
      value: aggregate(this.values, held, this.aggregation, this.trim, this.scratch),
      timedOut,
      openedAt: this.openedAt,
      closedAt: this.scheduler.now(),
    };
    this.emit(result);
  }
}
