import { connect, createServer, type Server, type Socket } from "node:net";
import { Redis, type RedisOptions } from "ioredis";
import { Registry } from "prom-client";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import type { Coordinator } from "../src/fleet/coordinator.js";
import { COORDINATOR_GROUP, fleetKeys, fleetPrefix } from "../src/fleet/streams.js";
import { registerBusMetrics } from "../src/metrics/index.js";
import { until } from "./support/fleet.js";
import { FleetRig } from "./support/fleet-rig.js";

// What Prometheus is told of the bus when the coordinator cannot read it: a read Redis does not
// answer turns `arqon_bus_up` to 0 (and the coordinator sends no second one meanwhile), and
// telemetry nobody can read (no consumer group) is lag, not an idle bus.
const keys = fleetKeys(fleetPrefix("run"));
let rig: FleetRig;
/** Clients and proxies the rig does not make; closed after the rig. */
const own: { close(): void }[] = [];

beforeEach(async () => {
  rig = await FleetRig.start();
});

afterEach(async () => {
  vi.useRealTimers();
  await rig.close();
  for (const thing of own.splice(0)) thing.close();
}, 30_000);

/**
 * A TCP proxy to the rig's server. `hold()` keeps every socket open and holds back all bytes (a
 * hung connection), `release()` delivers them; `refuse()` closes every connection and refuses
 * new ones, `accept()` listens again on the same port.
 */
interface Proxy {
  readonly url: string;
  hold(): void;
  release(): void;
  refuse(): Promise<void>;
  accept(): Promise<void>;
}

async function proxy(): Promise<Proxy> {
  let held: (() => void)[] | undefined;
  const sockets = new Set<Socket>();
  const pipe = (from: Socket, to: Socket) =>
    from.on("data", (data: Buffer) => {
      if (held === undefined) to.write(data);
      else held.push(() => to.write(data));
    });
  const server: Server = createServer((down) => {
    const up = connect(rig.server.port, "127.0.0.1");
    for (const socket of [down, up]) {
      sockets.add(socket);
      socket.on("error", () => undefined);
      socket.on("close", () => sockets.delete(socket));
    }
    pipe(down, up);
    pipe(up, down);
    down.on("close", () => up.destroy());
    up.on("close", () => down.destroy());
  });
  const listen = (port: number) =>
    new Promise<void>((resolve) => server.listen(port, "127.0.0.1", () => resolve()));
  await listen(0);
  const address = server.address();
  const port = typeof address === "object" && address !== null ? address.port : 0;
  const close = () => {
    const closed = new Promise<void>((resolve) => server.close(() => resolve()));
    for (const socket of sockets) socket.destroy();
    return closed;
  };
  own.push({ close: () => void close() });
  return {
    url: `redis://127.0.0.1:${port}`,
    hold: () => {
      held = [];
    },
    release: () => {
      const writes = held ?? [];
      held = undefined;
      for (const write of writes) write();
    },
    refuse: close,
    accept: () => listen(port),
  };
}

function client(url: string, options: RedisOptions = { maxRetriesPerRequest: 1 }): Redis {
  const redis = new Redis(url, options);
  redis.on("error", () => undefined);
  own.push({ close: () => redis.disconnect() });
  return redis;
}

/** A registry exporting the coordinator's bus metrics, and a reader of one of its series. */
function metricsOf(lead: Coordinator): (name: string) => Promise<number> {
  const registry = new Registry();
  registerBusMetrics(lead, { registry });
  return async (name) => {
    const line = (await registry.metrics()).split("\n").find((l) => l.startsWith(`${name} `));
    return Number(line?.split(" ")[1]);
  };
}

describe("a coordinator whose reads of Redis go unanswered", () => {
  // The view refreshes on a 500 ms interval, faked here so that the test moves it by hand; the
  // bound on a read (one lease, 600 ms in the rig) runs on real time.
  beforeEach(() => {
    vi.useFakeTimers({ toFake: ["setInterval", "clearInterval"] });
  });

  it("says its view is stale when the connection hangs, with one read in flight, and fresh once answered", async () => {
    const link = await proxy();
    const redis = client(link.url);
    const lead = await rig.coordinator("a", { redis });
    const metric = metricsOf(lead);
    expect(await metric("arqon_bus_up")).toBe(1);
    const reads = vi.spyOn(redis, "hgetall");
    link.hold();
    vi.advanceTimersByTime(500);
    expect(reads).toHaveBeenCalledTimes(1);
    // Before, arqon_bus_up stayed 1 for as long as the connection hung.
    await until(() => lead.busStats().stale === true, 5_000, "a stale view");
    expect(await metric("arqon_bus_up")).toBe(0);
    // Ten more periods: no read is sent while the first is unanswered (before, one every 500 ms).
    vi.advanceTimersByTime(5_000);
    expect(reads).toHaveBeenCalledTimes(1);
    link.release();
    await until(() => lead.busStats().stale === false, 5_000, "a fresh view");
    expect(await metric("arqon_bus_up")).toBe(1);
  });

  it("says its view is stale while a client that retries for ever cannot reach Redis, and fresh once it can", async () => {
    const link = await proxy();
    const redis = client(link.url, { maxRetriesPerRequest: null });
    const lead = await rig.coordinator("a", { redis });
    const metric = metricsOf(lead);
    expect(await metric("arqon_bus_up")).toBe(1);
    await link.refuse();
    vi.advanceTimersByTime(500);
    // Before, the read waited in the client's offline queue and arqon_bus_up stayed 1.
    await until(() => lead.busStats().stale === true, 5_000, "a stale view");
    expect(await metric("arqon_bus_up")).toBe(0);
    await link.accept();
    await until(
      () => {
        vi.advanceTimersByTime(500);
        return lead.busStats().stale === false;
      },
      10_000,
      "a fresh view",
    );
    expect(await metric("arqon_bus_up")).toBe(1);
  });
});

describe("a bus no coordinator reads", () => {
  it("reports every digest entry as lag while there is no consumer group", async () => {
    const admin = rig.connect();
    // Every promotion fails: this coordinator may not create the consumer group.
    await admin.call("ACL", "SETUSER", "coord", "on", ">pw", "~*", "&*", "+@all", "-xgroup");
    const redis = client(rig.server.url, { maxRetriesPerRequest: 1, username: "coord", password: "pw" });
    const standby = await rig.coordinator("a", { redis, onError: () => undefined });
    const metric = metricsOf(standby);
    for (let i = 0; i < 25; i++) await admin.xadd(keys.digests, "*", "d", String(i));
    await until(() => standby.snapshot().promotionFailures > 0, 5_000, "a failed promotion");
    expect((await admin.xinfo("GROUPS", keys.digests)) as unknown[]).toEqual([]);
    // Before, the lag read 0: an idle bus, while the entries piled up unread.
    await until(() => standby.busStats().lag === 25, 5_000, "a lag of 25");
    expect(standby.busStats()).toMatchObject({ pending: 0, stale: false });
    expect(await metric("arqon_bus_lag")).toBe(25);
  });
});

describe("a group whose counters Redis has wrong", () => {
  it("reports the entries it has not delivered, not XINFO's lag", async () => {
    const admin = rig.connect();
    const redis = client(rig.server.url);
    const lead = await rig.coordinator("a", { redis });
    const metric = metricsOf(lead);
    const viewReads = vi.spyOn(redis, "xinfo");
    for (let i = 0; i < 5; i++) await admin.xadd(keys.digests, "*", "d", String(i));
    await until(() => lead.snapshot().leader && lead.busStats().lag === 0, 5_000, "a caught-up leader");
    // XINFO's lag reads 299 however far the group reads.
    await skewCounters(admin, 299);
    const group = ((await admin.xinfo("GROUPS", keys.digests)) as unknown[][])[0]!;
    expect(group[group.indexOf("lag") + 1]).toBe(299);
    for (let i = 0; i < 3; i++) await admin.xadd(keys.digests, "*", "d", String(i));
    // Two view reads begun after the change (two XINFO calls each): the first has finished
    // (reads never overlap).
    const readsBefore = viewReads.mock.calls.length;
    await until(() => viewReads.mock.calls.length >= readsBefore + 4, 5_000, "a view read since");
    await until(() => lead.busStats().pending === 0, 5_000, "the new entries handled");
    // Before, arqon_bus_lag read 299 from here on, and ArqonBusLagHigh's threshold was a few such
    // restarts away.
    expect(lead.busStats().lag).toBe(0);
    expect(await metric("arqon_bus_lag")).toBe(0);
  });

  it("takes the skew it learnt while caught up off a real backlog", async () => {
    const admin = rig.connect();
    // A standby that may not create the group: the test delivers the entries itself.
    await admin.call("ACL", "SETUSER", "coord", "on", ">pw", "~*", "&*", "+@all", "-xgroup");
    const redis = client(rig.server.url, { maxRetriesPerRequest: 1, username: "coord", password: "pw" });
    const standby = await rig.coordinator("a", { redis, onError: () => undefined });
    const viewReads = vi.spyOn(redis, "xinfo");
    const viewRead = async () => {
      const before = viewReads.mock.calls.length;
      await until(() => viewReads.mock.calls.length >= before + 4, 5_000, "a view read since");
    };
    for (let i = 0; i < 5; i++) await admin.xadd(keys.digests, "*", "d", String(i));
    await admin.xgroup("CREATE", keys.digests, COORDINATOR_GROUP, "0");
    await admin.xreadgroup("GROUP", COORDINATOR_GROUP, "test", "STREAMS", keys.digests, ">");
    await admin.xack(keys.digests, COORDINATOR_GROUP, ...(await deliveredIds(admin)));
    await skewCounters(admin, 299);
    await viewRead();
    expect(standby.busStats().lag).toBe(0);
    // Four entries no one reads: XINFO says 303.
    for (let i = 0; i < 4; i++) await admin.xadd(keys.digests, "*", "d", String(i));
    await until(() => standby.busStats().lag === 4, 5_000, "a lag of 4");
    expect(standby.busStats().leader).toBe(false);
  });
});

/**
 * Leaves the digest stream's counters as an AOF rewrite and a restart left them in a user's
 * fleet: entries added run `by` ahead of the stream, so XINFO's lag reads `by` more than it is.
 */
async function skewCounters(admin: Redis, by: number): Promise<void> {
  const stream = (await admin.xinfo("STREAM", keys.digests)) as unknown[];
  const lastId = String(stream[stream.indexOf("last-generated-id") + 1]);
  const added = Number(stream[stream.indexOf("entries-added") + 1]);
  await admin.call("XSETID", keys.digests, lastId, "ENTRIESADDED", String(added + by), "MAXDELETEDID", "0-0");
}

/** The ids of the digest entries delivered to the coordinators' group and not acknowledged. */
async function deliveredIds(admin: Redis): Promise<string[]> {
  const pending = (await admin.xpending(keys.digests, COORDINATOR_GROUP, "-", "+", 100)) as [string][];
  return pending.map(([id]) => id);
}

describe("the lagging replicas of a coordinator that cannot read Redis", () => {
  // Date is faked too, so that the test moves the lagging test's clock by hand.
  beforeEach(() => {
    vi.useFakeTimers({ toFake: ["setInterval", "clearInterval", "Date"] });
  });

  it("are those of its latest read while the read in flight goes unanswered", async () => {
    const admin = rig.connect();
    // Another coordinator leads: this one stands by and learns the generation from the state.
    await admin.set(keys.lease, "other", "PX", 60_000);
    await admin.hset(keys.state, "generation", "3");
    const ack = { generation: 2, epoch: 1, rejected: 0, at: Date.now() };
    await admin.hset(keys.acks, "r1", JSON.stringify(ack));
    const link = await proxy();
    const standby = await rig.coordinator("a", { redis: client(link.url), lagAfterMs: 1_000 });
    const metric = metricsOf(standby);
    // Generation 3 is new to this read: r1, one behind, is not lagging yet.
    expect(standby.snapshot()).toMatchObject({ leader: false, generation: 3, lagging: [] });
    // A scrape of fresh figures: stale ones are not taken, so later scrapes keep these.
    expect(await metric("arqon_bus_up")).toBe(1);
    expect(await metric("arqon_bus_lagging_replicas")).toBe(0);
    link.hold();
    vi.advanceTimersByTime(500);
    // Generation 3 is now older than lagAfterMs, but nothing was read since: r1 may well have
    // acknowledged it. Before, r1 counted as lagging from here on, while Redis did not answer.
    vi.advanceTimersByTime(1_000);
    expect(standby.busStats()).toMatchObject({ stale: false, laggingReplicas: 0 });
    await until(() => standby.busStats().stale === true, 5_000, "a stale view");
    expect(standby.snapshot().lagging).toEqual([]);
    expect(standby.busStats().laggingReplicas).toBe(0);
    expect(await metric("arqon_bus_up")).toBe(0);
    expect(await metric("arqon_bus_lagging_replicas")).toBe(0);
    // Answered: r1 really is still behind a generation published 1.5 s ago.
    link.release();
    await until(() => standby.busStats().stale === false, 5_000, "a fresh view");
    expect(standby.snapshot().lagging).toEqual(["r1"]);
    expect(await metric("arqon_bus_lagging_replicas")).toBe(1);
  });
});
