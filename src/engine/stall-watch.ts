/**
 * Tells a telemetry gap from evaluation windows too short for the telemetry's cadence.
 *
 * Both stall the SPSA cycle, and nothing in one stall tells them apart. What does is the stall
 * after it: a gap ends with digests flowing again; windows so short that `stallAfter` of them fit
 * between two digests (or two bursts of digests) see a digest or a burst resume the cycle, and no
 * digest come after it until the cycle stalls again ("bounces"), at every digest or burst. A
 * burst is the digests that come within the configured window limit (`burstMs`) of the first
 * digest after the stall. Two bounces in a row are taken as the second case (one could be a stray
 * digest in a gap).
 *
 * The rule reads time, not the cycle's progress: how many windows fill after a resume depends on
 * the settle period, the guardrails' pacing and the digests a window holds, and a service that
 * comes back for a few seconds between outages fills few. The engine reads the clock for it only
 * while {@link StallWatch.watching}: from a stall until a digest arrives after the burst, so the
 * digest path pays nothing for it while telemetry flows.
 */
export class StallWatch {
  /**
   * Whether the next accepted digest should be noted ({@link StallWatch.noteDigestInput}): from a
   * stall until a digest came after the burst that resumed the cycle.
   */
  watching = false;
  /** Where the engine writes a noted digest's arrival time (scheduler ms) before noting it. */
  readonly input = new Float64Array(1);
  /** When the last resume happened (the resuming window's close), NaN before any. */
  private resumedAt = Number.NaN;
  /** When the resume before it happened. */
  private previousResumedAt = Number.NaN;
  /** A resume ended the last stall (a reset or rollback can too, and is no bounce). */
  private resumedSinceStall = false;
  /** A digest came more than `burstMs` after the first one since the stall: telemetry flowed again. */
  private flowed = false;
  /** Digests accepted since the last stall, and when the first of them came. */
  private digests = 0;
  private burstStart = 0;
  /** Digests of the last two bounces (0 for a stall that was none). */
  private burst = 0;
  private previousBurst = 0;
  /** Stalls in a row that followed their resume with no digest after its burst. */
  private bounces = 0;

  /**
   * @param burstMs The configured window limit: the digests this close to the first one after a
   * stall are its burst.
   */
  constructor(private readonly burstMs: number) {}

  /** A digest was accepted at `input[0]` (only called while {@link StallWatch.watching}). */
  noteDigestInput(): void {
    const at = this.input[0]!;
    if (this.digests++ === 0) this.burstStart = at;
    else if (at > this.burstStart + this.burstMs) {
      this.flowed = true;
      this.watching = false;
    }
  }

  /** A window that held digests closed at `closedAt` and ended a stall. */
  onResumed(closedAt: number): void {
    this.previousResumedAt = this.resumedAt;
    this.resumedAt = closedAt;
    this.resumedSinceStall = true;
  }

  /**
   * The cycle stalled. Returns how far apart (ms) the digests (or bursts) that ended the last two
   * stalls came when this is the second bounce in a row or a later one, NaN otherwise.
   */
  onStall(): number {
    const bounced = this.resumedSinceStall && !this.flowed;
    this.previousBurst = this.burst;
    this.burst = bounced ? this.digests : 0;
    this.resumedSinceStall = false;
    this.flowed = false;
    this.digests = 0;
    this.watching = true;
    this.bounces = bounced ? this.bounces + 1 : 0;
    return this.bounces >= 2 ? this.resumedAt - this.previousResumedAt : Number.NaN;
  }

  /**
   * Digests each resume brought in the last two bounces (the fewer of the two, at least 1): what
   * one digest spacing delivers, for sizing a stretched window.
   */
  get digestsPerResume(): number {
    return Math.max(1, Math.min(this.burst, this.previousBurst));
  }
}
