import { Duration, Effect, Queue, type Scope } from "effect";
import { asLogError, type LogError } from "./errors.js";
import {
  type DecisionLogOptions,
  type DecisionLogWriter,
  type FlushScheduler,
  type LogOpening,
  openWriterAsync,
} from "./writer.js";

/** A decision log opened under an Effect `Scope`; its group commit runs in a fiber of that scope. */
export type DecisionLog = DecisionLogWriter;

/** Effect constructors of the decision log. */
export const DecisionLog = {
  /**
   * Opens (or creates) the log in `options.dir`, recovering it first (verifying an existing log
   * one segment at a time, in slices between which the event loop turns), and forks the fiber that
   * performs the group commits: every `flushMs`, or at once when `flushRecords` records wait.
   * Closing the scope stops the fiber, then flushes, fsyncs and closes the files.
   *
   * @remarks
   * Fails with a {@link LogError} (a `LogCorruptionError` for mid-log damage in strict mode, a
   * `LogLockedError` while another writer holds the directory's lock, which the log holds until
   * the scope closes).
   * `append` stays a synchronous in-memory call; only the fiber and `appendCommand` touch the disk.
   * The opening is asynchronous (the log is read and verified while the event loop turns), even for
   * a new log: `Effect.runSync` cannot run it.
   */
  make: (options: DecisionLogOptions): Effect.Effect<DecisionLog, LogError, Scope.Scope> =>
    makeDecisionLog(options),
};

/** @internal `DecisionLog.make`, read as `opening` asks (see `LogOpening`). */
export function makeDecisionLog(
  options: DecisionLogOptions,
  opening: LogOpening = {},
): Effect.Effect<DecisionLog, LogError, Scope.Scope> {
  return Effect.gen(function* () {
    const wake = yield* Queue.sliding<void>(1);
    const scheduler: FlushScheduler = {
      armDeadline: () => {},
      flushSoon: () => {
        Queue.unsafeOffer(wake, undefined);
      },
      cancel: () => {},
    };
    const log = yield* Effect.acquireRelease(
      // The log is verified in slices: the event loop turns while a long one is read.
      Effect.tryPromise({
        try: () => openWriterAsync(options, scheduler, opening),
        catch: (error) => asLogError(error, `cannot open decision log ${options.dir}`),
      }),
      // A release cannot fail: a final flush the disk refuses is reported, not turned into a defect
      // (the log then reads as not closed, which is what it is).
      (writer) =>
        Effect.try({
          try: () => writer.close(),
          catch: (error) => asLogError(error, `cannot close decision log ${options.dir}`),
        }).pipe(
          Effect.catchAll((error) => Effect.logError(`arqon: ${error.message}`)),
          // A `keepRecords` compaction still running stops first: the scope frees the directory.
          Effect.zipRight(Effect.promise(() => writer.released())),
        ),
    );
    const interval = Duration.millis(log.flushInterval);
    const drain = Effect.race(Effect.sleep(interval), Queue.take(wake)).pipe(
      Effect.zipRight(Effect.sync(() => log.flushInBackground())),
      Effect.forever,
    );
    // Forked after acquireRelease, so the scope interrupts it before the writer is closed.
    yield* Effect.forkScoped(drain);
    return log;
  });
}
