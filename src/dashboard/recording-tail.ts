import type { Stats } from "node:fs";
import { type FileHandle, open, readdir, stat } from "node:fs/promises";
import { join } from "node:path";
import type { AuditEvent } from "../audit/events.js";
import { errorMessage } from "../errors.js";
import { ENGINE_LOG_FORMAT } from "../log/log-records.js";
import type { LogRecord } from "../log/records.js";
import { SEGMENT_SUFFIX } from "../log/segments.js";
import { runInSlices, type Steps } from "../runtime/event-loop-slices.js";
import { DecisionLogTail } from "./log-tail.js";
import { parseAuditLine, RecordingError } from "./recorded-source.js";

/** `format` of a solver's log header (`createSolverLog`): a study, shown by `serveStudy`. */
const SOLVER_LOG_FORMAT = "arqon.solver-log";

/** Most bytes read from one file per poll, so a long recording is read in steps of bounded memory. */
export const MAX_READ_BYTES = 8 * 1024 * 1024;

/**
 * Bytes at the start of a file and before its read position that are read again and compared, to
 * notice a file rewritten in place (a new run starts with its own run id).
 */
const CHECK_BYTES = 64;

/** Bytes read at a time when looking for a file's first event, to order a directory's files. */
const PEEK_BYTES = 64 * 1024;

/** Read positions of files read again from their start (truncated, rewritten) kept to recognise copies of them. */
const MAX_EARLIER_CURSORS = 16;

/** Most bytes of a file's first line kept to recognise a copy of it (an audit event line is far shorter). */
const FIRST_LINE_BYTES = 4096;

/** Where a file's first event falls in the recording: what orders the files of a directory. */
interface FirstEvent {
  readonly time: number;
  readonly seq: number;
}

/** A file of a directory as a poll ordered it: its identity then, and its first event (undefined: none yet). */
interface OrderedFile {
  readonly file: string;
  readonly identity: string;
  readonly first: FirstEvent | undefined;
}

/** Where one JSON Lines file was read up to. */
interface FileCursor {
  /** Bytes consumed (up to the end of the last complete line, or of a last line taken without its newline). */
  offset: number;
  /** Lines consumed, for messages. */
  lines: number;
  /** The last line consumed was taken without its newline: what comes before the next newline belongs to it. */
  open: boolean;
  /** The first bytes consumed (up to {@link CHECK_BYTES}): different bytes there mean a rewritten file. */
  head: Buffer;
  /** The last bytes consumed (up to {@link CHECK_BYTES}), likewise. */
  tail: Buffer;
  /** The file's first event, once consumed: kept so that ordering a directory reads it only once. */
  first: FirstEvent | undefined;
  /** The bytes of its first line (at most {@link FIRST_LINE_BYTES}), once consumed: what a copy starts with. */
  firstLine: Buffer;
  /**
   * Set while the file looks like a copy, still being written, of what another file was read up to
   * (its first line is that one's, and it is shorter): that file's position then, kept so the
   * verdict outlives it. Nothing is read from this file until it grows past that position.
   */
  waitingFor: KnownPosition | undefined;
  /** The file's size when it was last found waiting: unchanged, it still waits. */
  waitingAt: number;
  /**
   * The file's modification time when it was last read or checked: a file whose time and size
   * are unchanged is not read (a rewrite to the same size changes the time).
   */
  changedAt: number;
}

/** A file's read position, and the file's identity. */
interface KnownPosition {
  readonly identity: string;
  readonly cursor: FileCursor;
}

const newCursor = (): FileCursor => ({
  offset: 0,
  lines: 0,
  open: false,
  head: Buffer.alloc(0),
  tail: Buffer.alloc(0),
  first: undefined,
  firstLine: Buffer.alloc(0),
  waitingFor: undefined,
  waitingAt: 0,
  changedAt: Number.NaN,
});

/**
 * Reads a recording in steps: each {@link RecordingTail.poll} returns the events appended since
 * the previous one. A JSON Lines file is read from the byte where the last complete line ended
 * (a line still being written waits for its newline); a directory of `.jsonl` files is read file
 * by file in the order of their first events, new files included; a decision-log directory is
 * read from where the last read stopped (segment, offset), decoding only the frames written since
 * (see {@link DecisionLogTail}).
 *
 * @remarks
 * Reads use `node:fs/promises` (the thread pool); only a decision log's directory listing is
 * synchronous. A poll reads at most {@link MAX_READ_BYTES} of each file (of the whole log for a
 * decision log) and sets {@link RecordingTail.behind} when more is waiting; in a directory of
 * `.jsonl` files it then reads no later file, so events arrive in order. A line longer than
 * {@link MAX_READ_BYTES} is a {@link RecordingError}. A poll holds one file open at a time, so a
 * directory may hold more files than the process may open.
 *
 * The files of a directory are ordered by their first event's time (engine clock), then its seq,
 * then their names; a file without an event yet comes last. Names do not say the order: logrotate
 * numbers rotated files from the newest (`audit.1.jsonl` before `audit.2.jsonl`). Nor do
 * modification times once the files are copied. A run's events carry increasing seqs and times,
 * and an engine restarted on the clock numbers its events from 1 again at a later time, so the
 * restart still comes after the run before it (and starts a new run for the dashboard). A clock
 * that starts over with the engine (a virtual one) does not tell such runs apart.
 *
 * A JSON Lines file is followed by its identity (`dev:ino`), not its name: renamed (a rotation,
 * `audit.jsonl` to `audit.1.jsonl`) it is read on from where it was, and another file at its path
 * is read from its start. A file that shrank or was rewritten in place (its first bytes, or those
 * before the read position, changed: checked whenever its size or modification time changed) is
 * read again from its start, and so is a new file given a freed inode. A file or directory missing
 * (between a rotation's rename and the new file, or removed after it was listed) has nothing new
 * yet.
 *
 * In a directory a copy is recognised too (logrotate's `copytruncate` copies the file, then
 * truncates it; `copy` only copies): a file whose first line, and bytes before another file's
 * read position, are that file's is read on from that position (also when the copy is the one
 * read further, and the original is not yet truncated). One whose first line matches (or that
 * holds only the start of it) but which is shorter than that position (a copy being written, or
 * an earlier snapshot) has nothing new yet, unless its last bytes differ from the other file's at
 * the same place. A file's first event is looked for again when it is read, if it had none when
 * the poll ordered the files (a copy just created). The positions of the last
 * {@link MAX_EARLIER_CURSORS} files read again from their start are kept for this, so a copy found
 * after its original was truncated is still recognised; its events then come after the newer ones
 * already read from the truncated file. A shorter file whose original was truncated since cannot
 * be compared and waits: a new run that starts with the same event to the byte (a clock that
 * starts over, as above) is shown only once it outgrows the other's read position.
 * See {@link RecordingTail.copyVerdict}.
 */
export class RecordingTail {
  /** Where each JSON Lines file was read up to, by identity (see `identityOf`). */
  private readonly cursors = new Map<string, FileCursor>();
  /** The identity of the file last found at each path read (what keeps its cursor). */
  private readonly identities = new Map<string, string>();
  /** Whether the last poll left bytes unread (it reads at most {@link MAX_READ_BYTES} per file). */
  behind = false;
  private readonly log: DecisionLogTail | undefined;
  private fileBytesRead = 0;
  /** Where files later read again from their start had been read up to (what their copies hold). */
  private readonly earlier: KnownPosition[] = [];

  private constructor(
    readonly path: string,
    private readonly kind: "file" | "jsonl-dir" | "decision-log",
  ) {
    this.log = kind === "decision-log" ? new DecisionLogTail(path) : undefined;
  }

  /** Bytes read from the recording's files so far (what following it costs). */
  get bytesRead(): number {
    return this.fileBytesRead + (this.log?.bytesRead ?? 0);
  }

  /**
   * A tail of `path`; throws a {@link RecordingError} when the path cannot be read, or holds a
   * decision log whose header names another format than an engine's (a solver's log).
   */
  static async open(path: string): Promise<RecordingTail> {
    let kind: RecordingTail["kind"] | undefined;
    let header: LogRecord | undefined;
    try {
      const info = await stat(path);
      const names = info.isDirectory() ? await readdir(path) : undefined;
      if (names === undefined) kind = "file";
      else if (names.some((n) => n.endsWith(SEGMENT_SUFFIX))) kind = "decision-log";
      else if (names.some((n) => n.endsWith(".jsonl"))) kind = "jsonl-dir";
      if (kind === "decision-log") header = await new DecisionLogTail(path).header();
    } catch (error) {
      throw new RecordingError(`cannot read ${path}: ${errorMessage(error)}`);
    }
    if (kind === undefined)
      throw new RecordingError(`${path}: no decision log segments or .jsonl files in this directory`);
    refuseOtherFormat(path, header);
    return new RecordingTail(path, kind);
  }

  /** The events appended since the last call (all of them on the first, read in bounded steps: see {@link behind}). */
  async poll(): Promise<AuditEvent[]> {
    this.behind = false;
    if (this.kind === "file") {
      const events = await this.readFile(this.path);
      this.forgetFiles();
      return events;
    }
    if (this.log !== undefined) {
      let read: Awaited<ReturnType<DecisionLogTail["read"]>>;
      try {
        read = await this.log.read(MAX_READ_BYTES);
      } catch (error) {
        throw new RecordingError(`cannot read ${this.path}: ${errorMessage(error)}`);
      }
      this.behind = read.behind;
      return read.events;
    }
    const events: AuditEvent[] = [];
    let names: string[];
    try {
      names = (await readdir(this.path)).filter((n) => n.endsWith(".jsonl")).sort();
    } catch (error) {
      if (isMissing(error)) return events;
      throw new RecordingError(`cannot read ${this.path}: ${errorMessage(error)}`);
    }
    const paths = names.map((name) => join(this.path, name));
    const ordered: OrderedFile[] = [];
    for (const file of paths) {
      const found = await this.orderFile(file);
      if (found !== undefined) ordered.push(found);
    }
    // Stable: files whose first events tie stay in name order.
    ordered.sort(byFirstEvent);
    for (const { file, identity, first } of ordered) {
      // Renamed or removed since it was ordered (a rotation): the file now at its path may belong
      // later, and the one ordered here may be at another path. Order again at once (behind)
      // rather than read out of order.
      const handle = await this.openFile(file);
      if (handle === undefined) {
        this.behind = true;
        break;
      }
      try {
        const info = await handle.stat();
        if (identityOf(info) !== identity) {
          this.behind = true;
          break;
        }
        for (const event of await this.readOpen(file, handle, info, true, first)) events.push(event);
      } finally {
        await handle.close();
      }
      // A file left behind is finished first: a later file's events must not overtake its own.
      if (this.behind) break;
    }
    this.forgetFiles(new Set(paths));
    return events;
  }

  /**
   * Whether the file `identity` (open as `handle`, its cursor `cursor`, its first event `first`)
   * is a copy of what another file was read up to, ahead of its own position: that file's
   * position, to read on from; "wait" when it is shorter than that position and may be a copy still
   * being written (nothing in it is new yet); undefined when it is no copy.
   *
   * @remarks
   * Only files whose first event is this one's are compared (any file, while this one has none yet:
   * its first line is still being written), farthest read first, so a poll reads no bytes for a
   * file unlike the others. A copy starts with the same first line and holds the
   * bytes before that position. A shorter file is compared, at its end, with the other file where
   * it still is and still starts with that line; where that cannot be done (it was truncated since)
   * it waits, which is right for a copy and wrong for a new run that starts with the same event to
   * the byte (a clock that starts over, see the class notes).
   */
  private async copyVerdict(
    identity: string,
    cursor: FileCursor,
    first: FirstEvent | undefined,
    handle: FileHandle,
    info: Stats,
  ): Promise<FileCursor | "wait" | undefined> {
    if (info.size === 0) return undefined;
    const candidates: KnownPosition[] = [];
    if (cursor.waitingFor !== undefined) candidates.push(cursor.waitingFor);
    // Without a first event yet (its first line is still being written), any file may be its original.
    const ahead = (id: string, other: FileCursor) =>
      id !== identity &&
      other.offset > cursor.offset &&
      other.firstLine.length > 0 &&
      (first === undefined || (other.first?.time === first.time && other.first?.seq === first.seq));
    for (const [id, other] of this.cursors)
      if (ahead(id, other)) candidates.push({ identity: id, cursor: other });
    for (const other of this.earlier) if (ahead(other.identity, other.cursor)) candidates.push(other);
    if (candidates.length === 0) return undefined;
    candidates.sort((a, b) => b.cursor.offset - a.cursor.offset);
    const head = await this.bytesAt(handle, 0, Math.min(FIRST_LINE_BYTES, info.size));
    for (const other of candidates) {
      const known = other.cursor;
      // A file shorter than the first line (a copy cut inside it) only has to start like it.
      const compared = Math.min(head.length, known.firstLine.length);
      if (!head.subarray(0, compared).equals(known.firstLine.subarray(0, compared))) continue;
      if (info.size >= known.offset) {
        const before = await this.bytesAt(handle, known.offset - known.tail.length, known.tail.length);
        if (!before.equals(known.tail)) continue;
        cursor.waitingFor = undefined;
        return known;
      }
      if (await this.differsAtEnd(other, handle, info.size)) continue;
      cursor.waitingFor = { identity: other.identity, cursor: { ...known } };
      cursor.waitingAt = info.size;
      cursor.first ??= known.first;
      return "wait";
    }
    cursor.waitingFor = undefined;
    return undefined;
  }

  /**
   * Whether the file of `other`, where it still is and still starts with its first line, holds
   * other bytes than `handle` just before `size`: then a file of that length is no copy of it.
   * False when that cannot be told.
   */
  private async differsAtEnd(other: KnownPosition, handle: FileHandle, size: number): Promise<boolean> {
    const path = [...this.identities].find(([, identity]) => identity === other.identity)?.[0];
    if (path === undefined) return false;
    const original = await this.openFile(path);
    if (original === undefined) return false;
    try {
      const info = await original.stat();
      if (identityOf(info) !== other.identity || info.size < size) return false;
      const line = other.cursor.firstLine;
      if (!(await this.bytesAt(original, 0, line.length)).equals(line)) return false;
      const length = Math.min(CHECK_BYTES, size);
      const theirs = await this.bytesAt(original, size - length, length);
      return !theirs.equals(await this.bytesAt(handle, size - length, length));
    } finally {
      await original.close();
    }
  }

  /** `length` bytes of the open file from `position` (fewer at its end). */
  private async bytesAt(handle: FileHandle, position: number, length: number): Promise<Buffer> {
    const bytes = Buffer.alloc(length);
    const { bytesRead } = await handle.read(bytes, 0, length, position);
    this.fileBytesRead += bytesRead;
    return bytes.subarray(0, bytesRead);
  }

  /**
   * `file`'s identity and first event, to order it; undefined when it is missing. The first event
   * is remembered from its read; else the file is opened (only for this) and its first
   * {@link MAX_READ_BYTES} looked through.
   */
  private async orderFile(file: string): Promise<OrderedFile | undefined> {
    let info: Stats;
    try {
      info = await stat(file);
    } catch (error) {
      if (isMissing(error)) return undefined;
      throw new RecordingError(`cannot read ${file}: ${errorMessage(error)}`);
    }
    const identity = identityOf(info);
    const cursor = this.cursors.get(identity);
    // The first event read before, unless the file shrank (truncated and written again).
    const known = cursor?.first;
    if (known !== undefined && info.size >= cursor!.offset) return { file, identity, first: known };
    const handle = await this.openFile(file);
    if (handle === undefined) return undefined;
    try {
      // The file opened, which a rename since the stat may have changed.
      const opened = await handle.stat();
      const openedIdentity = identityOf(opened);
      const read = this.cursors.get(openedIdentity);
      const first =
        read?.first !== undefined && opened.size >= read.offset
          ? read.first
          : await this.firstEvent(file, handle, opened.size);
      return { file, identity: openedIdentity, first };
    } finally {
      await handle.close();
    }
  }

  /**
   * The first event of `file` (open as `handle`, `size` bytes long) within its first
   * {@link MAX_READ_BYTES}. Undefined when it has none yet, or its first line is malformed (its
   * read then reports it).
   */
  private async firstEvent(file: string, handle: FileHandle, size: number): Promise<FirstEvent | undefined> {
    const limit = Math.min(size, MAX_READ_BYTES);
    let rest = Buffer.alloc(0);
    let at = 0;
    while (at < limit) {
      const chunk = Buffer.alloc(Math.min(PEEK_BYTES, limit - at));
      const { bytesRead } = await handle.read(chunk, 0, chunk.length, at);
      if (bytesRead === 0) break;
      this.fileBytesRead += bytesRead;
      at += bytesRead;
      rest = Buffer.concat([rest, chunk.subarray(0, bytesRead)]);
      let start = 0;
      for (let end = rest.indexOf(0x0a); end >= 0; end = rest.indexOf(0x0a, start)) {
        const line = rest.subarray(start, end).toString("utf8");
        start = end + 1;
        if (line.trim() !== "") return firstOf(line, file);
      }
      rest = rest.subarray(start);
    }
    // A last line without its newline counts once it is a whole event, as its read takes it.
    return at === size && rest.toString("utf8").trim() !== ""
      ? firstOf(rest.toString("utf8"), file)
      : undefined;
  }

  /**
   * Drops the cursors of files no longer found at any path (deleted, or replaced at the one path
   * followed), keeping memory bounded over rotations; `listed`: the paths a directory still holds.
   */
  private forgetFiles(listed?: ReadonlySet<string>): void {
    if (listed !== undefined)
      for (const path of this.identities.keys()) if (!listed.has(path)) this.identities.delete(path);
    const kept = new Set(this.identities.values());
    for (const identity of this.cursors.keys()) if (!kept.has(identity)) this.cursors.delete(identity);
  }

  /** Opens `file` for reading; undefined when it is missing (nothing new yet). */
  private async openFile(file: string): Promise<FileHandle | undefined> {
    try {
      return await open(file, "r");
    } catch (error) {
      if (isMissing(error)) return undefined;
      throw new RecordingError(`cannot read ${file}: ${errorMessage(error)}`);
    }
  }

  /** Whether the open file still holds the bytes `cursor` read at its start and before its position. */
  private async stillHolds(cursor: FileCursor, handle: FileHandle): Promise<boolean> {
    const { head, tail, offset } = cursor;
    if (offset === 0) {
      // A file waiting to become a copy still starts as the one it waits on (or a part of its first
      // line, while it is being written); another on its freed inode does not.
      const line = cursor.waitingFor?.cursor.firstLine;
      if (line === undefined) return true;
      const start = await this.bytesAt(handle, 0, line.length);
      return line.subarray(0, start.length).equals(start);
    }
    if (!(await this.bytesAt(handle, offset - tail.length, tail.length)).equals(tail)) return false;
    return offset <= tail.length || (await this.bytesAt(handle, 0, head.length)).equals(head);
  }

  /** Sets `cursor` back to the file's start, keeping where it was for copies of what it read. */
  private restart(identity: string, cursor: FileCursor): void {
    if (cursor.offset > 0) {
      this.earlier.push({ identity, cursor: { ...cursor } });
      if (this.earlier.length > MAX_EARLIER_CURSORS) this.earlier.shift();
    }
    Object.assign(cursor, newCursor());
  }

  private async readFile(file: string): Promise<AuditEvent[]> {
    const handle = await this.openFile(file);
    if (handle === undefined) return [];
    try {
      return await this.readOpen(file, handle, await handle.stat(), false);
    } finally {
      await handle.close();
    }
  }

  /**
   * The events appended to `file` (open as `handle`, which the caller closes; `info`: its stat)
   * since its last read.
   */
  private async readOpen(
    file: string,
    handle: FileHandle,
    info: Stats,
    inDirectory: boolean,
    first?: FirstEvent,
  ): Promise<AuditEvent[]> {
    const identity = identityOf(info);
    this.identities.set(file, identity);
    const cursor = this.cursors.get(identity) ?? newCursor();
    this.cursors.set(identity, cursor);
    if (info.mtimeMs === cursor.changedAt) {
      if (info.size === cursor.offset) return [];
      if (cursor.waitingFor !== undefined && info.size === cursor.waitingAt) return [];
    }
    // Shrank, or the bytes read no longer there (read again, at the start and before the read
    // position): rewritten in place, or a new file on a freed inode (logrotate deleting its oldest
    // file, then copying). Read from its start, unless it is found a copy below.
    if (info.size < cursor.offset || !(await this.stillHolds(cursor, handle))) {
      this.restart(identity, cursor);
      first = undefined;
    }
    cursor.changedAt = info.mtimeMs;
    // In a directory: a copy of what another file was read up to is read on from there. The
    // first event is looked for again when the file had none when it was ordered (a copy just
    // created), or was read again from its start.
    if (inDirectory) {
      first ??= cursor.first ?? (await this.firstEvent(file, handle, info.size));
      const copied = await this.copyVerdict(identity, cursor, first, handle, info);
      if (copied === "wait") return [];
      if (copied !== undefined)
        Object.assign(cursor, { ...copied, waitingFor: undefined, changedAt: info.mtimeMs });
    }
    if (info.size === cursor.offset) return [];
    const length = Math.min(info.size - cursor.offset, MAX_READ_BYTES);
    const limited = length < info.size - cursor.offset;
    const chunk = Buffer.alloc(length);
    const { bytesRead } = await handle.read(chunk, 0, length, cursor.offset);
    this.fileBytesRead += bytesRead;
    const data = chunk.subarray(0, bytesRead);
    if (limited) this.behind = true;
    const start = cursor.offset;
    const events = await runInSlices(takeLines(file, cursor, data, limited));
    // Remember the first and the last bytes consumed, to check them on the next read.
    const consumed = cursor.offset - start;
    if (start < CHECK_BYTES)
      cursor.head = Buffer.concat([cursor.head, data.subarray(0, Math.min(consumed, CHECK_BYTES - start))]);
    if (start === 0 && consumed > 0) {
      const newline = data.indexOf(0x0a);
      const end = newline >= 0 && newline < consumed ? newline + 1 : consumed;
      const line = data.subarray(0, Math.min(end, FIRST_LINE_BYTES));
      // A blank first line says nothing about whose copy a file is.
      if (line.toString("utf8").trim() !== "") cursor.firstLine = Buffer.from(line);
    }
    cursor.tail =
      consumed >= CHECK_BYTES
        ? Buffer.from(data.subarray(consumed - CHECK_BYTES, consumed))
        : Buffer.concat([cursor.tail, data.subarray(0, consumed)]).subarray(-CHECK_BYTES);
    return events;
  }
}

/**
 * What a JSON Lines file is followed by: its device and inode. (Not its birth time, which some
 * systems report as the change time: every write would make another file. An inode freed and
 * given to a new file is told by its bytes instead, see `stillHolds`.)
 */
function identityOf(info: Stats): string {
  return `${info.dev}:${info.ino}`;
}

/** Orders files by their first events (time, then seq); a file without one yet comes last. */
function byFirstEvent(a: OrderedFile, b: OrderedFile): number {
  if (a.first === undefined || b.first === undefined)
    return Number(a.first === undefined) - Number(b.first === undefined);
  return a.first.time - b.first.time || a.first.seq - b.first.seq;
}

/** The order of the event on `line`, or undefined when it is malformed (its read reports it). */
function firstOf(line: string, file: string): FirstEvent | undefined {
  try {
    const event = parseAuditLine(line, file, 1);
    return event === undefined ? undefined : { time: event.time, seq: event.seq };
  } catch {
    return undefined;
  }
}

/** Whether `error` says the file or directory is not there (now). */
function isMissing(error: unknown): boolean {
  return (error as { code?: unknown } | null)?.code === "ENOENT";
}

/**
 * Throws a {@link RecordingError} when a decision log's header names a format other than an
 * engine's: its records hold no audit events, so the dashboard would show nothing. A header
 * without a format (a log written by hand) is taken.
 */
function refuseOtherFormat(path: string, header: LogRecord | undefined): void {
  const format = header?.format;
  if (typeof format !== "string" || format === ENGINE_LOG_FORMAT) return;
  if (format === SOLVER_LOG_FORMAT)
    throw new RecordingError(
      `${path} is a solver log (format ${JSON.stringify(format)}), not an engine's recording: ` +
        `show it with \`arqon dashboard --study ${path}\` (serveStudy)`,
    );
  throw new RecordingError(
    `${path}: its header's format is ${JSON.stringify(format)}, not an engine's decision log ` +
      `(${JSON.stringify(ENGINE_LOG_FORMAT)})`,
  );
}

/**
 * The events of the complete lines of `data` (the bytes of `file` from `cursor.offset`), advancing
 * the cursor past them, one line per step (up to 8 MiB of lines are parsed in slices).
 * `limited`: `data` stops short of the end of the file.
 */
function* takeLines(file: string, cursor: FileCursor, data: Buffer, limited: boolean): Steps<AuditEvent[]> {
  const events: AuditEvent[] = [];
  const tooLong = (line: number) =>
    new RecordingError(`${file}:${line}: line longer than ${MAX_READ_BYTES / 1024 / 1024} MiB`);
  let at = 0;
  if (cursor.open) {
    // The line taken without its newline: what comes before the newline belongs to it.
    const newline = data.indexOf(0x0a);
    if (newline < 0) {
      if (limited) throw tooLong(cursor.lines);
      return events;
    }
    if (data.subarray(0, newline).toString("utf8").trim() !== "")
      throw new RecordingError(`${file}:${cursor.lines}: more text after the event on this line`);
    cursor.open = false;
    at = newline + 1;
  }
  const end = data.lastIndexOf(0x0a);
  if (end >= at) {
    for (const line of data.subarray(at, end).toString("utf8").split("\n")) {
      cursor.lines++;
      const event = parseAuditLine(line, file, cursor.lines);
      if (event !== undefined) events.push(event);
      yield;
    }
    at = end + 1;
  } else if (limited && at === 0) {
    // A whole read step without a newline: the line would never fit one.
    throw tooLong(cursor.lines + 1);
  }
  // A last line without its newline is taken once it is a whole event (a writer that does not
  // end the file with a newline); a line cut short is never valid JSON, so it waits. A read cut
  // short by the step size does not reach the end of the file: its last line waits too.
  const rest = limited ? "" : data.subarray(at).toString("utf8");
  if (rest.trim() !== "" && completeEvent(rest)) {
    cursor.lines++;
    const event = parseAuditLine(rest, file, cursor.lines);
    if (event !== undefined) events.push(event);
    cursor.open = true;
    at = data.length;
  }
  cursor.offset += at;
  const first = events[0];
  if (cursor.first === undefined && first !== undefined) cursor.first = { time: first.time, seq: first.seq };
  return events;
}

/** Whether `text` parses as a JSON object (a complete audit event line). */
function completeEvent(text: string): boolean {
  try {
    const value: unknown = JSON.parse(text);
    return typeof value === "object" && value !== null;
  } catch {
    return false;
  }
}
