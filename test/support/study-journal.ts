import type { Redis } from "ioredis";
import type { JournalEntry } from "../../src/study/index.js";

/** Study `study`'s journal entries as Redis holds them, read through `redis`. */
export async function studyJournal(redis: Redis, study: string): Promise<JournalEntry[]> {
  return (await redis.lrange(`arqon:study:${study}:journal`, 0, -1)).map(
    (e) => JSON.parse(e) as JournalEntry,
  );
}
