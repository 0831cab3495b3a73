/** Work longer than this between two turns of the event loop holds up the host's timers and I/O. */
const SLICE_MS = 8;

/**
 * Splits a long computation into slices so the host's event loop runs between them: call
 * {@link EventLoopSlices.pause} between two steps of the work, and once a slice has run for
 * {@link SLICE_MS} it waits for the event loop's next turn (`setImmediate`) before going on.
 *
 * @remarks
 * It times the work on the machine's clock only to decide where to pause: what the work computes
 * does not depend on it.
 */
export class EventLoopSlices {
  private since = performance.now();

  /** Resolves at once within a slice; after the event loop has turned once it is over. */
  async pause(): Promise<void> {
    if (performance.now() - this.since < SLICE_MS) return;
    await new Promise<void>((resolve) => setImmediate(resolve));
    this.since = performance.now();
  }

  /**
   * Ends the slice, so that the next {@link pause} waits for the event loop's next turn: for work
   * resumed by a settled promise. That runs where the promise settled (an I/O callback, in the
   * poll phase), and a slice there would run back to back with the next one, which `setImmediate`
   * starts in the same turn's check phase: the host's timers would wait for both.
   */
  end(): void {
    this.since = Number.NEGATIVE_INFINITY;
  }
}

/**
 * A computation written as steps: each `yield` ends one. A step may also yield a promise (through
 * {@link awaited}), which a run in slices waits for, resuming the computation with its value.
 */
export type Steps<T> = Generator<undefined | Promise<unknown>, T, unknown>;

/**
 * `value` within {@link Steps} (`yield* awaited(value)`): a plain value at once, a promise's value
 * once it settles. The same steps then run at once when given plain values (a synchronous reader)
 * and in slices when given promises (an asynchronous one).
 */
export function* awaited<T>(value: T | Promise<T>): Generator<Promise<unknown>, T, unknown> {
  if (!(value instanceof Promise)) return value;
  return (yield value) as T;
}

/** Runs `steps` to the end at once, on the calling thread (for a synchronous API). */
export function runAtOnce<T>(steps: Steps<T>): T {
  for (let step = steps.next(); ; step = steps.next()) {
    if (step.done === true) return step.value;
    // A programming error: synchronous steps were given an asynchronous source. The steps' own
    // cleanup runs (their finally blocks), and the promise's failure is not left unhandled.
    if (step.value instanceof Promise) {
      step.value.catch(() => undefined);
      steps.return(undefined as T);
      throw new Error("runAtOnce: the steps waited for a promise");
    }
  }
}

/** Runs `steps` to the end in slices, the event loop turning between them (see {@link EventLoopSlices}). */
export async function runInSlices<T>(steps: Steps<T>): Promise<T> {
  const slices = new EventLoopSlices();
  for (let step = steps.next(); ; ) {
    if (step.done === true) return step.value;
    if (step.value instanceof Promise) {
      step = await resumedWith(steps, step.value, slices);
      continue;
    }
    await slices.pause();
    step = steps.next();
  }
}

/**
 * `steps` resumed with what `promise` settles to. A function of its own so that the value (a whole
 * segment's bytes, say) never sits in {@link runInSlices}' frame: V8's optimized code keeps a
 * suspended async function's registers, a dead one's last value included, for as long as the loop
 * runs, which held one 64 MiB segment through every later one of a long log's scan.
 */
async function resumedWith<T>(
  steps: Steps<T>,
  promise: Promise<unknown>,
  slices: EventLoopSlices,
): Promise<IteratorResult<undefined | Promise<unknown>, T>> {
  let value: unknown;
  try {
    value = await promise;
  } catch (error) {
    const step = steps.throw(error);
    slices.end();
    return step;
  }
  slices.end();
  return steps.next(value);
}
