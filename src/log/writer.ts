import {
  closeSync,
  copyFileSync,
  existsSync,
  fdatasyncSync,
  constants as fsConstants,
  ftruncateSync,
  mkdirSync,
  openSync,
  readdirSync,
  renameSync,
  rmSync,
  statSync,
} from "node:fs";
import { join } from "node:path";
import { awaited, runAtOnce, runInSlices, type Steps } from "../runtime/event-loop-slices.js";
import { shownValue } from "../shown-value.js";
import { type CompactResult, type CompactStep, compactFullSegments } from "./compact.js";
import { crc32cBitsOfView } from "./crc32c.js";
import { asLogError, LogError } from "./errors.js";
import { encodeFrame, FRAME_HEADER_BYTES, MAX_PAYLOAD_BYTES } from "./frame.js";
import { acquireLogLock, type FileLock, LOCK_FILE_NAME, type StaleLock } from "./lock.js";
import { checkLogOptions } from "./log-options.js";
import { type LogEntry, type LogHeader, type LogRecord, payloadText, segmentHeaderText } from "./records.js";
import {
  type Corruption,
  type LogScan,
  type RecordUse,
  scanDecisionLog,
  scanLockedLogAsync,
  type TornTail,
} from "./scan.js";
import {
  closeQuietly,
  datasyncAsync,
  fsyncDirectoryAsync,
  fsyncDirectorySync,
  nodeSegmentIo,
  openAsync,
  SEGMENT_OPEN_FLAGS,
  type SegmentIo,
  writeAll,
  writeAllSync,
} from "./segment-io.js";
import { fsyncDirectory, listSegmentsAsync, type SegmentFile, segmentName } from "./segments.js";

/** Options of {@link openDecisionLog} and `DecisionLog.make`. */
export interface DecisionLogOptions {
  /** Directory of the log; created when missing. */
  readonly dir: string;
  /**
   * The first record of a new log (engine or solver config, seed, package version, registry…).
   * Required when the directory holds no log yet; ignored when it does (read `writer.header`).
   */
  readonly header?: LogHeader;
  /**
   * Group commit: write and fdatasync, on libuv's thread pool, at most this many ms after a record
   * is appended (default 50).
   */
  readonly flushMs?: number;
  /** Group commit: write and fsync as soon as this many records wait (default 256). */
  readonly flushRecords?: number;
  /**
   * `"group"` (default) or `"always"`: write and fsync every record before `append` returns, on the
   * caller's thread (a blocking policy: the caller waits for the disk on every record).
   */
  readonly fsync?: "group" | "always";
  /** Start a new segment once the current one holds this many bytes (default 64 MiB). */
  readonly segmentBytes?: number;
  /**
   * On mid-log damage, `true` (default) fails with a `LogCorruptionError`; `false` keeps the valid
   * prefix, moves the damaged bytes aside into `*.dropped` files (never overwriting earlier ones) and
   * reports it in `recovery`.
   */
  readonly strict?: boolean;
  /**
   * Backpressure bound: while more than this many bytes wait for the disk (default 32 MiB),
   * `append` throws a `LogBackpressureError` and takes nothing, so memory stays bounded.
   */
  readonly maxPendingBytes?: number;
  /**
   * Compacts the log while it is written, so that it stays bounded however long its writer runs:
   * each time a segment is full and the writer has moved on to the next, the full segments are
   * rewritten in the background down to their last `keepRecords` records (an engine's log also
   * keeps the `restart` record of each run left, as `compactDecisionLog` does), and the segment
   * being written is left as it is. The log then holds at least the last `keepRecords` records and
   * at most that plus about two segments (and, while a compaction writes, a second copy of the
   * records kept). A whole number ≥ 1; off by default (the log keeps every record). The records
   * kept are copied as they are; the reads, writes and fsyncs run on libuv's thread pool and the
   * records are verified in slices, so the event loop keeps turning; appends go on meanwhile. See
   * `onCompaction`.
   */
  readonly keepRecords?: number;
  /**
   * Called when a compaction run for `keepRecords` has ended: with its result, or with the
   * `LogError` it failed with. The log then reads whole, as it was or as compacted when the failure
   * came after the new segment took the old ones' place (syncing the directory, removing the old
   * segments: the next compaction or writer removes them); the next full segment compacts again,
   * and the records written are never affected.
   */
  readonly onCompaction?: (outcome: LiveCompaction) => void;
  /** @internal Called after each step of a `keepRecords` compaction (tests pause or fail it there). */
  readonly afterCompactionStep?: (step: CompactStep) => void | Promise<void>;
  /** Called after every group commit with the last durable seq (tests and monitoring). */
  readonly onDurable?: (seq: number) => void;
  /**
   * Called when a group commit run by the timer or fiber fails (disk full, I/O error). The records
   * stay pending and are retried after `flushMs`, the same bytes at the same place; meanwhile
   * `writer.lastError` holds the failure and `append` refuses new records (`LogBackpressureError`).
   */
  readonly onError?: (error: LogError) => void;
  /**
   * The directory's lock, already taken by the caller with `acquireLogLock(dir)` (the CLI holds it
   * across a read-modify-write). The writer then takes no lock of its own and leaves releasing this
   * one to the caller. Without it, opening takes the lock and `close()` releases it.
   */
  readonly lock?: FileLock;
  /** @internal The segment file operations (tests inject failures); default `node:fs`. */
  readonly io?: SegmentIo;
}

/** How a compaction run for `keepRecords` ended (see {@link DecisionLogOptions.onCompaction}). */
export type LiveCompaction =
  | { readonly ok: true; readonly result: CompactResult }
  | { readonly ok: false; readonly error: LogError };

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
  /** For `"corruption"`: the files now holding what was taken out of the log (`*.dropped`). */
  readonly setAside?: readonly string[];
  /** The lock left by a writer that died (or an unreadable old lock file), taken over on open. */
  readonly staleLock?: StaleLock;
}

/** How the writer's group commit is driven: the plain writer uses Node timers, Effect a fiber. */
export interface FlushScheduler {
  /** A record entered an empty buffer, or a failed commit waits for a retry: commit within `flushMs`. */
  armDeadline(): void;
  /** The buffer reached `flushRecords`: commit as soon as the caller yields. */
  flushSoon(): void;
  /** The writer is closing: cancel anything armed. */
  cancel(): void;
}

const encoder = new TextEncoder();

const DEFAULTS = {
  flushMs: 50,
  flushRecords: 256,
  segmentBytes: 64 * 1024 * 1024,
  maxPendingBytes: 32 * 1024 * 1024,
} as const;

/** A reusable append buffer, its view, and the commit it becomes (reused with it: no object per commit). */
interface Slab {
  readonly bytes: Buffer;
  readonly view: DataView;
  readonly plan: CommitPlan;
}

/**
 * Bytes handed to a commit: where they go and what they make durable. A commit that fails is
 * retried with exactly these bytes at exactly this place, so a retry never leaves a torn frame
 * behind in the middle of the log, and a new segment always starts with its segment header.
 */
interface CommitPlan {
  segment: number;
  offset: number;
  /** The bytes are `bytes[0, length)`. */
  bytes: Uint8Array;
  length: number;
  /** The append buffer the bytes live in, returned to the pool once durable (null: a one-off copy). */
  slab: Slab | null;
  lastSeq: number;
  /** The bytes start a new segment (its header frame first): its directory entry must be fsynced. */
  newSegment: boolean;
}

/**
 * Append-only writer of a segmented, CRC-framed decision log (see {@link openDecisionLog}).
 *
 * @remarks
 * `append` encodes the record into an in-memory buffer and returns: no system call. The buffer is
 * written and fdatasynced as one group commit `flushMs` after its first record or once it holds
 * `flushRecords`, whichever comes first, through Node's asynchronous file API: the write and the
 * fdatasync run on libuv's thread pool, never on the host's event loop, and one commit is in flight
 * at a time (records appended meanwhile form the next one). A kill loses at most the records not yet
 * committed; `lagRecords` tells how far durability trails.
 *
 * `appendCommand` (and `flush`, `close`, `fsync: "always"`) is the write-ahead path: it writes and
 * fdatasyncs everything not yet durable plus the command before returning, synchronously, so a
 * control command is durable before it takes effect. Only that path blocks the caller.
 *
 * Backpressure: while a commit has failed and not yet succeeded on retry (disk full, I/O error), or
 * while more than `maxPendingBytes` wait, `append` throws a {@link LogBackpressureError} and keeps
 * nothing, so memory stays bounded and the caller keeps the record (a logged engine's audit sink
 * then fails, its breaker opens and SafeMode freezes the engine with reason `breakerOpen`).
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
  private readonly maxPendingBytes: number;
  private readonly io: SegmentIo;
  private readonly onDurable: ((seq: number) => void) | undefined;
  private readonly onError: ((error: LogError) => void) | undefined;
  private failure: LogError | null = null;
  private scheduler: FlushScheduler | null = null;
  private readonly keepRecords: number | undefined;
  private readonly onCompaction: ((outcome: LiveCompaction) => void) | undefined;
  private readonly afterCompactionStep: ((step: CompactStep) => void | Promise<void>) | undefined;
  /** The segment the last durable commit went to: every segment below it is whole on disk. */
  private durableSegment: number;
  /** The `keepRecords` compaction running, if any; the lock is released only once it has ended. */
  private compaction: Promise<void> | null = null;
  /** A segment filled while a compaction ran: run another once it ends. */
  private compactAgain = false;
  private compactionFailure: LogError | null = null;
  /** `close()` has begun: no compaction starts any more. */
  private closing = false;
  /** Resolves once the writer is closed and has let go of the directory. */
  private readonly releasedPromise: Promise<void>;
  private resolveReleased!: () => void;
  /** The open segment file and its number (the background commit opens the next one when it rolls). */
  private fd: number;
  private fdSegment: number;
  /** Where the next commit's bytes go: segment number, size and frame count including planned commits. */
  private segmentNumber: number;
  private segmentSize: number;
  private segmentRecords: number;
  private slab: Slab = newSlab(64 * 1024);
  /** Up to two free slabs (fixed slots: an array pushed and popped empty reallocates its store). */
  private readonly spareSlabs: (Slab | undefined)[] = [undefined, undefined];
  private spareCount = 0;
  /**
   * The size of new slabs: the largest a burst has needed (a slab grows by doubling when records
   * outrun the disk). Spares smaller than it are dropped, so once the buffers have reached what
   * the load needs, commits reuse them and allocate nothing.
   */
  private slabSize = 64 * 1024;
  private bufferedBytes = 0;
  private bufferedRecords = 0;
  /** Commits planned and not yet durable, oldest first (the first may be in flight). */
  private readonly planned = new PlanQueue();
  private plannedBytes = 0;
  /** A background commit is running on the thread pool. */
  private inFlight = false;
  /** The plan that background commit is writing (its bytes must not be reused until it completes). */
  private running: CommitPlan | null = null;
  /** Bytes of the running plan written so far (on the callback path of `flushInBackground`). */
  private written = 0;
  /** A commit was asked for while one ran. */
  private requested = false;
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
    scan: LogScan,
  ) {
    this.dir = options.dir;
    this.lock = lock;
    this.ownsLock = ownsLock;
    this.flushMs = positive(options.flushMs ?? DEFAULTS.flushMs, "flushMs");
    this.flushRecords = positive(options.flushRecords ?? DEFAULTS.flushRecords, "flushRecords");
    this.segmentBytes = positive(options.segmentBytes ?? DEFAULTS.segmentBytes, "segmentBytes");
    this.maxPendingBytes = positive(options.maxPendingBytes ?? DEFAULTS.maxPendingBytes, "maxPendingBytes");
    this.always = options.fsync === "always";
    this.io = options.io ?? nodeSegmentIo;
    this.onDurable = options.onDurable;
    this.onError = options.onError;
    this.keepRecords = keepRecordsOf(options.keepRecords);
    this.onCompaction = options.onCompaction;
    this.afterCompactionStep = options.afterCompactionStep;
    this.releasedPromise = new Promise((resolve) => {
      this.resolveReleased = resolve;
    });
    this.scheduler = scheduler;
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
      // "w": a first segment left without a valid header by a crash is started again.
      this.fd = this.io.openSync(join(this.dir, segmentName(this.segmentNumber)), "w");
      this.fdSegment = this.segmentNumber;
      this.durableSegment = this.segmentNumber;
      this.segmentSize = 0;
      this.segmentRecords = 0;
      this.seq = -1;
      this.durable = -1;
      this.header = { seq: 0, ...header };
      this.closingOnFailure(() => {
        this.append(header);
        this.flush();
        fsyncDirectory(this.dir);
      });
      return;
    }
    this.created = false;
    this.header = scan.header;
    this.lastDurableOnOpen = scan.last;
    // Above a seq mark too: a compaction may have dropped the records holding the last seqs.
    this.seq = scan.lastSeq;
    this.durable = this.seq;
    const lastSegment = lastKept(scan.segments, recovery);
    this.segmentNumber = lastSegment.number;
    this.fd = this.io.openSync(lastSegment.path, "r+");
    this.fdSegment = this.segmentNumber;
    this.durableSegment = this.segmentNumber;
    this.segmentSize = statSync(lastSegment.path).size;
    this.segmentRecords = this.segmentSize > 0 ? 1 : 0;
    this.closingOnFailure(() => {
      if (this.segmentSize === 0) {
        // The new segment's own header was torn: write it again.
        const frame = this.segmentHeaderFrame(this.segmentNumber, this.durable);
        writeAllSync(this.io, this.fd, frame, 0);
        this.io.fdatasyncSync(this.fd);
        this.segmentSize = frame.length;
        this.segmentRecords = 1;
      }
      if (recovery !== null) fsyncDirectory(this.dir);
    });
  }

  /** Runs the rest of the opening; if it throws, the segment file opened for it is closed first. */
  private closingOnFailure(open: () => void): void {
    try {
      open();
    } catch (error) {
      this.closed = true;
      try {
        this.io.closeSync(this.fd);
      } catch {
        // The opening's own error is the one to report.
      }
      throw error;
    }
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

  /** Records and bytes not yet durable: buffered, and handed to a commit that has not completed. */
  get pending(): { readonly records: number; readonly bytes: number } {
    return { records: this.seq - this.durable, bytes: this.bufferedBytes + this.plannedBytes };
  }

  /** The failure of the last background group commit, or null once a commit succeeds. */
  get lastError(): LogError | null {
    return this.failure;
  }

  /**
   * The failure of the last `keepRecords` compaction, or null once one succeeds (or none failed):
   * the log then grows until a later one succeeds.
   */
  get lastCompactionError(): LogError | null {
    return this.compactionFailure;
  }

  /** @internal Whether a `keepRecords` compaction is running (tests wait for it to end). */
  get compactionRunning(): boolean {
    return this.compaction !== null;
  }

  /**
   * Resolves once the writer is closed and nothing of it touches the directory any more: a
   * `keepRecords` compaction still running when {@link close} is called stops at its next step
   * (before its new segment replaces any old one) and the lock is released then, not by `close`
   * itself. Await it before opening the log again in this process, or before releasing a lock
   * passed in `options.lock`. Never rejects.
   */
  released(): Promise<void> {
    return this.releasedPromise;
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
   * `fsync: "always"`, which writes and fsyncs before returning). Throws a
   * {@link LogBackpressureError}, keeping nothing, while the log cannot be written or is full, and a
   * {@link LogError} naming the field, keeping nothing, for a value JSON would not read back as
   * written (NaN, ±Infinity, −0, a BigInt) and for `kind: "segment"` (kept for segment headers).
   */
  append(record: LogRecord): number {
    return this.appendEncoded(payloadText, record);
  }

  /**
   * Like {@link append}, with the caller's encoder: `encode(seq, value)` must return the record's
   * JSON payload with `seq` as its first key (what `payloadText(seq, record)` returns). Lets a
   * caller write its own records in one pass, without building an intermediate object.
   */
  appendEncoded<T>(encode: (seq: number, value: T) => string, value: T): number {
    this.checkWritable();
    const seq = this.seq + 1;
    const text = encode(seq, value);
    // Refused before any buffer grows for it: slabs keep the size they grew to, so a record that
    // is too large must not leave the writer holding room for it.
    if (text.length * 3 > MAX_PAYLOAD_BYTES) {
      const bytes = Buffer.byteLength(text, "utf8");
      if (bytes > MAX_PAYLOAD_BYTES) throw new LogError(`record ${seq} is too large (${bytes} bytes)`);
    }
    this.reserve(FRAME_HEADER_BYTES + text.length * 3);
    const start = this.bufferedBytes;
    const payloadStart = start + FRAME_HEADER_BYTES;
    // Buffer#write encodes in place at an offset: no view object per record.
    const written = this.slab.bytes.write(text, payloadStart, "utf8");
    if (written > MAX_PAYLOAD_BYTES) throw new LogError(`record ${seq} is too large (${written} bytes)`);
    return this.sealFrame(start, written, seq);
  }

  /**
   * Appends a record in a binary encoding of the caller's (one a reader knows, such as the binary
   * audit record): `encode(out, view, at, seq, value)` writes at most `bound` bytes of payload at
   * `out[at]` and returns the offset after them. Same buffering, framing and backpressure as
   * {@link append}.
   */
  appendBytes<T>(
    bound: number,
    encode: (out: Buffer, view: DataView, at: number, seq: number, value: T) => number,
    value: T,
  ): number {
    this.checkWritable();
    const seq = this.seq + 1;
    this.reserve(FRAME_HEADER_BYTES + bound);
    const start = this.bufferedBytes;
    const payloadStart = start + FRAME_HEADER_BYTES;
    const { bytes, view } = this.slab;
    const written = encode(bytes, view, payloadStart, seq, value) - payloadStart;
    if (written > MAX_PAYLOAD_BYTES) throw new LogError(`record ${seq} is too large (${written} bytes)`);
    return this.sealFrame(start, written, seq);
  }

  /** Writes the frame header of the payload just encoded at `start` and accounts for the record. */
  private sealFrame(start: number, written: number, seq: number): number {
    const { view } = this.slab;
    const payloadStart = start + FRAME_HEADER_BYTES;
    view.setUint32(start, written, true);
    // The CRC's bits as a signed integer: an unsigned one ≥ 2^31 would be boxed on return.
    view.setUint32(start + 4, crc32cBitsOfView(view, payloadStart, payloadStart + written), true);
    this.bufferedBytes = payloadStart + written;
    this.bufferedRecords++;
    this.seq = seq;
    if (this.always) this.flush();
    else if (this.bufferedRecords >= this.flushRecords) {
      // While a commit runs, its completion starts the next one: nothing to schedule (a scheduled
      // run per append would cost the host an Immediate per event-loop turn until it completes).
      if (this.inFlight) this.requested = true;
      else this.scheduler?.flushSoon();
    } else if (this.bufferedRecords === 1) this.scheduler?.armDeadline();
    return seq;
  }

  /**
   * Write-ahead append: buffers `record`, then writes and fsyncs everything not yet durable,
   * synchronously. When it returns, the command and every record before it are on disk.
   */
  appendCommand(record: LogRecord): number {
    const seq = this.append(record);
    this.flush();
    return seq;
  }

  /**
   * Writes and fdatasyncs, on the caller's thread, every record not yet durable (a commit in flight
   * on the thread pool is written again, byte for byte at the same place). A no-op when nothing
   * waits. Throws a {@link LogError} when the disk refuses; the records then stay pending.
   */
  flush(): void {
    if (this.closed) return;
    this.planBuffered();
    if (this.planned.size === 0) return;
    try {
      while (this.planned.size > 0) {
        const plan = this.planned.first()!;
        this.commitSync(plan);
        this.planned.shift();
        this.committed(plan);
      }
    } catch (error) {
      throw asLogError(
        error,
        `cannot write decision log segment ${segmentName(this.planned.first()?.segment ?? this.segmentNumber)} in ${this.dir}`,
      );
    }
    this.failure = null;
    this.onDurable?.(this.durable);
  }

  /**
   * The group commit as run by a timer or fiber: hands what is buffered to the thread pool (write,
   * then fdatasync) and returns at once. A failure is kept in `lastError` and passed to `onError`
   * (there is no caller to throw to); the same bytes are retried after `flushMs`.
   */
  flushInBackground(): void {
    if (this.closed) return;
    if (this.inFlight) {
      // Asked while the previous commit runs: start the next one as soon as it completes.
      this.requested = true;
      return;
    }
    this.requested = false;
    this.planBuffered();
    const plan = this.planned.first();
    if (plan === undefined) return;
    this.inFlight = true;
    this.running = plan;
    if (this.fdSegment === plan.segment && !plan.newSegment) {
      // The usual commit, more bytes for the open segment: callbacks made once, no promise.
      this.written = 0;
      this.writeRunning();
      return;
    }
    this.commitAsync(plan).then(
      () => this.afterBackgroundCommit(plan, null),
      (error: unknown) => this.afterBackgroundCommit(plan, error),
    );
  }

  /** Writes the rest of the running plan on the thread pool; {@link onWritten} follows. */
  private writeRunning(): void {
    const plan = this.running!;
    const done = this.written;
    try {
      this.io.write(this.fd, plan.bytes, done, plan.length - done, plan.offset + done, this.onWritten);
    } catch (error) {
      this.failRunning(plan, error);
    }
  }

  private readonly onWritten = (error: NodeJS.ErrnoException | null, written: number): void => {
    const plan = this.running!;
    if (error !== null) {
      this.afterBackgroundCommit(plan, error);
      return;
    }
    this.written += written;
    if (this.written < plan.length) {
      this.writeRunning();
      return;
    }
    try {
      this.io.fdatasync(this.fd, this.onSynced);
    } catch (error) {
      this.failRunning(plan, error);
    }
  };

  /** A file call that threw instead of calling back: reported a tick later, as a callback would. */
  private failRunning(plan: CommitPlan, error: unknown): void {
    queueMicrotask(() => this.afterBackgroundCommit(plan, error));
  }

  private readonly onSynced = (error: NodeJS.ErrnoException | null): void => {
    this.afterBackgroundCommit(this.running!, error);
  };

  /**
   * Flushes, fsyncs and closes the segment, then releases the directory's lock (unless the caller
   * passed its own in `options.lock`). Idempotent. The lock is released even when the flush or the
   * close fails, so a failed writer does not keep the log locked.
   */
  close(): void {
    if (this.closed) return;
    // A segment the last flush fills is left for the next writer's compactions.
    this.closing = true;
    try {
      this.flush();
    } finally {
      this.closed = true;
      this.scheduler?.cancel();
      try {
        // A background commit still running closes the segment when it completes.
        if (!this.inFlight) this.io.closeSync(this.fd);
      } finally {
        // A compaction still running holds the directory until it stops (see released()).
        if (this.compaction === null) this.letGo();
      }
    }
  }

  /** Gives the directory up: the lock (unless the caller's) and the claim on it. */
  private letGo(): void {
    try {
      this.lock.writerOpen = false;
      if (this.ownsLock) this.lock.release();
    } finally {
      this.resolveReleased();
    }
  }

  /** A segment became full on disk: compact the full segments, now or once the running compaction ends. */
  private compactSoon(): void {
    if (this.compaction !== null) {
      this.compactAgain = true;
      return;
    }
    this.compactAgain = false;
    this.compaction = this.compactFull().finally(() => {
      this.compaction = null;
      if (this.closed) {
        try {
          this.letGo();
        } catch (error) {
          // No caller is left to throw to: the failure to release the lock is the last one kept.
          this.compactionFailure = asLogError(error, `cannot release the lock of decision log ${this.dir}`);
        }
      } else if (this.compactAgain) this.compactSoon();
    });
  }

  /** One compaction of the full segments for `keepRecords`; reports and never rejects. */
  private async compactFull(): Promise<void> {
    let outcome: LiveCompaction;
    try {
      const live = this.durableSegment;
      const full = (await listSegmentsAsync(this.dir)).filter((segment) => segment.number < live);
      if (full.length === 0 || this.closed) return;
      const result = await compactFullSegments(
        this.dir,
        full,
        this.keepRecords!,
        () => this.closed,
        this.afterCompactionStep,
      );
      if (result === null) return;
      this.compactionFailure = null;
      outcome = { ok: true, result };
    } catch (error) {
      this.compactionFailure = asLogError(error, `compaction of ${this.dir} failed`);
      outcome = { ok: false, error: this.compactionFailure };
    }
    try {
      this.onCompaction?.(outcome);
    } catch {
      // The host's callback failing must not leave the compaction running.
    }
  }

  private checkWritable(): void {
    if (this.closed) throw new LogError(`decision log ${this.dir} is closed`);
    if (this.failure !== null)
      throw new LogBackpressureError(
        this.dir,
        "failing",
        `decision log ${this.dir} cannot be written (${this.failure.message}); the record was not taken`,
      );
    if (this.bufferedBytes + this.plannedBytes > this.maxPendingBytes)
      throw new LogBackpressureError(
        this.dir,
        "full",
        `decision log ${this.dir} has ${this.bufferedBytes + this.plannedBytes} bytes waiting for the disk (maxPendingBytes ${this.maxPendingBytes}); the record was not taken`,
      );
  }

  /** Turns the buffered records into the next commit, rolling to a new segment when this one is full. */
  private planBuffered(): void {
    const length = this.bufferedBytes;
    if (length === 0) return;
    const lastSeq = this.seq;
    const records = this.bufferedRecords;
    let plan: CommitPlan;
    if (this.segmentRecords > 0 && this.segmentSize + length > this.segmentBytes) {
      // Its first frame repeats the seq of the last record before it, which links the segments.
      const header = this.segmentHeaderFrame(this.segmentNumber + 1, lastSeq - records);
      const bytes = new Uint8Array(header.length + length);
      bytes.set(header);
      bytes.set(this.slab.bytes.subarray(0, length), header.length);
      this.segmentNumber++;
      plan = {
        segment: this.segmentNumber,
        offset: 0,
        bytes,
        length: bytes.length,
        slab: null,
        lastSeq,
        newSegment: true,
      };
      this.segmentSize = bytes.length;
      this.segmentRecords = 1 + records;
    } else {
      // The slab's own plan, refilled: it is free, since the slab was free to take records.
      const slab = this.slab;
      plan = slab.plan;
      plan.segment = this.segmentNumber;
      plan.offset = this.segmentSize;
      plan.length = length;
      plan.lastSeq = lastSeq;
      this.slab = this.takeSpareSlab() ?? newSlab(this.slabSize);
      this.segmentSize += length;
      this.segmentRecords += records;
    }
    this.planned.push(plan);
    this.plannedBytes += plan.length;
    this.bufferedBytes = 0;
    this.bufferedRecords = 0;
  }

  /** Runs `plan` on the caller's thread. */
  private commitSync(plan: CommitPlan): void {
    const io = this.io;
    if (this.inFlight) {
      // The background commit owns `fd`: use a descriptor of our own, and never truncate.
      const fd = io.openSync(join(this.dir, segmentName(plan.segment)), SEGMENT_OPEN_FLAGS);
      try {
        writeAllSync(io, fd, plan.bytes, plan.offset, plan.length);
        io.fdatasyncSync(fd);
      } finally {
        io.closeSync(fd);
      }
    } else {
      if (this.fdSegment !== plan.segment) {
        const fd = io.openSync(join(this.dir, segmentName(plan.segment)), SEGMENT_OPEN_FLAGS);
        io.closeSync(this.fd);
        this.fd = fd;
        this.fdSegment = plan.segment;
      }
      writeAllSync(io, this.fd, plan.bytes, plan.offset, plan.length);
      io.fdatasyncSync(this.fd);
    }
    if (plan.newSegment) fsyncDirectorySync(io, this.dir);
  }

  /** Runs `plan` on the thread pool. Only one runs at a time; it alone moves `fd` to a new segment. */
  private async commitAsync(plan: CommitPlan): Promise<void> {
    const io = this.io;
    if (this.fdSegment !== plan.segment) {
      const fd = await openAsync(io, join(this.dir, segmentName(plan.segment)), SEGMENT_OPEN_FLAGS);
      closeQuietly(io, this.fd);
      this.fd = fd;
      this.fdSegment = plan.segment;
    }
    await writeAll(io, this.fd, plan.bytes.subarray(0, plan.length), plan.offset);
    await datasyncAsync(io, this.fd);
    if (plan.newSegment) await fsyncDirectoryAsync(io, this.dir);
  }

  private afterBackgroundCommit(plan: CommitPlan, error: unknown): void {
    this.inFlight = false;
    this.running = null;
    // `flush` made it durable meanwhile and left its buffer to us.
    if (!this.planned.includes(plan)) this.recycle(plan);
    if (this.closed) {
      closeQuietly(this.io, this.fd);
      return;
    }
    // `flush` may have made this plan durable meanwhile; then there is nothing to record.
    if (this.planned.first() === plan) {
      if (error !== null) {
        this.failure = asLogError(
          error,
          `group commit failed: cannot write decision log segment ${segmentName(plan.segment)} in ${this.dir}`,
        );
        this.onError?.(this.failure);
        // The same bytes go to the same place after another interval.
        this.scheduler?.armDeadline();
        return;
      }
      this.planned.shift();
      this.committed(plan);
      this.failure = null;
      this.onDurable?.(this.durable);
    }
    if (this.planned.size > 0 || this.requested || this.bufferedRecords >= this.flushRecords)
      this.flushInBackground();
    else if (this.bufferedRecords > 0) this.scheduler?.armDeadline();
  }

  /**
   * `plan` is on disk: advance the durable seq and give its buffer back, unless a background write
   * still reads from it (then its completion gives it back).
   */
  private committed(plan: CommitPlan): void {
    this.plannedBytes -= plan.length;
    if (plan.lastSeq > this.durable) this.durable = plan.lastSeq;
    if (plan !== this.running) this.recycle(plan);
    if (plan.newSegment) {
      // Commits become durable in order: the segments below this one are whole on disk.
      this.durableSegment = plan.segment;
      if (this.keepRecords !== undefined && !this.closing) this.compactSoon();
    }
  }

  private recycle(plan: CommitPlan): void {
    const slab = plan.slab;
    if (slab !== null && this.spareCount < 2 && slab.bytes.length >= this.slabSize)
      this.spareSlabs[this.spareCount++] = slab;
  }

  /** A free slab of at least `slabSize` bytes, if one is kept; smaller ones (from before the slabs grew) are dropped. */
  private takeSpareSlab(): Slab | undefined {
    while (this.spareCount > 0) {
      const slab = this.spareSlabs[--this.spareCount]!;
      this.spareSlabs[this.spareCount] = undefined;
      // A smaller one would take a record only in part: Buffer#write stops at its end.
      if (slab.bytes.length >= this.slabSize) return slab;
    }
    return undefined;
  }

  private segmentHeaderFrame(segment: number, lastSeqBefore: number): Uint8Array {
    return encodeFrame(encoder.encode(segmentHeaderText(lastSeqBefore, segment)));
  }

  private reserve(extra: number): void {
    const needed = this.bufferedBytes + extra;
    if (needed <= this.slab.bytes.length) return;
    let size = this.slab.bytes.length * 2;
    while (size < needed) size *= 2;
    // Every slab from now on has this size: a spare smaller than it would only grow again.
    this.slabSize = size;
    const grown = this.takeSpareSlab() ?? newSlab(size);
    grown.bytes.set(this.slab.bytes.subarray(0, this.bufferedBytes));
    this.slab = grown;
  }
}

/**
 * The commits planned and not yet durable, oldest first: a ring of slots that grows only when
 * full. An array used as a queue (push, shift) reallocates its store whenever it runs empty,
 * which is once per group commit.
 */
class PlanQueue {
  private slots: (CommitPlan | undefined)[] = new Array<CommitPlan | undefined>(4).fill(undefined);
  private head = 0;
  size = 0;

  first(): CommitPlan | undefined {
    return this.size === 0 ? undefined : this.slots[this.head];
  }

  push(plan: CommitPlan): void {
    if (this.size === this.slots.length) {
      const grown = new Array<CommitPlan | undefined>(this.slots.length * 2).fill(undefined);
      for (let i = 0; i < this.size; i++) grown[i] = this.slots[(this.head + i) % this.slots.length];
      this.slots = grown;
      this.head = 0;
    }
    this.slots[(this.head + this.size) % this.slots.length] = plan;
    this.size++;
  }

  shift(): CommitPlan | undefined {
    if (this.size === 0) return undefined;
    const plan = this.slots[this.head];
    this.slots[this.head] = undefined;
    this.head = (this.head + 1) % this.slots.length;
    this.size--;
    return plan;
  }

  includes(plan: CommitPlan): boolean {
    for (let i = 0; i < this.size; i++)
      if (this.slots[(this.head + i) % this.slots.length] === plan) return true;
    return false;
  }
}

function newSlab(size: number): Slab {
  const bytes = Buffer.alloc(size);
  const plan: CommitPlan = {
    segment: 0,
    offset: 0,
    bytes,
    length: 0,
    slab: null,
    lastSeq: 0,
    newSegment: false,
  };
  const slab: Slab = { bytes, view: new DataView(bytes.buffer), plan };
  plan.slab = slab;
  return slab;
}

/**
 * The decision log did not take a record: its disk keeps failing (`reason: "failing"`) or more than
 * `maxPendingBytes` wait for it (`"full"`). Nothing was appended; the caller still holds the record
 * and may offer it again once the log recovers (`writer.lastError` is null again).
 */
export class LogBackpressureError extends LogError {
  override readonly name = "LogBackpressureError";
  readonly dir: string;
  readonly reason: "failing" | "full";

  constructor(dir: string, reason: "failing" | "full", message: string) {
    super(message);
    this.dir = dir;
    this.reason = reason;
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
 * kept referenced while records wait so that a process does not exit with buffered records. The
 * group commits' writes and fdatasyncs run on libuv's thread pool, off the event loop.
 */
export function openDecisionLog(options: DecisionLogOptions): DecisionLogWriter {
  const writer = openWriter(options, null);
  writer.setScheduler(timerScheduler(writer));
  return writer;
}

/**
 * {@link openDecisionLog}, reading and verifying the existing log asynchronously, one segment at a
 * time and in slices, so that the event loop keeps turning while a long log is verified
 * ({@link openDecisionLog} blocks the caller for that time, which grows with the log). The
 * directory's lock is taken first, synchronously, and held throughout; the rest of the opening
 * (a recovery's repairs, a new log's header) runs as {@link openDecisionLog} runs it.
 */
export function openDecisionLogAsync(options: DecisionLogOptions): Promise<DecisionLogWriter> {
  return openLogAsync(options);
}

/**
 * @internal {@link openDecisionLogAsync}, read as `opening` asks (see {@link LogOpening}).
 */
export async function openLogAsync(
  options: DecisionLogOptions,
  opening: LogOpening = {},
): Promise<DecisionLogWriter> {
  const writer = await openWriterAsync(options, null, opening);
  writer.setScheduler(timerScheduler(writer));
  return writer;
}

/** @internal {@link openDecisionLog}, read as `opening` asks (see {@link LogOpening}). */
export function openLogNow(options: DecisionLogOptions, opening: LogOpening): DecisionLogWriter {
  const writer = openWriter(options, null, opening);
  writer.setScheduler(timerScheduler(writer));
  return writer;
}

/**
 * @internal How an opening reads the log, for an engine that starts on it. `headerNow`, when given,
 * is called for the header of a log the opening creates, once the scan has found none (instead of
 * `options.header`): an engine's header holds its start time. `use` is what the scan that verifies
 * the log does with its records (default `"check"`: nothing): a visitor learns what it needs from
 * the one read of the log the opening makes anyway.
 */
export interface LogOpening {
  readonly headerNow?: () => LogHeader;
  readonly use?: RecordUse;
}

/** Node timers driving `writer`'s group commit. */
function timerScheduler(writer: DecisionLogWriter): FlushScheduler {
  let timer: ReturnType<typeof setTimeout> | undefined;
  let immediate: ReturnType<typeof setImmediate> | undefined;
  const run = (): void => {
    if (timer !== undefined) clearTimeout(timer);
    if (immediate !== undefined) clearImmediate(immediate);
    timer = undefined;
    immediate = undefined;
    // Starts the commit on the thread pool; its completion schedules the next one or a retry.
    writer.flushInBackground();
  };
  return {
    armDeadline: () => {
      timer ??= setTimeout(run, writer.flushInterval);
    },
    flushSoon: () => {
      immediate ??= setImmediate(run);
    },
    cancel: () => {
      if (timer !== undefined) clearTimeout(timer);
      if (immediate !== undefined) clearImmediate(immediate);
    },
  };
}

/**
 * @internal Opens a writer: takes the directory's lock (unless `options.lock` is given), then
 * recovers and opens the log; turns I/O failures into {@link LogError} and releases the lock it
 * took when opening fails.
 */
export function openWriter(
  options: DecisionLogOptions,
  scheduler: FlushScheduler | null,
  opening: LogOpening = {},
): DecisionLogWriter {
  const use = opening.use ?? "check";
  return runAtOnce(
    openingSteps(options, scheduler, (dir, strict) => scanDecisionLog(dir, strict, use), opening.headerNow),
  );
}

/**
 * @internal {@link openWriter}, reading and verifying the log asynchronously (see
 * `scanLockedLogAsync`): the event loop turns while a long log is verified. The lock is held
 * from the start, so the log cannot change in between.
 */
export function openWriterAsync(
  options: DecisionLogOptions,
  scheduler: FlushScheduler | null,
  opening: LogOpening = {},
): Promise<DecisionLogWriter> {
  const use = opening.use ?? "check";
  return runInSlices(
    openingSteps(
      options,
      scheduler,
      (dir, strict) => scanLockedLogAsync(dir, strict, use),
      opening.headerNow,
    ),
  );
}

/**
 * The opening of a writer, with the log's scan (verified whole, keeping no records) read by `scan`;
 * `headerNow` as {@link LogOpening} has it.
 */
function* openingSteps(
  options: DecisionLogOptions,
  scheduler: FlushScheduler | null,
  scan: (dir: string, strict: boolean) => LogScan | Promise<LogScan>,
  headerNow?: () => LogHeader,
): Steps<DecisionLogWriter> {
  checkLogOptions(options);
  let lock: FileLock | undefined = options.lock;
  const ownsLock = lock === undefined;
  let claimed = false;
  try {
    if (lock === undefined) {
      mkdirSync(options.dir, { recursive: true });
      lock = acquireLogLock(options.dir);
    } else if (!lock.held || lock.file !== join(options.dir, LOCK_FILE_NAME)) {
      throw new LogError(`the lock given to open ${options.dir} is not a held lock of that directory`);
    } else if (lock.writerOpen) {
      throw new LogError(
        `a writer opened under the lock given to open ${options.dir} is still open: close it first (two would overwrite each other's records)`,
      );
    }
    // Claimed before the log is read: a second writer under the same lock is refused meanwhile.
    lock.writerOpen = true;
    claimed = true;
    const found = yield* awaited(scan(options.dir, options.strict ?? true));
    const opening =
      headerNow === undefined || found.header !== null ? options : { ...options, header: headerNow() };
    return new DecisionLogWriter(opening, scheduler, lock, ownsLock, found);
  } catch (error) {
    if (claimed) lock!.writerOpen = false;
    if (ownsLock) releaseQuietly(lock);
    throw asLogError(error, `cannot open decision log ${options.dir}`);
  }
}

function keepRecordsOf(value: number | undefined): number | undefined {
  if (value === undefined) return undefined;
  if (!(Number.isSafeInteger(value) && value >= 1))
    throw new LogError(`keepRecords must be a whole number ≥ 1, got ${shownValue(value)}`);
  return value;
}

function positive(value: number, name: string): number {
  if (!(Number.isFinite(value) && value > 0))
    throw new LogError(`${name} must be a number > 0, got ${value}`);
  return value;
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
 * Non-strict recovery from mid-log damage. A copy of the damaged segment goes aside and the segment
 * is cut at the bad record; every later segment is renamed aside whole. Damage at the very start of
 * a segment after the first (a missing segment before it, an empty segment, a bad segment header)
 * means the valid prefix ends with the previous segment, so that segment is renamed aside whole too
 * and appending continues in the previous one: no numbering gap is left behind. Nothing is deleted,
 * and an earlier recovery's set-aside files are never overwritten.
 */
function setAside(corruption: Corruption, segments: readonly SegmentFile[]): LogRecovery {
  const at = segments.findIndex((s) => s.path === corruption.segment);
  const wholeSegment = corruption.offset === 0 && at > 0;
  const aside: string[] = [];
  let dropped = 0;
  if (!wholeSegment) {
    dropped += statSync(corruption.segment).size - corruption.offset;
    const copy = asideName(corruption.segment);
    copyFileSync(corruption.segment, copy, fsConstants.COPYFILE_EXCL);
    syncFile(copy);
    aside.push(copy);
    truncateDurably(corruption.segment, corruption.offset);
  }
  for (const later of segments.slice(wholeSegment ? at : at + 1)) {
    dropped += statSync(later.path).size;
    const target = asideName(later.path);
    renameSync(later.path, target);
    aside.push(target);
  }
  const kept = wholeSegment ? segments[at - 1]!.path : corruption.segment;
  return {
    kind: "corruption",
    segment: kept,
    truncatedAt: wholeSegment ? statSync(kept).size : corruption.offset,
    bytesDropped: dropped,
    reason: corruption.reason,
    setAside: aside,
  };
}

/** `<segment>.dropped`, or `<segment>.<n>.dropped` when an earlier recovery already took that name. */
function asideName(segment: string): string {
  let name = `${segment}.dropped`;
  for (let n = 2; existsSync(name); n++) name = `${segment}.${n}.dropped`;
  return name;
}

function syncFile(path: string): void {
  const fd = openSync(path, "r");
  try {
    fdatasyncSync(fd);
  } finally {
    closeSync(fd);
  }
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
