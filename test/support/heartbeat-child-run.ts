/**
 * Starts test/support/heartbeat-child.ts, a worker process with a heartbeat, and follows it: the
 * first trial id it prints, its process (to stop or continue it), and how it ended.
 */
import { spawn } from "node:child_process";
import { createRequire } from "node:module";
import { fileURLToPath, pathToFileURL } from "node:url";

const ROOT = fileURLToPath(new URL("../..", import.meta.url));
const CHILD = fileURLToPath(new URL("./heartbeat-child.ts", import.meta.url));
const TSX = pathToFileURL(createRequire(import.meta.url).resolve("tsx")).href;

/** How a child ended, with all it printed. */
export interface ChildExit {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
  readonly out: string;
  readonly err: string;
}

/** Runs the child (see heartbeat-child.ts for its modes) on study `study` of the server at `url`. */
export function heartbeatChild(
  url: string,
  study: string,
  config: object,
  mode: "die" | "block" | "loop" | "leave" | "slow-start",
  heartbeatMs: number,
  holdMs = 0,
) {
  const child = spawn(
    process.execPath,
    ["--import", TSX, CHILD, url, study, JSON.stringify(config), mode, String(heartbeatMs), String(holdMs)],
    { cwd: ROOT, stdio: ["ignore", "pipe", "pipe"] },
  );
  let out = "";
  let err = "";
  let onId: (id: number) => void = () => {};
  const id = new Promise<number>((resolve) => {
    onId = resolve;
  });
  child.stdout.setEncoding("utf8").on("data", (chunk: string) => {
    out += chunk;
    if (out.includes("\n")) onId(JSON.parse(out.split("\n")[0]!).id);
  });
  child.stderr.setEncoding("utf8").on("data", (chunk: string) => {
    err += chunk;
  });
  const exit = new Promise<ChildExit>((resolve) =>
    child.once("exit", (code, signal) => resolve({ code, signal, out, err })),
  );
  return { id, exit, process: child };
}
