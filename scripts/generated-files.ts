import { readFileSync, writeFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

/** The repository root (this file lives in scripts/). */
export const REPO_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "..");

/**
 * Writes each generated file (path relative to the repository root → content) whose content
 * changed, or with `--check` writes nothing and fails (exit code 1) naming the stale ones.
 */
export function syncGeneratedFiles(
  files: ReadonlyMap<string, string>,
  argv: readonly string[],
  command: string,
): number {
  const check = argv.includes("--check");
  const stale: string[] = [];
  for (const [path, content] of files) {
    const file = join(REPO_ROOT, path);
    let current: string | undefined;
    try {
      current = readFileSync(file, "utf8");
    } catch {
      current = undefined;
    }
    if (current === content) continue;
    if (check) stale.push(path);
    else writeFileSync(file, content);
  }
  if (stale.length > 0) {
    process.stderr.write(`out of date (run: ${command}): ${stale.join(", ")}\n`);
    return 1;
  }
  return 0;
}
