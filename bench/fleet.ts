/**
 * FLEET: replica processes publish digests through Redis Streams to one coordinator, which tunes
 * them and fans its commands out. Measures end-to-end digests/s, command fan-out latency
 * (signing → apply on a replica) and the coordinator's CPU.
 *
 * Protocol (issue 14): 16 replica processes × 200 digests/s for 60 s against a local
 * redis-server (AOF off), coordinator in this process. `--replicas=N --rate=R --seconds=S` scale it.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { fileURLToPath } from "node:url";
import { Redis } from "ioredis";
import { createCoordinator } from "../src/fleet/coordinator.js";
import { fleetKeys, fleetPrefix } from "../src/fleet/streams.js";
import { bundleForNode, type NodeBundle } from "../test/support/node-bundle.js";
import { startRedis } from "../test/support/redis-server.js";
import { type Benchmark, parseOptions, wholeOption } from "./benchmark.js";
import { describeEnvironment, environmentLine } from "./environment.js";
import { FLEET_BENCH_PARAMS, FLEET_BENCH_RING } from "./fleet-setup.js";
import { writeSection } from "./report.js";
import { quantile } from "./stats.js";

const CHILD_SOURCE = fileURLToPath(new URL("./fleet-replica.ts", import.meta.url));

/** Bundles the replica into one .mjs so 16 processes start as bare `node` (no tsx per process). */
function bundleReplica(): Promise<NodeBundle> {
  // ioredis is CommonJS: the bundle needs a require for Node's built-ins.
  return bundleForNode(CHILD_SOURCE, { require: true });
}

interface ReplicaRun {
  readonly applies: { g: number; at: number }[];
  status:
    | { telemetry: { published: number; shipped: number; droppedFull: number; lostInFlight: number } }
    | undefined;
  readonly done: Promise<void>;
}

function runReplica(script: string, args: string[]): ReplicaRun {
  const child: ChildProcess = spawn(process.execPath, [script, ...args], {
    stdio: ["ignore", "pipe", "inherit"],
  });
  const run: ReplicaRun = {
    applies: [],
    status: undefined,
    done: new Promise((resolve) => child.once("exit", () => resolve())),
  };
  let buffered = "";
  child.stdout!.on("data", (chunk: Buffer) => {
    buffered += chunk.toString();
    const lines = buffered.split("\n");
    buffered = lines.pop()!;
    for (const line of lines) {
      const parsed = JSON.parse(line);
      if (parsed.status !== undefined) run.status = parsed.status;
      else run.applies.push(parsed);
    }
  });
  return run;
}

async function run(args: readonly string[]): Promise<void> {
  const options = parseOptions(args, ["replicas", "rate", "seconds"]);
  const replicas = wholeOption(options, "replicas", 16);
  const rate = wholeOption(options, "rate", 200);
  const seconds = wholeOption(options, "seconds", 60);
  const server = await startRedis();
  const { script, cleanup } = await bundleReplica();
  const redis = new Redis(server.url, { maxRetriesPerRequest: 1 });
  try {
    const coordinator = await createCoordinator({
      redis,
      id: "bench-coordinator",
      runId: "bench",
      keyring: FLEET_BENCH_RING,
      engine: {
        seed: 5,
        params: FLEET_BENCH_PARAMS,
        window: { digests: Math.max(10, Math.round((replicas * rate) / 10)) },
        spsa: { a: 0.05, c: 0.01 },
        guardrails: "balanced",
      },
      refreshMs: 60_000,
    });
    const runs = Array.from({ length: replicas }, (_, i) =>
      runReplica(script, [server.url, `r${i}`, String(rate), String(seconds * 1000)]),
    );
    // Measure the steady state: from the moment every replica has reported to the acks hash.
    const keys = fleetKeys(fleetPrefix("bench"));
    while ((await redis.hlen(keys.acks)) < replicas) await new Promise((resolve) => setTimeout(resolve, 50));
    const cpu0 = process.cpuUsage();
    const t0 = performance.now();
    const processed0 = coordinator.busStats().digestsProcessed;
    await Promise.all(runs.map((r) => r.done));
    // Let the coordinator drain what is still in the stream.
    const drainStart = Date.now();
    while (coordinator.busStats().lag > 0 && Date.now() - drainStart < 10_000) {
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    const elapsedS = (performance.now() - t0) / 1000;
    const cpu = process.cpuUsage(cpu0);
    const stats = coordinator.busStats();
    const processed = stats.digestsProcessed - processed0;
    const snapshot = coordinator.snapshot();
    await coordinator.close();
    // Fan-out latency: each command's issuedAt (read back from the stream) to each replica's apply.
    const issuedAt = new Map<number, number>();
    for (const [, fields] of await redis.xrange(keys.commands, "-", "+")) {
      const command = JSON.parse(fields[1]!).command as { generation: number; issuedAt: number };
      if (!issuedAt.has(command.generation)) issuedAt.set(command.generation, command.issuedAt);
    }
    const latencies: number[] = [];
    for (const r of runs) {
      for (const { g, at } of r.applies) {
        const issued = issuedAt.get(g);
        if (issued !== undefined && g > 0) latencies.push(at - issued);
      }
    }
    const published = runs.reduce((s, r) => s + (r.status?.telemetry.published ?? 0), 0);
    const shipped = runs.reduce((s, r) => s + (r.status?.telemetry.shipped ?? 0), 0);
    const dropped = runs.reduce(
      (s, r) => s + (r.status?.telemetry.droppedFull ?? 0) + (r.status?.telemetry.lostInFlight ?? 0),
      0,
    );
    const env = describeEnvironment();
    const target = replicas * rate;
    const throughput = processed / elapsedS;
    const cpuShare = (cpu.user + cpu.system) / 1e6 / elapsedS;
    const p50 = latencies.length > 0 ? quantile(latencies, 0.5) : Number.NaN;
    const p99 = latencies.length > 0 ? quantile(latencies, 0.99) : Number.NaN;
    const gate = throughput >= 0.95 * target;
    const lines = [
      `Protocol: ${replicas} replica processes × ${rate} digests/s for ${seconds} s through one local`,
      "redis-server (AOF off), one coordinator (this process) running the engine; figures measured from",
      "the moment every replica had joined. Generated by `npm run bench -- fleet`.",
      "",
      "| Measure | Value |",
      "| --- | --- |",
      `| Digests published / shipped / dropped or lost | ${published} / ${shipped} / ${dropped} |`,
      `| End-to-end digests/s into the coordinator's engine | ${throughput.toFixed(0)} (offered ${target}) |`,
      `| Command fan-out latency p50 / p99 (sign → apply on a replica, ${latencies.length} applies) | ${p50.toFixed(1)} ms / ${p99.toFixed(1)} ms |`,
      `| Coordinator CPU (user + system) | ${(100 * cpuShare).toFixed(1)} % of one core |`,
      `| Fleet generation reached / dead letters / lagging replicas at the end | ${snapshot.generation} / ${stats.deadLetters} / ${stats.laggingReplicas} |`,
      "",
      `Gate (end-to-end throughput ≥ 95 % of offered): ${gate ? "PASS" : "FAIL"}`,
      "",
      `Machine: ${environmentLine(env)}`,
    ];
    const body = lines.join("\n");
    console.log(body);
    if (options.write) await writeSection("FLEET", body);
  } finally {
    redis.disconnect();
    cleanup();
    await server.stop();
  }
}

export const benchmark: Benchmark = {
  name: "fleet",
  title: "Fleet over Redis Streams: 16 replica processes × 200 digests/s, fan-out latency, coordinator CPU",
  inAll: false,
  run,
};
