/** A log that cannot be replayed or explained: no engine header, or unreadable records. */
export class ReplayInputError extends Error {
  override readonly name: string = "ReplayInputError";
}
