/**
 * The most of one unfinished line held back (a redrawn progress bar keeps only its last state):
 * past it, the line so far is passed on as if it had ended, so memory stays bounded and a line
 * that never ends still shows.
 */
const PENDING_CHARS = 16 * 1024;

/**
 * One trial's stderr on its way to arqon's. With several trials running, their writes arrive
 * interleaved, often mid-line (a traceback comes in pieces), so each complete line is passed on
 * whole with `[trial N] ` before it, and a last line without a line break when the command ends.
 * A line redrawn with `\r` (a progress bar) is passed on as it was last drawn, and a `\r\n` line
 * end as `\n`. With one trial at a time the text passes through as written, so a command's own
 * progress bar still redraws in place on a terminal.
 */
export class TrialStderr {
  /** The start of a line not yet ended, as last drawn. */
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
    let out = "";
    let start = 0;
    for (let end = text.indexOf("\n"); end >= 0; end = text.indexOf("\n", start)) {
      out += this.line(this.pending + text.slice(start, end));
      this.pending = "";
      start = end + 1;
    }
    this.pending = redrawn(this.pending + text.slice(start));
    if (this.pending.length > PENDING_CHARS) {
      out += this.line(this.pending);
      this.pending = "";
    }
    if (out !== "") this.write(out);
  };

  /** The command has ended: its last line, if it lacked a line break, is passed on with one. */
  end(): void {
    const rest = lastDrawn(this.pending);
    this.pending = "";
    // A bar erased at the end (a last "\r") leaves nothing to show.
    if (rest !== "") this.write(this.line(rest));
  }

  /** One line as passed on: the trial named, as the line was last drawn, with its line break. */
  private line(text: string): string {
    return `[trial ${this.trialId}] ${lastDrawn(text)}\n`;
  }
}

/**
 * An unfinished line without what its `\r`s have drawn over: the text after the last `\r` that is
 * followed by more. A `\r` at its very end is kept: the next piece may be `\n` (a `\r\n` line
 * end, which redraws nothing) or the next state of a progress bar.
 */
function redrawn(text: string): string {
  // lastIndexOf reads a negative start as 0, which would find a lone "\r" at the very end.
  const drawnOver = text.length < 2 ? -1 : text.lastIndexOf("\r", text.length - 2);
  return text.slice(drawnOver + 1);
}

/** What a line shows once its `\r`s have redrawn it (see {@link redrawn}), its end's `\r` dropped. */
function lastDrawn(text: string): string {
  const shown = redrawn(text);
  return shown.endsWith("\r") ? shown.slice(0, -1) : shown;
}
