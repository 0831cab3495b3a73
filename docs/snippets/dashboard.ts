import { createEngine } from "arqon";
import { serveDashboard } from "arqon/node";
import { interval, map } from "rxjs";

// Your service's knobs, and an engine tuning them (wall clock: no scheduler option).
const engine = createEngine({
  seed: 1,
  params: {
    cacheMb: { min: 16, max: 1024, init: 64, maxDelta: 40 },
    workers: { min: 1, max: 32, init: 4, maxDelta: 2 },
  },
});

// Optional: an untuned twin, the same system left at the starting values, measured beside the
// tuned one. Here a stand-in cost; in production, a canary pinned to the baseline configuration.
const cost = (cacheMb: number, workers: number) =>
  40 + 30 / Math.sqrt(cacheMb / 16) + 2 * Math.abs(workers - 12);
const twin = interval(500).pipe(map(() => ({ time: engine.now(), value: cost(64, 4) })));

// Start it right after creating the engine, so it sees the baseline being taken.
const dashboard = await serveDashboard({
  engine,
  twin,
  title: "cache tier",
  units: { objective: "ms", params: { cacheMb: "MiB", workers: "threads" } },
});
console.log(`open ${dashboard.url}#token=${dashboard.token}`);

// Your service reports what it measures, as usual.
const timer = setInterval(() => {
  const [cacheMb, workers] = engine.values;
  engine.observe({
    objective: cost(cacheMb!, workers!),
    generation: engine.generation,
    timestamp: engine.now(),
  });
}, 100);

process.once("SIGINT", async () => {
  clearInterval(timer);
  await dashboard.close(); // ends the page's event stream
  await engine.close();
});
