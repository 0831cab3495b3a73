/**
 * The alert rules of examples/prometheus are checked by Prometheus's own promtool (Debian's
 * `prometheus` package, installed by .ci/run): syntax, the unit tests shipped beside them, and a
 * drill whose input series are scraped from a real engine run in virtual time.
 */
import { spawnSync } from "node:child_process";
import { copyFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { Registry } from "prom-client";
import { afterAll, describe, expect, it } from "vitest";
import { createEngine } from "../src/engine/engine.js";
import type { ReplicaStatus } from "../src/fleet/replica.js";
import {
  createEngineMetrics,
  registerBusMetrics,
  registerReplicaMetrics,
  registerSolverMetrics,
} from "../src/metrics/index.js";
import { createSolver } from "../src/solver/solver.js";
import { ManualClock } from "./support/engine-clock.js";
import { parseExposition } from "./support/exposition.js";
import { PROMTOOL_PATH } from "./support/external-tools.js";

const PROMTOOL = PROMTOOL_PATH;
const RULES_DIR = fileURLToPath(new URL("../examples/prometheus/", import.meta.url));
const RULES = join(RULES_DIR, "arqon-alerts.yml");
const scratch = mkdtempSync(join(tmpdir(), "arqon-promtool-"));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

function promtool(args: readonly string[], cwd: string): { status: number | null; output: string } {
  const result = spawnSync(PROMTOOL, [...args], { cwd, encoding: "utf8", timeout: 60_000 });
  if (result.error) throw result.error;
  return { status: result.status, output: `${result.stdout}${result.stderr}` };
}

/** A replica's status with nothing happening, for the names its metrics export. */
const replicaAtRest: ReplicaStatus = {
  replica: "r",
  generation: 0,
  targetGeneration: 0,
  epoch: 0,
  values: { x: 0.5 },
  rejected: { malformed: 0 } as ReplicaStatus["rejected"],
  accepted: 0,
  tier1Refusals: 0,
  lastTier1Refusal: undefined,
  applyFailures: 0,
  lastApplyError: undefined,
  paramsMismatch: undefined,
  telemetry: {
    published: 0,
    shipped: 0,
    droppedFull: 0,
    refused: 0,
    lostInFlight: 0,
    buffered: 0,
    unshipped: 0,
    inFlight: 0,
    breaker: "closed",
  },
};

describe("alert rules (promtool)", () => {
  it("pass promtool check rules", () => {
    const { status, output } = promtool(["check", "rules", "arqon-alerts.yml"], RULES_DIR);
    expect(output).toContain("SUCCESS: 22 rules found");
    expect(status).toBe(0);
  });

  it("pass their promtool unit tests", () => {
    const { status, output } = promtool(["test", "rules", "arqon-alerts.test.yml"], RULES_DIR);
    expect(output).toContain("SUCCESS");
    expect(status).toBe(0);
  });

  it("would be caught broken: a bad expression and a wrong expectation both fail", () => {
    const broken = readFileSync(RULES, "utf8").replace(
      "arqon_safe_mode_level == 3",
      "arqon_safe_mode_level ==",
    );
    writeFileSync(join(scratch, "arqon-alerts.yml"), broken);
    expect(promtool(["check", "rules", "arqon-alerts.yml"], scratch).status).not.toBe(0);
    copyFileSync(RULES, join(scratch, "arqon-alerts.yml"));
    const tests = readFileSync(join(RULES_DIR, "arqon-alerts.test.yml"), "utf8").replace(
      'values: "0 0 3 3 3 3 0 0"',
      'values: "0 0 2 2 2 2 0 0"',
    );
    writeFileSync(join(scratch, "arqon-alerts.test.yml"), tests);
    const run = promtool(["test", "rules", "arqon-alerts.test.yml"], scratch);
    expect(run.status).not.toBe(0);
    expect(run.output).toContain("ArqonSafeModeHalted");
  });

  it("name only metrics that arqon/metrics exports", async () => {
    const registry = new Registry();
    const metrics = createEngineMetrics({ registry });
    const engine = createEngine({
      seed: 1,
      params: { x: { min: 0, max: 1, init: 0.5 } },
      scheduler: new ManualClock(),
    });
    metrics.attach(engine);
    registerBusMetrics(
      {
        busStats: () => ({
          lag: 0,
          pending: 0,
          deadLetters: 0,
          rejectedCommands: 0,
          digestsProcessed: 0,
          replicas: 1,
          laggingReplicas: 0,
          leader: true,
          halted: false,
          haltReasons: [],
          publishFailures: 0,
          commandStreamResets: 0,
          paramsMismatch: false,
        }),
      },
      { registry },
    );
    const solver = createSolver({ bounds: { x: { min: 0, max: 1 } }, budget: 4, seed: 1 });
    registerSolverMetrics(solver, { registry });
    registerReplicaMetrics({ status: () => replicaAtRest }, { registry });
    const exported = new Set(
      [...parseExposition(await registry.metrics()).keys()].map((s) => s.split("{")[0]),
    );
    const named = new Set(readFileSync(RULES, "utf8").match(/arqon_[a-z0-9_]+/g));
    expect(named.size).toBeGreaterThan(8);
    for (const name of named) expect(exported, name).toContain(name);
    solver.stop();
    await engine.close();
  });

  it("judge decision latency from the buckets a real engine exports: 2 ms does not fire, 3 ms does", async () => {
    // Each clock read is `micros` later, so every observe() lasts exactly that long. One scrape
    // per virtual minute for 20 minutes, a digest every 100 ms, a decision every 5 digests.
    const scrapeDecisions = async (micros: number): Promise<Map<string, number>[]> => {
      const registry = new Registry();
      let now = 0;
      const metrics = createEngineMetrics({ registry, clock: () => (now += micros / 1000) });
      const clock = new ManualClock();
      const engine = createEngine({
        seed: 3,
        params: { x: { min: 0, max: 10, init: 5 } },
        window: { digests: 5, ms: 60_000 },
        scheduler: clock,
      });
      metrics.attach(engine);
      const scrapes: Map<string, number>[] = [];
      for (let minute = 0; minute <= 20; minute++) {
        scrapes.push(parseExposition(await registry.metrics()));
        for (let i = 0; i < 600; i++) {
          clock.advanceBy(100);
          const x = engine.values[0]!;
          metrics.observe({
            objective: (x - 3) ** 2,
            generation: engine.generation,
            timestamp: engine.now(),
          });
        }
      }
      await engine.close();
      return scrapes;
    };
    const input: string[] = [];
    for (const [instance, micros] of [
      ["fast:1", 2000],
      ["slow:1", 3000],
    ] as const) {
      const scrapes = await scrapeDecisions(micros);
      expect(scrapes[20]!.get("arqon_t2_decide_seconds_count")).toBeGreaterThan(2000);
      for (const name of scrapes[20]!.keys()) {
        if (!name.startsWith("arqon_t2_decide_seconds_bucket{")) continue;
        const series = name.replace("{", `{job="drill",instance="${instance}",`);
        input.push(
          `      - series: '${series}'\n        values: "${scrapes.map((s) => s.get(name)).join(" ")}"`,
        );
      }
    }
    const yml = `rule_files: [arqon-alerts.yml]
evaluation_interval: 1m
tests:
  - interval: 1m
    input_series:
${input.join("\n")}
    alert_rule_test:
      - eval_time: 20m
        alertname: ArqonT2LatencyHigh
        exp_alerts:
          - exp_labels: { severity: warn, job: drill, instance: "slow:1" }
            exp_annotations:
              summary: "arqon decision p99 on slow:1 is 9.925ms (target 2.5 ms)"
`;
    copyFileSync(RULES, join(scratch, "arqon-alerts.yml"));
    writeFileSync(join(scratch, "latency.test.yml"), yml);
    const { status, output } = promtool(["test", "rules", "latency.test.yml"], scratch);
    // 2.5 ms is a bucket bound: inside a 1–10 ms bucket, 2 ms decisions would read as a p99 near
    // 10 ms, and the alert would fire.
    expect(output).toContain("SUCCESS");
    expect(status).toBe(0);
  });

  it("fire on series scraped from a real engine: telemetry stops, then the engine is halted", () => {
    const registry = new Registry();
    const clock = new ManualClock();
    const metrics = createEngineMetrics({ registry });
    const engine = createEngine({
      seed: 2,
      params: { x: { min: 0, max: 10, init: 5 } },
      window: { digests: 5, ms: 1000 },
      scheduler: clock,
    });
    metrics.attach(engine);
    // One scrape per virtual minute for 40 minutes: digests every 100 ms for 10 minutes, none
    // after; an operator halts the engine at minute 30.
    const scrapes: Map<string, number>[] = [];
    const scrapeNow = async () => scrapes.push(parseExposition(await registry.metrics()));
    return (async () => {
      for (let minute = 0; minute <= 40; minute++) {
        await scrapeNow();
        if (minute === 30) engine.halt("drill: operator stop");
        for (let i = 0; i < 600; i++) {
          clock.advanceBy(100);
          if (minute < 10) {
            const x = engine.values[0]!;
            metrics.observe({
              objective: (x - 3) ** 2,
              generation: engine.generation,
              timestamp: engine.now(),
            });
          }
        }
      }
      await engine.close();
      const values = (name: string) => scrapes.map((s) => s.get(name)).join(" ");
      const input = [
        {
          series: 'arqon_safe_mode_level{job="drill",instance="e:1"}',
          values: values("arqon_safe_mode_level"),
        },
        {
          series: 'arqon_digests_accepted_total{job="drill",instance="e:1"}',
          values: values("arqon_digests_accepted_total"),
        },
        {
          series: 'arqon_generation{job="drill",instance="e:1"}',
          values: values("arqon_generation"),
        },
      ];
      expect(scrapes[9]!.get("arqon_digests_accepted_total")).toBeGreaterThan(5000);
      expect(scrapes[31]!.get("arqon_safe_mode_level")).toBe(3);
      const labels = `{ job: drill, instance: "e:1" }`;
      const yml = `rule_files: [arqon-alerts.yml]
evaluation_interval: 1m
tests:
  - interval: 1m
    input_series:
${input.map((s) => `      - series: '${s.series}'\n        values: "${s.values}"`).join("\n")}
    alert_rule_test:
      - { eval_time: 9m, alertname: ArqonTelemetryStale, exp_alerts: [] }
      - { eval_time: 18m, alertname: ArqonTelemetryStale, exp_alerts: [] }
      - eval_time: 21m
        alertname: ArqonTelemetryStale
        exp_alerts:
          - exp_labels: { severity: warn, job: drill, instance: "e:1" }
            exp_annotations:
              summary: "arqon engine e:1 accepted no digest for 10 minutes"
              description: "The engine is scraped but receives no usable telemetry; it cannot tune."
      - { eval_time: 30m, alertname: ArqonSafeModeHalted, exp_alerts: [] }
      - eval_time: 33m
        alertname: ArqonSafeModeHalted
        exp_alerts:
          - exp_labels: ${labels.replace("{ ", "{ severity: page, ")}
            exp_annotations:
              summary: "arqon engine e:1 is halted"
              description: "SafeMode latched \`halted\`: no apply until an operator acknowledges a reset."
`;
      copyFileSync(RULES, join(scratch, "arqon-alerts.yml"));
      writeFileSync(join(scratch, "drill.test.yml"), yml);
      const { status, output } = promtool(["test", "rules", "drill.test.yml"], scratch);
      expect(output).toContain("SUCCESS");
      expect(status).toBe(0);
    })();
  });
});
