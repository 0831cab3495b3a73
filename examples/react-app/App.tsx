/**
 * The example's page: an engine tuning the simulated queueing service in the browser, with its
 * objective against the untuned baseline, each knob over time, its generation, safety mode,
 * reasons and statechart state, the latest audit events, and Halt / Reset buttons.
 */

import type { AuditEvent, Engine } from "arqon";
import { useEngine, useEngineEvents, useEngineSnapshot, useEngineState } from "arqon/react";
import { useSyncExternalStore } from "react";
import { LineChart } from "./LineChart.js";
import { lifecycle, type Simulation, simulationOf, startSimulation } from "./simulation.js";

/** The page: starts the simulation when mounted, closes its engine when unmounted. */
export function App() {
  const engine = useEngine(startSimulation);
  const simulation = engine === null ? undefined : simulationOf(engine);
  return (
    <main>
      <header>
        <h1>arqon in the browser</h1>
        <p>
          An online SPSA engine tunes a simulated batching service (two knobs: batch size and timeout) in
          accelerated time, next to an untuned twin that keeps the initial knobs.
        </p>
      </header>
      {engine === null || simulation === undefined ? (
        <p data-testid="starting">Starting the engine…</p>
      ) : (
        <Dashboard engine={engine} simulation={simulation} />
      )}
      <footer data-testid="engines">
        engines started on this page: {lifecycle.started}, running: {lifecycle.running}
      </footer>
    </main>
  );
}

function Dashboard({ engine, simulation }: { engine: Engine; simulation: Simulation }) {
  const history = useSyncExternalStore(simulation.history.subscribe, simulation.history.getSnapshot);
  const xs = history.map((p) => p.t);
  const last = history.at(-1);
  const improvement = last === undefined ? Number.NaN : 1 - last.objective / last.baseline;
  return (
    <div className="layout">
      <section className="charts">
        <LineChart
          title="objective (ms per request)"
          xs={xs}
          series={[
            { label: "tuned", color: "#1565c0", values: history.map((p) => p.objective) },
            {
              label: "untuned baseline",
              color: "#9e9e9e",
              values: history.map((p) => p.baseline),
              dashed: true,
            },
          ]}
          unit=" ms"
        />
        {engine.names.map((name, i) => (
          <LineChart
            key={name}
            title={name}
            xs={xs}
            series={[
              {
                label: name,
                color: i === 0 ? "#2e7d32" : "#ef6c00",
                values: history.map((p) => p.values[i]!),
              },
            ]}
          />
        ))}
      </section>
      <aside>
        {/* The buttons come first: text below them changes length as the engine runs, and a
            button that moves between a pointer's aim and its click misses. */}
        <Controls engine={engine} />
        <Status
          engine={engine}
          speed={simulation.speed}
          improvement={improvement}
          serviceTime={last?.t ?? 0}
        />
        <RecentEvents engine={engine} />
      </aside>
    </div>
  );
}

function Status({
  engine,
  speed,
  improvement,
  serviceTime,
}: {
  engine: Engine;
  speed: number;
  improvement: number;
  serviceTime: number;
}) {
  // On the default (real-time) scheduler on purpose, though the engine runs in virtual time: the
  // simulation runs 20× faster than the screen, and this renders at most every 100 ms of real
  // time. The panel may trail the audit table (which shows each event) by up to that long.
  const snapshot = useEngineSnapshot(engine);
  const charts = useEngineState(engine);
  if (snapshot === undefined) return null;
  return (
    <dl className="status">
      <dt>generation</dt>
      <dd data-testid="generation">{snapshot.generation}</dd>
      <dt>mode</dt>
      <dd data-testid="mode" className={`mode mode-${snapshot.mode}`}>
        {snapshot.mode}
      </dd>
      <dt>reasons</dt>
      <dd data-testid="reasons">{snapshot.reasons.length === 0 ? "none" : snapshot.reasons.join(", ")}</dd>
      <dt>statecharts</dt>
      <dd data-testid="statechart">
        SPSA {charts.spsa ?? "?"} · SafeMode {charts.safeMode ?? "?"} · actor {charts.status ?? "?"}
      </dd>
      <dt>SPSA iteration</dt>
      <dd>{snapshot.iteration}</dd>
      <dt>live knobs</dt>
      <dd data-testid="values">
        {Object.entries(snapshot.values)
          .map(([name, value]) => `${name} ${value.toFixed(2)}`)
          .join(" · ")}
      </dd>
      <dt>vs. baseline</dt>
      <dd data-testid="improvement">
        {Number.isFinite(improvement) ? `${(100 * improvement).toFixed(1)} % lower cost` : "…"}
      </dd>
      <dt>service time</dt>
      <dd>
        {serviceTime.toFixed(0)} s ({speed}× real time)
      </dd>
    </dl>
  );
}

function Controls({ engine }: { engine: Engine }) {
  const mode = useEngineSnapshot(engine, (s) => s.mode);
  return (
    <div className="controls">
      <button
        type="button"
        data-testid="halt"
        disabled={mode === "halted"}
        onClick={() => engine.halt("halted from the example page")}
      >
        Halt
      </button>
      <button
        type="button"
        data-testid="reset"
        disabled={mode !== "halted"}
        onClick={() => engine.resetSafeMode({ acknowledge: "reset from the example page" })}
      >
        Reset
      </button>
    </div>
  );
}

/** Event types too frequent to be worth a row (one per digest or per window). */
const QUIET_TYPES = new Set<AuditEvent["type"]>(["digest.accepted", "window.closed"]);
/** The events the table lists (a stable function, so the hook keeps its store across renders). */
const isNotable = (event: AuditEvent) => !QUIET_TYPES.has(event.type);

function RecentEvents({ engine }: { engine: Engine }) {
  const events = useEngineEvents(engine, { limit: 10, filter: isNotable });
  const shown = [...events].reverse();
  return (
    <table className="events">
      <caption>latest audit events</caption>
      <thead>
        <tr>
          <th>seq</th>
          <th>time</th>
          <th>type</th>
          <th>generation</th>
        </tr>
      </thead>
      <tbody>
        {shown.map((e) => (
          <tr key={e.seq}>
            <td>{e.seq}</td>
            <td>{(e.time / 1000).toFixed(2)} s</td>
            <td>{describe(e)}</td>
            <td>{e.generation}</td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}

function describe(event: AuditEvent): string {
  switch (event.type) {
    case "apply":
      return `apply (${event.kind})`;
    case "mode.changed":
      return `mode ${event.from} → ${event.to}`;
    default:
      return event.type;
  }
}
