import { Redis } from "ioredis";
import type { Browser } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createCoordinator } from "../src/fleet/coordinator.js";
import { createReplica } from "../src/fleet/replica.js";
import { fleetKeys, fleetPrefix } from "../src/fleet/streams.js";
import { serveDashboard } from "../src/node.js";
import { launchBrowser, screenshotPath } from "./support/browser.js";
import { FLEET_ENGINE, FLEET_PARAMS, FLEET_RING, objectiveOf, until } from "./support/fleet.js";
import { type RedisServer, startRedis } from "./support/redis-server.js";

// The Fleet panel in chromium, fed by a real coordinator and replicas over a real redis-server
// (this file needs both programs; see external-tools.ts). It waits on conditions, never sleeps.
const WAIT = { timeout: 20_000 };

let browser: Browser;
let redis: RedisServer;

beforeAll(async () => {
  [browser, redis] = await Promise.all([launchBrowser(), startRedis()]);
}, 60_000);

afterAll(async () => {
  await browser?.close();
  await redis?.stop();
});

describe("fleet dashboard in chromium", () => {
  it("draws the Fleet panel with a lagging replica marked", async () => {
    const clients: Redis[] = [];
    const connect = () => {
      const client = new Redis(redis.url, { maxRetriesPerRequest: 1 });
      clients.push(client);
      return client;
    };
    const lead = await createCoordinator({
      redis: connect(),
      id: "c1",
      runId: "run",
      keyring: FLEET_RING,
      engine: FLEET_ENGINE,
      leaseMs: 600,
      // Long enough that the live replica, acking every generation, is not caught lagging on a
      // loaded machine; the closed one lags as soon as a generation goes unacknowledged this long.
      lagAfterMs: 500,
      telemetry: { blockMs: 50 },
    });
    const replica = (name: string) =>
      createReplica({
        redis: connect(),
        replica: name,
        runId: "run",
        keyring: FLEET_RING,
        params: FLEET_PARAMS,
        guardrails: "balanced",
        telemetry: { flushMs: 10 },
      });
    const live = await replica("r-live");
    const gone = await replica("r-gone");
    const server = await serveDashboard({ fleet: lead, staleAfterMs: 60_000 }, { snapshotEveryMs: 100 });
    try {
      await until(() => Object.keys(lead.snapshot().fleet).length === 2, 5_000, "both replicas reported");
      // As a replica that died: close() removes its report, a dead replica's stays, as here.
      const admin = connect();
      const acks = fleetKeys(fleetPrefix("run")).acks;
      const report = await admin.hget(acks, "r-gone");
      await gone.close();
      await admin.hset(acks, "r-gone", report!);
      const page = await browser.newPage({ viewport: { width: 1280, height: 1200 } });
      await page.goto(`${server.url}#token=${server.token}`);
      await page.waitForSelector("#fleet-panel:not([hidden])", WAIT);
      await until(
        async () => {
          live.publish(objectiveOf(live.values[0]!));
          return (
            (await page.locator('#fleet-table tr[data-replica="r-gone"][data-state="lagging"]').count()) ===
              1 &&
            /^2 reporting: 1 current, 1 lagging, 0 stale$/.test(
              (await page.textContent("#fleet-summary")) ?? "",
            )
          );
        },
        20_000,
        "r-gone marked lagging and r-live current on the page",
      );
      const row = page.locator('#fleet-table tr[data-replica="r-gone"]');
      expect(await row.getAttribute("class")).toBe("replica-row-lagging");
      expect(await row.locator(".replica-state").textContent()).toBe("lagging");
      const generation = Number(await page.textContent("#fleet-generation"));
      expect(generation).toBeGreaterThan(0);
      expect(await page.textContent("#fleet-leader")).toMatch(/^c1 \(epoch \d+\)$/);
      expect(await page.textContent("#fleet-summary")).toMatch(
        /^2 reporting: 1 current, 1 lagging, 0 stale$/,
      );
      expect(await page.textContent("#fleet-bus")).toMatch(/dead letters 0, rejected commands 0/);
      await page.screenshot({ path: screenshotPath("dashboard-fleet"), fullPage: true });
      await page.close();
    } finally {
      await server.close();
      await live.close();
      await lead.close();
      for (const client of clients) client.disconnect();
    }
  }, 60_000);
});
