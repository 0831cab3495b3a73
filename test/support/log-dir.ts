import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach } from "vitest";

/** A fresh temporary directory for one test, and a function removing it. */
export function tempLogDir(): { dir: string; cleanup: () => void } {
  const root = mkdtempSync(join(tmpdir(), "arqon-log-"));
  return { dir: join(root, "log"), cleanup: () => rmSync(root, { recursive: true, force: true }) };
}

/**
 * For a test file: returns a function that makes a fresh log directory; every directory made is
 * removed after each test.
 */
export function tempLogDirs(): () => string {
  let cleanups: (() => void)[] = [];
  afterEach(() => {
    for (const cleanup of cleanups) cleanup();
    cleanups = [];
  });
  return () => {
    const { dir, cleanup } = tempLogDir();
    cleanups.push(cleanup);
    return dir;
  };
}
