import { spawn } from "node:child_process";
import { appendFileSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { afterAll, describe, expect, it, vi } from "vitest";
import { runDashboard } from "../src/cli/dashboard.js";
import type { CliIo } from "../src/cli/io.js";
import { createSolver } from "../src/index.js";
import { REPO_ROOT, removeTempDirs, runArqonInProcess, tempDir } from "./support/cli-run.js";

afterAll(() => removeTempDirs());

/** The parts of `GET /state` these tests read. */
interface StateReply {
  readonly view: Record<string, unknown>;
  readonly baseline: { value: number; windows: number; generation: number } | null;
  readonly controls: boolean;
}

/** A CliIo that records stderr and resolves `printed` once the token (or study) line is out. */
function recordingIo(cwd: string, ready: RegExp = /Ctrl-C stops it/) {
  let stderr = "";
  let announce: (text: string) => void = () => {};
  const printed = new Promise<string>((resolve) => {
    announce = resolve;
  });
  const io: CliIo = {
    stdout: () => {},
    stderr: (text) => {
      stderr += text;
      if (ready.test(stderr)) announce(stderr);
    },
    readStdin: async () => "",
    stdinIsTerminal: true,
    cwd,
    env: {},
  };
  return { io, printed, stderr: () => stderr };
}

/** The URL a dashboard of a recording printed: no token, since there is nothing to control. */
function announcedReadOnly(text: string): string {
  const url = /open (http:\/\/127\.0\.0\.1:\d+\/)\n/.exec(text);
  expect(url).not.toBeNull();
  expect(text).not.toMatch(/token/);
  return url![1]!;
}

/** The URL (with its #token= fragment) and the token a dashboard printed. */
function announced(text: string): { url: string; token: string } {
  const url = /open (http:\/\/127\.0\.0\.1:\d+\/)#token=(\w+)/.exec(text);
  const token = /control token: (\w+)/.exec(text);
  expect(url).not.toBeNull();
  expect(token?.[1]).toBe(url?.[2]);
  return { url: url![1]!, token: token![1]! };
}

const recordingLines = [
  { v: 2, runId: "cli-rec", seq: 1, time: 0, generation: 0, proposalId: -1, type: "baseline.set" },
  {
    v: 2,
    runId: "cli-rec",
    seq: 2,
    time: 100,
    generation: 0,
    proposalId: 0,
    type: "window.closed",
    count: 5,
    value: 3,
    timedOut: false,
    openedAt: 0,
  },
]
  .map((e) => JSON.stringify(e))
  .join("\n");

describe("arqon dashboard", () => {
  it("serves a recording read-only, prints its URL and no token, and stops when asked", async () => {
    const dir = tempDir();
    writeFileSync(join(dir, "run.jsonl"), recordingLines);
    const { io, printed, stderr } = recordingIo(dir);
    const stop = new AbortController();
    const running = runDashboard(["--log", "run.jsonl"], io, stop.signal);
    const url = announcedReadOnly(await printed);
    expect(stderr()).toContain("run.jsonl (2 events so far, following it; read-only)");
    const state = (await (await fetch(new URL("state", url))).json()) as StateReply;
    expect(state.view).toMatchObject({ source: "recorded", title: expect.stringContaining("cli-rec") });
    expect(state.baseline).toEqual({ value: 3, windows: 1, generation: 0 });
    expect(state.controls).toBe(false);
    const halt = await fetch(new URL("control/halt", url), {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ reason: "x" }),
    });
    expect(halt.status).toBe(401);
    stop.abort();
    expect(await running).toBe(0);
    expect(stderr()).toContain("arqon dashboard: stopped");
    await expect(fetch(url)).rejects.toThrow();
  });

  it("follows a --log recording as it grows", async () => {
    const dir = tempDir();
    writeFileSync(join(dir, "run.jsonl"), `${recordingLines}\n`);
    const { io, printed } = recordingIo(dir);
    const stop = new AbortController();
    const running = runDashboard(["--log", "run.jsonl"], io, stop.signal);
    const url = announcedReadOnly(await printed);
    const more = {
      v: 2,
      runId: "cli-rec",
      seq: 3,
      time: 200,
      generation: 1,
      proposalId: 1,
      type: "apply",
      kind: "plus",
    };
    appendFileSync(join(dir, "run.jsonl"), `${JSON.stringify(more)}\n`);
    // The recording is checked every 500 ms; wait for the appended event to reach the server.
    await vi.waitFor(
      async () => {
        const state = (await (await fetch(new URL("state", url))).json()) as StateReply & {
          events: unknown[];
        };
        expect(state.events).toHaveLength(3);
        expect(state.view).toMatchObject({ generation: 1, phase: "cycle.plus" });
      },
      { timeout: 10_000, interval: 100 },
    );
    stop.abort();
    expect(await running).toBe(0);
  });

  it("serves the study view of a solver state with --study", async () => {
    const dir = tempDir();
    const solver = createSolver({ seed: 1, budget: 10, bounds: { x: { min: 0, max: 1 } } });
    const trials = solver.ask() ?? [];
    solver.tell(trials.map((t) => ({ id: t.id, value: (t.params.x! - 0.3) ** 2 })));
    writeFileSync(join(dir, "state.json"), JSON.stringify(solver.toJSON()));
    solver.stop();
    const { io, printed } = recordingIo(dir);
    const stop = new AbortController();
    const running = runDashboard(["--study", "state.json"], io, stop.signal);
    const text = await printed;
    expect(text).toContain(`state.json (${trials.length} results, updated as it changes)`);
    const url = /open (http:\/\/127\.0\.0\.1:\d+\/)/.exec(text)![1]!;
    const reply = (await (await fetch(new URL("study.json", url))).json()) as {
      study: { trials: unknown[] };
    };
    expect(reply.study.trials).toHaveLength(trials.length);
    stop.abort();
    expect(await running).toBe(0);
    await expect(fetch(url)).rejects.toThrow();
  });

  it("runs the built-in demo engine live by default", async () => {
    const { io, printed } = recordingIo(tempDir());
    const stop = new AbortController();
    const running = runDashboard(["--seed", "11"], io, stop.signal);
    const text = await printed;
    expect(text).toContain("live demo engine (seed 11) beside its untuned twin");
    const { url } = announced(text);
    const state = (await (await fetch(new URL("state", url))).json()) as StateReply;
    expect(state.controls).toBe(true);
    expect(state.view).toMatchObject({ source: "live", names: ["batchSize", "timeoutMs"], mode: "normal" });
    stop.abort();
    expect(await running).toBe(0);
  });

  it("refuses bad flags and unreadable recordings with exit code 2", async () => {
    const dir = tempDir();
    writeFileSync(join(dir, "bad.jsonl"), "{not json\n");
    const cases: [string[], RegExp][] = [
      [["dashboard", "--port", "http"], /--port must be a whole number in \[0, 65535\]/],
      [["dashboard", "--port", "70000"], /--port must be/],
      [["dashboard", "--log", "a.jsonl", "--demo"], /exclude each other/],
      [
        ["dashboard", "--log", "a.jsonl", "--study", "s.json"],
        /--log, --study and --demo exclude each other/,
      ],
      [["dashboard", "--study", "missing.json"], /missing\.json is not a readable arqon solver state/],
      [["dashboard", "--log", "missing.jsonl"], /cannot read .*missing\.jsonl/],
      [["dashboard", "--log", "bad.jsonl"], /bad\.jsonl:1: not JSON/],
      [["dashboard", "--bogus"], /arqon dashboard: .*bogus/],
    ];
    for (const [args, message] of cases) {
      const run = await runArqonInProcess(args, dir);
      expect(run.status, args.join(" ")).toBe(2);
      expect(run.stderr).toMatch(message);
    }
    const help = await runArqonInProcess(["dashboard", "--help"], dir);
    expect(help.status).toBe(0);
    expect(help.stdout).toContain("arqon dashboard [--log");
    expect((await runArqonInProcess(["--help"], dir)).stdout).toContain("arqon dashboard");
  });

  it("as a process, shuts down cleanly on SIGTERM", async () => {
    const tsx = pathToFileURL(createRequire(import.meta.url).resolve("tsx")).href;
    const child = spawn(
      process.execPath,
      ["--import", tsx, join(REPO_ROOT, "src/cli/main.ts"), "dashboard"],
      {
        cwd: tempDir(),
        stdio: ["ignore", "ignore", "pipe"],
      },
    );
    let stderr = "";
    const exited = new Promise<number | null>((resolve) => child.on("exit", (code) => resolve(code)));
    const ready = new Promise<void>((resolve, reject) => {
      child.stderr.setEncoding("utf8");
      child.stderr.on("data", (chunk: string) => {
        stderr += chunk;
        if (stderr.includes("control token:")) resolve();
      });
      child.on("exit", () => reject(new Error(`exited early: ${stderr}`)));
    });
    await ready;
    const { url } = announced(stderr);
    expect((await fetch(url)).status).toBe(200);
    child.kill("SIGTERM");
    expect(await exited).toBe(0);
    expect(stderr).toContain("arqon dashboard: stopped");
  });
});
