/**
 * Resolves when `promise` settles or after `ms`, whichever comes first; never rejects. For a wait
 * on Redis that must not hold up a close or the lease upkeep: ioredis never answers a command
 * queued while it waits to reconnect.
 */
export async function withinMs(promise: Promise<unknown>, ms: number): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  const elapsed = new Promise<void>((resolve) => {
    timer = setTimeout(resolve, ms);
  });
  try {
    await Promise.race([promise.catch(() => undefined), elapsed]);
  } finally {
    clearTimeout(timer);
  }
}
