import { minimize } from "arqon";

// Stand-in for an expensive, asynchronous measurement such as a short load test:
// the p99 latency in ms for a pool size and a request timeout. It honours the
// abort signal, as a real one should.
async function loadTest(params: { poolSize: number; timeoutMs: number }, signal: AbortSignal) {
  signal.throwIfAborted();
  await new Promise((resolve) => setTimeout(resolve, 1));
  const { poolSize, timeoutMs } = params;
  return 40 + (poolSize - 24) ** 2 / 8 + 2 * Math.abs(Math.log(timeoutMs / 250));
}

const { best, evaluations, failures } = await minimize(
  (params, { signal }) => loadTest(params, signal),
  {
    seed: 1,
    budget: 60,
    bounds: {
      poolSize: { min: 1, max: 64 },
      timeoutMs: { min: 10, max: 5000, scale: "log" },
    },
  },
  { concurrency: 4, onError: "skip" },
);

console.log(`${evaluations} evaluations, ${failures.length} failed`);
console.log(`best p99 ${best?.value.toFixed(2)} ms with`, best?.params);
