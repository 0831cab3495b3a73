/**
 * Shared helper of the browser tests: launches Debian's chromium through playwright-core and says
 * where screenshots go.
 *
 * @remarks
 * playwright-core ships no browser, so the tests drive the system chromium (installed by `.ci/run`;
 * without it, `vitest.config.ts` leaves the browser tests out: see `external-tools.ts`). Playwright
 * gives every launch a fresh temporary profile, which it deletes when the browser closes, so runs
 * never share state. Set `ARQON_CHROMIUM` to use another binary.
 */
import { mkdirSync } from "node:fs";
import { join, resolve } from "node:path";
import { type Browser, chromium } from "playwright-core";
import { CHROMIUM_PATH } from "./external-tools.js";

export { CHROMIUM_PATH } from "./external-tools.js";

/** Where screenshots are saved (gitignored), relative to the repository root. */
export const ARTIFACTS_DIR = resolve(import.meta.dirname, "../../test-artifacts");

/** Flags that keep a headless run quiet, local and reproducible (no GPU, no sync, no updates, no QUIC). */
const CHROMIUM_ARGS = [
  "--no-sandbox",
  "--disable-gpu",
  "--disable-quic",
  "--no-first-run",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
];

/**
 * Starts a headless chromium with a fresh profile. Close it with `browser.close()` (in `afterAll`).
 */
export function launchBrowser(): Promise<Browser> {
  return chromium.launch({ executablePath: CHROMIUM_PATH, headless: true, args: CHROMIUM_ARGS });
}

/** The path of the screenshot called `name` (a `.png` is added), creating the artifacts folder. */
export function screenshotPath(name: string): string {
  mkdirSync(ARTIFACTS_DIR, { recursive: true });
  return join(ARTIFACTS_DIR, name.endsWith(".png") ? name : `${name}.png`);
}
