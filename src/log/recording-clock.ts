import { asyncScheduler, type SchedulerAction, type SchedulerLike, type Subscription } from "rxjs";
import type { EngineClock } from "../runtime/engine-clock.js";
import { FLUSH_LOG_KIND, TIMER_LOG_KIND, type TimeRecord } from "./log-records.js";
import { RearmableTimer } from "./rearmable-timer.js";

/** Work scheduled again and again gets at most this many re-armable timers. */
const MAX_REARMABLE = 4;

/**
 * The clock of a logged engine: the host's scheduler (wall clock or virtual), with each engine
 * entry pinned to one time and each non-deterministic timing written to the decision log.
 *
 * @remarks
 * A host call reads the clock at its first use inside the engine and every read until it returns
 * sees that time (the time its audit record carries; a captured digest whose entry never reads the
 * clock carries the latest reading instead, see {@link RecordingClock.peek}). A timer callback is an entry too: the clock
 * reads the time it actually ran (late, on a busy wall clock), pins it, and writes a `timer`
 * record `{ id, time, after }`: timer `id` (the engine's schedule calls, numbered from 0) ran at
 * `time`, after the audit record `after`. A host `flushEvents()` writes a `flush` record the same
 * way. Replay fires exactly these timers at exactly these times, in this order among the inputs,
 * so a wall-clock run replays as it ran. A record the log refuses (a failing disk) is counted in
 * {@link RecordingClock.unrecorded}, never thrown into the timer's caller.
 */
export class RecordingClock implements EngineClock {
  /** Timings the log refused (the log then cannot be replayed past that point). */
  unrecorded = 0;
  private depth = 0;
  /** The entry's time once read; between entries, the latest reading. */
  private pinned = 0;
  /** Whether the current entry has read the base clock. */
  private read = false;
  private nextTimer = 0;
  /** Wall-clock timers kept for work scheduled more than once (see {@link RearmableTimer}). */
  private readonly rearmable: RearmableTimer[] = [];
  /** The work and delay of the last schedule call that went to the base scheduler. */
  private lastWork: unknown;
  private lastDelay: number | undefined;
  private lastSeq: () => number = () => 0;
  /** One record object, refilled for each timing: `record` must not keep it. */
  private readonly scratch: { kind: TimeRecord["kind"]; id: number; time: number; after: number } = {
    kind: TIMER_LOG_KIND,
    id: 0,
    time: 0,
    after: 0,
  };

  constructor(
    private readonly base: SchedulerLike,
    /** Writes one timing to the log; called with a reused object it must not keep. */
    private readonly record: (record: TimeRecord) => void,
  ) {}

  now(): number {
    if (this.depth === 0) {
      const time = this.base.now();
      this.pinned = time;
      return time;
    }
    // Read on first use, not on entry: most digests need no time, and a wall-clock read allocates.
    if (!this.read) {
      this.pinned = this.base.now();
      this.read = true;
    }
    return this.pinned;
  }

  peek(): number {
    return this.pinned;
  }

  readInEntry(): boolean {
    return this.read;
  }

  enter(): void {
    if (this.depth++ === 0) this.read = false;
  }

  leave(): void {
    this.depth--;
  }

  attachAudit(lastSeq: () => number): void {
    this.lastSeq = lastSeq;
  }

  noteFlush(): void {
    this.write(FLUSH_LOG_KIND, -1);
  }

  schedule<T>(work: (this: SchedulerAction<T>, state?: T) => void, delay?: number, state?: T): Subscription {
    const id = this.nextTimer++;
    const timer = this.rearmableFor(work as (state?: unknown) => void, delay ?? 0);
    if (timer !== undefined) {
      timer.arm(id, state);
      // It has what the engine uses of a Subscription: `closed` and `unsubscribe()`.
      return timer as unknown as Subscription;
    }
    return this.scheduleOnBase(id, work, delay, state);
  }

  /**
   * The base scheduler's path of {@link schedule}, in a method of its own: the closure's variables
   * would otherwise live in a context that `schedule` allocates on every call, re-armed or not.
   */
  private scheduleOnBase<T>(
    id: number,
    work: (this: SchedulerAction<T>, state?: T) => void,
    delay: number | undefined,
    state: T | undefined,
  ): Subscription {
    const clock = this;
    return this.base.schedule(
      function (this: SchedulerAction<T>, s?: T) {
        clock.enter();
        try {
          clock.write(TIMER_LOG_KIND, id);
          work.call(this, s);
        } finally {
          clock.leave();
        }
      },
      delay,
      state,
    );
  }

  /**
   * An idle re-armable timer for `work` on the wall clock, or undefined: the base scheduler then
   * takes the call. Work gets one on its second call (work made afresh for each call never does),
   * and only work that ignores `this` (no `prototype`: an arrow function), which rxjs would bind to
   * its action.
   */
  private rearmableFor(work: (state?: unknown) => void, delay: number): RearmableTimer | undefined {
    if (this.base !== asyncScheduler || work.prototype !== undefined) return undefined;
    // Indexed: an iterator here would be an object per schedule call.
    for (let i = 0; i < this.rearmable.length; i++) {
      const timer = this.rearmable[i]!;
      if (timer.work === work && timer.delay === delay) return timer.closed ? timer : undefined;
    }
    if (work !== this.lastWork || delay !== this.lastDelay || this.rearmable.length >= MAX_REARMABLE) {
      this.lastWork = work;
      this.lastDelay = delay;
      return undefined;
    }
    const timer = new RearmableTimer(work, delay, this.runTimer);
    this.rearmable.push(timer);
    return timer;
  }

  /** A timer's run: an entry of its own, recorded as timer `id`, like the base scheduler's runs. */
  private readonly runTimer = (id: number, work: (state?: unknown) => void, state: unknown): void => {
    this.enter();
    try {
      this.write(TIMER_LOG_KIND, id);
      work(state);
    } finally {
      this.leave();
    }
  };

  private write(kind: TimeRecord["kind"], id: number): void {
    const timing = this.scratch;
    timing.kind = kind;
    timing.id = id;
    timing.time = this.now();
    timing.after = this.lastSeq();
    try {
      this.record(timing);
    } catch {
      this.unrecorded++;
    }
  }
}
