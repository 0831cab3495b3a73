import { existsSync, readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

let cached: string | undefined;

/**
 * The version in arqon's package.json, found by walking up from this module, else "unknown": the
 * same code runs from `src/` (development), `dist/src/` (the built package) and `dist/cli/` (the
 * bundled command line), each at its own depth. Read once.
 */
export function packageVersion(): string {
  cached ??= findVersion();
  return cached;
}

function findVersion(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (;;) {
    const file = join(dir, "package.json");
    if (existsSync(file)) {
      try {
        const pkg = JSON.parse(readFileSync(file, "utf8")) as { name?: unknown; version?: unknown };
        if (pkg.name === "arqon" && typeof pkg.version === "string") return pkg.version;
      } catch {
        // Not readable as JSON: not ours; keep walking up.
      }
    }
    const parent = dirname(dir);
    if (parent === dir) return "unknown";
    dir = parent;
  }
}
