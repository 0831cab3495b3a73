import { existsSync } from "node:fs";
import { Redis } from "ioredis";
import { afterEach, describe, expect, it } from "vitest";
import { type RedisServer, startRedis } from "./support/redis-server.js";

// The harness every Redis test stands on: a real redis-server on 127.0.0.1, private data directory.
let servers: RedisServer[] = [];
let clients: Redis[] = [];

afterEach(async () => {
  for (const client of clients) client.disconnect();
  for (const server of servers) await server.stop();
  clients = [];
  servers = [];
});

function connect(server: RedisServer): Redis {
  const client = new Redis(server.url, { lazyConnect: true, maxRetriesPerRequest: 1 });
  clients.push(client);
  return client;
}

describe("test redis-server harness", () => {
  it("starts a server on 127.0.0.1 that answers commands", async () => {
    const server = await startRedis();
    servers.push(server);
    const client = connect(server);
    await client.connect();
    expect(await client.ping()).toBe("PONG");
    await client.xadd("s", "*", "k", "v");
    expect(await client.xlen("s")).toBe(1);
  });

  it("keeps acknowledged writes across a crash with the append-only file on", async () => {
    const first = await startRedis({ appendOnly: true });
    const client = connect(first);
    await client.connect();
    await client.set("generation", "7");
    await first.kill();
    const second = await startRedis({ appendOnly: true, dir: first.dir, port: first.port });
    servers.push(second, first); // first.stop() removes the shared data directory after second stops
    const again = connect(second);
    await again.connect();
    expect(await again.get("generation")).toBe("7");
  });

  it("removes the data directory it made, after a kill or a restart too, and never one it was given", async () => {
    const plain = await startRedis();
    await plain.stop();
    expect(existsSync(plain.dir)).toBe(false);

    const killed = await startRedis();
    await killed.kill();
    expect(existsSync(killed.dir)).toBe(true); // kept for a restart
    await killed.stop();
    expect(existsSync(killed.dir)).toBe(false);

    const first = await startRedis({ appendOnly: true });
    const restarted = await first.restart();
    expect(restarted.dir).toBe(first.dir);
    await restarted.stop();
    expect(existsSync(first.dir)).toBe(false);

    const owner = await startRedis();
    const guest = await startRedis({ dir: owner.dir });
    await guest.stop();
    expect(existsSync(owner.dir)).toBe(true);
    await owner.stop();
    expect(existsSync(owner.dir)).toBe(false);
  });
});
