import { readFileSync } from "node:fs";
import { resolve } from "node:path";
import { errorMessage, hasErrorCode } from "../errors.js";
import { usageError } from "./cli-error.js";
import { findDuplicateKey } from "./json-duplicate-keys.js";
import { excerptOfLine, locateJsonSyntaxError } from "./json-location.js";

/**
 * Reads and parses the JSON file at `path` (relative to `cwd`). A missing, unreadable or malformed
 * file is a usage error whose one-line message says which file (`what` names its role, e.g. "config").
 */
export function readJsonFile(cwd: string, path: string, what: string, nonFiniteHint?: string): unknown {
  let text: string;
  try {
    text = readFileSync(resolve(cwd, path), "utf8");
  } catch (error) {
    throw usageError(
      hasErrorCode(error, "ENOENT")
        ? `${what} file not found: ${path}`
        : `cannot read ${what} file ${path}: ${errorMessage(error)}`,
    );
  }
  return parseJsonText(text, `${what} file ${path}`, nonFiniteHint);
}

/**
 * Parses `text` as JSON, or throws a usage error saying that `source` is not valid JSON, where
 * (line and column) and why, with the offending line:
 * `config file c.json is not valid JSON: line 3, column 13: expected ','; the line reads: "budget": 10 "seed": 1`.
 * A key given twice in one object is refused the same way, rather than letting the last one win.
 * A bare `NaN` or `Infinity` (Python's `json.dumps` writes them) is named as such, followed by
 * `nonFiniteHint`: what to write instead where `text` comes from.
 */
export function parseJsonText(
  raw: string,
  source: string,
  nonFiniteHint = "JSON numbers are finite",
): unknown {
  // A byte-order mark (some Windows editors write one) is not JSON, but nor is it the user's mistake.
  const text = raw.startsWith("\uFEFF") ? raw.slice(1) : raw;
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (error) {
    if (text.trim() === "") throw usageError(`${source} is empty; expected JSON`);
    const problem = locateJsonSyntaxError(text);
    if (problem === undefined) throw usageError(`${source} is not valid JSON: ${errorMessage(error)}`);
    // Python's json.dumps writes a diverged value as a bare NaN or Infinity, which JSON has not.
    const nonFinite = /^-?(NaN|Infinity)\b/.exec(problem.lineText.slice(problem.column - 1))?.[0];
    const why =
      nonFinite === undefined
        ? problem.reason
        : `${nonFinite} is no JSON number (Python's json.dumps writes it; ${nonFiniteHint})`;
    throw usageError(
      `${source} is not valid JSON: line ${problem.line}, column ${problem.column}: ${why}; ` +
        `the line reads: ${excerptOfLine(problem)}`,
    );
  }
  const duplicate = findDuplicateKey(text);
  if (duplicate !== undefined) {
    const { path, line, column, firstLine, firstColumn } = duplicate;
    throw usageError(
      `${source} has a duplicate key: line ${line}, column ${column}: ${path} is given twice ` +
        `(first at line ${firstLine}, column ${firstColumn}); JSON would keep only the last`,
    );
  }
  return parsed;
}
