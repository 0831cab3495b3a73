import { cpSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { VirtualTimeScheduler } from "rxjs";
import { describe, expect, it } from "vitest";
import { createLoggedEngine, DECISION_RULES, readDecisionLog, replay } from "../src/node.js";
import { runArqonInProcess } from "./support/cli-run.js";
import { tempLogDirs } from "./support/log-dir.js";

// A decision log names the decision rules its engine decided by, so that a replay that diverges
// can say whether a correction made since may be the cause (other rules) or not (today's rules).

const logDir = tempLogDirs();
const PARAMS = { batchSize: { min: 1, max: 256, init: 32, maxDelta: 8 } } as const;

/** A logged run of 200 digests of a bowl, one every 100 ms of virtual time. */
async function loggedRun(dir: string): Promise<void> {
  const scheduler = new VirtualTimeScheduler();
  const { engine, close } = createLoggedEngine(
    { seed: 4, params: PARAMS, window: { digests: 3 }, scheduler },
    { dir, flushMs: 50 },
  );
  for (let i = 0; i < 200; i++) {
    scheduler.schedule(() => {}, 100);
    scheduler.flush();
    engine.observe({ objective: ((engine.values[0]! - 100) / 30) ** 2, generation: engine.generation });
  }
  await close();
}

/**
 * The log in `dir` as a JSON Lines file, its header's `rules` set to `rules` (deleted when
 * undefined) and the first applied value changed by one, so that replay diverges there.
 */
function editedCopy(dir: string, rules: unknown): string {
  const { header, records } = readDecisionLog(dir);
  const edited = { ...(header as Record<string, unknown>) };
  if (rules === undefined) delete edited.rules;
  else edited.rules = rules;
  let changed = false;
  const lines = [edited, ...records.map((entry) => entry.record)].map((record) => {
    const r = record as { kind?: string; event?: { type?: string; values?: Record<string, number> } };
    if (!changed && r.kind === "audit" && r.event?.type === "apply" && r.event.values !== undefined) {
      changed = true;
      const values = Object.fromEntries(Object.entries(r.event.values).map(([name, v]) => [name, v + 1]));
      return { ...r, event: { ...r.event, values } };
    }
    return record;
  });
  expect(changed).toBe(true);
  const file = join(dir, "..", `edited-${String(rules)}.jsonl`);
  writeFileSync(file, `${lines.map((line) => JSON.stringify(line)).join("\n")}\n`);
  return file;
}

describe("decision rules in a decision log", () => {
  it("a new log's header records today's rules, and replay reports them per run", async () => {
    const dir = logDir();
    await loggedRun(dir);
    expect(Number.isInteger(DECISION_RULES) && DECISION_RULES >= 1).toBe(true);
    expect((readDecisionLog(dir).header as Record<string, unknown>).rules).toBe(DECISION_RULES);
    const result = await replay(dir);
    expect(result.ok).toBe(true);
    expect(result.runs.map((r) => r.rules)).toEqual([DECISION_RULES]);
  });

  it("a divergence under today's rules gets no note; under other rules, or none recorded, it does", async () => {
    const dir = logDir();
    await loggedRun(dir);

    const today = await runArqonInProcess(["replay", editedCopy(dir, DECISION_RULES)], dir);
    expect(today.status).toBe(1);
    expect(today.stdout).toMatch(/^replay DIVERGED at record \d+ \(seq \d+, apply\)/);
    expect(today.stderr).not.toContain("decision rules");

    const older = await runArqonInProcess(["replay", editedCopy(dir, DECISION_RULES + 1)], dir);
    expect(older.status).toBe(1);
    expect(older.stderr).toContain(
      `that run was recorded under decision rules ${DECISION_RULES + 1}, and this arqon decides by rules ${DECISION_RULES}: a correction made between them can explain the divergence`,
    );

    const unversioned = editedCopy(dir, undefined);
    expect((await replay(unversioned)).runs[0]!.rules).toBeNull();
    const none = await runArqonInProcess(["replay", unversioned], dir);
    expect(none.status).toBe(1);
    expect(none.stderr).toContain("that run was recorded before decision rules were versioned");
  });

  it("a header whose rules is not a version is refused, naming the field", async () => {
    const dir = logDir();
    await loggedRun(dir);
    for (const bad of [0, 1.5, "1", -1]) {
      await expect(replay(editedCopy(dir, bad))).rejects.toThrow(
        `the log header gives rules ${JSON.stringify(bad)}, not a decision-rules version (a whole number from 1)`,
      );
    }
  });

  it("a header whose resolved options are not an object is refused, naming the field", async () => {
    const dir = logDir();
    await loggedRun(dir);
    const { header, records } = readDecisionLog(dir);
    for (const bad of [null, 3, ["a"]]) {
      const file = join(dir, "..", `resolved-${JSON.stringify(bad)}.jsonl`);
      const lines = [
        { ...(header as Record<string, unknown>), resolved: bad },
        ...records.map((e) => e.record),
      ];
      writeFileSync(file, `${lines.map((line) => JSON.stringify(line)).join("\n")}\n`);
      const message = `the log header gives resolved ${JSON.stringify(bad)}, not an object of the engine's resolved options`;
      await expect(replay(file)).rejects.toThrow(message);
      const cli = await runArqonInProcess(["replay", file], dir);
      expect(cli.status).toBe(2);
      expect(cli.stderr).toContain(message);
    }
  });

  it("the v1 golden log, recorded before the rules were versioned, diverges with the note", async () => {
    const dir = logDir();
    const copy = join(dir, "v1");
    cpSync(fileURLToPath(new URL("./fixtures/decision-log-v1", import.meta.url)), copy, { recursive: true });
    const result = await runArqonInProcess(["replay", copy], dir);
    expect(result.status).toBe(1);
    expect(result.stderr).toContain("that run was recorded before decision rules were versioned");
  });
});
