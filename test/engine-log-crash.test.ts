import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { readDecisionLog } from "../src/log/reader.js";
import { Prng } from "../src/random/prng.js";
import { UNCLOSED_MESSAGE } from "../src/replay/read-log.js";
import { replay } from "../src/replay/replay.js";
import { runAndKill } from "./support/log-crash-driver.js";
import { bundleForNode, type NodeBundle } from "./support/node-bundle.js";

const FLUSH_MS = 20;
const KILLS = 50;

let bundle: NodeBundle | undefined;
let script = "";
beforeAll(async () => {
  // One bundle, so each kill starts a bare `node` rather than loading tsx.
  bundle = await bundleForNode(
    fileURLToPath(new URL("./support/engine-log-crash-child.ts", import.meta.url)),
  );
  script = bundle.script;
});
afterAll(() => bundle?.cleanup());

describe("a logging engine under SIGKILL", () => {
  it(`leaves a log that is a prefix of what it wrote and replays exactly (${KILLS} kills)`, async () => {
    const prng = Prng.fromSeed(77, 1);
    let replayed = 0;
    for (let iteration = 0; iteration < KILLS; iteration++) {
      const dir = join(mkdtempSync(join(tmpdir(), "arqon-engine-log-")), "log");
      // A failing kill's log is kept for diagnosis (what fails depends on where the kill landed).
      let passed = false;
      try {
        const killed = await runAndKill(script, [dir, String(FLUSH_MS)], "ready", 20 + prng.int(300));
        const log = readDecisionLog(dir);
        const seqs = log.records.map((e) => e.seq);
        expect(seqs, `log kept at ${dir}`).toEqual(Array.from({ length: seqs.length }, (_, i) => i + 1));
        expect(seqs.length, `log kept at ${dir}`).toBeGreaterThanOrEqual(killed.lastDurable);
        const result = await replay(dir);
        if (!result.ok)
          throw new Error(
            `kill ${iteration}: replay diverged (log kept at ${dir}): ${JSON.stringify(result.divergence).slice(0, 400)}`,
          );
        replayed += result.records;
        // A killed run never wrote its close marker: replay reports the log as open.
        expect(result.unclosed, `log kept at ${dir}`).toBe(UNCLOSED_MESSAGE);
        passed = true;
      } finally {
        if (passed) rmSync(join(dir, ".."), { recursive: true, force: true });
      }
    }
    // The kills landed after real work: the recovered logs held decisions to replay.
    expect(replayed).toBeGreaterThan(KILLS * 100);
  }, 180_000);
});
