/**
 * A source read once per scrape, by every metric that shows a figure of it.
 */

/**
 * Calls `read` at most once per scrape pass and hands every caller of that pass its result.
 *
 * @remarks
 * prom-client reads every metric of a registry in one synchronous pass, so a source read by each
 * metric would be called once per metric, and its figures could change between two metrics of one
 * scrape. The metric registered first (an `up` gauge) starts each pass with {@link newPass}; a
 * microtask ends it, for reads of single metrics outside a scrape.
 */
export class ScrapePass<T> {
  private readThisPass = false;
  private value!: T;

  constructor(private readonly read: () => T) {}

  /** What `read` gave in this pass, calling it if nothing in this pass has. */
  get(): T {
    if (this.readThisPass) return this.value;
    this.readThisPass = true;
    queueMicrotask(() => {
      this.readThisPass = false;
    });
    this.value = this.read();
    return this.value;
  }

  /** Starts a new pass: the next {@link get} calls `read` afresh. */
  newPass(): void {
    this.readThisPass = false;
  }
}
