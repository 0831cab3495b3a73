import type { SchedulerLike } from "rxjs";

/**
 * A scheduler that wants to know when the engine is entered, so that every clock read of one
 * entry sees the same time: a decision log records one time per input (a digest, a command, a
 * timer firing) and replay gives every read of that input this time, so the logged run must too.
 *
 * @remarks
 * The engine calls {@link EngineClock.enter} when a host call (observe, a command) starts and
 * {@link EngineClock.leave} when it returns; a timer callback is an entry the clock marks itself.
 * Entries nest (a host callback may call the engine again): only the outermost one reads the clock.
 */
export interface EngineClock extends SchedulerLike {
  /** A host call enters the engine. */
  enter(): void;
  /** The host call returns. */
  leave(): void;
  /** The engine hands over how far its audit sequence has got (the seq of its last record). */
  attachAudit(lastSeq: () => number): void;
  /** The host asked for early delivery of audit records: an input, since it moves the next drain. */
  noteFlush(): void;
  /**
   * The entry's time if it has read the clock, else the clock's latest reading, without reading
   * it (a wall-clock read allocates). For a record that does not need a fresh time unless the
   * entry reads the clock anyway: then {@link EngineClock.readInEntry} turns true and the record
   * must take the entry's time. Optional: without it the engine reads the clock.
   */
  peek?(): number;
  /** Whether the current entry has read the clock. */
  readInEntry?(): boolean;
}

/** Whether `scheduler` is an {@link EngineClock}. */
export function isEngineClock(scheduler: SchedulerLike): scheduler is EngineClock {
  const s = scheduler as Partial<EngineClock>;
  return (
    typeof s.enter === "function" && typeof s.leave === "function" && typeof s.attachAudit === "function"
  );
}
