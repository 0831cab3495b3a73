/**
 * A decision log's `onDurable` callback, and promises of the durable seq reaching a target. A
 * group commit's write completes on libuv's thread pool, so a test that needs records on disk
 * waits for this callback instead of polling a timer or reading `durableSeq` too early.
 */
export function durableWatch(): {
  readonly onDurable: (seq: number) => void;
  /** Resolves with the durable seq once it is at least `target` (at once if it already is). */
  readonly atLeast: (target: number) => Promise<number>;
} {
  let durable = -1;
  const waiting: { target: number; resolve: (seq: number) => void }[] = [];
  return {
    onDurable: (seq) => {
      durable = Math.max(durable, seq);
      for (let i = waiting.length - 1; i >= 0; i--) {
        if (durable >= waiting[i]!.target) waiting.splice(i, 1)[0]!.resolve(durable);
      }
    },
    atLeast: (target) =>
      durable >= target
        ? Promise.resolve(durable)
        : new Promise<number>((resolve) => waiting.push({ target, resolve })),
  };
}
