/**
 * Waits with a deadline that a held event loop cannot cut short.
 *
 * After the host's loop was held past a deadline (a long synchronous evaluation), Node runs the
 * due timers before it reads the replies and thread messages that arrived meanwhile. So a
 * deadline, once due, waits one more turn of the loop (to its check phase, after the poll phase
 * has read them) before it gives up: an answer that came in time is not refused for the host's
 * own delay. With `Infinity`, there is no deadline (a Node timer that long would fire at once).
 */

const TIMED_OUT: unique symbol = Symbol("timed out");

/** `promise`'s outcome, or {@link TIMED_OUT} once `ms` and one more turn of the loop have passed. */
async function beforeDeadline<T>(promise: Promise<T>, ms: number): Promise<T | typeof TIMED_OUT> {
  if (ms === Number.POSITIVE_INFINITY) return promise;
  let timer: ReturnType<typeof setTimeout> | undefined;
  let turn: ReturnType<typeof setImmediate> | undefined;
  const elapsed = new Promise<typeof TIMED_OUT>((resolve) => {
    timer = setTimeout(() => {
      turn = setImmediate(() => resolve(TIMED_OUT));
    }, ms);
  });
  try {
    return await Promise.race([promise, elapsed]);
  } finally {
    clearTimeout(timer);
    clearImmediate(turn);
  }
}

/**
 * Resolves with what `promise` resolves to when it settles within `ms`, else with undefined after
 * `ms` (undefined too when it rejects); never rejects. For a wait on Redis that must not hold up a
 * close or the lease upkeep: ioredis never answers a command queued while it waits to reconnect,
 * nor one sent on a connection that hangs.
 */
export async function withinMs<T>(promise: Promise<T>, ms: number): Promise<T | undefined> {
  const outcome = await beforeDeadline(
    promise.catch(() => undefined),
    ms,
  );
  return outcome === TIMED_OUT ? undefined : outcome;
}

/** `promise`, or a rejection saying `why()` once `ms` have passed; `promise`'s own rejection passes. */
export async function bounded<T>(promise: Promise<T>, ms: number, why: () => string): Promise<T> {
  const outcome = await beforeDeadline(promise, ms);
  if (outcome === TIMED_OUT) throw new Error(why());
  return outcome;
}
