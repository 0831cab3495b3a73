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
  // Re-renders after each burst of audit events: enough for a status line, not for the hot path.
  const mode = useEngineSnapshot(engine, (s) => s.mode);
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
      const found = await search(query);
      // Typed on since: this request was wasted, and counts in the cost of the search that follows.
      if (key !== state.keys) return;
      setResults(found);
      engine.observe({ objective: performance.now() - lastKeyAt + 50 * state.requests, generation });
      state.requests = 0;
    }, engine.value("debounceMs"));
  }

  return (
    <div>
      <input onChange={(e) => onChange(e.target.value)} placeholder="Search" />
      <small>
        debounce {engine === null ? "…" : Math.round(engine.value("debounceMs"))} ms, tuning {mode ?? "…"}
      </small>
      <ul>
        {results.map((r) => (
          <li key={r}>{r}</li>
        ))}
      </ul>
    </div>
  );
}
