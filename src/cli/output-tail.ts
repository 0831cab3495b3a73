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
    // The last piece of the chunk with content, by readObjective's rule (white space and terminal
    // control sequences are none): where the line read from the output begins.
    for (let end = chunk.length; end > 0; ) {
      const lineBreak = lastBreakBefore(chunk, end);
      // The piece that continues the line in progress is judged with a few characters before it:
      // a control sequence the chunk boundary split is judged whole.
      const piece =
        lineBreak >= 0
          ? chunk.slice(lineBreak + 1, end)
          : this.text.slice(Math.max(this.lineStart, before - SPLIT_SEQUENCE_CHARS), before + end);
      if (hasContent(piece)) {
        this.lastLineStart = lineBreak >= 0 ? before + lineBreak + 1 : this.lineStart;
        break;
      }
      end = lineBreak;
    }
    const lastBreak = lastBreakBefore(chunk, chunk.length);
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
    this.headCut = !isBreak(this.text.charCodeAt(cut - 1));
    this.text = this.text.slice(cut);
    this.lineStart = Math.max(0, this.lineStart - cut);
    this.lastLineStart = Math.max(0, this.lastLineStart - cut);
    return cut;
  }

  /** The value the output ends with (see {@link readObjective}), or why there is none. */
  read(): ObjectiveReading {
    if (this.headCut) {
      const firstBreak = this.text.search(/[\r\n]/);
      if (firstBreak < 0 || !hasContent(this.text.slice(firstBreak + 1)))
        return {
          ok: false,
          reason: `the last output line is longer than ${this.lineMax} characters, more than is kept of it: print the value on a line of its own`,
        };
    }
    return readObjective(this.text);
  }
}

/**
 * Where the last line break (a line feed, or a carriage return: a redrawn line starts again) in
 * `text` before `end` is, −1 when there is none.
 */
function lastBreakBefore(text: string, end: number): number {
  for (let i = end - 1; i >= 0; i--) if (isBreak(text.charCodeAt(i))) return i;
  return -1;
}

function isBreak(code: number): boolean {
  return code === 0x0a || code === 0x0d;
}

/** Characters before a chunk that a control sequence cut by its start may have begun in. */
const SPLIT_SEQUENCE_CHARS = 16;

/**
 * `text` without the start of a control sequence that its end cut off (an ESC, or ESC `[` and
 * parameters): the next chunk completes it.
 */
function withoutUnfinishedSequence(text: string): string {
  const at = text.lastIndexOf("\u001b");
  if (at < 0) return text;
  const rest = text.slice(at + 1);
  return rest === "" || /^\[[\d;?]*$/.test(rest) ? text.slice(0, at) : text;
}

/** Whether `text` holds anything but white space and terminal control sequences. */
function hasContent(text: string): boolean {
  return stripVTControlCharacters(withoutUnfinishedSequence(text)).trim() !== "";
}
