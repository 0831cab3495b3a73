/**
 * `arqon ask --storage` and `arqon report --storage`: a shared study driven from the shell, as
 * `optuna ask` and `optuna tell` drive one with `--storage`, pruning included.
 */
import { afterAll, describe, expect, it } from "vitest";
import { removeTempDirs, runArqonAsync, runArqonInProcess, tempDir, writeJson } from "./support/cli-run.js";
import { redisForFile } from "./support/redis-server.js";
import { studyJournal } from "./support/study-journal.js";

const redis = redisForFile();
afterAll(removeTempDirs);

const CONFIG = {
  seed: 2,
  budget: 8,
  probeRatio: 0.5,
  bounds: { x: { min: -5, max: 5 } },
  pruner: { kind: "median", startupTrials: 1, warmupSteps: 0 },
};

interface Asked {
  readonly trials: { id: number; params: { x: number } }[] | null;
  readonly done?: true;
}

/** The CLI in `dir` (holding c.json) on study `study`: each command's flags, then its own. */
function shell(study: string, config: object = CONFIG) {
  const dir = tempDir();
  writeJson(dir, "c.json", config);
  const shared = ["--storage", redis.server.url, "--study", study, "--config", "c.json"];
  const run = (command: string, extra: readonly string[], stdin?: string) =>
    runArqonInProcess([command, ...shared, ...extra], dir, stdin);
  return {
    dir,
    shared,
    ask: async (...extra: string[]) => {
      const asked = await run("ask", extra);
      expect(asked.status, asked.stderr).toBe(0);
      return { ...(JSON.parse(asked.stdout) as Asked), stderr: asked.stderr };
    },
    report: (id: number, step: number, value: number) =>
      run("report", ["--id", `${id}`, "--step", `${step}`, `--value=${value}`]),
    tell: (results: unknown) => run("tell", [], JSON.stringify(results)),
  };
}

const journal = (study: string) => studyJournal(redis.admin, study);

describe("arqon ask --storage", () => {
  it("drives a shared study from the shell to its budget, pruning on the study's verdicts", async () => {
    const cli = shell("shell-loop");
    const values = new Map<number, number>();
    let pruned = 0;
    let best = Number.NaN;
    for (let round = 0; ; round++) {
      expect(round).toBeLessThan(20);
      const asked = await cli.ask("--batch", "4");
      if (asked.trials === null) {
        expect(asked.done).toBe(true);
        // Pruned trials are not counted as told (they have no value), nor as pending.
        expect(asked.stderr).toMatch(
          new RegExp(
            `^done: study shell-loop: 8/8 asked, ${8 - pruned} told, ${pruned} pruned, best \\S+, 0 pending\n$`,
          ),
        );
        break;
      }
      expect(asked.trials.length).toBeGreaterThan(0);
      // The first ask began the study, and says so first.
      const begun = round === 0 ? "new study shell-loop: begun by this worker \\(budget 8\\)\n" : "";
      expect(asked.stderr).toMatch(
        new RegExp(
          `^${begun}asked [1-4] trial\\(s\\): study shell-loop: \\d/8 asked, \\d+ told(, \\d pruned)?, (best \\S+|no result yet), \\d pending\n$`,
        ),
      );
      for (const { id, params } of asked.trials) {
        // Three steps of a curve whose level is the loss (x − 1)²; stop when told to.
        const loss = (params.x - 1) ** 2;
        let stopped = false;
        for (let step = 1; step <= 3 && !stopped; step++) {
          const reported = await cli.report(id, step, loss + 1 / step);
          expect(reported.status, reported.stderr).toBe(0);
          stopped = (JSON.parse(reported.stdout) as { prune: boolean }).prune;
        }
        if (stopped) pruned++;
        else values.set(id, loss);
        // Told one by one: each later trial is judged against the ones completed before it.
        const told = await cli.tell([stopped ? { id, pruned: true } : { id, value: loss }]);
        expect(told.status, told.stderr).toBe(0);
        best = (JSON.parse(told.stdout) as { best: { value: number } }).best.value;
      }
    }
    expect(pruned).toBeGreaterThan(0);
    const entries = await journal("shell-loop");
    const asks = entries.flatMap((e) => (e.op === "ask" ? e.ids : []));
    expect(asks).toEqual([1, 2, 3, 4, 5, 6, 7, 8]);
    // The last tell's best is the lowest value told; pruned trials never are.
    expect(best).toBe(Math.min(...values.values()));
  });

  it("never hands one trial to two processes that ask at once", async () => {
    const cli = shell("four-at-once");
    const args = ["ask", ...cli.shared];
    const runs = await Promise.all([0, 1, 2].map(() => runArqonAsync(args, cli.dir)));
    const ids = runs.flatMap((run) => {
      expect(run.status, run.stderr).toBe(0);
      return (JSON.parse(run.stdout) as Asked).trials!.map((t) => t.id);
    });
    expect(ids.sort()).toEqual([1, 2, 3]);
  });

  it("says what the study waits for when it can propose nothing", async () => {
    // Forced Nelder–Mead builds its first simplex around the probe's best point: once a result is
    // in (before it, a worker would get a further probe point), it waits for the whole probe.
    const cli = shell("waiting", { ...CONFIG, strategy: "nelder-mead" });
    const probe = (await cli.ask("--batch", "4")).trials!;
    expect(probe).toHaveLength(4);
    expect((await cli.tell([{ id: probe[0]!.id, value: 1 }])).status).toBe(0);
    const waiting = await cli.ask();
    expect(waiting.trials).toEqual([]);
    expect(waiting.stderr).toBe(
      "waiting: study waiting: 4/8 asked, 1 told, best 1, 3 pending; the study can propose nothing until trial(s) 2, 3, 4 are told (by any worker)\n",
    );
  });
});

describe("arqon ask --storage when nothing is left to ask", () => {
  it("says a study was begun, and lists the trials still to be told", async () => {
    const cli = shell("done-pending", { seed: 1, budget: 3, bounds: { x: { min: 0, max: 1 } } });
    const first = await cli.ask("--batch", "3");
    expect(first.trials!.map((t) => t.id)).toEqual([1, 2, 3]);
    expect(first.stderr.split("\n")[0]).toBe("new study done-pending: begun by this worker (budget 3)");
    const running = await cli.ask();
    expect(running).toMatchObject({ trials: null, done: true, pending: [1, 2, 3] });
    expect(running.stderr).toContain("tell pending trial(s) 1, 2, 3 before reading the best");
    expect(running.stderr).not.toContain("new study");
    const results = first.trials!.map((t, i) => ({ id: t.id, value: i }));
    expect((await cli.tell(results)).status).toBe(0);
    const over = await cli.ask();
    expect(over).toEqual({ trials: null, done: true, stderr: expect.not.stringContaining("pending trial") });
  });
});

describe("arqon report --storage", () => {
  it("records one entry per report, answers a retry again, and refuses what the study refuses", async () => {
    const cli = shell("reports");
    const [first, second] = (await cli.ask("--batch", "2")).trials!;
    const ok = await cli.report(first!.id, 1, 0.5);
    expect(ok.stdout).toBe('{"prune":false}\n');
    // A retry of the same report: the same answer, no second entry.
    const again = await cli.report(first!.id, 1, 0.5);
    expect(again.status, again.stderr).toBe(0);
    expect(again.stdout).toBe('{"prune":false}\n');
    const reports = () => journal("reports").then((all) => all.filter((e) => e.op === "report"));
    expect(await reports()).toHaveLength(1);
    const outOfOrder = await cli.report(first!.id, 0, 0.4);
    expect(outOfOrder.status).toBe(2);
    expect(outOfOrder.stderr).toBe(
      `arqon report: step must be a whole number greater than trial ${first!.id}'s previous step 1, got 0: nothing was recorded\n`,
    );
    await cli.tell([{ id: second!.id, value: 1 }]);
    const told = await cli.report(second!.id, 1, 0.5);
    expect(told.status).toBe(2);
    expect(told.stderr).toBe(
      `arqon report: trial ${second!.id} was already told in study reports: nothing was recorded\n`,
    );
    expect(await reports()).toHaveLength(1);
  });

  it("refuses --study or --config without --storage, and --storage with --state", async () => {
    const dir = tempDir();
    const report = ["report", "--id", "1", "--step", "1", "--value", "1"];
    const cases: [string[], string][] = [
      [
        ["--state", "s.json", "--study", "s"],
        "arqon report: --study needs --storage (it names a shared study)",
      ],
      [
        ["--state", "s.json", "--config", "c.json"],
        "arqon report: --config needs --storage (a --state holds its own configuration)",
      ],
      [
        ["--state", "s.json", "--storage", redis.server.url],
        "arqon report: give --state or --storage, not both",
      ],
      [["--storage", redis.server.url, "--config", "c.json"], "arqon report: --storage needs --study <name>"],
    ];
    for (const [flags, message] of cases) {
      const run = await runArqonInProcess([...report, ...flags], dir);
      expect(run.status).toBe(2);
      expect(run.stderr).toContain(message);
    }
    const ask = await runArqonInProcess(["ask", "--state", "s.json", "--study", "s"], dir);
    expect(ask.status).toBe(2);
    expect(ask.stderr).toContain("arqon ask: --study needs --storage (it names a shared study)");
    const both = await runArqonInProcess(["ask", "--state", "s.json", "--storage", redis.server.url], dir);
    expect(both.stderr).toContain("arqon ask: give --state or --storage, not both");
  });
});
