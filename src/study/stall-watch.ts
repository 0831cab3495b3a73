/**
 * Whether a shared study that keeps answering an ask with nothing has stopped moving.
 */
import type { SharedStudy } from "./shared-study.js";

/**
 * Tells whether a study that keeps answering an ask with `[]` has not moved (asked, told, pending)
 * for `limitMs` (`Infinity`: never): the trials it waits for are held by a worker that may have
 * died, or that is still evaluating them (it cannot tell which).
 */
export class StallWatch {
  private seen: string | undefined;
  private since = 0;

  constructor(
    private readonly limitMs: number,
    private readonly now: () => number = Date.now,
  ) {}

  /** Called after an ask gave no trial; true once the study's state has not changed for the limit. */
  stalled(study: SharedStudy): boolean {
    const state = `${study.asked}/${study.told}/${study.pendingTrials().map((t) => t.id)}`;
    if (state !== this.seen) {
      this.seen = state;
      this.since = this.now();
    }
    return this.now() - this.since >= this.limitMs;
  }

  /** Called when an ask gave a trial. */
  reset(): void {
    this.seen = undefined;
  }
}
