import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { EMPTY } from "rxjs";
import { afterAll, describe, expect, it } from "vitest";
import { AUDIT_SCHEMA_VERSION } from "../src/audit/events.js";
import { engineSource } from "../src/dashboard/engine-source.js";
import { fleetSource } from "../src/dashboard/fleet-source.js";
import { followRecording } from "../src/dashboard/followed-source.js";
import { recordedSource } from "../src/dashboard/recorded-source.js";
import { serveDashboard } from "../src/dashboard/server.js";
import { supervisorSource } from "../src/dashboard/supervisor-source.js";

// Timing and memory options out of range would flood every client (a timer firing each ms) or
// keep nothing for a later client without a word: they are refused, naming the option.

const dir = mkdtempSync(join(tmpdir(), "arqon-hunt-options-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const file = join(dir, "run.jsonl");
const event = {
  v: AUDIT_SCHEMA_VERSION,
  runId: "o",
  seq: 1,
  time: 0,
  generation: 0,
  proposalId: -1,
  type: "baseline.set",
};
writeFileSync(file, `${JSON.stringify(event)}\n`);

const bad = [0, -5, 9, Number.NaN, Number.POSITIVE_INFINITY, 2 ** 31];

describe("serveDashboard's timing options", () => {
  for (const option of ["heartbeatEveryMs", "snapshotEveryMs"] as const) {
    it(`refuses ${option} outside [10, 2147483647]`, async () => {
      for (const value of bad) {
        await expect(
          serveDashboard(recordedSource([], "r"), { [option]: value }),
          String(value),
        ).rejects.toThrow(new RangeError(`${option} must be a number in [10, 2147483647], got ${value}`));
      }
      const server = await serveDashboard(recordedSource([], "r"), { [option]: 10 });
      await server.close();
    });
  }

  it("refuses them before following a recording", async () => {
    await expect(serveDashboard({ log: join(dir, "missing.jsonl") }, { snapshotEveryMs: 0 })).rejects.toThrow(
      RangeError,
    );
  });
});

describe("misspelt keys", () => {
  it("are refused in the options and in each form of input, naming the known keys", async () => {
    await expect(serveDashboard(recordedSource([], "r"), { heartbeatMs: 10 } as never)).rejects.toThrow(
      new RangeError(
        'serveDashboard: unknown option "heartbeatMs" (known: port, host, token, historyLimit, snapshotEveryMs, heartbeatEveryMs, onError)',
      ),
    );
    const coordinator = { snapshot: () => ({}), busStats: () => ({}) };
    await expect(serveDashboard({ fleet: coordinator, stalAfterMs: 5 } as never)).rejects.toThrow(
      new RangeError(
        'serveDashboard: { fleet } input: unknown option "stalAfterMs" (did you mean staleAfterMs? known: fleet, title, units, staleAfterMs, now)',
      ),
    );
    await expect(serveDashboard({ log: file, intervalMS: 50 } as never)).rejects.toThrow(
      /^serveDashboard: \{ log \} input: unknown option "intervalMS" \(did you mean intervalMs\? known: log, intervalMs, keep,/,
    );
    const engine = { snapshot: () => ({}) };
    await expect(serveDashboard({ engine, unit: {} } as never)).rejects.toThrow(
      /\{ engine \} input: unknown option "unit" \(did you mean units\? known: engine, title, units, twin\)/,
    );
    // A server option put in the input (the first argument) says where it belongs.
    await expect(serveDashboard({ engine, port: 0 } as never)).rejects.toThrow(
      new RangeError(
        'serveDashboard: { engine } input: unknown option "port" (known: engine, title, units, twin); ' +
          "port is an option of the server: serveDashboard(input, { port })",
      ),
    );
  });
});

describe("the source functions called directly", () => {
  const engine = { snapshot: () => ({}) } as never;
  const supervisor = { get: () => undefined, events: { subscribe: () => ({ unsubscribe() {} }) } } as never;

  it("refuse a misspelt key, naming the function and the known keys", async () => {
    expect(() => engineSource(engine, { titel: "api" } as never)).toThrow(
      new RangeError('engineSource: unknown option "titel" (did you mean title? known: title, units, twin)'),
    );
    expect(() => fleetSource({ id: "c" } as never, { staleAfter: 5 } as never)).toThrow(
      new RangeError(
        'fleetSource: unknown option "staleAfter" (did you mean staleAfterMs? known: title, units, staleAfterMs, now)',
      ),
    );
    expect(() => supervisorSource(supervisor, "a", { unit: {} } as never)).toThrow(
      new RangeError(
        'supervisorSource: unknown option "unit" (did you mean units? known: title, units, twin)',
      ),
    );
    await expect(followRecording(file, { intervalMS: 50 } as never)).rejects.toThrow(
      /^followRecording: unknown option "intervalMS" \(did you mean intervalMs\? known: intervalMs, keep,/,
    );
  });

  it("refuse options that are not an object, and a fleet clock that is not a function", () => {
    expect(() => engineSource(engine, null as never)).toThrow(
      new RangeError("engineSource: options must be an object, got null"),
    );
    expect(() => fleetSource({ id: "c" } as never, { now: 5 } as never)).toThrow(
      new RangeError("fleetSource: now must be a function, got number"),
    );
  });

  it("still take a title alone (engineSource) and every known key", async () => {
    expect(() => engineSource(engine, "api")).not.toThrow();
    expect(() => engineSource(engine, { title: "api", units: {}, twin: EMPTY })).not.toThrow();
    const fleet = fleetSource({ id: "c" } as never, { title: "f", units: {}, staleAfterMs: 5, now: () => 0 });
    expect(typeof fleet.view).toBe("function");
    const followed = await followRecording(file, {
      intervalMs: 20,
      keep: 5,
      units: {},
      title: "t",
      onError: () => {},
      signal: new AbortController().signal,
    });
    expect(followed.count).toBe(1);
    await followed.close();
  });
});

describe("keep", () => {
  it("must be a whole number ≥ 1 when following a recording", async () => {
    for (const keep of [Number.NaN, 0, -10, 2.5, Number.POSITIVE_INFINITY]) {
      await expect(followRecording(file, { keep }), String(keep)).rejects.toThrow(
        new RangeError(`keep must be a whole number ≥ 1, got ${keep}`),
      );
    }
    const followed = await followRecording(file, { keep: 1 });
    let replayed = 0;
    followed.subscribe(() => replayed++);
    expect(replayed).toBe(1);
    await followed.close();
  });

  it("must be a whole number ≥ 1 for a recorded source", () => {
    for (const keep of [Number.NaN, 0, -10, 2.5]) {
      expect(() => recordedSource([], "r", keep), String(keep)).toThrow(
        new RangeError(`keep must be a whole number ≥ 1, got ${keep}`),
      );
    }
  });
});
