import * as Effect from "effect/Effect";
import type * as Scope from "effect/Scope";
import { ConfigError } from "../errors.js";

/**
 * A resource made by a throwing constructor, released when the enclosing `Scope` closes. A
 * `ConfigError` thrown by `create` is the expected failure; anything else is a defect (a bug),
 * not a typed error.
 */
export function scopedResource<A>(
  create: () => A,
  release: (resource: A) => Effect.Effect<void>,
): Effect.Effect<A, ConfigError, Scope.Scope> {
  return Effect.acquireRelease(
    Effect.suspend(() => {
      try {
        return Effect.succeed(create());
      } catch (error) {
        return error instanceof ConfigError ? Effect.fail(error) : Effect.die(error);
      }
    }),
    release,
  );
}
