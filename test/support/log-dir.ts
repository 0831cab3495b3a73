import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

/** A fresh temporary directory for one test, and a function removing it. */
export function tempLogDir(): { dir: string; cleanup: () => void } {
  const root = mkdtempSync(join(tmpdir(), "arqon-log-"));
  return { dir: join(root, "log"), cleanup: () => rmSync(root, { recursive: true, force: true }) };
}
