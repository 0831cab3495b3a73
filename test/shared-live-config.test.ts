import { Worker } from "node:worker_threads";
import { describe, expect, it } from "vitest";
import { LiveConfig } from "../src/hotpath/live-config.js";
import { readShared, SHARED_HEADER_BYTES, sharedByteLength } from "../src/hotpath/shared-live-config.js";

interface ReaderReport {
  readonly done: true;
  readonly reads: number;
  readonly torn: number;
  readonly backwards: number;
  readonly distinct: number;
  readonly last: number;
}

/**
 * Starts the reader worker. Worker threads do not go through vitest's TypeScript transform, so
 * the worker is bootstrapped with tsx's `tsImport`, which compiles the worker and its import of
 * src/hotpath/shared-live-config.ts on the fly.
 */
function startReader(workerData: unknown): Worker {
  const file = new URL("./support/live-config-reader.worker.ts", import.meta.url).href;
  const code = `import("tsx/esm/api").then((api) => api.tsImport(${JSON.stringify(file)}, ${JSON.stringify(file)}));`;
  return new Worker(code, { eval: true, workerData });
}

function nextMessage<T>(worker: Worker, accept: (message: unknown) => boolean): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const onMessage = (message: unknown): void => {
      if (!accept(message)) return;
      worker.off("message", onMessage);
      resolve(message as T);
    };
    worker.on("message", onMessage);
    worker.once("error", reject);
  });
}

describe("shared LiveConfig", () => {
  it("backs values and generation by a SharedArrayBuffer described by its handle", () => {
    const live = new LiveConfig([1, 2, 3], { shared: true });
    const handle = live.handle!;
    expect(handle.buffer).toBeInstanceOf(SharedArrayBuffer);
    expect(handle.size).toBe(3);
    expect(handle.buffer.byteLength).toBe(sharedByteLength(3));
    // The shared buffer holds a published copy of the values, after the header.
    const published = new Float64Array(handle.buffer, SHARED_HEADER_BYTES, 3);
    expect([...published]).toEqual([1, 2, 3]);
    expect(live.values.buffer).not.toBe(handle.buffer);
    expect([...live.values]).toEqual([1, 2, 3]);
  });

  it("a thread writing into the shared buffer changes nothing live; the next write overwrites it", () => {
    const live = new LiveConfig([1, 2], { shared: true });
    const published = new Float64Array(live.handle!.buffer, SHARED_HEADER_BYTES, 2);
    published[0] = 1e9;
    expect([...live.values]).toEqual([1, 2]);
    expect(live.generation).toBe(0);
    live.write(new Float64Array([3, 4]));
    const out = new Float64Array(2);
    expect(readShared(live.handle!, out)).toBe(1);
    expect([...out]).toEqual([3, 4]);
  });

  it("reads the current values and their generation in the same thread", () => {
    const live = new LiveConfig([1, 2], { shared: true });
    const out = new Float64Array(2);
    expect(readShared(live.handle!, out)).toBe(0);
    expect([...out]).toEqual([1, 2]);
    live.write(new Float64Array([3, 4]));
    live.write(new Float64Array([5, 6]));
    expect(readShared(live.handle!, out)).toBe(2);
    expect([...out]).toEqual([5, 6]);
  });

  it("keeps baseline and rollback semantics in shared mode", () => {
    const live = new LiveConfig([0.5], { shared: true });
    live.setBaseline();
    live.write(new Float64Array([0.9]));
    expect(live.restoreBaseline()).toBe(2);
    const out = new Float64Array(1);
    expect(readShared(live.handle!, out)).toBe(2);
    expect(out[0]).toBe(0.5);
  });

  it("reads two configs alternately without mixing them up", () => {
    const first = new LiveConfig([1, 1], { shared: true });
    const second = new LiveConfig([2, 2, 2], { shared: true });
    second.write(new Float64Array([3, 3, 3]));
    const out2 = new Float64Array(2);
    const out3 = new Float64Array(3);
    for (let k = 0; k < 3; k++) {
      expect(readShared(first.handle!, out2)).toBe(0);
      expect([...out2]).toEqual([1, 1]);
      expect(readShared(second.handle!, out3)).toBe(1);
      expect([...out3]).toEqual([3, 3, 3]);
    }
  });

  it("never returns a torn vector to a worker reading during continuous writes", async () => {
    const size = 64;
    const reads = 200_000;
    const generations = 500;
    const live = new LiveConfig(new Float64Array(size), { shared: true });
    const flags = new Int32Array(new SharedArrayBuffer(8)); // [0] go, [1] reader finished
    const worker = startReader({ handle: live.handle, reads, generations, maxReads: 50_000_000, flags });
    try {
      await nextMessage(worker, (m) => (m as { ready?: boolean }).ready === true);
      const report = nextMessage<ReaderReport>(worker, (m) => (m as { done?: boolean }).done === true);
      // Every vector is filled with the generation it will be published as, so a consistent
      // snapshot has all values equal to its generation.
      const next = new Float64Array(size);
      Atomics.store(flags, 0, 1);
      let writes = 0;
      // The cap only guards against a crashed worker; the reader normally finishes long before it.
      while (Atomics.load(flags, 1) === 0 && writes < 100_000_000) {
        next.fill(live.generation + 1);
        live.write(next);
        writes++;
        // A writer that never pauses starves a seqlock reader (each copy overlaps a write and is
        // retried); real applies are rate-limited, so leave the reader gaps, still short enough
        // that many reads overlap a write.
        for (let spin = 0; spin < 1000 && Atomics.load(flags, 1) === 0; spin++);
      }
      const result = await report;
      const { torn, backwards, distinct, last } = result;
      expect(result.reads).toBeGreaterThanOrEqual(reads);
      expect(torn).toBe(0);
      expect(backwards).toBe(0);
      // The reads really overlapped the writes: the reader saw many generations.
      expect(distinct).toBeGreaterThanOrEqual(generations);
      expect(last).toBeLessThanOrEqual(live.generation);
    } finally {
      await worker.terminate();
    }
  }, 120_000);
});
