/**
 * `npm run example:metrics`: a service tuned by an arqon engine, with a Prometheus `/metrics`
 * endpoint.
 *
 * The "service" is a noisy bowl with its best point at (batch 96, timeout 250 ms); the engine gets
 * one digest every 20 ms. Point a Prometheus scrape job at the printed URL and load the alert rules
 * of examples/prometheus/arqon-alerts.yml.
 *
 * Usage: `tsx examples/metrics/metrics-server.ts [--port N] [--seed N]` (default port 9464, the
 * port Prometheus lists for exporters of this kind; 0 picks a free one). Ctrl-C stops it.
 */
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { pathToFileURL } from "node:url";
import { parseArgs } from "node:util";
import { createEngine, type Engine } from "arqon";
import { createEngineMetrics, type EngineMetrics } from "arqon/metrics";
import { Prng } from "arqon/testing";
import { Registry } from "prom-client";
import type { SchedulerLike } from "rxjs";

/** A running `/metrics` endpoint. */
export interface MetricsServer {
  /** `http://127.0.0.1:<port>/metrics` */
  readonly url: string;
  close(): Promise<void>;
}

/**
 * Serves `registry` at `GET /metrics` on `host:port` (127.0.0.1 by default; port 0 picks a free
 * one). Any other path is 404; a failing scrape answers 500 with the error's message.
 */
export async function serveMetrics(
  registry: Registry,
  options: { readonly port?: number; readonly host?: string } = {},
): Promise<MetricsServer> {
  const host = options.host ?? "127.0.0.1";
  const server: Server = createServer((request, response) => {
    const path = new URL(request.url ?? "/", "http://localhost").pathname;
    if (request.method !== "GET" || path !== "/metrics") {
      response.writeHead(404, { "content-type": "text/plain" }).end("not found: try GET /metrics\n");
      return;
    }
    registry.metrics().then(
      (text) => response.writeHead(200, { "content-type": registry.contentType }).end(text),
      (error: unknown) =>
        response.writeHead(500, { "content-type": "text/plain" }).end(`scrape failed: ${String(error)}\n`),
    );
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(options.port ?? 9464, host, () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://${host}:${port}/metrics`,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

/** The toy service's cost at the live knobs: a bowl around (96, 250) with 2 % noise. */
export function serviceCost(batch: number, timeoutMs: number, noise: Prng): number {
  const cost = 10 + ((batch - 96) / 32) ** 2 + ((timeoutMs - 250) / 100) ** 2;
  return cost * (1 + 0.02 * noise.normal());
}

/** The engine of the example and its metrics, registered on `registry`. */
export function tunedService(
  registry: Registry,
  seed: number,
  scheduler?: SchedulerLike,
): { engine: Engine; metrics: EngineMetrics } {
  const metrics = createEngineMetrics({ registry });
  const engine = createEngine({
    seed,
    params: {
      batch: { min: 1, max: 512, init: 32, maxDelta: 16 },
      timeoutMs: { min: 10, max: 1000, init: 100, maxDelta: 40 },
    },
    window: { digests: 10, ms: 1000 },
    scheduler,
    // The real service would push the values to its workers here; timing it fills arqon_t1_apply_seconds.
    onApply: metrics.timeApply(() => {}),
  });
  metrics.attach(engine);
  return { engine, metrics };
}

async function main(): Promise<void> {
  const { values } = parseArgs({ options: { port: { type: "string" }, seed: { type: "string" } } });
  const port = Number(values.port ?? 9464);
  const seed = Number(values.seed ?? 1);
  if (!Number.isInteger(port) || port < 0 || port > 65535)
    throw new Error(`--port: ${values.port} is not a port`);
  if (!Number.isSafeInteger(seed)) throw new Error(`--seed: ${values.seed} is not an integer`);
  const registry = new Registry();
  const { engine, metrics } = tunedService(registry, seed);
  let server: Awaited<ReturnType<typeof serveMetrics>>;
  try {
    server = await serveMetrics(registry, { port });
  } catch (error) {
    // The port is taken (say): stop the engine too, or its timers keep the process alive.
    await engine.close();
    throw error;
  }
  const noise = Prng.fromSeed(seed, 2);
  const timer = setInterval(() => {
    const cost = serviceCost(engine.values[0]!, engine.values[1]!, noise);
    metrics.observe({ objective: cost, generation: engine.generation });
  }, 20);
  process.stdout.write(`arqon metrics at ${server.url} (Ctrl-C to stop)\n`);
  process.once("SIGINT", () => {
    clearInterval(timer);
    void Promise.all([server.close(), engine.close()]);
  });
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? "").href) {
  main().catch((error: unknown) => {
    process.stderr.write(`${error instanceof Error ? error.message : String(error)}\n`);
    process.exitCode = 1;
  });
}
