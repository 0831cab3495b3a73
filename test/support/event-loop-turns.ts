import { vi } from "vitest";

/**
 * Makes every call to performance.now 5 ms later than the one before: a slice of
 * `EventLoopSlices` (8 ms) then ends after two calls, whatever the machine's speed. Undone by
 * `vi.restoreAllMocks()`.
 */
export function fastClock(): void {
  let now = 0;
  vi.spyOn(performance, "now").mockImplementation(() => (now += 5));
}

/** How many turns of the event loop (setImmediate callbacks) `work` lasted. */
export async function turnsDuring<T>(work: () => Promise<T>): Promise<{ result: T; turns: number }> {
  let turns = 0;
  let working = true;
  const spin = (async () => {
    while (working) {
      await new Promise((resolve) => setImmediate(resolve));
      turns++;
    }
  })();
  const result = await work();
  working = false;
  await spin;
  return { result, turns };
}
