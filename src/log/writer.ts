import {
  closeSync,
  copyFileSync,
  fdatasyncSync,
  ftruncateSync,
  mkdirSync,
  openSync,
  readdirSync,
  renameSync,
  rmSync,
  statSync,
  writeSync,
} from "node:fs";
import { join } from "node:path";
import { crc32c } from "./crc32c.js";
import { asLogError, LogError } from "./errors.js";
import { encodeFrame, FRAME_HEADER_BYTES, MAX_PAYLOAD_BYTES } from "./frame.js";
import { acquireLogLock, type FileLock, LOCK_FILE_NAME, type StaleLock } from "./lock.js";
import { type LogEntry, type LogHeader, type LogRecord, payloadText } from "./records.js";
import { type Corruption, scanDecisionLog, type TornTail } from "./scan.js";
import { fsyncDirectory, type SegmentFile, segmentName } from "./segments.js";

/** Options of {@link openDecisionLog} and `DecisionLog.make`. */
export interface DecisionLogOptions {
  /** Directory of the log; created when missing. */
  readonly dir: string;
  /**
   * The first record of a new log (engine or solver config, seed, package version, registry…).
   * Required when the directory holds no log yet; ignored when it does (read `writer.header`).
   */
  readonly header?: LogHeader;
  /** Group commit: write and fsync at most this many ms after a record is appended (default 50). */
  readonly flushMs?: number;
  /** Group commit: write and fsync as soon as this many records wait (default 256). */
  readonly flushRecords?: number;
  /** `"group"` (default) or `"always"`: write and fsync every record before `append` returns. */
  readonly fsync?: "group" | "always";
  /** Start a new segment once the current one holds this many bytes (default 64 MiB). */
  readonly segmentBytes?: number;
  /**
   * On mid-log damage, `true` (default) fails with a `LogCorruptionError`; `false` keeps the valid
   * prefix, moves the damaged bytes aside into `*.dropped` files and reports it in `recovery`.
   */
  readonly strict?: boolean;
  /** Called after every group commit with the last durable seq (tests and monitoring). */
  readonly onDurable?: (seq: number) => void;
  /**
   * Called when a group commit run by the timer or fiber fails (disk full, I/O error). The records
   * stay buffered and the next commit retries them; `writer.lastError` holds the failure meanwhile.
   */
  readonly onError?: (error: LogError) => void;
  /**
   * The directory's lock, already taken by the caller with `acquireLogLock(dir)` (the CLI holds it
   * across a read-modify-write). The writer then takes no lock of its own and leaves releasing this
   * one to the caller. Without it, opening takes the lock and `close()` releases it.
   */
  readonly lock?: FileLock;
}

/** What opening an existing log had to repair; the caller audits it. */
export interface LogRecovery {
  /**
   * `"torn-tail"`: an incomplete last write was cut off; `"corruption"`: mid-log damage was set
   * aside; `"stale-lock"`: the data was intact, only the lock of a writer that is gone was taken over
   * (see `staleLock`, which the other kinds carry too when it happened).
   */
  readonly kind: "torn-tail" | "corruption" | "stale-lock";
  /** Segment file where the valid data now ends. */
  readonly segment: string;
  /** Offset in that file where it was truncated (for `"stale-lock"`: its size, nothing was cut). */
  readonly truncatedAt: number;
  /** Bytes removed from the log (moved aside for `"corruption"`; 0 for `"stale-lock"`). */
  readonly bytesDropped: number;
  /** For `"corruption"`: what was wrong. */
  readonly reason?: string;
  /** The lock left by a writer that died (or an unreadable old lock file), taken over on open. */
  readonly staleLock?: StaleLock;
}

/** How the writer's group commit is driven: the plain writer uses Node timers, Effect a fiber. */
export interface FlushScheduler {
  /** A record entered an empty buffer: flush within `flushMs`. */
  armDeadline(): void;
  /** The buffer reached `flushRecords`: flush as soon as the caller yields. */
  flushSoon(): void;
  /** The writer is closing: cancel anything armed. */
  cancel(): void;
}

const encoder = new TextEncoder();

const DEFAULTS = { flushMs: 50, flushRecords: 256, segmentBytes: 64 * 1024 * 1024 } as const;

/**
 * Append-only writer of a segmented, CRC-framed decision log (see {@link openDecisionLog}).
 *
 * @remarks
 * `append` encodes the record into an in-memory buffer and returns: no system call, no fsync (unless
 * `fsync: "always"`). The buffer is written and fsynced as one group commit `flushMs` after its
 * first record or once it holds `flushRecords`, whichever comes first, in a task of its own (a timer
 * or a fiber), never inside `append`. A kill therefore loses at most the records of one interval;
 * `lagRecords` tells how far durability trails, so a host can raise SafeMode when it falls behind.
 * `appendCommand` is the write-ahead path: it writes and fsyncs everything buffered plus the command
 * before returning, so a control command is durable before it takes effect.
 */
export class DecisionLogWriter {
  /** The log's header record (seq 0): the one given at creation, or the one found on disk. */
  readonly header: LogHeader & { readonly seq: number };
  /** True when this open created the log. */
  readonly created: boolean;
  /**
   * What recovery repaired on open (a torn tail, damage set aside) or found (a stale lock taken over,
   * kind `"stale-lock"` when the data needed no repair), or null when there was nothing.
   */
  readonly recovery: LogRecovery | null;
  /** The last record that was durable on open (header included), or null for a new log. */
  readonly lastDurableOnOpen: LogEntry | null;
  readonly dir: string;

  private readonly flushMs: number;
  private readonly flushRecords: number;
  private readonly always: boolean;
  private readonly segmentBytes: number;
  private readonly onDurable: ((seq: number) => void) | undefined;
  private readonly onError: ((error: LogError) => void) | undefined;
  private failure: LogError | null = null;
  private scheduler: FlushScheduler | null = null;
  private fd: number;
  private segmentNumber: number;
  private segmentSize: number;
  private segmentRecords: number;
  private buffer = new Uint8Array(64 * 1024);
  private view = new DataView(this.buffer.buffer);
  private bufferedBytes = 0;
  private bufferedRecords = 0;
  private seq: number;
  private durable: number;
  private closed = false;
  private readonly lock: FileLock;
  private readonly ownsLock: boolean;

  /** @internal Use {@link openDecisionLog} or `DecisionLog.make`; `lock` is held for `options.dir`. */
  constructor(
    options: DecisionLogOptions,
    scheduler: FlushScheduler | null,
    lock: FileLock,
    ownsLock: boolean,
  ) {
    this.dir = options.dir;
    this.lock = lock;
    this.ownsLock = ownsLock;
    this.flushMs = positive(options.flushMs ?? DEFAULTS.flushMs, "flushMs");
    this.flushRecords = positive(options.flushRecords ?? DEFAULTS.flushRecords, "flushRecords");
    this.segmentBytes = positive(options.segmentBytes ?? DEFAULTS.segmentBytes, "segmentBytes");
    this.always = options.fsync === "always";
    this.onDurable = options.onDurable;
    this.onError = options.onError;
    this.scheduler = scheduler;
    try {
      mkdirSync(this.dir, { recursive: true });
    } catch (error) {
      throw asLogError(error, `cannot create log directory ${this.dir}`);
    }
    const scan = scanDecisionLog(this.dir, options.strict ?? true);
    let recovery: LogRecovery | null = null;
    if (scan.corruption !== null) recovery = setAside(scan.corruption, scan.segments);
    else if (scan.tornTail !== null) recovery = truncateTail(scan.tornTail);
    this.recovery = withStaleLock(recovery, lock.tookOver, scan.segments, this.dir);
    for (const old of scan.superseded) rmSync(old.path, { force: true });
    if (removeTemporaries(this.dir) || scan.superseded.length > 0) fsyncDirectory(this.dir);

    if (scan.header === null) {
      const header = options.header;
      if (header === undefined || header.kind !== "header")
        throw new LogError(`${this.dir} holds no decision log and no header record was given to create one`);
      this.created = true;
      this.lastDurableOnOpen = null;
      this.segmentNumber = scan.segments[0]?.number ?? 1;
      this.fd = openSegment(join(this.dir, segmentName(this.segmentNumber)), true);
      this.segmentSize = 0;
      this.segmentRecords = 0;
      this.seq = -1;
      this.durable = -1;
      this.header = { seq: 0, ...header };
      this.append(header);
      this.flush();
      fsyncDirectory(this.dir);
      return;
    }
    this.created = false;
    this.header = scan.header;
    this.lastDurableOnOpen = scan.last;
    this.seq = scan.last!.seq;
    this.durable = this.seq;
    const lastSegment = lastKept(scan.segments, recovery);
    this.segmentNumber = lastSegment.number;
    this.fd = openSegment(lastSegment.path, false);
    this.segmentSize = statSync(lastSegment.path).size;
    this.segmentRecords = this.segmentSize > 0 ? 1 : 0;
    if (this.segmentSize === 0) {
      // The new segment's own header was torn: write it again.
      this.writeNow(this.segmentHeaderFrame());
      fdatasyncSync(this.fd);
    }
    if (recovery !== null) fsyncDirectory(this.dir);
  }

  /** Seq of the last appended record (durable or not). */
  get lastSeq(): number {
    return this.seq;
  }

  /** Seq of the last record known to be on disk. */
  get durableSeq(): number {
    return this.durable;
  }

  /** Records appended but not yet durable. */
  get lagRecords(): number {
    return this.seq - this.durable;
  }

  /** Records and bytes waiting in the buffer. */
  get pending(): { readonly records: number; readonly bytes: number } {
    return { records: this.bufferedRecords, bytes: this.bufferedBytes };
  }

  /** The failure of the last background group commit, or null once a commit succeeds. */
  get lastError(): LogError | null {
    return this.failure;
  }

  /** The group-commit interval in ms. */
  get flushInterval(): number {
    return this.flushMs;
  }

  /** @internal Lets `DecisionLog.make` drive the flushes once its fiber runs. */
  setScheduler(scheduler: FlushScheduler): void {
    this.scheduler = scheduler;
  }

  /**
   * Buffers `record` (a JSON object without `seq`) and returns the seq given to it.
   *
   * @remarks
   * Encodes into a reused buffer: one `JSON.stringify` plus a CRC pass, no system call (unless
   * `fsync: "always"`, which writes and fsyncs before returning).
   */
  append(record: LogRecord): number {
    if (this.closed) throw new LogError(`decision log ${this.dir} is closed`);
    const seq = this.seq + 1;
    const text = payloadText(seq, record);
    this.reserve(FRAME_HEADER_BYTES + text.length * 3);
    const start = this.bufferedBytes;
    const payloadStart = start + FRAME_HEADER_BYTES;
    const { written } = encoder.encodeInto(text, this.buffer.subarray(payloadStart));
    if (written > MAX_PAYLOAD_BYTES) throw new LogError(`record ${seq} is too large (${written} bytes)`);
    const view = this.view;
    view.setUint32(start, written, true);
    view.setUint32(start + 4, crc32c(this.buffer, payloadStart, payloadStart + written), true);
    this.bufferedBytes = payloadStart + written;
    this.bufferedRecords++;
    this.seq = seq;
    if (this.always) this.flush();
    else if (this.bufferedRecords >= this.flushRecords) this.scheduler?.flushSoon();
    else if (this.bufferedRecords === 1) this.scheduler?.armDeadline();
    return seq;
  }

  /**
   * Write-ahead append: buffers `record`, then writes and fsyncs everything buffered, synchronously.
   * When it returns, the command and every record before it are on disk.
   */
  appendCommand(record: LogRecord): number {
    const seq = this.append(record);
    this.flush();
    return seq;
  }

  /**
   * Writes the buffered records and fsyncs them (one group commit). A no-op when nothing waits.
   * Starts a new segment first when the current one is full.
   */
  flush(): void {
    if (this.bufferedBytes === 0 || this.closed) return;
    try {
      if (this.segmentRecords > 0 && this.segmentSize + this.bufferedBytes > this.segmentBytes) this.roll();
      this.writeNow(this.buffer.subarray(0, this.bufferedBytes));
      fdatasyncSync(this.fd);
    } catch (error) {
      throw asLogError(
        error,
        `cannot write decision log segment ${segmentName(this.segmentNumber)} in ${this.dir}`,
      );
    }
    this.failure = null;
    this.segmentRecords += this.bufferedRecords;
    this.bufferedBytes = 0;
    this.bufferedRecords = 0;
    this.durable = this.seq;
    this.onDurable?.(this.durable);
  }

  /**
   * The group commit as run by a timer or fiber: like {@link flush}, but a failure is kept in
   * `lastError` and passed to `onError` instead of thrown (there is no caller to throw to).
   */
  flushInBackground(): void {
    try {
      this.flush();
    } catch (error) {
      this.failure = asLogError(error, "group commit failed");
      this.onError?.(this.failure);
    }
  }

  /**
   * Flushes, fsyncs and closes the segment, then releases the directory's lock (unless the caller
   * passed its own in `options.lock`). Idempotent. The lock is released even when the flush or the
   * close fails, so a failed writer does not keep the log locked.
   */
  close(): void {
    if (this.closed) return;
    try {
      this.flush();
    } finally {
      this.closed = true;
      this.scheduler?.cancel();
      try {
        closeSync(this.fd);
      } finally {
        if (this.ownsLock) this.lock.release();
      }
    }
  }

  private roll(): void {
    closeSync(this.fd);
    this.segmentNumber++;
    this.fd = openSegment(join(this.dir, segmentName(this.segmentNumber)), true);
    this.segmentSize = 0;
    this.segmentRecords = 0;
    // Its first frame repeats the last durable seq, which links it to the previous segment.
    this.writeNow(this.segmentHeaderFrame());
    this.segmentRecords = 1;
    fsyncDirectory(this.dir);
  }

  private segmentHeaderFrame(): Uint8Array {
    return encodeFrame(
      encoder.encode(`{"seq":${this.durable},"kind":"segment","segment":${this.segmentNumber}}`),
    );
  }

  private writeNow(bytes: Uint8Array): void {
    let done = 0;
    while (done < bytes.length)
      done += writeSync(this.fd, bytes, done, bytes.length - done, this.segmentSize + done);
    this.segmentSize += bytes.length;
  }

  private reserve(extra: number): void {
    const needed = this.bufferedBytes + extra;
    if (needed <= this.buffer.length) return;
    let size = this.buffer.length * 2;
    while (size < needed) size *= 2;
    const grown = new Uint8Array(size);
    grown.set(this.buffer.subarray(0, this.bufferedBytes));
    this.buffer = grown;
    this.view = new DataView(grown.buffer);
  }
}

/**
 * Opens (or creates) the decision log in `options.dir` for appending, with Node timers driving the
 * group commit. Takes the directory's lock first (see `acquireLogLock`): while another writer holds
 * it, in this process or a live one on this host, or a process on another host, it fails with a
 * `LogLockedError`; the lock of a writer that is gone is taken over and reported in
 * `writer.recovery.staleLock`. Then recovers: verifies every record, truncates a torn tail (reported
 * in `writer.recovery`) and fails on mid-log damage unless `strict: false`.
 *
 * @remarks
 * Call `close()` when done: records still buffered are only written by a flush, and the timer is
 * kept referenced while records wait so that a process does not exit with buffered records.
 */
export function openDecisionLog(options: DecisionLogOptions): DecisionLogWriter {
  let timer: ReturnType<typeof setTimeout> | undefined;
  let immediate: ReturnType<typeof setImmediate> | undefined;
  let writer: DecisionLogWriter | undefined;
  const run = (): void => {
    if (timer !== undefined) clearTimeout(timer);
    if (immediate !== undefined) clearImmediate(immediate);
    timer = undefined;
    immediate = undefined;
    writer?.flushInBackground();
    // A failed commit keeps its records: try again after another interval.
    if (writer !== undefined && writer.pending.records > 0) scheduler.armDeadline();
  };
  const scheduler: FlushScheduler = {
    armDeadline: () => {
      timer ??= setTimeout(run, writer?.flushInterval ?? DEFAULTS.flushMs);
    },
    flushSoon: () => {
      immediate ??= setImmediate(run);
    },
    cancel: () => {
      if (timer !== undefined) clearTimeout(timer);
      if (immediate !== undefined) clearImmediate(immediate);
    },
  };
  writer = openWriter(options, null);
  writer.setScheduler(scheduler);
  return writer;
}

/**
 * @internal Opens a writer: takes the directory's lock (unless `options.lock` is given), then
 * recovers and opens the log; turns I/O failures into {@link LogError} and releases the lock it
 * took when opening fails.
 */
export function openWriter(options: DecisionLogOptions, scheduler: FlushScheduler | null): DecisionLogWriter {
  let lock: FileLock | undefined = options.lock;
  const ownsLock = lock === undefined;
  try {
    if (lock === undefined) {
      mkdirSync(options.dir, { recursive: true });
      lock = acquireLogLock(options.dir);
    } else if (!lock.held || lock.file !== join(options.dir, LOCK_FILE_NAME)) {
      throw new LogError(`the lock given to open ${options.dir} is not a held lock of that directory`);
    }
    return new DecisionLogWriter(options, scheduler, lock, ownsLock);
  } catch (error) {
    if (ownsLock) releaseQuietly(lock);
    throw asLogError(error, `cannot open decision log ${options.dir}`);
  }
}

function positive(value: number, name: string): number {
  if (!(Number.isFinite(value) && value > 0))
    throw new LogError(`${name} must be a number > 0, got ${value}`);
  return value;
}

function openSegment(path: string, create: boolean): number {
  return openSync(path, create ? "w" : "r+");
}

/** Cuts a torn tail off the last segment. */
function truncateTail(tail: TornTail): LogRecovery {
  truncateDurably(tail.segment, tail.truncatedAt);
  return {
    kind: "torn-tail",
    segment: tail.segment,
    truncatedAt: tail.truncatedAt,
    bytesDropped: tail.bytesDropped,
  };
}

/** Cuts the file at `path` to `length` bytes and makes that durable before returning. */
function truncateDurably(path: string, length: number): void {
  const fd = openSync(path, "r+");
  try {
    ftruncateSync(fd, length);
    fdatasyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

/**
 * Non-strict recovery from mid-log damage: the damaged segment's bytes from the bad record on are
 * copied to `<segment>.dropped` and cut off, and every later segment is renamed to `*.dropped`, so
 * appending continues after the valid prefix and nothing is deleted.
 */
function setAside(corruption: Corruption, segments: readonly SegmentFile[]): LogRecovery {
  const at = segments.findIndex((s) => s.path === corruption.segment);
  const size = statSync(corruption.segment).size;
  let dropped = size - corruption.offset;
  copyFileSync(corruption.segment, `${corruption.segment}.dropped`);
  truncateDurably(corruption.segment, corruption.offset);
  for (const later of segments.slice(at + 1)) {
    dropped += statSync(later.path).size;
    renameSync(later.path, `${later.path}.dropped`);
  }
  return {
    kind: "corruption",
    segment: corruption.segment,
    truncatedAt: corruption.offset,
    bytesDropped: dropped,
    reason: corruption.reason,
  };
}

/** `recovery` with the stale lock noted, or a `"stale-lock"` recovery when only the lock needed it. */
function withStaleLock(
  recovery: LogRecovery | null,
  staleLock: StaleLock | null,
  segments: readonly SegmentFile[],
  dir: string,
): LogRecovery | null {
  if (staleLock === null) return recovery;
  if (recovery !== null) return { ...recovery, staleLock };
  const last = segments[segments.length - 1];
  return {
    kind: "stale-lock",
    // A new log: its first segment is about to be written.
    segment: last?.path ?? join(dir, segmentName(1)),
    truncatedAt: last === undefined ? 0 : statSync(last.path).size,
    bytesDropped: 0,
    staleLock,
  };
}

/** Releases a lock on a failure path, where the original error is the one to report. */
function releaseQuietly(lock: FileLock | undefined): void {
  try {
    lock?.release();
  } catch {
    // The open already failed; that error says more than a lock that could not be removed.
  }
}

function lastKept(segments: readonly SegmentFile[], recovery: LogRecovery | null): SegmentFile {
  if (recovery?.kind === "corruption") return segments.find((s) => s.path === recovery.segment)!;
  return segments[segments.length - 1]!;
}

/** Removes temporary files an interrupted compaction may have left; true when there were any. */
function removeTemporaries(dir: string): boolean {
  let removed = false;
  for (const name of readdirSync(dir)) {
    if (!name.endsWith(".tmp")) continue;
    rmSync(join(dir, name), { force: true });
    removed = true;
  }
  return removed;
}
