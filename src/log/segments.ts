import { closeSync, existsSync, fsyncSync, openSync, readdirSync } from "node:fs";
import { join } from "node:path";

/** File name suffix of a segment. */
export const SEGMENT_SUFFIX = ".alog";

const SEGMENT_NAME = /^(\d{8})\.alog$/;

/** The file name of segment number `n` (1-based): eight digits, then `.alog`. */
export function segmentName(n: number): string {
  if (!Number.isSafeInteger(n) || n < 1 || n > 99_999_999) throw new RangeError(`bad segment number ${n}`);
  return `${String(n).padStart(8, "0")}${SEGMENT_SUFFIX}`;
}

/** A segment file of a log directory. */
export interface SegmentFile {
  readonly number: number;
  readonly path: string;
}

/** The segment files of `dir` in ascending number order (other files are ignored). */
export function listSegments(dir: string): SegmentFile[] {
  const found: SegmentFile[] = [];
  for (const name of readdirSync(dir)) {
    const match = SEGMENT_NAME.exec(name);
    if (match !== null) found.push({ number: Number(match[1]), path: join(dir, name) });
  }
  return found.sort((a, b) => a.number - b.number);
}

/** Whether `dir` exists and holds at least one segment file. */
export function hasDecisionLog(dir: string): boolean {
  return existsSync(dir) && listSegments(dir).length > 0;
}

/**
 * Flushes the directory entry table of `dir` to disk, so that files created, renamed or removed
 * in it survive a crash. Without this, a file fsynced after creation may still vanish with its
 * directory entry.
 */
export function fsyncDirectory(dir: string): void {
  const fd = openSync(dir, "r");
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}
