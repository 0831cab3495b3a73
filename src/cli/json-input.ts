import { readFileSync } from "node:fs";
import { resolve } from "node:path";
import { errorMessage, hasErrorCode } from "../errors.js";
import { usageError } from "./cli-error.js";

/**
 * Reads and parses the JSON file at `path` (relative to `cwd`). A missing, unreadable or malformed
 * file is a usage error whose one-line message says which file (`what` names its role, e.g. "config").
 */
export function readJsonFile(cwd: string, path: string, what: string): unknown {
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
  return parseJsonText(text, `${what} file ${path}`);
}

/** Parses `text` as JSON, or throws a usage error saying that `source` is not valid JSON and why. */
export function parseJsonText(text: string, source: string): unknown {
  try {
    return JSON.parse(text);
  } catch (error) {
    throw usageError(`${source} is not valid JSON: ${errorMessage(error)}`);
  }
}
