/**
 * What a worker loop does while it waits: fail the trials of workers whose heartbeat stopped.
 */
import { JournalError } from "./journal.js";
import { isRedisFailure } from "./record-result.js";
import type { SharedStudy } from "./shared-study.js";

/**
 * Fails the trials of workers whose heartbeat stopped (`SharedStudy.failStaleTrials`), and returns
 * their ids. Redis failing, or the journal gone, is left to the loop's next ask or read, which says
 * so.
 */
export async function failStale(study: SharedStudy): Promise<number[]> {
  try {
    return await study.failStaleTrials();
  } catch (error) {
    if (!(isRedisFailure(error) || error instanceof JournalError)) throw error;
    return [];
  }
}
