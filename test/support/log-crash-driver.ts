import { type ChildProcess, spawn } from "node:child_process";
import { fileURLToPath } from "node:url";
import { bundleForNode, type NodeBundle } from "./node-bundle.js";

const CHILD_SOURCE = fileURLToPath(new URL("./log-crash-child.ts", import.meta.url));

/** The crash child bundled for a bare `node` (see {@link bundleForNode}): each kill starts in tens of ms. */
export function bundleCrashChild(): Promise<NodeBundle> {
  return bundleForNode(CHILD_SOURCE);
}

/** The padding of crash-test record `seq`, so records differ in size. */
export function crashRecordPad(seq: number): string {
  return "p".repeat(seq % 37);
}

/** What the parent saw of a killed child. */
export interface KilledChild {
  /** Last `A <seq>` line: records appended (not necessarily durable). */
  readonly lastAppended: number;
  /** Last `D <seq>` line: records acknowledged durable. */
  readonly lastDurable: number;
  /** Wall-clock time of the kill (epoch ms, sub-ms precision), same clock as the records' `t`. */
  readonly killedAt: number;
  /** Every line the child printed. */
  readonly lines: readonly string[];
}

/**
 * Starts `node <script> ...args`, waits for the line `trigger` (or the first line it accepts),
 * waits `delayMs` more, SIGKILLs it and resolves once it is dead with everything it printed.
 */
export function runAndKill(
  script: string,
  args: readonly string[],
  trigger: string | ((line: string) => boolean),
  delayMs: number,
): Promise<KilledChild> {
  const triggers = typeof trigger === "string" ? (line: string) => line === trigger : trigger;
  return new Promise((resolve, reject) => {
    const child: ChildProcess = spawn(process.execPath, [script, ...args], {
      stdio: ["ignore", "pipe", "inherit"],
    });
    let text = "";
    let killedAt = Number.NaN;
    let armed = false;
    child.stdout!.setEncoding("utf8");
    child.stdout!.on("data", (chunk: string) => {
      text += chunk;
      // Only whole lines: a line still arriving could match in part.
      if (!armed && text.split("\n").slice(0, -1).some(triggers)) {
        armed = true;
        setTimeout(() => {
          killedAt = performance.timeOrigin + performance.now();
          child.kill("SIGKILL");
        }, delayMs);
      }
    });
    child.on("error", reject);
    child.on("close", () => {
      const lines = text.split("\n").filter((l) => l !== "");
      let lastAppended = 0;
      let lastDurable = -1;
      for (const line of lines) {
        if (line.startsWith("A ")) lastAppended = Number(line.slice(2));
        else if (line.startsWith("D ")) lastDurable = Number(line.slice(2));
      }
      if (Number.isNaN(killedAt)) killedAt = performance.timeOrigin + performance.now();
      resolve({ lastAppended, lastDurable, killedAt, lines });
    });
  });
}
