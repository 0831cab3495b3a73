import * as fs from "node:fs";

/**
 * The file operations the decision-log writer uses on its segments: the synchronous ones for the
 * write-ahead path (commands, close), the callback ones for group commits, which run on libuv's
 * thread pool and so never block the host's event loop.
 *
 * @remarks
 * `node:fs` itself is one. Tests pass a wrapper that fails on demand (a full disk, an I/O error).
 */
export type SegmentIo = Pick<
  typeof fs,
  | "openSync"
  | "writeSync"
  | "fdatasyncSync"
  | "fsyncSync"
  | "closeSync"
  | "open"
  | "write"
  | "fdatasync"
  | "fsync"
  | "close"
>;

/** The real file system. */
export const nodeSegmentIo: SegmentIo = fs;

/** Opens an existing segment for writing or creates it, never truncating it (a retry rewrites the same bytes). */
export const SEGMENT_OPEN_FLAGS = fs.constants.O_RDWR | fs.constants.O_CREAT;

/** Writes `bytes[0, length)` at `position` of `fd`, synchronously. */
export function writeAllSync(
  io: SegmentIo,
  fd: number,
  bytes: Uint8Array,
  position: number,
  length = bytes.length,
): void {
  let done = 0;
  while (done < length) done += io.writeSync(fd, bytes, done, length - done, position + done);
}

/** Writes all of `bytes` at `position` of `fd` on the thread pool. */
export async function writeAll(
  io: SegmentIo,
  fd: number,
  bytes: Uint8Array,
  position: number,
): Promise<void> {
  let done = 0;
  while (done < bytes.length) {
    done += await new Promise<number>((resolve, reject) =>
      io.write(fd, bytes, done, bytes.length - done, position + done, (error, written) =>
        error === null ? resolve(written) : reject(error),
      ),
    );
  }
}

/** Opens `path` with `flags` on the thread pool. */
export function openAsync(io: SegmentIo, path: string, flags: number | string): Promise<number> {
  return new Promise((resolve, reject) =>
    io.open(path, flags, (error, fd) => (error === null ? resolve(fd) : reject(error))),
  );
}

/** fdatasync on the thread pool. */
export function datasyncAsync(io: SegmentIo, fd: number): Promise<void> {
  return new Promise((resolve, reject) =>
    io.fdatasync(fd, (error) => (error === null ? resolve() : reject(error))),
  );
}

/** Closes `fd` on the thread pool; a failure to close is not worth reporting once the data is durable. */
export function closeQuietly(io: SegmentIo, fd: number): void {
  io.close(fd, () => {});
}

/** Flushes the entry table of directory `dir` on the thread pool (a new segment's name survives a crash). */
export async function fsyncDirectoryAsync(io: SegmentIo, dir: string): Promise<void> {
  const fd = await openAsync(io, dir, "r");
  try {
    await new Promise<void>((resolve, reject) =>
      io.fsync(fd, (error) => (error === null ? resolve() : reject(error))),
    );
  } finally {
    closeQuietly(io, fd);
  }
}

/** Flushes the entry table of directory `dir`, synchronously. */
export function fsyncDirectorySync(io: SegmentIo, dir: string): void {
  const fd = io.openSync(dir, "r");
  try {
    io.fsyncSync(fd);
  } finally {
    io.closeSync(fd);
  }
}
