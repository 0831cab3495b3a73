import { stripVTControlCharacters } from "node:util";
import { type ObjectiveReading, readObjective } from "./objective-output.js";

/** How much of a command's standard output is kept at least: only the tail matters (the last line). */
const TAIL_CHARS = 64 * 1024;

/**
 * The longest last line kept whole: a JSON line with the value and a large payload beside it
 * (`{"value": 0.3, "per_example": [...]}`) is read whole up to this length.
 */
export const LAST_LINE_MAX_CHARS = 8 * 1024 * 1024;

/**
 * The end of a command's standard output, whole lines only: at least its last {@link TAIL_CHARS}
 * characters, and its last line whole up to {@link LAST_LINE_MAX_CHARS}, so that the value read
 * from it is never that of a fragment.
 */
export class OutputTail {
  /** What is kept of the output. */
  text = "";
  /** Where the line being written begins in `text` (after the last line break). */
  private lineStart = 0;
  /** Where the last line with anything but white space begins in `text`: the line read. */
  private lastLineStart = 0;
  /** `text` begins inside a line whose start was dropped (a line longer than the limit). */
  private headCut = false;

  constructor(
    private readonly keep = TAIL_CHARS,
    private readonly lineMax = LAST_LINE_MAX_CHARS,
  ) {}

  /** Appends decoded output; returns how many characters were dropped from the front. */
  append(chunk: string): number {
    const before = this.text.length;
    this.text += chunk;
    let last = chunk.length - 1;
    while (last >= 0 && WHITE_SPACE.has(chunk.charCodeAt(last))) last--;
    if (last >= 0) {
      const lineBreak = chunk.lastIndexOf("\n", last);
      this.lastLineStart = lineBreak >= 0 ? before + lineBreak + 1 : this.lineStart;
    }
    const lastBreak = chunk.lastIndexOf("\n");
    if (lastBreak >= 0) this.lineStart = before + lastBreak + 1;
    if (this.text.length <= 2 * this.keep) return 0;
    const tailFrom = this.text.length - this.keep;
    // Cut where the last line begins when it is in the part to drop and not too long; elsewhere
    // the cut may fall inside an earlier line, which the later last line makes no matter.
    const cut =
      this.lastLineStart <= tailFrom && this.text.length - this.lastLineStart <= this.lineMax
        ? this.lastLineStart
        : tailFrom;
    if (cut === 0) return 0;
    this.headCut = this.text[cut - 1] !== "\n";
    this.text = this.text.slice(cut);
    this.lineStart = Math.max(0, this.lineStart - cut);
    this.lastLineStart = Math.max(0, this.lastLineStart - cut);
    return cut;
  }

  /** The value the output ends with (see {@link readObjective}), or why there is none. */
  read(): ObjectiveReading {
    if (this.headCut) {
      const firstBreak = this.text.indexOf("\n");
      const after = firstBreak < 0 ? "" : this.text.slice(firstBreak + 1);
      if (stripVTControlCharacters(after).trim() === "")
        return {
          ok: false,
          reason: `the last output line is longer than ${this.lineMax} characters, more than is kept of it: print the value on a line of its own`,
        };
    }
    return readObjective(this.text);
  }
}

/** Character codes of white space around lines: space, tab, line feed, carriage return. */
const WHITE_SPACE: ReadonlySet<number> = new Set([0x20, 0x09, 0x0a, 0x0d]);
