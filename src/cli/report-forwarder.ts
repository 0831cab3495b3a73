import { UsageError } from "../errors.js";
import { JournalError } from "../study/journal.js";
import { reportStepsRecovering } from "../study/record-result.js";
import type { StepReports } from "../study/report-steps.js";
import type { SharedStudy } from "../study/shared-study.js";

/** What a {@link ReportForwarder} needs from the worker that runs the trial. */
export interface ForwarderOptions {
  /** How long to keep trying a report Redis refuses, in ms, asked at each try (0: once). */
  readonly retryMs: () => number;
  /** Aborted when the worker gives up on Redis (a second Ctrl-C, a SIGTERM): no more tries. */
  readonly giveUp: AbortSignal;
  /** Aborted when the running trials are aborted: their reports are not sent any more. */
  readonly aborted: AbortSignal;
  /** Told once per failure that will be tried again. */
  readonly onRetry: (error: unknown) => void;
  /**
   * Told when a report could not be recorded: after Redis failed it for good the trial goes on
   * unjudged; when the study's journal went away (`stopped`), the command is stopped.
   */
  readonly onLost: (error: unknown, stopped: boolean) => void;
  /** Told whether Redis recorded the last report it was given (to shorten later tries or not). */
  readonly onRecorded: (recorded: boolean) => void;
}

/**
 * Sends the report lines of one trial of `arqon solve --storage` to the shared study, in the
 * order the command printed them, and says when its pruner advises stopping the trial.
 *
 * @remarks
 * Lines that arrive while a send is on its way wait, and go together as one journal entry: a
 * command that prints faster than Redis answers gets its verdicts one round trip late, not ever
 * later, and adds one entry per round trip. Lines that arrive after a prune verdict are still
 * sent: a command that then exits on its own with a value is told it, with its whole curve, as a
 * local run records it.
 */
export class ReportForwarder {
  /** Aborted on a prune verdict, or when the study refused a line: the command must stop. */
  readonly stop = new AbortController();
  /** Why the trial fails: the line the study refused, and its reason. */
  refused: string | undefined;
  /**
   * Set when the study's journal went away, or holds an entry this arqon cannot replay: nothing of
   * the trial can be recorded any more.
   */
  journalGone: JournalError | undefined;
  private lost = false;
  private readonly waiting: { readonly line: string; readonly report: readonly [number, number] }[] = [];
  private sending: Promise<void> | undefined;

  constructor(
    private readonly study: SharedStudy,
    private readonly trial: number,
    private readonly options: ForwarderOptions,
  ) {}

  /** A report line the command printed. */
  line(line: string, step: number, value: number): void {
    if (this.done()) return;
    this.waiting.push({ line, report: [step, value] });
    this.sending ??= this.send();
  }

  /** Resolves once every line given so far is sent (or dropped). */
  async settled(): Promise<void> {
    await this.sending;
  }

  private done(): boolean {
    return this.refused !== undefined || this.lost || this.options.aborted.aborted;
  }

  private async send(): Promise<void> {
    while (this.waiting.length > 0 && !this.done()) {
      const batch = this.waiting.splice(0);
      const reports: StepReports = batch.map((b) => b.report);
      try {
        const { prune, refused } = await reportStepsRecovering(this.study, this.trial, reports, {
          retryMs: this.options.retryMs(),
          signal: this.options.giveUp,
          onRetry: this.options.onRetry,
        });
        this.options.onRecorded(true);
        if (refused !== undefined) {
          const line = batch[refused.index]!.line.trim();
          this.refused = `refused intermediate value ${line}: ${refused.error.message.replace(/^report: /, "")}`;
        }
        if (prune || refused !== undefined) this.stop.abort();
      } catch (error) {
        // A refusal comes back as `refused`; a UsageError here is the handle's (closed meanwhile).
        if (!(error instanceof JournalError || error instanceof UsageError)) this.options.onRecorded(false);
        this.lost = true;
        // The study is gone: running the command on would give a value no study can take.
        if (error instanceof JournalError) {
          this.journalGone = error;
          this.stop.abort();
        }
        // Given up because the trials are being aborted: nothing runs on to be judged.
        if (!this.options.aborted.aborted) this.options.onLost(error, this.journalGone !== undefined);
      }
    }
    this.waiting.length = 0;
    this.sending = undefined;
  }
}
