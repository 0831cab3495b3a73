/**
 * Resolves with what `promise` resolves to when it settles within `ms`, else with undefined after
 * `ms` (undefined too when it rejects); never rejects. For a wait on Redis that must not hold up a
 * close or the lease upkeep: ioredis never answers a command queued while it waits to reconnect,
 * nor one sent on a connection that hangs.
 */
export async function withinMs<T>(promise: Promise<T>, ms: number): Promise<T | undefined> {
  let timer: NodeJS.Timeout | undefined;
  const elapsed = new Promise<undefined>((resolve) => {
    timer = setTimeout(() => resolve(undefined), ms);
  });
  try {
    return await Promise.race([promise.catch(() => undefined), elapsed]);
  } finally {
    clearTimeout(timer);
  }
}
