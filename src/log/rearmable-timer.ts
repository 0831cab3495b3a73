/**
 * A wall-clock timer for work that a {@link RecordingClock} is asked to schedule again and again
 * (a logged engine's audit drain, armed by the first digest after every delivery): one Node timer,
 * re-armed with `Timeout.refresh()`, where each `asyncScheduler.schedule` call would build an rxjs
 * action, a bound function and a Node timer (~1 KB a time, which issue 16's allocation gate sees).
 *
 * @remarks
 * It is the `Subscription` the schedule call returns; `unsubscribe()` cancels the run. The Node
 * timer stays armed but unreferenced (a cleared one could not be re-armed): if it fires while
 * cancelled it does nothing, and it never keeps the process alive. Only for work that ignores
 * `this` (an arrow function: rxjs would pass its action), so nothing can reschedule through it.
 *
 * [RecordingClock]: ./recording-clock.ts
 */
export class RearmableTimer {
  /** True while no run is pending (rxjs's `Subscription.closed`). */
  closed = true;
  private id = 0;
  private state: unknown;
  private timeout: ReturnType<typeof setTimeout> | undefined;

  constructor(
    /** The work, called with the state of the schedule call that armed the timer. */
    readonly work: (state?: unknown) => void,
    readonly delay: number,
    /** Runs the work as a timer entry of the clock, recorded under the schedule call's id. */
    private readonly run: (id: number, work: (state?: unknown) => void, state: unknown) => void,
  ) {}

  /** Arms the timer for the schedule call numbered `id`. */
  arm(id: number, state: unknown): void {
    this.id = id;
    this.state = state;
    this.closed = false;
    if (this.timeout === undefined) {
      this.timeout = setTimeout(this.fire, this.delay);
      return;
    }
    this.timeout.ref();
    this.timeout.refresh();
  }

  unsubscribe(): void {
    if (this.closed) return;
    this.closed = true;
    this.state = undefined;
    this.timeout?.unref();
  }

  private readonly fire = (): void => {
    if (this.closed) return;
    this.closed = true;
    this.timeout?.unref();
    const state = this.state;
    this.state = undefined;
    this.run(this.id, this.work, state);
  };
}
