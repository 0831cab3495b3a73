import { type ParseError, parse, printParseErrorCode } from "jsonc-parser";

/** Where and why strict JSON text fails to parse: 1-based line and column, and the line itself. */
export interface JsonSyntaxProblem {
  readonly line: number;
  readonly column: number;
  readonly reason: string;
  readonly lineText: string;
}

/** Readable reasons by jsonc-parser error name (its codes are an ambient const enum). */
const REASONS: Readonly<Record<string, string>> = {
  InvalidSymbol: "unexpected character",
  InvalidNumberFormat: "invalid number",
  PropertyNameExpected: "expected a property name in double quotes",
  ValueExpected: "expected a value",
  ColonExpected: "expected ':'",
  CommaExpected: "expected ',' before this",
  CloseBraceExpected: "expected '}'",
  CloseBracketExpected: "expected ']'",
  EndOfFileExpected: "expected the end of the document",
  InvalidCommentToken: "comments are not allowed in JSON",
  UnexpectedEndOfComment: "comments are not allowed in JSON",
  UnexpectedEndOfString: "unterminated string",
  UnexpectedEndOfNumber: "incomplete number",
  InvalidUnicode: "invalid \\u escape",
  InvalidEscapeCharacter: "invalid escape character",
  InvalidCharacter: "invalid character in a string",
};

/**
 * The first syntax error of `text` read as strict JSON (no comments, no trailing commas), or
 * `undefined` when the scanner finds none. `JSON.parse` stays the parser; this only locates its
 * failure, because Node's messages give a character offset at best.
 */
export function locateJsonSyntaxError(text: string): JsonSyntaxProblem | undefined {
  const errors: ParseError[] = [];
  parse(text, errors, { disallowComments: true, allowTrailingComma: false, allowEmptyContent: false });
  const first = errors[0];
  if (first === undefined) return undefined;
  const before = text.slice(0, first.offset);
  const lineStart = before.lastIndexOf("\n") + 1;
  const lineEnd = text.indexOf("\n", first.offset);
  const endOfText = first.offset >= text.length;
  const reason = REASONS[printParseErrorCode(first.error)] ?? "syntax error";
  return {
    line: before.split("\n").length,
    column: first.offset - lineStart + 1,
    reason: endOfText && text.trim() !== "" ? `${reason} (the text ends too early)` : reason,
    lineText: text.slice(lineStart, lineEnd < 0 ? text.length : lineEnd).replace(/\r$/, ""),
  };
}

/** The text of the offending line for a one-line message: trimmed, and cut to ~60 characters around `column`. */
export function excerptOfLine(problem: JsonSyntaxProblem): string {
  const { lineText, column } = problem;
  if (lineText.length <= 80) return lineText.trim();
  const start = Math.max(0, column - 30);
  const end = Math.min(lineText.length, column + 30);
  return `${start > 0 ? "…" : ""}${lineText.slice(start, end)}${end < lineText.length ? "…" : ""}`;
}
