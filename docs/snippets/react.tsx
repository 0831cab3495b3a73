import { useEngine, useEngineSnapshot } from "arqon/react";
import { useRef, useState } from "react";

/**
 * A search box whose debounce delay is tuned from what its users wait: the time from their last
 * keystroke to the results on screen, plus a cost for each request sent (a short delay sends one
 * per key). One digest per search.
 */
export function SearchBox({ search }: { search: (query: string) => Promise<string[]> }) {
  // Started after the first render and closed on unmount (StrictMode: the first one is closed
  // before the second starts).
  const engine = useEngine({
    seed: 7,
    params: { debounceMs: { min: 0, max: 800, init: 300, maxDelta: 40 } },
    window: { digests: 5, ms: 60_000 },
  });
  // Re-render after each burst of audit events (an apply is one): enough for a status line. The
  // handler below reads the live value instead, which a snapshot may trail.
  const mode = useEngineSnapshot(engine, (s) => s.mode);
  const shownMs = useEngineSnapshot(engine, (s) => Math.round(s.values.debounceMs));
  const [results, setResults] = useState<string[]>([]);
  const typing = useRef({
    timer: undefined as ReturnType<typeof setTimeout> | undefined,
    keys: 0,
    requests: 0,
  });

  function onChange(query: string) {
    if (engine === null) return; // the first render, before the engine starts
    const state = typing.current;
    clearTimeout(state.timer);
    const key = ++state.keys;
    const lastKeyAt = performance.now();
    // The search measures the delay live now: its digest carries the generation of this moment.
    const generation = engine.generation;
    state.timer = setTimeout(async () => {
      state.requests++;
      const found = await search(query).catch(() => null); // a failed search measures nothing
      // Typed on since: this request was wasted, and counts in the cost of the search that follows.
      if (key !== state.keys || found === null) return;
      setResults(found);
      engine.observe({ objective: performance.now() - lastKeyAt + 50 * state.requests, generation });
      state.requests = 0;
    }, engine.value("debounceMs"));
  }

  return (
    <div>
      <input onChange={(e) => onChange(e.target.value)} placeholder="Search" />
      <small>
        debounce {shownMs ?? "…"} ms, tuning {mode ?? "…"}
      </small>
      <ul>
        {results.map((r) => (
          <li key={r}>{r}</li>
        ))}
      </ul>
    </div>
  );
}
