/**
 * The service that B6 (`bench/service.ts`) puts under load, run as a child process so that its
 * event loop is its own: a node:http server on 127.0.0.1 that, per request, hashes a 16 KiB
 * payload several times and keeps the result in a bounded in-memory store, with the engine off,
 * on (one digest per request), or on with its decision log (`createLoggedEngine`).
 *
 * Protocol over the IPC channel: the child sends `{ port }` once listening; the parent sends
 * `"start"` (reset the event-loop delay histogram) and `"stop"`, to which the child answers with
 * its figures, then closes and exits.
 */
import { createHash } from "node:crypto";
import { createServer } from "node:http";
import { monitorEventLoopDelay, performance } from "node:perf_hooks";
import type { EngineConfig } from "../src/engine/config.js";
import { createEngine, type Engine } from "../src/engine/engine.js";
import { createLoggedEngine, type LoggedEngine } from "../src/log/engine-log.js";

/** What the service runs with: `off` (no engine), `on`, `logged` (engine + decision log). */
export type ServiceMode = "off" | "on" | "logged";

/** What the child reports when stopped. */
export interface ServiceFigures {
  readonly loopDelayP50Ms: number;
  readonly loopDelayP99Ms: number;
  readonly loopDelayMaxMs: number;
  readonly requests: number;
  readonly applies: number;
  readonly mode: string;
  readonly logRecords: number;
  readonly logLag: number;
}

const PAYLOAD = new Uint8Array(16 * 1024).map((_, i) => (i * 31 + 7) & 0xff);
const HASH_ROUNDS = 6;

/** The knobs the engine tunes: how many entries the store keeps, and a (cosmetic) flush batch. */
function engineConfig(): EngineConfig {
  return {
    seed: 6,
    runId: "b6-service",
    params: {
      storeEntries: { min: 256, max: 4096, init: 1024, maxDelta: 256 },
      flushBatch: { min: 1, max: 64, init: 16, maxDelta: 8 },
    },
    window: { digests: 50, ms: 1_000 },
  };
}

function main(): void {
  const mode = process.argv[2] as ServiceMode;
  const logDir = process.argv[3];
  let engine: Engine | undefined;
  let logged: LoggedEngine | undefined;
  if (mode === "on") engine = createEngine(engineConfig());
  else if (mode === "logged") {
    if (logDir === undefined) throw new Error("logged mode needs a log directory");
    logged = createLoggedEngine(engineConfig(), { dir: logDir });
    engine = logged.engine;
  }
  const store = new Map<number, string>();
  let requests = 0;
  const delay = monitorEventLoopDelay({ resolution: 1 });
  delay.enable();

  const server = createServer((request, response) => {
    const started = performance.now();
    const key = requests++;
    let hash = createHash("sha256");
    for (let round = 0; round < HASH_ROUNDS; round++) hash = hash.update(PAYLOAD);
    const digest = hash.digest("hex");
    // The simulated store: bounded by the engine's knob when there is one.
    const capacity = engine === undefined ? 1024 : Math.round(engine.values[0]!);
    store.set(key, digest);
    while (store.size > capacity) store.delete(store.keys().next().value!);
    request.resume();
    response.writeHead(200, { "content-type": "text/plain" });
    response.end(digest);
    engine?.observe({ objective: performance.now() - started, generation: engine.generation });
  });
  server.keepAliveTimeout = 60_000;
  server.listen(0, "127.0.0.1", () => {
    const address = server.address();
    if (address === null || typeof address === "string") throw new Error("no TCP address");
    process.send?.({ port: address.port });
  });

  process.on("message", (message) => {
    if (message === "start") {
      delay.reset();
      return;
    }
    if (message !== "stop") return;
    delay.disable();
    const snapshot = engine?.snapshot();
    const figures: ServiceFigures = {
      loopDelayP50Ms: delay.percentile(50) / 1e6,
      loopDelayP99Ms: delay.percentile(99) / 1e6,
      loopDelayMaxMs: delay.max / 1e6,
      requests,
      applies: snapshot?.applies.applied ?? 0,
      mode: snapshot?.mode ?? "–",
      logRecords: logged?.log.lastSeq ?? 0,
      logLag: logged?.log.lagRecords ?? 0,
    };
    server.closeAllConnections();
    server.close();
    const finish = async (): Promise<void> => {
      await (logged?.close() ?? engine?.close());
      process.send?.(figures, () => process.exit(0));
    };
    void finish();
  });
}

main();
