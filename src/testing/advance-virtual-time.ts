/**
 * What {@link advanceVirtualTime} needs of RxJS's `VirtualTimeScheduler` (named by shape, so that
 * `arqon/testing` loads without rxjs).
 */
export interface VirtualClock {
  now(): number;
  /** The scheduler's clock: it moves to each action it runs, and this moves it on between them. */
  frame: number;
  maxFrames: number;
  flush(): void;
}

/**
 * Runs a virtual-time simulation for `durationMs` (from the scheduler's `now()`), in slices of
 * `sliceMs`, letting promises settle between the slices; the clock then reads `durationMs` later. The scheduler's `maxFrames` is left as
 * it was.
 *
 * @remarks
 * `scheduler.flush()` runs every due action in one synchronous pass, so a promise settles only
 * after it returns: the promise of an async `onApply`, even one that resolves at once, is still
 * pending when the engine's 10 s deadline for it comes due in the same pass, and every apply
 * then reads as an actuator failure (a rollback, then an open breaker). Advanced in slices with a
 * turn of the event loop between them, such a promise settles within the slice it was made in,
 * as it would on the wall clock. Use this instead of `flush()` whenever an `onApply` (or anything
 * else the simulation awaits) is asynchronous; a slice shorter than the engine's deadlines and
 * the digests' interval keeps the order of events as on a real clock.
 *
 * @example
 * ```ts
 * const scheduler = new VirtualTimeScheduler();
 * const engine = createEngine({ ...config, scheduler, onApply: async (values) => pool.resize(values[0]!) });
 * // … schedule the simulated telemetry on `scheduler` …
 * await advanceVirtualTime(scheduler, 15 * 60_000); // 15 virtual minutes
 * ```
 */
export async function advanceVirtualTime(
  scheduler: VirtualClock,
  durationMs: number,
  sliceMs = 100,
): Promise<void> {
  if (!(Number.isFinite(durationMs) && durationMs >= 0))
    throw new RangeError(`advanceVirtualTime: durationMs must be a finite number ≥ 0, got ${durationMs}`);
  if (!(Number.isFinite(sliceMs) && sliceMs > 0))
    throw new RangeError(`advanceVirtualTime: sliceMs must be a finite number > 0, got ${sliceMs}`);
  const end = scheduler.now() + durationMs;
  const maxFrames = scheduler.maxFrames;
  try {
    for (let until = scheduler.now(); until < end; ) {
      until = Math.min(end, until + sliceMs);
      scheduler.maxFrames = until;
      scheduler.flush();
      // flush() leaves the clock at the last action it ran: time went on to the slice's end, as a
      // wall clock's would (else a call shorter than the gap to the next action never reaches it).
      if (scheduler.frame < until) scheduler.frame = until;
      await new Promise<void>((resolve) => setImmediate(resolve));
    }
  } finally {
    scheduler.maxFrames = maxFrames;
  }
}
