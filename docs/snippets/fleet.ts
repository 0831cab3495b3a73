import { createEngineMetrics, registerBusMetrics } from "arqon/metrics";
import { serveDashboard } from "arqon/node";
import { createCoordinator, createReplica, type Keyring } from "arqon/redis";
import { Redis } from "ioredis";
import { Registry } from "prom-client";

const url = process.env.REDIS_URL ?? "redis://127.0.0.1:6379";
// One shared secret of at least 32 bytes, from your secret store; its id lets you rotate it.
const keyring: Keyring = {
  active: "k1",
  keys: [{ id: "k1", secret: Buffer.from(process.env.ARQON_FLEET_KEY ?? "", "base64") }],
};
const params = { batchSize: { min: 1, max: 256, init: 16, maxDelta: 8 } };
// Without an error listener ioredis prints every failed reconnection (a dozen per Redis restart);
// the replica and the coordinator count and report Redis's failures themselves.
const connect = () => new Redis(url).on("error", () => {});

// In each replica (any number, any host):
const replica = await createReplica({
  redis: connect(),
  replica: "web-3",
  runId: "checkout",
  keyring,
  params,
});
const measuredLatencyMs = 12.5;
replica.publish(measuredLatencyMs); // O(1), never blocks, never throws; shipped in batches by a timer
console.log(replica.values[0], replica.generation); // live values (registry order) and fleet generation

// In two or more coordinator processes (one leads, the others stand by):
const registry = new Registry(); // served at /metrics for Prometheus
const coordinator = await createCoordinator({
  redis: connect(),
  runId: "checkout",
  keyring,
  engine: { seed: 1, params, window: { digests: 100, ms: 2000 } },
  leaseMs: 3000,
  // The engine's series (applies, SafeMode, latencies…), across every tenure this process leads.
  metrics: createEngineMetrics({ registry }),
});
registerBusMetrics(coordinator, { registry }); // lag, replicas, leader, halted…
const { leader, epoch, generation, fleet, lagging } = coordinator.snapshot();
console.log(leader, epoch, generation, fleet, lagging);
console.log(coordinator.busStats()); // lag, pending, dead letters, refused commands, replicas, leader, halted…

// Watch it: the coordinator's dashboard, with the Fleet panel (which generation each replica runs,
// lagging and stale replicas, bus counters); /state carries the panel as `fleet`.
const dashboard = await serveDashboard({ fleet: coordinator });
console.log(`${dashboard.url}#token=${dashboard.token}`);
