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
