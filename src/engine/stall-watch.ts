/**
 * Windows an iteration fills after a resume: the centre's, then the two perturbed points'.
 */
const WINDOWS_PER_ITERATION = 3;

/**
 * Tells a telemetry gap from evaluation windows too short for the telemetry's cadence.
 *
 * Both stall the SPSA cycle, and nothing in one stall tells them apart. What does is the stall
 * after it: a gap ends with digests flowing again, so windows fill and iterations complete after
 * the resume; windows so short that `stallAfter` of them fit between two digests (or between two
 * bursts of digests) see the digests resume the cycle and then time out empty before an
 * iteration's worth of windows has filled, until it stalls again ("bounces"), at every digest or
 * burst. Two bounces in a row are taken as the second case (one could be a stray digest in a
 * gap). No clock reads: the times are the windows'.
 */
export class StallWatch {
  /** When the last resume happened (the resuming window's close), NaN before any. */
  private resumedAt = Number.NaN;
  /** When the resume before it happened. */
  private previousResumedAt = Number.NaN;
  /**
   * Windows that held digests since the last resume, the resuming one not counted, and iterations
   * completed since then. One filled window is not enough: a service that reports in bursts fills
   * one or two with a burst's later digests, then stalls before the iteration's last, at every
   * burst. Nor is the iteration count alone: a paused cycle (SafeMode) completes none, while its
   * windows go on filling.
   */
  private filledSinceResume = 0;
  private completedSinceResume = 0;
  /**
   * Stalls in a row that followed their resume with fewer than an iteration's windows filled and
   * no iteration completed in between.
   */
  private bounces = 0;
  /** A resume ended the last stall (a reset or rollback can too, and is no bounce). */
  private resumedSinceStall = false;

  /** A window that held digests closed at `closedAt`; `resumed`: it ended a stall. */
  onWindowWithDigests(closedAt: number, resumed: boolean): void {
    if (!resumed) {
      this.filledSinceResume++;
      return;
    }
    this.previousResumedAt = this.resumedAt;
    this.resumedAt = closedAt;
    this.filledSinceResume = 0;
    this.completedSinceResume = 0;
    this.resumedSinceStall = true;
  }

  /** The cycle measured both perturbed points of an iteration and used them. */
  onIterationCompleted(): void {
    this.completedSinceResume++;
  }

  /**
   * The cycle stalled. Returns how far apart (ms) the digests that ended the last two stalls came
   * when this is the second bounce in a row or a later one, NaN otherwise.
   */
  onStall(): number {
    const bounced =
      this.resumedSinceStall &&
      this.completedSinceResume === 0 &&
      this.filledSinceResume < WINDOWS_PER_ITERATION;
    this.resumedSinceStall = false;
    this.bounces = bounced ? this.bounces + 1 : 0;
    return this.bounces >= 2 ? this.resumedAt - this.previousResumedAt : Number.NaN;
  }
}
