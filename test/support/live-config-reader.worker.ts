/**
 * Worker thread for the shared live-config test: reads the shared buffer many times while the
 * main thread keeps writing, and reports how many reads were inconsistent.
 *
 * The writer fills every value with the generation it is about to publish, so a consistent
 * snapshot has all values equal to the returned generation; anything else is a torn read.
 */
import { parentPort, workerData } from "node:worker_threads";
import { readShared, type SharedLiveConfigHandle } from "../../src/hotpath/shared-live-config.js";

interface ReaderData {
  readonly handle: SharedLiveConfigHandle;
  /** Least number of reads. */
  readonly reads: number;
  /** Least number of distinct generations to see, so reads really overlapped writes. */
  readonly generations: number;
  /** Give up after this many reads even if fewer generations were seen. */
  readonly maxReads: number;
  /** Int32 flags: [0] set by the main thread to start reading, [1] set here when done. */
  readonly flags: Int32Array;
}

const { handle, reads, generations, maxReads, flags } = workerData as ReaderData;
const out = new Float64Array(handle.size);
let torn = 0;
let backwards = 0;
let distinct = 0;
let last = -1;
let count = 0;

parentPort!.postMessage({ ready: true });
while (Atomics.load(flags, 0) === 0) {
  // Spin until the writer starts; it is about to.
}
while ((count < reads || distinct < generations) && count < maxReads) {
  count++;
  const generation = readShared(handle, out);
  for (let i = 0; i < out.length; i++) {
    if (out[i] !== generation) {
      torn++;
      break;
    }
  }
  if (generation < last) backwards++;
  if (generation !== last) distinct++;
  last = generation;
}
Atomics.store(flags, 1, 1);
parentPort!.postMessage({ done: true, reads: count, torn, backwards, distinct, last });
