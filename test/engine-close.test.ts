import { type ChildProcess, spawn } from "node:child_process";
import { createRequire } from "node:module";
import { fileURLToPath, pathToFileURL } from "node:url";
import { describe, expect, it } from "vitest";

const ROOT = fileURLToPath(new URL("..", import.meta.url));
const CHILD = fileURLToPath(new URL("./support/engine-close-child.ts", import.meta.url));
/** Absolute URL of tsx's loader, so the child finds it whatever its working directory. */
const TSX = pathToFileURL(createRequire(import.meta.url).resolve("tsx")).href;

/** A running child with its output so far and promises for the lines and the exit we wait on. */
interface Child {
  readonly process: ChildProcess;
  readonly output: () => string;
  readonly line: (text: string, timeoutMs: number) => Promise<void>;
  readonly exit: (timeoutMs: number) => Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

function startChild(mode: "close" | "leave-open"): Child {
  const child = spawn(process.execPath, ["--import", TSX, CHILD, mode], {
    cwd: ROOT,
    stdio: ["ignore", "pipe", "pipe"],
  });
  let stdout = "";
  let stderr = "";
  const waiters: (() => void)[] = [];
  child.stdout.setEncoding("utf8").on("data", (chunk: string) => {
    stdout += chunk;
    for (const wake of waiters.splice(0)) wake();
  });
  child.stderr.setEncoding("utf8").on("data", (chunk: string) => {
    stderr += chunk;
  });
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((done) =>
    child.on("exit", (code, signal) => done({ code, signal })),
  );
  const describeChild = () => `stdout: ${JSON.stringify(stdout)}, stderr: ${JSON.stringify(stderr)}`;
  return {
    process: child,
    output: () => stdout,
    line: (text, timeoutMs) =>
      new Promise<void>((done, fail) => {
        const timer = setTimeout(
          () => fail(new Error(`no "${text}" within ${timeoutMs} ms; ${describeChild()}`)),
          timeoutMs,
        );
        const check = () => {
          if (stdout.split("\n").some((l) => l.startsWith(text))) {
            clearTimeout(timer);
            done();
          } else if (child.exitCode !== null) {
            clearTimeout(timer);
            fail(new Error(`child exited (${child.exitCode}) before "${text}"; ${describeChild()}`));
          } else {
            waiters.push(check);
          }
        };
        check();
        void exited.then(() => waiters.length > 0 && check());
      }),
    exit: (timeoutMs) =>
      Promise.race([
        exited,
        new Promise<never>((_, fail) =>
          setTimeout(
            () => fail(new Error(`still running ${timeoutMs} ms later; ${describeChild()}`)),
            timeoutMs,
          ).unref(),
        ),
      ]),
  };
}

/** Ends a child this test started (by its own handle, never by name) and waits for it to go. */
async function stop(child: Child): Promise<void> {
  if (child.process.exitCode === null && child.process.signalCode === null) {
    child.process.kill("SIGKILL");
    await child.exit(10_000);
  }
}

const pause = (ms: number) => new Promise<void>((done) => setTimeout(done, ms));

describe("engine close() in a real process", () => {
  it("a process whose engine is closed exits by itself, promptly, with code 0", async () => {
    const child = startChild("close");
    try {
      // Starting node + tsx may be slow on a busy machine; only the exit after close() is timed.
      await child.line("ready", 20_000);
      await child.line("closed", 5_000);
      const { code, signal } = await child.exit(3_000);
      expect(signal).toBeNull();
      expect(code).toBe(0);
      expect(child.output()).toMatch(/^ready \d+\nclosed\n$/);
    } finally {
      await stop(child);
    }
  });

  it("negative control: a process whose engine is left open keeps running", async () => {
    const child = startChild("leave-open");
    try {
      await child.line("ready", 20_000);
      await pause(1_500);
      expect(child.process.exitCode).toBeNull();
      expect(child.process.signalCode).toBeNull();
    } finally {
      await stop(child);
    }
    expect(child.process.signalCode).toBe("SIGKILL");
  });
});
