import { errorMessage } from "../errors.js";

/** One parsed line of a JSON Lines text, with its 1-based line number (for messages). */
export interface JsonLine {
  readonly value: unknown;
  readonly line: number;
}

/**
 * Parses JSON Lines text (one JSON value per line; blank lines skipped). A line that is not JSON
 * throws the error `fail` makes of the message "`name`:`line`: not JSON (…)".
 */
export function parseJsonLines(text: string, name: string, fail: (message: string) => Error): JsonLine[] {
  const out: JsonLine[] = [];
  const lines = text.split("\n");
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!.trim();
    if (line === "") continue;
    try {
      out.push({ value: JSON.parse(line), line: i + 1 });
    } catch (error) {
      throw fail(`${name}:${i + 1}: not JSON (${printable(errorMessage(error))})`);
    }
  }
  return out;
}

/** `text` with control characters escaped: a parse error quotes the line, which may be binary. */
function printable(text: string): string {
  let out = "";
  for (const c of text) {
    const code = c.charCodeAt(0);
    out += code < 0x20 || (code >= 0x7f && code < 0xa0) ? `\\x${code.toString(16).padStart(2, "0")}` : c;
  }
  return out;
}
