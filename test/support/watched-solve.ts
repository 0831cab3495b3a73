/**
 * An in-process `arqon solve --storage` worker for tests that watch its stderr as it comes, with an
 * objective whose trials can be held: the Redis outage and refused-result tests share it.
 */
import { chmodSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { expect } from "vitest";
import type { CliIo, InterruptSignal } from "../../src/cli/io.js";
import { SIGNAL_ECHO_MS } from "../../src/cli/solve-interrupt.js";
import { type SharedSolveOptions, solveShared } from "../../src/cli/solve-shared.js";
import { tempDir, writeJson } from "./cli-run.js";

/**
 * The objective, an executable script: (x - 0.4)², written to `value-<id>` too. The trials the file
 * `hold` lists announce themselves on stderr (and with a file `holding-<id>`) and hold while it
 * exists (the objective's own wait, not the test's); the trial the file `last` names deletes the
 * script once it has its value and every held trial is holding (a held trial started after the
 * deletion could not run at all), so that the next trial cannot be started.
 */
const OBJECTIVE = `#!${process.execPath}
const fs = require("node:fs");
const id = process.env.ARQON_TRIAL_ID;
const held = fs.existsSync("hold") ? fs.readFileSync("hold", "utf8").split(" ") : [];
const value = () => {
  const v = (Number(process.env.ARQON_X) - 0.4) ** 2;
  fs.writeFileSync("value-" + id, String(v));
  console.log(v);
};
const last = () => {
  value();
  const timer = setInterval(() => {
    if (held.every((h) => fs.existsSync("holding-" + h))) { clearInterval(timer); fs.rmSync(__filename); }
  }, 20);
};
if (held.includes(id) && fs.existsSync("hold")) {
  fs.writeFileSync("holding-" + id, "");
  process.stderr.write("holding trial " + id + "\\n");
  const timer = setInterval(() => {
    if (!fs.existsSync("hold")) { clearInterval(timer); value(); }
  }, 20);
} else if (fs.existsSync("last") && fs.readFileSync("last", "utf8") === id) last();
else value();
`;

/** A directory with `config` as c.json and the objective, whose trials `held` hold until `hold` is removed. */
export function heldTrialsDir(config: object, held: readonly number[]): string {
  const dir = tempDir();
  writeJson(dir, "c.json", config);
  writeFileSync(join(dir, "objective"), OBJECTIVE);
  chmodSync(join(dir, "objective"), 0o755);
  writeFileSync(join(dir, "hold"), held.join(" "));
  return dir;
}

/** A worker of the study `options.study` at `storage`, run in this process on the objective of `dir`. */
export class WatchedSolve {
  stdout = "";
  stderr = "";
  readonly status: Promise<number>;
  private ended = false;
  private handler: ((signal: InterruptSignal) => void) | undefined;
  private skippedMs = 0;
  private readonly waiters: Array<() => void> = [];

  constructor(
    readonly dir: string,
    storage: string,
    options: Partial<SharedSolveOptions> & { readonly study: string },
  ) {
    const io: CliIo = {
      stdout: (text) => {
        this.stdout += text;
      },
      stderr: (text) => {
        this.stderr += text;
        for (const wake of this.waiters.splice(0)) wake();
      },
      readStdin: async () => "",
      stdinIsTerminal: false,
      cwd: dir,
      env: process.env,
      // Real time, moved on at each interrupt so that it is a new one, never the echo of the last.
      now: () => performance.now() + this.skippedMs,
      onInterrupt: (handler) => {
        this.handler = handler;
        return () => {
          this.handler = undefined;
        };
      },
    };
    const all: SharedSolveOptions = {
      storage,
      configPath: "c.json",
      concurrency: 1,
      onError: "stop",
      quiet: false,
      ...options,
    };
    this.status = solveShared(["./objective"], all, io);
    const ended = () => {
      this.ended = true;
      for (const wake of this.waiters.splice(0)) wake();
    };
    this.status.then(ended, ended);
  }

  /** Resolves once stderr contains `text`, or false once the solve ended without it. */
  async stderrContains(text: string): Promise<boolean> {
    for (;;) {
      if (this.stderr.includes(text)) return true;
      if (this.ended) return false;
      await new Promise<void>((wake) => this.waiters.push(wake));
    }
  }

  /** `signal`, as the process's handler would deliver it. */
  interrupt(signal: InterruptSignal): void {
    expect(this.handler, "the worker listens for interrupts").toBeDefined();
    this.skippedMs += SIGNAL_ECHO_MS;
    this.handler!(signal);
  }

  /** The value trial `id` computed. */
  value(id: number): number {
    return Number(readFileSync(join(this.dir, `value-${id}`), "utf8"));
  }
}
