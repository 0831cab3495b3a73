import { errorMessage } from "../errors.js";

/**
 * A decision-log operation failed: the directory or a file could not be read or written, or the
 * log is not usable as asked. `cause` holds the underlying error when there is one.
 */
export class LogError extends Error {
  override readonly name: string = "LogError";
  readonly _tag = "LogError";
}

/**
 * `error` itself when it already is a {@link LogError}; otherwise a LogError reading
 * "`context`: <its message>" with `error` as its cause (an I/O failure, say).
 */
export function asLogError(error: unknown, context: string): LogError {
  if (error instanceof LogError) return error;
  return new LogError(`${context}: ${errorMessage(error)}`, {
    cause: error,
  });
}

/**
 * The log is damaged in the middle: a record that fails its length or CRC check (or does not
 * parse) is followed by valid data, or sits in a segment that is not the last one. Such damage is
 * never mistaken for a torn tail; it names the segment file and the byte offset of the bad record.
 */
export class LogCorruptionError extends LogError {
  override readonly name = "LogCorruptionError";
  /** Path of the damaged segment file. */
  readonly segment: string;
  /** Byte offset of the first bad record in that file. */
  readonly offset: number;
  /** What is wrong at that offset. */
  readonly reason: string;

  constructor(segment: string, offset: number, reason: string) {
    super(`decision log corrupt: ${segment} at byte ${offset}: ${reason}`);
    this.segment = segment;
    this.offset = offset;
    this.reason = reason;
  }
}
