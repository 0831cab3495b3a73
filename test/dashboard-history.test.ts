import { runInNewContext } from "node:vm";
import { VirtualAction, VirtualTimeScheduler } from "rxjs";
import { describe, expect, it } from "vitest";
import { AUDIT_SCHEMA_VERSION, type AuditEvent } from "../src/audit/events.js";
import { DashboardModel } from "../src/dashboard/dashboard-model.js";
import { DEMO_UNITS, startDemoService } from "../src/dashboard/demo-service.js";
import { DASHBOARD_SCRIPT } from "../src/dashboard/page-script.js";
import { serveDashboard } from "../src/node.js";

// Every chart series must cover the same time span once the history is trimmed: the objective
// (one point per closed window) used to be cut with the audit events (several per window), so it
// started long after the twin and the parameter samples (one point per window each).

const WINDOW_MS = 100;
const base = { v: AUDIT_SCHEMA_VERSION, runId: "r", proposalId: -1 } as const;

/** The events of window `k` (closing at k·WINDOW_MS): its close, an apply with values, and two others. */
function windowEvents(k: number, applies = true): AuditEvent[] {
  const time = k * WINDOW_MS;
  const seq = 4 * k;
  const events: AuditEvent[] = [
    {
      ...base,
      seq: seq + 1,
      time,
      generation: k,
      type: "window.closed",
      count: 5,
      value: 10 + (k % 7),
      timedOut: false,
      openedAt: time - WINDOW_MS,
    },
    {
      ...base,
      seq: seq + 2,
      time,
      generation: k,
      type: "spsa.stalled",
      iteration: k,
      stalledFor: 0,
    } as unknown as AuditEvent,
    {
      ...base,
      seq: seq + 3,
      time,
      generation: k,
      type: "spsa.stalled",
      iteration: k,
      stalledFor: 1,
    } as unknown as AuditEvent,
  ];
  if (applies)
    events.push({
      ...base,
      seq: seq + 4,
      time,
      generation: k + 1,
      type: "apply",
      kind: "plus",
      values: { x: k },
    } as AuditEvent);
  return events;
}

// --- the page script, run in a VM against a minimal DOM that records what the charts draw ---

interface FakeNode {
  children: FakeNode[];
  attrs: Record<string, string>;
  [key: string]: unknown;
}

function fakeNode(): FakeNode {
  let bodies: FakeNode[] | undefined;
  const node: FakeNode = {
    children: [],
    attrs: {},
    textContent: "",
    value: "",
    hidden: false,
    className: "",
    appendChild: (child: FakeNode) => {
      node.children.push(child);
      return child;
    },
    removeChild: (child: FakeNode) => {
      node.children.splice(node.children.indexOf(child), 1);
      return child;
    },
    get firstChild() {
      return node.children[0] ?? null;
    },
    get tBodies() {
      bodies ??= [fakeNode()];
      return bodies;
    },
    setAttribute: (k: string, v: string) => {
      node.attrs[k] = v;
    },
    getAttribute: (k: string) => node.attrs[k] ?? null,
    querySelector: () => null,
    querySelectorAll: () => [],
    addEventListener: () => {},
  };
  return node;
}

interface FakeChart {
  box: FakeNode;
  data: number[][] | null;
}

/** Loads the page script; returns how to send it server messages and read what it drew. */
function loadPage() {
  const elements = new Map<string, FakeNode>();
  const frames: (() => void)[] = [];
  const listeners = new Map<string, (m: { data: string }) => void>();
  const charts: FakeChart[] = [];
  function Chart(this: FakeChart & { plot: unknown }, box: FakeNode) {
    this.box = box;
    this.data = null;
    this.plot = { series: [{}, { label: "" }, { label: "" }], root: fakeNode() };
    charts.push(this);
  }
  Chart.prototype.setData = function (this: FakeChart, data: number[][]) {
    this.data = data;
  };
  const context: Record<string, unknown> = {
    document: {
      readyState: "complete",
      body: fakeNode(),
      getElementById: (id: string) => {
        if (!elements.has(id)) elements.set(id, fakeNode());
        return elements.get(id);
      },
      createElement: fakeNode,
      createElementNS: fakeNode,
    },
    location: { hash: "", pathname: "/", search: "" },
    history: { replaceState: () => {} },
    requestAnimationFrame: (f: () => void) => frames.push(f),
    fetch: () => new Promise(() => {}),
    EventSource: class {
      addEventListener(type: string, f: (m: { data: string }) => void) {
        listeners.set(type, f);
      }
    },
    arqonCharts: {
      Chart,
      fmt: String,
      seconds: String,
      withUnit: (label: string, unit: string) => (unit ? `${label} (${unit})` : label),
      isEpoch: () => false,
      timeCell: (t: number, origin: number) => ({ text: String(t - origin), title: "" }),
    },
    addEventListener: () => {},
  };
  context.window = context;
  runInNewContext(DASHBOARD_SCRIPT, context);
  return {
    send(type: string, payload: unknown) {
      listeners.get(type)!({ data: JSON.stringify(payload) });
    },
    /** Runs the pending animation frames; returns where each chart series starts (chart seconds). */
    starts() {
      for (const f of frames.splice(0)) f();
      const objective = charts.find((c) => elements.get("objective-chart") === c.box)!.data!;
      const firstX = (x: number[], y: (number | null)[]) => x[y.findIndex((v) => v !== null)]!;
      const params = charts.filter((c) => c.box.attrs["data-param"] !== undefined);
      return {
        objective: firstX(objective[0]!, objective[1]!),
        twin: firstX(objective[0]!, objective[2]!),
        params: params.map((c) => c.data![0]![0]!),
      };
    },
    /** Runs the pending animation frames; returns the values each parameter chart draws. */
    paramValues() {
      for (const f of frames.splice(0)) f();
      return charts
        .filter((c) => c.box.attrs["data-param"] !== undefined)
        .map((c) => c.data![1]!.filter((v) => v !== null));
    },
  };
}

const view = {
  source: "live",
  title: "t",
  names: ["x"],
  time: 0,
  generation: 0,
  values: { x: 0 },
  mode: "normal",
  reasons: [],
  phase: null,
  statechart: {},
  iteration: null,
  units: {},
};

describe("dashboard history: every chart series covers the same time span", () => {
  it("the server's history, drawn by the page, starts every series together after a run longer than the limit", async () => {
    // The demo for 90 s of virtual time, with the default limit (what `arqon dashboard` uses) and a small one.
    const clock = new VirtualTimeScheduler(VirtualAction, 90_000);
    const demo = startDemoService({ scheduler: clock, seed: 7 });
    const input = { engine: demo.engine, units: DEMO_UNITS, twin: demo.twin };
    const servers = [await serveDashboard(input, {}), await serveDashboard(input, { historyLimit: 300 })];
    try {
      clock.flush();
      demo.engine.flushEvents();
      for (const server of servers) {
        const state = (await (await fetch(`${server.url}state`)).json()) as {
          events: AuditEvent[];
          view: { time: number };
        };
        // One window: the median time between two closes.
        const closes = state.events.filter((e) => e.type === "window.closed").map((e) => e.time);
        const gaps = closes
          .slice(1)
          .map((t, i) => t - closes[i]!)
          .sort((x, y) => x - y);
        const windowSeconds = gaps[gaps.length >> 1]! / 1000;
        const page = loadPage();
        page.send("init", { ...state, baseline: null, controls: false, fleet: null });
        const starts = page.starts();
        expect(starts.params).toHaveLength(2);
        for (const start of [starts.twin, ...starts.params])
          expect(Math.abs(start - starts.objective), JSON.stringify(starts)).toBeLessThanOrEqual(
            windowSeconds,
          );
      }
    } finally {
      for (const server of servers) await server.close();
      await demo.stop();
    }
  });

  it("the page keeps every series from the same start when it trims its own lists", () => {
    const page = loadPage();
    page.send("init", {
      view,
      baseline: null,
      controls: false,
      fleet: null,
      events: [],
      objective: [],
      samples: [],
      twin: [],
    });
    // 1500 windows of 4 events: well past the page's 2000 kept events, short of 2000 windows.
    for (let k = 1; k <= 1500; k++) {
      for (const event of windowEvents(k)) page.send("audit", event);
      page.send("twin", { time: k * WINDOW_MS, value: 12 });
    }
    const starts = page.starts();
    for (const start of [starts.twin, ...starts.params])
      expect(Math.abs(start - starts.objective), JSON.stringify(starts)).toBeLessThanOrEqual(
        WINDOW_MS / 1000,
      );
    // Points are kept per series, not per event: far more than 2000 / 4 windows are drawn.
    expect(1500 - starts.objective / (WINDOW_MS / 1000)).toBeGreaterThan(1000);
  });

  it("the page draws a parameter held since before the start from that start", () => {
    const page = loadPage();
    page.send("init", {
      view,
      baseline: null,
      controls: false,
      fleet: null,
      events: [],
      objective: [],
      samples: [],
      twin: [],
    });
    for (let k = 1; k <= 3000; k++) {
      for (const event of windowEvents(k, k === 1)) page.send("audit", event);
      page.send("twin", { time: k * WINDOW_MS, value: 12 });
    }
    const starts = page.starts();
    expect(starts.params).toHaveLength(1);
    expect(Math.abs(starts.params[0]! - starts.objective)).toBeLessThanOrEqual(WINDOW_MS / 1000);
    expect(Math.abs(starts.twin - starts.objective)).toBeLessThanOrEqual(WINDOW_MS / 1000);
  });
});

describe("the page's parameter charts", () => {
  it("do not draw a baseline set elsewhere as a live value (a fleet's new leader, resumed)", () => {
    const page = loadPage();
    const resumed = { ...view, values: { x: 91.6 } };
    page.send("init", {
      view: resumed,
      baseline: null,
      controls: false,
      fleet: null,
      events: [],
      objective: [],
      samples: [{ time: 0, generation: 0, values: { x: 91.6 } }],
      twin: [],
    });
    page.send("audit", { ...base, seq: 1, time: 10, generation: 0, type: "baseline.set", values: { x: 16 } });
    page.send("audit", {
      ...base,
      seq: 2,
      time: 20,
      generation: 1,
      type: "apply",
      kind: "plus",
      values: { x: 92 },
    });
    expect(page.paramValues()).toEqual([[91.6, 92]]);
  });
});

describe("DashboardModel chart history", () => {
  it("keeps objective points per window, and cuts every series at the latest start of a trimmed one", () => {
    const model = new DashboardModel(50);
    // The twin reports four times per window: its 50 points span far less time than 50 windows.
    for (let k = 1; k <= 400; k++) {
      for (const event of windowEvents(k)) model.addEvent(event);
      for (let q = 0; q < 4; q++) model.addTwin({ time: k * WINDOW_MS + q * 25, value: 12 });
    }
    const start = model.twin()[0]!.time;
    expect(model.twin().length).toBeGreaterThanOrEqual(50 - 4);
    expect(model.objective()[0]!.time - start).toBeLessThan(WINDOW_MS);
    expect(model.objective()[0]!.time).toBeGreaterThanOrEqual(start);
    expect(model.samples()[0]!.time - start).toBeLessThan(WINDOW_MS);
    expect(model.samples()[0]!.time).toBeGreaterThanOrEqual(start);
    expect(model.events()).toHaveLength(50);
  });

  it("keeps 'limit' objective points when the audit events are several per window", () => {
    const model = new DashboardModel(50);
    for (let k = 1; k <= 400; k++) {
      for (const event of windowEvents(k)) model.addEvent(event);
      model.addTwin({ time: k * WINDOW_MS, value: 12 });
    }
    expect(model.objective()).toHaveLength(50);
    expect(model.objective()[0]).toEqual({ time: 351 * WINDOW_MS, value: 10 + (351 % 7) });
    expect(model.twin()[0]!.time).toBe(351 * WINDOW_MS);
    expect(model.samples()[0]!.time).toBe(351 * WINDOW_MS);
  });

  it("holds the values live at the cut from the last sample before it", () => {
    const model = new DashboardModel(10);
    for (let k = 1; k <= 100; k++) for (const event of windowEvents(k, k === 1)) model.addEvent(event);
    const cut = model.objective()[0]!.time;
    expect(cut).toBe(91 * WINDOW_MS);
    expect(model.samples()).toEqual([{ time: cut, generation: 2, values: { x: 1 } }]);
  });
});
