/**
 * Which worker holds each pending trial of a shared study: `study.heldBy(id)`, read from the ask
 * entries of the journal, and the `worker` of each pending trial `arqon status --storage` prints.
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
