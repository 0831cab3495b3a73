import * as Effect from "effect/Effect";
import * as Queue from "effect/Queue";
import type * as Scope from "effect/Scope";
import * as Stream from "effect/Stream";
import type { Observable } from "rxjs";
import type { AuditEvent } from "../audit/events.js";

/** Queued after the engine's last event: its `events` completed. */
const CLOSED = null;

/**
 * Subscribes to an engine's audit events now, for as long as the enclosing `Scope` lasts, and
 * gives them as an Effect `Stream` that ends when the engine closes or the scope does, whichever
 * comes first, after every event received until then. The subscription is made before the Effect
 * returns, not when the stream first runs: `engine.events` is hot, and a stream run in a fiber
 * forked later must not miss what came in between. Nothing is dropped (the queue is unbounded:
 * events come at the engine's pace, a few per window). An engine made in the same scope before
 * the stream is closed after the stream's end (a scope releases in reverse order): what its close
 * delivers is not in the stream unless the engine is closed first.
 */
export function auditEventStream(engine: {
  readonly events: Observable<AuditEvent>;
}): Effect.Effect<Stream.Stream<AuditEvent>, never, Scope.Scope> {
  return Effect.gen(function* () {
    // Not shut down at the scope's end: that would end a stream still reading with the events
    // queued before it unread. The end is queued after them instead.
    const queue = yield* Queue.unbounded<AuditEvent | typeof CLOSED>();
    yield* Effect.acquireRelease(
      Effect.sync(() =>
        engine.events.subscribe({
          next: (event) => {
            Queue.unsafeOffer(queue, event);
          },
          complete: () => {
            Queue.unsafeOffer(queue, CLOSED);
          },
        }),
      ),
      (subscription) =>
        Effect.sync(() => {
          if (subscription.closed) return; // completed: its end is queued
          subscription.unsubscribe();
          Queue.unsafeOffer(queue, CLOSED);
        }),
    );
    return Stream.fromQueue(queue).pipe(Stream.takeWhile((event): event is AuditEvent => event !== CLOSED));
  });
}
