/**
 * FLEET-DRILLS: the fleet's failure drills, measured and written to docs/benchmarks.md.
 *
 * 1. kill -9 the leading coordinator (its own process) mid-run, `--kills` times: takeover time,
 *    commands of the old leader applied after the takeover, replicas outside their envelope.
 * 2. Crash redis-server (SIGKILL) mid-run and start it again on its AOF (appendfsync always): acknowledged commands lost,
 *    telemetry lost and how (at most once), time until the next new generation.
 * 3. Forged, replayed, stale and unknown-key commands injected while the fleet tunes: refused,
 *    counted, applied.
 * The same behaviour is asserted by test/fleet-drills.test.ts; this module measures it.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { createRequire } from "node:module";
import { fileURLToPath, pathToFileURL } from "node:url";
import { Redis } from "ioredis";
import { type Coordinator, createCoordinator } from "../src/fleet/coordinator.js";
import { createReplica, type Replica } from "../src/fleet/replica.js";
import { type CommandRejection, CommandSigner } from "../src/fleet/signing.js";
import { fleetKeys, fleetPrefix } from "../src/fleet/streams.js";
import { FLEET_ENGINE, FLEET_PARAMS, FLEET_RING, objectiveOf, until } from "../test/support/fleet.js";
import { type RedisServer, startRedis } from "../test/support/redis-server.js";
import { type Benchmark, parseOptions, wholeOption } from "./benchmark.js";
import { describeEnvironment, environmentLine } from "./environment.js";
import { writeSection } from "./report.js";
import { quantile } from "./stats.js";

const CHILD = fileURLToPath(new URL("../test/support/fleet-coordinator-child.ts", import.meta.url));
const TSX = pathToFileURL(createRequire(import.meta.url).resolve("tsx")).href;
const LEASE_MS = 600;
const REPLICAS = 4;
const MAX_DELTA = 16;
const keys = fleetKeys(fleetPrefix("run"));

/** What every replica of a drill saw. */
interface Watch {
  outside: number;
  biggestMove: number;
  rejections: CommandRejection[];
}

/** One drill's Redis, clients and replicas, torn down by `close`. */
async function fleet(server: RedisServer) {
  const clients: Redis[] = [];
  const connect = () => {
    const client = new Redis(server.url, { maxRetriesPerRequest: 1 });
    client.on("error", () => undefined);
    clients.push(client);
    return client;
  };
  const watch: Watch = { outside: 0, biggestMove: 0, rejections: [] };
  const replicas: Replica[] = [];
  for (let i = 0; i < REPLICAS; i++) {
    let previous = 64;
    const replica = await createReplica({
      redis: connect(),
      replica: `r${i}`,
      runId: "run",
      keyring: FLEET_RING,
      params: FLEET_PARAMS,
      guardrails: "balanced",
      telemetry: { flushMs: 10 },
      onRejected: (r) => watch.rejections.push(r),
      onApply: (values) => {
        const v = values[0]!;
        if (v < 1 || v > 512) watch.outside++;
        watch.biggestMove = Math.max(watch.biggestMove, Math.abs(v - previous));
        previous = v;
      },
    });
    replicas.push(replica);
  }
  const feed = () => {
    for (const r of replicas) r.publish(objectiveOf(r.values[0]!));
  };
  const close = async () => {
    for (const r of replicas) await r.close();
    for (const c of clients) c.disconnect();
  };
  return { connect, replicas, watch, feed, close };
}

function startChild(server: RedisServer, id: string) {
  const child: ChildProcess = spawn(
    process.execPath,
    ["--import", TSX, CHILD, server.url, id, String(LEASE_MS)],
    {
      stdio: ["ignore", "pipe", "inherit"],
    },
  );
  const states: { leader: boolean; epoch: number; generation: number }[] = [];
  let buffered = "";
  child.stdout!.on("data", (chunk: Buffer) => {
    buffered += chunk.toString();
    const lines = buffered.split("\n");
    buffered = lines.pop()!;
    for (const line of lines) states.push(JSON.parse(line));
  });
  return { child, states };
}

interface KillResult {
  takeoverMs: number;
  oldLeaderApplied: number;
  outside: number;
  biggestMove: number;
  resumedWithoutJump: boolean;
}

async function killDrill(): Promise<KillResult> {
  const server = await startRedis({ appendOnly: true });
  const { child, states } = startChild(server, "a");
  try {
    await until(() => states.some((s) => s.leader), 30_000, "child leads");
    const f = await fleet(server);
    const standby = await createCoordinator({
      redis: f.connect(),
      id: "b",
      runId: "run",
      keyring: FLEET_RING,
      engine: FLEET_ENGINE,
      leaseMs: LEASE_MS,
      telemetry: { blockMs: 50, claimIdleMs: 200 },
    });
    try {
      await until(
        () => {
          f.feed();
          const latest = states[states.length - 1]!;
          return latest.generation >= 3 && f.replicas.every((r) => r.generation === latest.generation);
        },
        30_000,
        "old leader tunes",
      );
      const oldEpoch = states[states.length - 1]!.epoch;
      const valuesAtKill = f.replicas[0]!.values[0]!;
      const killedAt = performance.now();
      child.kill("SIGKILL");
      await until(
        () => {
          f.feed();
          return standby.leader;
        },
        10_000,
        "takeover",
      );
      const takeoverMs = performance.now() - killedAt;
      const taken = standby.snapshot();
      // The old leader's late commands (as if they had been in flight): its epoch, newer generations.
      const signer = new CommandSigner(FLEET_RING);
      const admin = f.connect();
      await until(() => f.replicas.every((r) => r.status().epoch === taken.epoch), 10_000, "new epoch seen");
      for (let i = 0; i < 10; i++) {
        const late = signer.sign({
          kind: "apply",
          commandId: `late-${i}`,
          runId: "run",
          issuedAt: Date.now(),
          epoch: oldEpoch,
          generation: taken.generation + 100 + i,
          values: { batch: valuesAtKill + 1 },
        });
        await admin.xadd(keys.commands, "*", "c", JSON.stringify(late));
      }
      await until(
        () => f.watch.rejections.filter((r) => r.reason === "fenced").length === 10 * REPLICAS,
        10_000,
        "fenced",
      );
      const oldLeaderApplied = f.replicas.filter(
        (r) => r.status().targetGeneration >= taken.generation + 100,
      ).length;
      await until(
        () => {
          f.feed();
          return standby.snapshot().generation >= taken.generation + 2;
        },
        30_000,
        "tuning resumes",
      );
      return {
        takeoverMs,
        oldLeaderApplied,
        outside: f.watch.outside,
        biggestMove: f.watch.biggestMove,
        resumedWithoutJump: taken.engine!.values.batch === valuesAtKill,
      };
    } finally {
      await standby.close();
      await f.close();
    }
  } finally {
    child.kill("SIGKILL");
    await server.stop();
  }
}

/** What {@link fleet} starts: replicas on one server, their watch, and a way to feed them. */
type Fleet = Awaited<ReturnType<typeof fleet>>;

/** The drills' coordinator "c1" on the fleet's server: it leads, as the only candidate. */
function leaderOf(f: Fleet): Promise<Coordinator> {
  return createCoordinator({
    redis: f.connect(),
    id: "c1",
    runId: "run",
    keyring: FLEET_RING,
    engine: FLEET_ENGINE,
    leaseMs: LEASE_MS,
    telemetry: { blockMs: 50 },
  });
}

/** Feeds the fleet until `lead` has applied `generation`. */
function tunedTo(lead: Coordinator, f: Fleet, generation: number): Promise<void> {
  return until(
    () => {
      f.feed();
      return lead.snapshot().generation >= generation;
    },
    30_000,
    `generation ${generation}`,
  );
}

async function restartDrill() {
  let server = await startRedis({ appendOnly: true });
  const first = server;
  const f = await fleet(server);
  const lead = await leaderOf(f);
  try {
    await tunedTo(lead, f, 3);
    const admin = f.connect();
    const acknowledged = (await admin.xrange(keys.commands, "-", "+")).map(([id]) => id);
    // Keep publishing while Redis restarts, as a live service would.
    const feeding = setInterval(f.feed, 5);
    // A crash, not a clean shutdown: SIGKILL, then a new server on the same port and AOF.
    await server.kill();
    server = await startRedis({ appendOnly: true, dir: first.dir, port: first.port });
    const restartedAt = performance.now();
    const generationAtRestart = lead.snapshot().generation;
    const surviving = new Set((await admin.xrange(keys.commands, "-", "+")).map(([id]) => id));
    const commandsLost = acknowledged.filter((id) => !surviving.has(id)).length;
    await until(() => lead.snapshot().generation > generationAtRestart, 30_000, "resume");
    const resumeMs = performance.now() - restartedAt;
    await until(() => lead.snapshot().generation >= generationAtRestart + 3, 30_000, "tuning goes on");
    clearInterval(feeding);
    for (const r of f.replicas) await r.flushTelemetry();
    const telemetry = f.replicas.map((r) => r.status().telemetry);
    const sum = (pick: (t: (typeof telemetry)[number]) => number) =>
      telemetry.reduce((s, t) => s + pick(t), 0);
    return {
      acknowledged: acknowledged.length,
      commandsLost,
      resumeMs,
      published: sum((t) => t.published),
      shipped: sum((t) => t.shipped),
      lostInFlight: sum((t) => t.lostInFlight),
      droppedFull: sum((t) => t.droppedFull),
      outside: f.watch.outside,
    };
  } finally {
    await lead.close();
    await f.close();
    await server.stop();
    await first.stop();
  }
}

async function injectionDrill(perKind: number) {
  const server = await startRedis({ appendOnly: true });
  const f = await fleet(server);
  const lead = await leaderOf(f);
  try {
    await tunedTo(lead, f, 2);
    const admin = f.connect();
    const [, fields] = (await admin.xrevrange(keys.commands, "+", "-", "COUNT", 1))[0]!;
    const genuine = JSON.parse(fields[1]!);
    const signer = new CommandSigner(FLEET_RING);
    const attacker = new CommandSigner({
      active: "evil",
      keys: [{ id: "evil", secret: new Uint8Array(32).fill(66) }],
    });
    const kinds: Record<string, (i: number) => string> = {
      replayed: () => JSON.stringify(genuine),
      forged: (i) =>
        JSON.stringify({
          ...genuine,
          command: {
            ...genuine.command,
            commandId: `forged-${i}`,
            generation: 10_000 + i,
            values: { batch: 500 },
          },
        }),
      stale: (i) =>
        JSON.stringify(
          signer.sign({
            ...genuine.command,
            commandId: `stale-${i}`,
            generation: 10_000 + i,
            issuedAt: Date.now() - 120_000,
          }),
        ),
      "unknown key": (i) =>
        JSON.stringify(attacker.sign({ ...genuine.command, commandId: `evil-${i}`, generation: 10_000 + i })),
    };
    const injected = perKind * Object.keys(kinds).length;
    for (let i = 0; i < perKind; i++) {
      for (const make of Object.values(kinds)) await admin.xadd(keys.commands, "*", "c", make(i));
      f.feed();
    }
    await until(
      () => {
        f.feed();
        return f.watch.rejections.length >= injected * REPLICAS;
      },
      30_000,
      "all refused",
    );
    const applied = f.replicas.filter((r) => r.status().targetGeneration >= 10_000).length;
    const byReason = new Map<string, number>();
    for (const r of f.watch.rejections) byReason.set(r.reason, (byReason.get(r.reason) ?? 0) + 1);
    await until(() => lead.busStats().rejectedCommands === injected * REPLICAS, 10_000, "reported");
    return {
      injected,
      refused: f.watch.rejections.length,
      applied,
      byReason,
      reported: lead.busStats().rejectedCommands,
    };
  } finally {
    await lead.close();
    await f.close();
    await server.stop();
  }
}

async function run(args: readonly string[]): Promise<void> {
  const options = parseOptions(args, ["kills", "inject"]);
  const kills = wholeOption(options, "kills", 5);
  const perKind = wholeOption(options, "inject", 25);
  const killResults: KillResult[] = [];
  for (let i = 0; i < kills; i++) killResults.push(await killDrill());
  const restart = await restartDrill();
  const injection = await injectionDrill(perKind);
  const takeovers = killResults.map((k) => k.takeoverMs);
  const killGate =
    killResults.every(
      (k) =>
        k.takeoverMs < 2 * LEASE_MS && k.oldLeaderApplied === 0 && k.outside === 0 && k.resumedWithoutJump,
    ) && Math.max(...killResults.map((k) => k.biggestMove)) <= MAX_DELTA * (1 + 1e-9);
  const restartGate =
    restart.commandsLost === 0 &&
    restart.outside === 0 &&
    restart.published === restart.shipped + restart.lostInFlight + restart.droppedFull;
  const injectionGate =
    injection.applied === 0 &&
    injection.refused === injection.injected * REPLICAS &&
    injection.reported === injection.refused;
  const reasons = [...injection.byReason].map(([reason, n]) => `${reason} ${n}`).join(", ");
  const env = describeEnvironment();
  const body = [
    `Protocol: ${REPLICAS} in-process replicas, lease ${LEASE_MS} ms, a real redis-server with AOF on (appendfsync always). Generated by \`npm run bench -- fleet-drills\`.`,
    "",
    "| Drill | Result |",
    "| --- | --- |",
    `| kill -9 the leader (own process), ${kills} times: takeover time p50 / max | ${quantile(takeovers, 0.5).toFixed(0)} ms / ${Math.max(...takeovers).toFixed(0)} ms (bound: 2 × lease = ${2 * LEASE_MS} ms) |`,
    `| … old leader's late commands applied after the takeover (10 injected per drill) | ${killResults.reduce((s, k) => s + k.oldLeaderApplied, 0)} |`,
    `| … new leader resumed at the fleet's values (no jump) | ${killResults.filter((k) => k.resumedWithoutJump).length} of ${kills} |`,
    `| … replica applies outside bounds / largest move (maxDelta ${MAX_DELTA}) | ${killResults.reduce((s, k) => s + k.outside, 0)} / ${Math.max(...killResults.map((k) => k.biggestMove)).toFixed(2)} |`,
    `| kill -9 Redis mid-run, restart on its AOF: acknowledged commands lost | ${restart.commandsLost} of ${restart.acknowledged} |`,
    `| … telemetry published / shipped / lost in flight / dropped (buffer full) | ${restart.published} / ${restart.shipped} / ${restart.lostInFlight} / ${restart.droppedFull} |`,
    `| … time from restart to the next new generation | ${restart.resumeMs.toFixed(0)} ms |`,
    `| Injected commands (${perKind} each of replayed, forged, stale, unknown key) × ${REPLICAS} replicas: refused / applied | ${injection.refused} / ${injection.applied} (${reasons}); reported to the coordinator: ${injection.reported} |`,
    "",
    `Gates: kill -9 ${killGate ? "PASS" : "FAIL"}; restart ${restartGate ? "PASS" : "FAIL"}; injection ${injectionGate ? "PASS" : "FAIL"}`,
    "",
    `Machine: ${environmentLine(env)}`,
  ].join("\n");
  console.log(body);
  if (options.write) await writeSection("FLEET-DRILLS", body);
}

export const benchmark: Benchmark = {
  name: "fleet-drills",
  title: "Fleet drills: kill -9 the leader, restart Redis, inject bad commands",
  inAll: false,
  run,
};
