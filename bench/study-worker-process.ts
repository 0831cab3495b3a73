/**
 * A worker process of the shared-study benchmarks: started from its TypeScript source, it prints
 * "ready" once it opened its study, waits for the start signal, and ends by printing what it did
 * as one JSON line.
 */
import { spawn } from "node:child_process";
import { createRequire } from "node:module";
import { fileURLToPath, pathToFileURL } from "node:url";

const ROOT = fileURLToPath(new URL("..", import.meta.url));
const TSX = pathToFileURL(createRequire(import.meta.url).resolve("tsx")).href;

/** Starts `script` with `args`; `ready` resolves once it opened the study, `done` with its JSON line. */
export function startWorker<R>(
  script: string,
  args: readonly string[],
): { ready: Promise<void>; done: Promise<R> } {
  let onReady: () => void = () => {};
  const ready = new Promise<void>((resolve) => {
    onReady = resolve;
  });
  const done = new Promise<R>((resolve, reject) => {
    const child = spawn(process.execPath, ["--import", TSX, script, ...args], {
      cwd: ROOT,
      stdio: ["ignore", "pipe", "pipe"],
    });
    let out = "";
    let err = "";
    child.stdout.setEncoding("utf8").on("data", (chunk: string) => {
      out += chunk;
      if (out.startsWith("ready\n")) onReady();
    });
    child.stderr.setEncoding("utf8").on("data", (chunk: string) => {
      err += chunk;
    });
    child.once("error", reject);
    child.once("exit", (code) => {
      if (code === 0) resolve(JSON.parse(out.slice("ready\n".length).trim()) as R);
      else reject(new Error(`worker ${args.at(-1)} exited with ${code}:\n${err}`));
    });
  });
  done.catch(() => onReady());
  return { ready, done };
}
