/**
 * `promise`, or a rejection with a {@link DeadlineError} once `ms` have passed without its
 * outcome. The work behind `promise` is not stopped (a promise cannot be cancelled): a client that
 * queued a command may still send it later; its outcome is then ignored.
 */
export function beforeDeadline<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const timer = setTimeout(() => reject(new DeadlineError(`${what} unanswered after ${ms} ms`)), ms);
    timer.unref();
    promise.then(
      (value) => {
        clearTimeout(timer);
        resolve(value);
      },
      (error: unknown) => {
        clearTimeout(timer);
        reject(error);
      },
    );
  });
}

/** What {@link beforeDeadline} rejects with when its time runs out. */
export class DeadlineError extends Error {
  override readonly name: string = "DeadlineError";
}
