/**
 * Which worker holds each pending trial of a shared study: `study.heldBy(id)`, read from the ask
 * entries of the journal, and the `worker` of each pending trial `arqon status --storage` prints;
 * `study.holders()`, those workers with their heartbeats as Redis holds them, which `status`
 * prints under `workers`.
 */
import { afterAll, describe, expect, it } from "vitest";
import { UsageError } from "../src/errors.js";
import { openSharedStudy } from "../src/study/index.js";
import { removeTempDirs, runArqonInProcess, tempDir } from "./support/cli-run.js";
import { redisForFile } from "./support/redis-server.js";

const redis = redisForFile();
afterAll(removeTempDirs);

const CONFIG = { seed: 3, budget: 40, strategy: "tpe" as const, bounds: { x: { min: 0, max: 1 } } };

describe("heldBy", () => {
  it("names the worker whose ask handed out each pending trial, and nobody once it is settled", async () => {
    const open = (worker: string) =>
      openSharedStudy(CONFIG, { redis: redis.server.url, study: "held", worker });
    const [first, second, reader] = [await open("gpu-1:40"), await open("gpu-2:41"), await open("reader")];
    const [a, b] = (await first.ask({ max: 2 }))!;
    const [c] = (await second.ask())!;
    // Its own asks, from its own appends.
    expect(first.heldBy(a!.id)).toBe("gpu-1:40");
    // Not read yet: refused as the other readers refuse it.
    expect(() => reader.heldBy(c!.id)).toThrow(UsageError);
    await reader.refresh();
    expect([a, b, c].map((t) => reader.heldBy(t!.id))).toEqual(["gpu-1:40", "gpu-1:40", "gpu-2:41"]);

    await first.tell({ id: a!.id, value: 0.5 });
    await second.fail(c!.id, "crashed");
    await reader.refresh();
    expect([a, b, c].map((t) => reader.heldBy(t!.id))).toEqual([undefined, "gpu-1:40", undefined]);

    // A study opened afresh replays the same answer from the journal.
    const late = await open("late");
    expect([a, b, c].map((t) => late.heldBy(t!.id))).toEqual([undefined, "gpu-1:40", undefined]);

    const status = await runArqonInProcess(
      ["status", "--storage", redis.server.url, "--study", "held"],
      tempDir(),
    );
    expect(status.status, status.stderr).toBe(0);
    expect(JSON.parse(status.stdout).pending).toEqual([{ id: b!.id, params: b!.params, worker: "gpu-1:40" }]);
    await Promise.all([first, second, reader, late].map((s) => s.close()));
  });
});

describe("holders", () => {
  const open = (study: string, worker: string, heartbeatMs = 0) =>
    openSharedStudy(CONFIG, { redis: redis.server.url, study, worker, heartbeatMs });

  it("lists the workers holding pending trials, with no heartbeat for those that have none", async () => {
    const [first, second, reader] = [
      await open("holders-plain", "gpu-1:40"),
      await open("holders-plain", "gpu-2:41"),
      await open("holders-plain", "reader"),
    ];
    const [a] = (await second.ask())!;
    const [b, c] = (await first.ask({ max: 2 }))!;
    const [d] = (await second.ask())!;
    expect(await reader.holders()).toEqual([]);
    await reader.refresh();
    expect(await reader.holders()).toEqual([
      { worker: "gpu-2:41", trials: [a!.id, d!.id], heartbeat: null },
      { worker: "gpu-1:40", trials: [b!.id, c!.id], heartbeat: null },
    ]);
    await second.tell([
      { id: a!.id, value: 1 },
      { id: d!.id, value: 2 },
    ]);
    await reader.refresh();
    expect(await reader.holders()).toEqual([{ worker: "gpu-1:40", trials: [b!.id, c!.id], heartbeat: null }]);
    await Promise.all([first, second, reader].map((s) => s.close()));
    await expect(reader.holders()).rejects.toThrow(UsageError);
  });

  it("tells how long ago each handle's last beat landed, by the key's remaining life in Redis", async () => {
    // A minute between beats: after the first, the test sets the key's life by hand and nothing
    // writes it again. Two handles of one process share a name and are still told apart.
    const [one, two] = [
      await open("holders-beat", "host:7", 60_000),
      await open("holders-beat", "host:7", 60_000),
    ];
    const [a] = (await one.ask())!;
    const [b] = (await two.ask())!;
    const reader = await open("holders-beat", "reader");
    const keys = await redis.admin.keys("arqon:study:holders-beat:beat:*");
    expect(keys).toHaveLength(2);
    const life = 30 * 60_000;
    const beatOf = async (id: number) =>
      JSON.parse(
        (await redis.admin.lrange("arqon:study:holders-beat:journal", 0, -1)).find((e) => {
          const entry = JSON.parse(e) as { op: string; ids?: number[] };
          return entry.op === "ask" && entry.ids?.includes(id) === true;
        })!,
      ).beat as string;
    await redis.admin.pexpire(`arqon:study:holders-beat:beat:${await beatOf(a!.id)}`, life - 42_000);
    await redis.admin.pexpire(`arqon:study:holders-beat:beat:${await beatOf(b!.id)}`, life - 7_000);

    const listed = await reader.holders();
    expect(listed.map(({ worker, trials }) => ({ worker, trials }))).toEqual([
      { worker: "host:7", trials: [a!.id] },
      { worker: "host:7", trials: [b!.id] },
    ]);
    const ago = listed.map((h) => h.heartbeat!.lastBeatMsAgo!);
    expect(listed.map((h) => h.heartbeat!.everyMs)).toEqual([60_000, 60_000]);
    // The reads come a few ms after the PEXPIREs, never before.
    expect(ago[0]).toBeGreaterThanOrEqual(42_000);
    expect(ago[0]).toBeLessThan(43_000);
    expect(ago[1]).toBeGreaterThanOrEqual(7_000);
    expect(ago[1]).toBeLessThan(8_000);

    const status = await runArqonInProcess(
      ["status", "--storage", redis.server.url, "--study", "holders-beat"],
      tempDir(),
    );
    expect(status.status, status.stderr).toBe(0);
    const printed = JSON.parse(status.stdout).workers as { heartbeat: { lastBeatMsAgo: number } }[];
    expect(printed.map((w) => w.heartbeat.lastBeatMsAgo >= 42_000)).toEqual([true, false]);

    // A closed handle deletes its key: Redis holds no beat of it.
    await one.close();
    await reader.refresh();
    const [closed] = await reader.holders();
    expect(closed).toEqual({
      worker: "host:7",
      trials: [a!.id],
      heartbeat: { everyMs: 60_000, lastBeatMsAgo: null },
    });
    await Promise.all([two, reader].map((s) => s.close()));
  });
});
