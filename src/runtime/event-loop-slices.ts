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
}

/** A computation written as steps (each `yield` ends one), giving its result. */
export type Steps<T> = Generator<void, T, void>;

/** Runs `steps` to the end at once, on the calling thread (for a synchronous API). */
export function runAtOnce<T>(steps: Steps<T>): T {
  for (let step = steps.next(); ; step = steps.next()) if (step.done === true) return step.value;
}

/** Runs `steps` to the end in slices, the event loop turning between them (see {@link EventLoopSlices}). */
export async function runInSlices<T>(steps: Steps<T>): Promise<T> {
  const slices = new EventLoopSlices();
  for (let step = steps.next(); ; step = steps.next()) {
    if (step.done === true) return step.value;
    await slices.pause();
  }
}
