/**
 * Tells a telemetry gap from evaluation windows too short for the telemetry's cadence.
 *
 * Both stall the SPSA cycle, and nothing in one stall tells them apart. What does is the stall
 * after it: a gap ends with digests flowing again; windows so short that `stallAfter` of them fit
 * between two digests (or two bursts of digests) see a digest or a burst resume the cycle, and the
 * telemetry stop again before it could feed an iteration, until the cycle stalls again
 * ("bounces"), at every digest or burst. Two bounces in a row are taken as the second case (one
 * could be a stray digest in a gap).
 *
 * Telemetry flows again once a digest comes after the burst (more than the configured window
 * limit, `burstMs`, after the first digest since the stall) and the digests since the stall are
 * an iteration's (`flowDigests`: its three windows' worth) or have come for as long as a stall
 * takes to notice (`flowMs`). The rule reads time and digests, not the cycle's progress: how many
 * windows fill after a resume depends on the settle period, the guardrails' pacing and the
 * digests a window holds, and a service back for a few seconds between outages fills few. The
 * engine reads the clock for it only while {@link StallWatch.watching}: from a stall until
 * telemetry flows, so the digest path pays nothing for it while it does.
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
  /** Telemetry flowed again since the last stall (see the class remarks). */
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
   * @param flowDigests Digests an iteration's three windows hold (3 × `window.digests`).
   * @param flowMs How long a stall takes to notice (`stallAfter` × the window limit).
   */
  constructor(
    private readonly burstMs: number,
    private readonly flowDigests: number,
    private readonly flowMs: number,
  ) {}

  /** A digest was accepted at `input[0]` (only called while {@link StallWatch.watching}). */
  noteDigestInput(): void {
    const at = this.input[0]!;
    if (this.digests++ === 0) this.burstStart = at;
    // Past the burst, and with digests enough or for long enough: two reporters a second apart
    // every few seconds are no flow.
    else if (
      at > this.burstStart + this.burstMs &&
      (this.digests >= this.flowDigests || at >= this.burstStart + this.flowMs)
    ) {
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
