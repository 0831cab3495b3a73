import { Registry } from "prom-client";
import { VirtualTimeScheduler } from "rxjs";
import { describe, expect, it } from "vitest";
import { serveMetrics, serviceCost, tunedService } from "../examples/metrics/metrics-server.js";
import { Prng } from "../src/random/prng.js";
import { runSnippet } from "./support/run-snippet.js";

describe("examples/metrics: the /metrics endpoint", () => {
  it("serves the engine's metrics as Prometheus text, and 404 elsewhere", async () => {
    const registry = new Registry();
    // Virtual time: a window closing by time during the scrape would move the value it checks.
    const { engine, metrics } = tunedService(registry, 1, new VirtualTimeScheduler());
    const noise = Prng.fromSeed(1, 2);
    for (let i = 0; i < 50; i++)
      metrics.observe({
        objective: serviceCost(engine.values[0]!, engine.values[1]!, noise),
        generation: engine.generation,
      });
    const server = await serveMetrics(registry, { port: 0 });
    try {
      expect(server.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/metrics$/);
      const response = await fetch(server.url);
      expect(response.status).toBe(200);
      expect(response.headers.get("content-type")).toBe(registry.contentType);
      const text = await response.text();
      expect(text).toContain("# TYPE arqon_t2_decide_seconds histogram");
      expect(text).toContain("# TYPE arqon_digests_rejected_total counter");
      expect(text).toContain(`arqon_digests_accepted_total ${engine.snapshot().digests.accepted}`);
      expect(text).toContain(`arqon_param_value{param="batch"} ${engine.values[0]}`);
      expect(text).toMatch(/^arqon_digest_ingest_seconds_count \d+$/m);
      const other = await fetch(server.url.replace("/metrics", "/other"));
      expect(other.status).toBe(404);
      await other.text();
    } finally {
      await server.close();
      await engine.close();
    }
  });

  it("docs/snippets/metrics.ts scrapes a minute of tuning in virtual time", async () => {
    const { stdout, stderr, status } = await runSnippet("metrics.ts");
    expect(status, stderr).toBe(0);
    const lines = stdout.trim().split("\n");
    expect(lines).toContain("arqon_digests_accepted_total 3000");
    expect(lines).toContain("arqon_safe_mode_level 0");
    expect(Number(/^arqon_generation (\d+)$/m.exec(stdout)?.[1])).toBeGreaterThan(100);
    expect(Number(/^arqon_applies_total\{kind="plus"\} (\d+)$/m.exec(stdout)?.[1])).toBeGreaterThan(50);
  }, 60_000);
});
