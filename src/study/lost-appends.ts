/**
 * Which trials a shared-study handle's own tells and fails settled although their replies were
 * lost (Redis wrote them all the same): asked through a symbol-keyed method, so that the code that
 * asks needs no Redis client loaded, and a proxy of the handle answers as the handle does.
 */
export const SETTLED_LATE: unique symbol = Symbol("arqon.study.settledLate");

/** A handle that can say whether a lost tell or fail of its own settled a trial. */
export interface SettledLate {
  [SETTLED_LATE](id: number): boolean;
}

/**
 * Whether trial `id` was settled by a tell or fail of `study`'s own whose reply was lost, rather
 * than by another worker.
 */
export function settledByLostAppend(study: object, id: number): boolean {
  const ask = (study as Partial<SettledLate>)[SETTLED_LATE];
  return typeof ask === "function" && ask.call(study, id) === true;
}
