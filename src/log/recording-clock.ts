import type { SchedulerAction, SchedulerLike, Subscription } from "rxjs";
import type { EngineClock } from "../runtime/engine-clock.js";
import { FLUSH_LOG_KIND, TIMER_LOG_KIND, type TimeRecord } from "./log-records.js";

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

/** Room {@link writeTimingRecord} needs at most: the keys, and four numbers of up to 24 characters. */
export const TIMING_RECORD_BOUND = 160;

/**
 * Writes the JSON payload of a timing record (`{"seq":…,"kind":"timer","id":…,"time":…,"after":…}`)
 * straight into the log's buffer: a timing is written on every timer firing, so it skips building
 * and serialising a record object. A non-finite time (a broken scheduler) is written as `null`,
 * which readers do not take for a timing, so replay stops there instead of guessing.
 */
export function writeTimingRecord(
  out: Buffer,
  _view: DataView,
  at: number,
  seq: number,
  timing: TimeRecord,
): number {
  // Written character by character: no template string or number-to-string per timer firing.
  let p = writeAscii(out, at, '{"seq":');
  p = writeNumberText(out, p, seq);
  p = writeAscii(out, p, ',"kind":"');
  p = writeAscii(out, p, timing.kind);
  p = writeAscii(out, p, '","id":');
  p = writeNumberText(out, p, timing.id);
  p = writeAscii(out, p, ',"time":');
  p = Number.isFinite(timing.time) ? writeNumberText(out, p, timing.time) : writeAscii(out, p, "null");
  p = writeAscii(out, p, ',"after":');
  p = writeNumberText(out, p, timing.after);
  return writeAscii(out, p, "}");
}

function writeAscii(out: Buffer, at: number, text: string): number {
  for (let i = 0; i < text.length; i++) out[at + i] = text.charCodeAt(i);
  return at + text.length;
}

/** `String(x)` as bytes; integers digit by digit (allocation-free), anything else through `String`. */
function writeNumberText(out: Buffer, at: number, x: number): number {
  if (!Number.isSafeInteger(x)) return writeAscii(out, at, String(x));
  let p = at;
  let n = x;
  if (n < 0) {
    out[p++] = 0x2d; // "-"
    n = -n;
  }
  let digits = 1;
  for (let rest = n; rest >= 10; rest = Math.floor(rest / 10)) digits++;
  for (let i = digits - 1; i >= 0; i--) {
    out[p + i] = 0x30 + (n % 10);
    n = Math.floor(n / 10);
  }
  return p + digits;
}
