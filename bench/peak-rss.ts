import { readFileSync } from "node:fs";

/**
 * This process's peak resident memory in MB: Linux's high-water mark of its own address space
 * (VmHWM). `resourceUsage().maxRSS` is not used: Linux carries the parent's resident size at the
 * fork into it, across the exec.
 */
export function peakRssMb(): number {
  const line = readFileSync("/proc/self/status", "utf8").match(/^VmHWM:\s+(\d+) kB$/m);
  if (line === null) throw new Error("no VmHWM in /proc/self/status: the benchmark needs Linux");
  return Number(line[1]) / 1024;
}
