/**
 * The fleet example, all on one machine: starts Debian's redis-server (AOF on) on a free port in
 * a temporary directory, N replica processes of a small service and two coordinators, each serving
 * a dashboard with the Fleet panel (their URLs are printed). It pauses replica-1 (SIGSTOP) for a
 * while, so the panel shows it lagging, then stale, then catching up; a third of the way through
 * it kills the leading coordinator with SIGKILL so the standby takes over; then stops everything.
 * Bounded in time.
 *
 *   npm run example:fleet                      # 4 replicas, 30 s
 *   npm run example:fleet -- --replicas 8 --seconds 60
 */
import { type ChildProcess, spawn } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { createRequire } from "node:module";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { parseArgs } from "node:util";
import { fleetKeys, fleetPrefix } from "arqon/redis";
import { Redis } from "ioredis";
import { RUN_ID } from "./settings.js";

const MAX_REPLICAS = 64;
const MAX_SECONDS = 3600;

const USAGE = `usage: tsx examples/fleet/run.ts [--replicas N] [--seconds N]
  --replicas N   replica processes to start, 1 to ${MAX_REPLICAS} (default 4)
  --seconds N    length of the run, 10 to ${MAX_SECONDS} (default 30)
`;

/** The example's settings, from the command line. */
interface FleetSettings {
  readonly replicas: number;
  readonly seconds: number;
}

/** Reads the settings; throws an Error with a one-line message when one is invalid. */
function parseFleetArgs(argv: readonly string[]): FleetSettings | "help" {
  const { values } = parseArgs({
    args: [...argv],
    options: {
      replicas: { type: "string", default: "4" },
      seconds: { type: "string", default: "30" },
      help: { type: "boolean", short: "h", default: false },
    },
    strict: true,
    allowPositionals: false,
  });
  if (values.help) return "help";
  const whole = (name: "replicas" | "seconds", min: number, max: number) => {
    const n = Number(values[name]);
    if (!(Number.isSafeInteger(n) && n >= min && n <= max))
      throw new Error(
        `--${name} must be a whole number in [${min}, ${max}], got ${JSON.stringify(values[name])}`,
      );
    return n;
  };
  // Bounded: every replica is a process, and the run is meant to end by itself within the hour.
  return { replicas: whole("replicas", 1, MAX_REPLICAS), seconds: whole("seconds", 10, MAX_SECONDS) };
}

const TSX = pathToFileURL(createRequire(import.meta.url).resolve("tsx")).href;
const here = (file: string) => fileURLToPath(new URL(file, import.meta.url));
const children: ChildProcess[] = [];
/** The redis-server and its data directory, once started (for {@link cleanup}). */
const owned: { redis?: ChildProcess; dir?: string } = {};
/** The exit code of the signal that stopped the run (130 SIGINT, 143 SIGTERM), if one did. */
let signalled: number | undefined;

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const address = server.address();
      server.close(() => resolve(typeof address === "object" && address !== null ? address.port : 0));
    });
  });
}

async function startRedis(): Promise<{ url: string; dir: string; process: ChildProcess }> {
  const dir = mkdtempSync(join(tmpdir(), "arqon-fleet-example-"));
  owned.dir = dir;
  const port = await freePort();
  const args = [
    "--bind",
    "127.0.0.1",
    "--port",
    String(port),
    "--dir",
    dir,
    "--save",
    "",
    "--appendonly",
    "yes",
  ];
  const redis = spawn(process.env.ARQON_REDIS_SERVER ?? "/usr/bin/redis-server", args, {
    stdio: ["ignore", "pipe", "inherit"],
  });
  owned.redis = redis;
  await new Promise<void>((resolve, reject) => {
    let log = "";
    redis.stdout!.on("data", (chunk: Buffer) => {
      log += chunk.toString();
      if (log.includes("Ready to accept connections")) resolve();
    });
    redis.once("exit", (code) => reject(new Error(`redis-server exited (${code}):\n${log}`)));
    redis.once("error", reject);
  });
  redis.stdout!.resume();
  return { url: `redis://127.0.0.1:${port}`, dir, process: redis };
}

function start(script: string, args: string[]): ChildProcess {
  const child = spawn(process.execPath, ["--import", TSX, here(script), ...args], { stdio: "inherit" });
  children.push(child);
  return child;
}

const exited = (child: ChildProcess) =>
  child.exitCode !== null || child.signalCode !== null
    ? Promise.resolve()
    : new Promise((r) => child.once("exit", r));

let cleaning: Promise<void> | undefined;

/**
 * Stops what the example started (the replicas and coordinators, then redis-server) and removes
 * redis-server's temporary directory. Idempotent: every call returns the first call's promise.
 */
function cleanup(): Promise<void> {
  cleaning ??= (async () => {
    for (const child of children) child.kill("SIGKILL");
    const redis = owned.redis;
    if (redis?.pid !== undefined && redis.exitCode === null && redis.signalCode === null) {
      redis.kill("SIGTERM");
      // Bounded: a redis-server that does not shut down in 5 s is killed.
      const stuck = setTimeout(() => redis.kill("SIGKILL"), 5000);
      await exited(redis);
      clearTimeout(stuck);
    }
    if (owned.dir !== undefined) rmSync(owned.dir, { recursive: true, force: true });
  })();
  return cleaning;
}

// Ctrl-C or a SIGTERM stops the fleet, redis-server and all, and exits 128 + the signal's number.
// A repeated signal while cleaning up waits for the same cleanup.
for (const [signal, code] of [
  ["SIGINT", 130],
  ["SIGTERM", 143],
] as const) {
  process.on(signal, () => {
    signalled ??= code;
    process.exitCode = signalled;
    void cleanup().finally(() => process.exit(signalled));
  });
}

/** Runs the fleet for `seconds` with `replicas` replicas, then stops everything. */
async function runFleet({ replicas, seconds }: FleetSettings): Promise<void> {
  const redis = await startRedis();
  console.log(`redis-server on ${redis.url} (AOF on, data in ${redis.dir})`);
  try {
    const coordinators = new Map(
      ["coordinator-a", "coordinator-b"].map((id) => [
        id,
        start("coordinator.ts", [redis.url, id, String(seconds)]),
      ]),
    );
    const replicaProcesses = Array.from({ length: replicas }, (_, i) =>
      start("replica.ts", [redis.url, `replica-${i + 1}`, String(seconds)]),
    );
    console.log("Open a coordinator's dashboard URL (printed below); the standby's survives the kill.");
    // Wait for a leader (starting the processes can take seconds on a busy machine), let it tune for
    // a third of the run, then kill whoever holds the lease then. Meanwhile replica-1 is paused from
    // a sixth to a half of the run: a replica cut off for a while, as the Fleet panel shows it.
    const client = new Redis(redis.url);
    while ((await client.get(fleetKeys(fleetPrefix(RUN_ID)).lease)) === null)
      await new Promise((resolve) => setTimeout(resolve, 100));
    const paused = replicaProcesses[0]!;
    const pause = setTimeout(
      () => {
        console.log("--- pausing replica-1 (SIGSTOP): the Fleet panel marks it lagging, then stale ---");
        paused.kill("SIGSTOP");
      },
      (seconds * 1000) / 6,
    );
    const resume = setTimeout(
      () => {
        console.log("--- resuming replica-1 (SIGCONT): it catches up to the fleet generation ---");
        paused.kill("SIGCONT");
      },
      (seconds * 1000) / 2,
    );
    await new Promise((resolve) => setTimeout(resolve, (seconds * 1000) / 3));
    const leader = await client.get(fleetKeys(fleetPrefix(RUN_ID)).lease);
    client.disconnect();
    const victim = leader === null ? undefined : coordinators.get(leader);
    if (victim !== undefined) {
      console.log(`--- kill -9 ${leader}, the leader: the standby takes over within 2× the lease ---`);
      victim.kill("SIGKILL");
    }
    await Promise.all([...replicaProcesses, ...children].map(exited));
    clearTimeout(pause);
    clearTimeout(resume);
  } finally {
    await cleanup();
  }
}

/** Runs the example and returns the process exit code (0 done, 2 bad arguments). */
async function main(argv: readonly string[]): Promise<number> {
  let settings: FleetSettings | "help";
  try {
    settings = parseFleetArgs(argv);
  } catch (error) {
    process.stdout.write(`fleet: ${(error as Error).message}\n${USAGE}`);
    return 2;
  }
  if (settings === "help") {
    process.stdout.write(USAGE);
    return 0;
  }
  try {
    await runFleet(settings);
  } finally {
    await cleanup();
  }
  return 0;
}

const code = await main(process.argv.slice(2));
process.exitCode = signalled ?? code;
