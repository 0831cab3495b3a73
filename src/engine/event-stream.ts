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
 * gives them as an Effect `Stream` that ends when the engine closes. The subscription is made
 * before the Effect returns, not when the stream first runs: `engine.events` is hot, and a stream
 * run in a fiber forked later must not miss what came in between. Nothing is dropped (the queue
 * is unbounded: events come at the engine's pace, a few per window), and the events queued
 * before the engine closed are all in the stream.
 */
export function auditEventStream(engine: {
  readonly events: Observable<AuditEvent>;
}): Effect.Effect<Stream.Stream<AuditEvent>, never, Scope.Scope> {
  return Effect.gen(function* () {
    const queue = yield* Effect.acquireRelease(Queue.unbounded<AuditEvent | typeof CLOSED>(), Queue.shutdown);
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
      (subscription) => Effect.sync(() => subscription.unsubscribe()),
    );
    return Stream.fromQueue(queue).pipe(Stream.takeWhile((event): event is AuditEvent => event !== CLOSED));
  });
}
