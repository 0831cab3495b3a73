/**
 * Errors Redis answers with, named by the command and key that met them: ioredis's own
 * (`WRONGTYPE Operation against a key holding the wrong kind of value`) names neither, and a fleet
 * reads a dozen keys.
 */

/** Whether `error` is Redis's answer (a `ReplyError`: the server is reachable) rather than a failure to reach it. */
export function isReplyError(error: unknown): boolean {
  return error instanceof Error && error.name === "ReplyError";
}

/**
 * A Redis answer `error` with the command and key named first (`XLEN arqon:fleet:run:digests:
 * WRONGTYPE …`), keeping its `name` (so that {@link isReplyError} still tells it) and the original
 * as `cause`. Any other error (Redis not reached: no key is at fault) is returned as it is.
 */
export function keyedError(error: unknown, command: string, key: string): unknown {
  if (!isReplyError(error)) return error;
  const { name, message } = error as Error;
  const keyed = new Error(`${command} ${key}: ${message}`, { cause: error });
  keyed.name = name;
  return keyed;
}
