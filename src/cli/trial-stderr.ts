/**
 * One trial's stderr on its way to arqon's. With several trials running, their writes arrive
 * interleaved, often mid-line (a traceback comes in pieces), so each complete line is passed on
 * whole with `[trial N] ` before it, and a last line without a line break when the command ends.
 * With one trial at a time the text passes through as written, so a command's own progress bar
 * (redrawn with `\r`) still works on a terminal.
 */
export class TrialStderr {
  /** The start of a line not yet ended. */
  private pending = "";

  constructor(
    private readonly trialId: number,
    /** Whether other trials may write at the same time (`--concurrency` above 1). */
    private readonly interleaved: boolean,
    private readonly write: (text: string) => void,
  ) {}

  /** A piece of the command's stderr, as it arrived. */
  readonly take = (text: string): void => {
    if (!this.interleaved) {
      this.write(text);
      return;
    }
    const end = text.lastIndexOf("\n");
    if (end < 0) {
      this.pending += text;
      return;
    }
    const lines = this.pending + text.slice(0, end);
    this.pending = text.slice(end + 1);
    this.write(`${lines.replace(/^/gm, this.prefix())}\n`);
  };

  /** The command has ended: its last line, if it lacked a line break, is passed on with one. */
  end(): void {
    if (this.pending === "") return;
    const rest = this.pending;
    this.pending = "";
    this.write(`${this.prefix()}${rest}\n`);
  }

  private prefix(): string {
    return `[trial ${this.trialId}] `;
  }
}
