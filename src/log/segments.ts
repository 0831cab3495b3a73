import { closeSync, fsyncSync, openSync, readdirSync, statSync } from "node:fs";
import { readdir } from "node:fs/promises";
import { join } from "node:path";
import { hasErrorCode } from "../errors.js";
import { asLogError } from "./errors.js";

/** File name suffix of a segment. */
export const SEGMENT_SUFFIX = ".alog";

const SEGMENT_NAME = /^(\d{8})\.alog$/;

/** The file name of segment number `n` (1-based): eight digits, then `.alog`. */
export function segmentName(n: number): string {
  if (!Number.isSafeInteger(n) || n < 1 || n > 99_999_999) throw new RangeError(`bad segment number ${n}`);
  return `${String(n).padStart(8, "0")}${SEGMENT_SUFFIX}`;
}

/** Whether `name` (a file name, no directory) is a segment's: eight digits, then `.alog`. */
export function isSegmentName(name: string): boolean {
  return SEGMENT_NAME.test(name);
}

/** A segment file of a log directory. */
export interface SegmentFile {
  readonly number: number;
  readonly path: string;
}

/**
 * The segment files of `dir` in ascending number order (other files are ignored).
 *
 * @throws LogError "cannot read decision log `dir`: <reason>" when `dir` cannot be listed (missing,
 * not a directory, no permission).
 */
export function listSegments(dir: string): SegmentFile[] {
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch (error) {
    throw asLogError(error, `cannot read decision log ${dir}`);
  }
  return segmentsAmong(dir, names);
}

/** {@link listSegments}, listing the directory asynchronously (fs/promises). */
export async function listSegmentsAsync(dir: string): Promise<SegmentFile[]> {
  let names: string[];
  try {
    names = await readdir(dir);
  } catch (error) {
    throw asLogError(error, `cannot read decision log ${dir}`);
  }
  return segmentsAmong(dir, names);
}

/** The segment files among the entry `names` of `dir`, in order. */
function segmentsAmong(dir: string, names: readonly string[]): SegmentFile[] {
  const found: SegmentFile[] = [];
  for (const name of names) {
    const match = SEGMENT_NAME.exec(name);
    if (match !== null) found.push({ number: Number(match[1]), path: join(dir, name) });
  }
  return found.sort((a, b) => a.number - b.number);
}

/**
 * Whether `dir` is a directory holding at least one segment file: false for a path that does not
 * exist or is not a directory.
 *
 * @throws LogError when `dir` is a directory that cannot be listed.
 */
export function hasDecisionLog(dir: string): boolean {
  let isDirectory: boolean;
  try {
    isDirectory = statSync(dir).isDirectory();
  } catch (error) {
    // A path through a regular file (ENOTDIR) does not exist either.
    if (hasErrorCode(error, "ENOENT") || hasErrorCode(error, "ENOTDIR")) return false;
    throw asLogError(error, `cannot read decision log ${dir}`);
  }
  return isDirectory && listSegments(dir).length > 0;
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
