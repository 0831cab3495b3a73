import { notAnEngine } from "../engine/engine-argument.js";
import { UsageError } from "../errors.js";

/**
 * Throws a `UsageError` naming `hook` when `engine` is neither an engine nor null or undefined
 * (while there is none): a config passed where the hook reads a running engine failed deep in
 * React with a TypeError, or rendered nothing at all. `actorOnly`: the hook reads nothing but the
 * engine's root actor, so anything holding one will do.
 */
export function checkEngineArgument(engine: unknown, hook: string, actorOnly = false): void {
  if (engine === null || engine === undefined) return;
  const problem = actorOnly ? noActor(engine) : notAnEngine(engine);
  if (problem !== undefined)
    throw new UsageError(
      `${hook}: engine ${problem} (or null while there is none; to start one from a config, useEngine(config) gives it)`,
    );
}

/** Why `engine` holds no actor to read (see {@link checkEngineArgument}); undefined when it does. */
function noActor(engine: unknown): string | undefined {
  const actor = (engine as { actor?: { getSnapshot?: unknown } | null }).actor;
  if (typeof actor === "object" && actor !== null && typeof actor.getSnapshot === "function")
    return undefined;
  return notAnEngine(engine) ?? "must have its root actor (engine.actor)";
}
