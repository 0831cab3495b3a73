import type { ConfigIssue } from "../errors.js";

/**
 * Config issues as one line, `path: message` joined by `"; "`. The paths are the library's,
 * unchanged, and so are the messages: an unknown key's carries its hint already
 * (`bugdet: unknown key (did you mean budget?)`).
 */
export function describeConfigIssues(issues: readonly ConfigIssue[]): string {
  return issues.map((issue) => `${issue.path === "" ? "(root)" : issue.path}: ${issue.message}`).join("; ");
}
