/**
 * The example programs as a user runs them: Ctrl-C on `npm start`, and the command lines of
 * `demo:solver`, `example:fleet` and `example:http` (bad input gets one line and the usage, never a
 * stack trace).
 */
import { spawn } from "node:child_process";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { runHttpService } from "../examples/http-service.js";
import { REPO_ROOT, removeTempDirs, runNode, tempDir } from "./support/cli-run.js";

afterAll(removeTempDirs);

/** Child-process tests end on output conditions; the bound is generous because the machine is shared. */
const CHILD_TIMEOUT_MS = 120_000;

const example = (file: string) => ["--import", "tsx", join(REPO_ROOT, "examples", file)];

describe("npm start interrupted", () => {
  it(
    "prints the summary and completes the audit file when two SIGINTs arrive close together",
    async () => {
      // A terminal's Ctrl-C reaches tsx and the demo; tsx relays it again when the demo's
      // acknowledgement is late, so the demo can get SIGINT twice within milliseconds.
      const out = join(tempDir(), "audit.jsonl");
      const child = spawn(process.execPath, [...example("engine-demo.ts"), "--seconds", "60", "--out", out], {
        cwd: REPO_ROOT,
        stdio: ["ignore", "pipe", "pipe"],
      });
      let stdout = "";
      let stderr = "";
      const waiters: Array<() => void> = [];
      const wake = () => {
        for (const w of waiters.splice(0)) w();
      };
      child.stdout.setEncoding("utf8").on("data", (text: string) => {
        stdout += text;
        wake();
      });
      child.stderr.setEncoding("utf8").on("data", (text: string) => {
        stderr += text;
      });
      let status: { code: number | null; signal: NodeJS.Signals | null } | undefined;
      const closed = new Promise<void>((resolve) =>
        child.on("close", (code, signal) => {
          status = { code, signal };
          wake();
          resolve();
        }),
      );
      const outputGrows = async () => {
        const before = stdout.length;
        while (stdout.length === before && status === undefined)
          await new Promise<void>((w) => waiters.push(w));
      };

      while (!stdout.includes("The load surges halfway through.\n\n") && status === undefined)
        await outputGrows();
      child.kill("SIGINT");
      // The second SIGINT as soon as the demo prints anything after the first: the run is ending.
      await outputGrows();
      child.kill("SIGINT");
      await closed;

      expect(stderr).toBe("");
      expect(status).toEqual({ code: 0, signal: null });
      expect(stdout).toMatch(/^Interrupted: stopping at the next digest/m);
      const events = Number(/^Audit: (\d+) events/m.exec(stdout)?.[1]);
      expect(stdout).toContain(`written to\n  ${out}\n`);
      const lines = readFileSync(out, "utf8").split("\n");
      expect(lines.pop()).toBe("");
      expect(lines.length).toBe(events);
      for (const line of lines) expect(() => JSON.parse(line)).not.toThrow();
    },
    CHILD_TIMEOUT_MS,
  );
});

describe("demo:solver command line", () => {
  it("prints its usage for --help", () => {
    const run = runNode([...example("solver-demo.ts"), "--help"], REPO_ROOT);
    expect(run.status).toBe(0);
    expect(run.stdout).toMatch(/^usage: tsx examples\/solver-demo\.ts \[--budget N\]/);
    expect(run.stderr).toBe("");
  });

  it.each([
    [["--budget", "abc"], '--budget must be a whole number ≥ 1, got "abc"'],
    [["--concurrency", "0"], '--concurrency must be a whole number ≥ 1, got "0"'],
    [["--seed", "1.5"], '--seed must be an integer, got "1.5"'],
    [["--bogus"], "Unknown option '--bogus'"],
  ])("refuses %j with one line naming the option, then the usage (exit 2)", (args, message) => {
    const run = runNode([...example("solver-demo.ts"), ...args], REPO_ROOT);
    expect(run.status).toBe(2);
    const [first, second] = run.stdout.split("\n");
    expect(first).toContain(`solver-demo: ${message}`);
    expect(second).toMatch(/^usage: /);
    expect(run.stderr).toBe("");
  });
});

describe("example:fleet command line", () => {
  // Both are refused before redis-server starts, so these need no redis-server.
  it("prints its usage for --help", () => {
    const run = runNode([...example("fleet/run.ts"), "--help"], REPO_ROOT);
    expect(run.status).toBe(0);
    expect(run.stdout).toMatch(/^usage: tsx examples\/fleet\/run\.ts \[--replicas N\] \[--seconds N\]/);
    expect(run.stderr).toBe("");
  });

  it.each([
    [["--seconds", "5"], '--seconds must be a whole number in [10, 3600], got "5"'],
    [["--replicas", "two"], '--replicas must be a whole number in [1, 64], got "two"'],
    [["--bogus"], "Unknown option '--bogus'"],
  ])("refuses %j with one line naming the option, then the usage (exit 2)", (args, message) => {
    const run = runNode([...example("fleet/run.ts"), ...args], REPO_ROOT);
    expect(run.status).toBe(2);
    const [first, second] = run.stdout.split("\n");
    expect(first).toContain(`fleet: ${message}`);
    expect(second).toMatch(/^usage: /);
    expect(run.stderr).toBe("");
  });
});

describe("example:http command line", () => {
  // Refused before the service starts, so these run in this process.
  const run = async (args: readonly string[]) => {
    let text = "";
    const code = await runHttpService(args, (t) => {
      text += t;
    });
    return { code, text };
  };

  it("prints its usage for --help", async () => {
    expect(await run(["--help"])).toEqual({
      code: 0,
      text: "usage: tsx examples/http-service.ts [--seconds N (tuning, 0 < N ≤ 600)] [--seed N]\n",
    });
  });

  it.each([
    [["--seconds", "abc"], '--seconds must be a number of seconds in (0, 600], got "abc"'],
    [["--seed", "x"], '--seed must be an integer, got "x"'],
    [["--bogus"], "Unknown option '--bogus'"],
  ])("refuses %j with one line naming the option, then the usage (exit 2)", async (args, message) => {
    const { code, text } = await run(args);
    expect(code).toBe(2);
    const [first, second] = text.split("\n");
    expect(first).toContain(`http-service: ${message}`);
    expect(second).toMatch(/^usage: /);
  });
});
