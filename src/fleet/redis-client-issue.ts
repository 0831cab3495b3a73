/**
 * The check a fleet component makes of the `redis` option it is given.
 */
import type { Redis } from "ioredis";
import { shownValue } from "../shown-value.js";

/**
 * `redis: must be an ioredis client (got …)` when `redis` is not one (the components call its
 * `duplicate()` for their blocking reads), else undefined.
 */
export function redisClientIssue(redis: unknown): string | undefined {
  if (typeof redis === "object" && redis !== null && typeof (redis as Redis).duplicate === "function")
    return undefined;
  return `redis: must be an ioredis client (got ${shownValue(redis)})`;
}
