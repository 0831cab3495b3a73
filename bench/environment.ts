import { execFileSync } from "node:child_process";
import os from "node:os";

/** Where and when a benchmark ran: printed with every result and written beside it. */
export interface Environment {
  readonly date: string;
  readonly cpu: string;
  readonly cores: number;
  readonly memoryGiB: number;
  readonly platform: string;
  readonly node: string;
  readonly nodeEnv: string;
  readonly loadAverage: readonly number[];
  readonly commit: string;
}

/** Describes the current machine, process and checkout. */
export function describeEnvironment(): Environment {
  const cpus = os.cpus();
  return {
    date: new Date().toISOString().replace(/\.\d+Z$/, "Z"),
    cpu: cpus[0]?.model.trim() ?? "unknown",
    cores: cpus.length,
    memoryGiB: Math.round(os.totalmem() / 2 ** 30),
    platform: `${os.type()} ${os.release()} ${os.arch()}`,
    node: process.version,
    nodeEnv: process.env.NODE_ENV ?? "(unset)",
    loadAverage: os.loadavg().map((load) => Math.round(load * 100) / 100),
    commit: gitCommit(),
  };
}

function gitCommit(): string {
  try {
    const head = execFileSync("git", ["rev-parse", "--short", "HEAD"], { encoding: "utf8" }).trim();
    // Untracked files count too: a new source file changes what was measured.
    const dirty = execFileSync("git", ["status", "--porcelain", "--", "src", "machines", "bench"], {
      encoding: "utf8",
    }).trim();
    return dirty === "" ? head : `${head} (uncommitted changes)`;
  } catch {
    return "unknown";
  }
}

/** One line for the console and the docs: machine, Node, date. */
export function environmentLine(env: Environment): string {
  return (
    `${env.cpu}, ${env.cores} cores, ${env.memoryGiB} GiB, ${env.platform}; Node ${env.node}, ` +
    `NODE_ENV=${env.nodeEnv}; load average ${env.loadAverage.join(" / ")}; ${env.date}; commit ${env.commit}`
  );
}
