/**
 * Generates the statechart pages of the documentation site (docs/machines/*.md) from the machine
 * definitions in machines/: one Mermaid `stateDiagram-v2` per machine plus tables of its states and
 * transitions, all read from the live `StateNode` tree (`machine.root`), never written by hand.
 *
 * Usage:
 *   npx tsx scripts/machine-diagrams.ts           # (re)write the pages
 *   npx tsx scripts/machine-diagrams.ts --check   # exit 1 when a committed page is out of date
 *
 * test/diagrams.test.ts renders the pages in memory and compares them with the committed files.
 */
import { resolve } from "node:path";
import { pathToFileURL } from "node:url";
import type { AnyStateMachine, AnyStateNode, AnyTransitionDefinition } from "xstate";
import { circuitBreakerMachine } from "../machines/circuit-breaker.machine.js";
import { engineMachine } from "../machines/engine.machine.js";
import { safeModeMachine } from "../machines/safe-mode.machine.js";
import { solverMachine } from "../machines/solver.machine.js";
import { spsaMachine } from "../machines/spsa.machine.js";
import { syncGeneratedFiles } from "./generated-files.js";

/** One machine and the page documenting it. */
export interface MachinePage {
  /** File name under docs/machines/ without `.md`. */
  readonly slug: string;
  /** Page title. */
  readonly title: string;
  /** The definition's file, relative to the repository root. */
  readonly source: string;
  /** The exported name of the machine in `arqon/machines`. */
  readonly exportName: string;
  readonly machine: AnyStateMachine;
  /** What the machine is for, in a few sentences (hand-written; everything else is generated). */
  readonly summary: string;
}

/** Every statechart in machines/, in the order the docs list them. */
export const MACHINE_PAGES: readonly MachinePage[] = [
  {
    slug: "solver",
    title: "Solver lifecycle",
    source: "machines/solver.machine.ts",
    exportName: "solverMachine",
    machine: solverMachine,
    summary:
      "The phases of an ask/tell solver. The solver's own code computes designs, classifications and " +
      "proposals; this chart only records which phase the run is in. `classify` and `select` are " +
      "transient, so a solver at rest is always probing, refining or done. With several trials " +
      "running at once, `auto` and `tpe` start refining as soon as every probe point is out " +
      "(`probe.dispatched`) instead of idling workers until the probe's last result, and record the " +
      "classification when it arrives.",
  },
  {
    slug: "spsa",
    title: "SPSA cycle",
    source: "machines/spsa.machine.ts",
    exportName: "spsaMachine",
    machine: spsaMachine,
    summary:
      "One SPSA iteration is three evaluation windows: the plus point, the minus point and the new " +
      "centre. The chart moves once per closed window, never per digest. Its actions are hooks the " +
      "engine provides: they hand target points to the Tier-1 executor and open the next window.",
  },
  {
    slug: "engine",
    title: "Engine root",
    source: "machines/engine.machine.ts",
    exportName: "engineMachine",
    machine: engineMachine,
    summary:
      "The root of an engine's actor system. It has no states of its own: it invokes the SPSA cycle, " +
      "the hot-path actor and the SafeMode latches, so one inspector sees all three and stopping the " +
      "root stops everything (the circuit breakers are roots of their own). " +
      "The hot-path actor (`machines/hot-path.logic.ts`) is transition logic, not a statechart, so it " +
      "has no diagram; applies bypass it entirely.",
  },
  {
    slug: "safe-mode",
    title: "SafeMode",
    source: "machines/safe-mode.machine.ts",
    exportName: "safeModeMachine",
    machine: safeModeMachine,
    summary:
      "The four safety modes. A raised reason escalates at once to the most restrictive mode any " +
      "active reason demands; stepping down is one level at a time, after a dwell and a run of " +
      "healthy windows, except that a trip taken back returns at once to the mode it found. " +
      "`halted` is latched until an acknowledged reset.",
  },
  {
    slug: "circuit-breaker",
    title: "Circuit breaker",
    source: "machines/circuit-breaker.machine.ts",
    exportName: "circuitBreakerMachine",
    machine: circuitBreakerMachine,
    summary:
      "Guards a callback that can fail (the actuator hook, an audit sink): closed, open for a " +
      "doubling backoff after repeated failures, then half-open for a single probe call.",
  },
];

/** A transition of the chart in display form. */
export interface TransitionRow {
  /** State the transition is defined on (`machine id` for the root). */
  readonly from: AnyStateNode;
  /** Event name, `after <delay>` for a delayed transition, `always` for an eventless one. */
  readonly trigger: string;
  /** Guard in display form (empty when unguarded). */
  readonly guard: string;
  /** Target states (empty for a transition that only runs actions). */
  readonly targets: readonly AnyStateNode[];
  /** Action names in order. */
  readonly actions: readonly string[];
}

/** Every state node below the root, depth first in definition order. */
export function descendants(node: AnyStateNode): AnyStateNode[] {
  return Object.values(node.states).flatMap((child) => [child, ...descendants(child)]);
}

/** A Mermaid-safe identifier for a state: its path joined with `__` (the root is the machine id). */
export function mermaidId(node: AnyStateNode): string {
  const path = node.path.length === 0 ? [node.machine.id] : node.path;
  return path.map((part) => part.replace(/[^A-Za-z0-9]/g, "_")).join("__");
}

/** A state's name as a reader sees it: its path with dots (the machine id for the root). */
export function displayPath(node: AnyStateNode): string {
  return node.path.length === 0 ? `${node.machine.id} (any state)` : node.path.join(".");
}

/** Display form of a parameter value in a guard or action. */
function formatParam(value: unknown): string {
  return typeof value === "string" ? value : JSON.stringify(value);
}

/** Display form of a named implementation reference: `name` or `name(key=value, …)`. */
function formatReference(ref: unknown): string {
  if (typeof ref === "string") return ref;
  // XState's and/or/not: a function carrying the guards it combines.
  const combined = (ref as { guards?: unknown }).guards;
  if (typeof ref === "function" && Array.isArray(combined) && ["and", "or", "not"].includes(ref.name)) {
    return `${ref.name}(${combined.map(formatReference).join(", ")})`;
  }
  if (typeof ref === "function") return ref.name !== "" ? ref.name : "inline";
  if (typeof ref === "object" && ref !== null && "type" in ref) {
    const { type, params } = ref as { type: unknown; params?: unknown };
    const name = typeof type === "string" ? type : "inline";
    if (typeof params !== "object" || params === null) return name;
    const args = Object.entries(params).map(([k, v]) => `${k}=${formatParam(v)}`);
    return args.length === 0 ? name : `${name}(${args.join(", ")})`;
  }
  return "inline";
}

/** The transition's trigger: its event, or the delay / eventless marker. */
function triggerOf(node: AnyStateNode, transition: AnyTransitionDefinition): string {
  const delayed = node.after.find((t) => t.eventType === transition.eventType);
  if (delayed !== undefined) {
    const delay = delayed.delay;
    return `after ${typeof delay === "number" ? `${delay} ms` : typeof delay === "string" ? delay : "delay"}`;
  }
  return transition.eventType === "" ? "always" : String(transition.eventType);
}

/** Every transition defined on one node, in definition order (events, then eventless). */
export function transitionsOf(node: AnyStateNode): TransitionRow[] {
  const rows: TransitionRow[] = [];
  const all = [...[...node.transitions.values()].flat(), ...(node.always ?? [])];
  for (const transition of all) {
    rows.push({
      from: node,
      trigger: triggerOf(node, transition),
      guard: transition.guard === undefined ? "" : formatReference(transition.guard),
      targets: transition.target ?? [],
      actions: transition.actions.map(formatReference),
    });
  }
  return rows;
}

/** The label of a transition arrow: trigger and guard (actions are in the table). */
function edgeLabel(row: TransitionRow): string {
  return row.guard === "" ? row.trigger : `${row.trigger} [${row.guard}]`;
}

/**
 * Text made safe for a Mermaid label or note line: `;` separates statements and `#` starts an
 * entity code in Mermaid, so neither may appear in free text.
 */
function mermaidText(text: string): string {
  return text.replace(/;/g, ",").replace(/#/g, "no. ");
}

/** The state a note about the root attaches to: its initial state, or the root itself when atomic. */
function rootAnchor(machine: AnyStateMachine): string {
  const initial = machine.root.initial?.target[0];
  return initial === undefined ? mermaidId(machine.root) : mermaidId(initial);
}

/** Notes about a node: its invoked actors and (for the root) its machine-wide transitions. */
function notesOf(node: AnyStateNode, isRoot: boolean): string[] {
  const lines: string[] = [];
  for (const invoke of node.invoke) {
    const systemId = invoke.systemId === undefined ? "" : ` (systemId ${invoke.systemId})`;
    lines.push(`invokes ${String(invoke.src)} as ${invoke.id}${systemId}`);
  }
  const rootRows = isRoot ? transitionsOf(node) : [];
  if (rootRows.length > 0) {
    lines.push("in any state:");
    for (const row of rootRows) {
      const to = row.targets.length === 0 ? "(stays)" : `→ ${row.targets.map(displayPath).join(", ")}`;
      lines.push(`${edgeLabel(row)} ${to}`);
    }
  }
  return lines;
}

/**
 * Mermaid `stateDiagram-v2` source of a machine, derived from its state nodes.
 *
 * @remarks
 * States become Mermaid states keyed by their path (so two `dwelling` states in different parents
 * stay distinct) and labelled with their key; compound states become composite states with their
 * initial child; final states get an arrow to `[*]`. A transition is drawn from the node that
 * defines it (a composite for a transition shared by its children); one without a target is a
 * self-loop; transitions between the same two states share one arrow, one trigger per line. Transitions of the root, which apply in every state, and invoked actors are listed in
 * a note.
 */
export function machineToMermaid(machine: AnyStateMachine): string {
  const lines = ["stateDiagram-v2"];
  const emitNode = (node: AnyStateNode, indent: string): void => {
    const id = mermaidId(node);
    const children = Object.values(node.states);
    if (children.length === 0) {
      lines.push(`${indent}state "${node.key}" as ${id}`);
      return;
    }
    lines.push(`${indent}state "${node.key}" as ${id} {`);
    const initial = node.initial?.target[0];
    if (initial !== undefined) lines.push(`${indent}  [*] --> ${mermaidId(initial)}`);
    for (const child of children) emitNode(child, `${indent}  `);
    lines.push(`${indent}}`);
  };

  const root = machine.root;
  const topLevel = Object.values(root.states);
  if (topLevel.length === 0) {
    lines.push(`  state "${machine.id}" as ${mermaidId(root)}`);
    lines.push(`  [*] --> ${mermaidId(root)}`);
  } else {
    const initial = root.initial?.target[0];
    if (initial !== undefined) lines.push(`  [*] --> ${mermaidId(initial)}`);
    for (const node of topLevel) emitNode(node, "  ");
  }

  // One arrow per (source, target) pair, one trigger per line: parallel arrows between the same
  // two states make the layout unreadable.
  const arrows = new Map<string, { from: string; to: string; labels: string[] }>();
  for (const node of descendants(root)) {
    const id = mermaidId(node);
    if (node.type === "final") lines.push(`  ${id} --> [*]`);
    for (const row of transitionsOf(node)) {
      const targets = row.targets.length === 0 ? [node] : row.targets;
      for (const target of targets) {
        const to = mermaidId(target);
        const arrow = arrows.get(`${id} ${to}`) ?? { from: id, to, labels: [] };
        if (!arrow.labels.includes(edgeLabel(row))) arrow.labels.push(edgeLabel(row));
        arrows.set(`${id} ${to}`, arrow);
      }
    }
  }
  for (const { from, to, labels } of arrows.values()) {
    lines.push(`  ${from} --> ${to} : ${labels.map(mermaidText).join("<br>")}`);
  }

  const notes: Array<[string, string[]]> = [[rootAnchor(machine), notesOf(root, true)]];
  for (const node of descendants(root)) notes.push([mermaidId(node), notesOf(node, false)]);
  for (const [anchor, text] of notes) {
    if (text.length === 0) continue;
    lines.push(`  note right of ${anchor}`);
    for (const line of text) lines.push(`    ${mermaidText(line)}`);
    lines.push("  end note");
  }
  return `${lines.join("\n")}\n`;
}

/** Escapes a table cell (pipes would split it). */
function cell(text: string): string {
  return text === "" ? "" : `\`${text.replace(/\|/g, "\\|")}\``;
}

/**
 * A node's own entry or exit actions as written in its config. (The parsed `node.entry` also holds
 * the timer actions XState adds for `after`, which are an implementation detail.)
 */
function configuredActions(node: AnyStateNode, which: "entry" | "exit"): string[] {
  const raw: unknown = node.config[which];
  if (raw === undefined) return [];
  return (Array.isArray(raw) ? raw : [raw]).map(formatReference);
}

/** Kind of a state node in words. */
function kindOf(node: AnyStateNode): string {
  if (node.type === "compound") {
    const initial = node.initial?.target[0];
    return initial === undefined ? "compound" : `compound (starts in \`${initial.key}\`)`;
  }
  return node.type;
}

/** The Markdown page of one machine. */
export function renderMachinePage(page: MachinePage): string {
  const { machine } = page;
  const states = descendants(machine.root);
  const rows = [machine.root, ...states].flatMap(transitionsOf);
  const out: string[] = [
    `# ${page.title}`,
    "",
    `<!-- Generated by scripts/machine-diagrams.ts from ${page.source}; do not edit by hand. -->`,
    "",
    page.summary,
    "",
    `Definition: \`${page.source}\`, exported as \`${page.exportName}\` from \`arqon/machines\` ` +
      `(machine id \`${machine.id}\`).`,
    "",
    "```mermaid",
    machineToMermaid(machine).trimEnd(),
    "```",
    "",
  ];
  if (states.length > 0) {
    out.push("## States", "", "| state | kind | on entry | on exit |", "|---|---|---|---|");
    for (const node of states) {
      const entry = configuredActions(node, "entry").join(", ");
      const exit = configuredActions(node, "exit").join(", ");
      out.push(`| ${cell(node.path.join("."))} | ${kindOf(node)} | ${cell(entry)} | ${cell(exit)} |`);
    }
    out.push("");
  }
  if (machine.root.invoke.length > 0) {
    out.push("## Invoked actors", "", "| id | logic | system id |", "|---|---|---|");
    for (const invoke of machine.root.invoke) {
      out.push(`| ${cell(invoke.id)} | ${cell(String(invoke.src))} | ${cell(invoke.systemId ?? "")} |`);
    }
    out.push("");
  }
  if (rows.length > 0) {
    out.push(
      "## Transitions",
      "",
      "Listed on the state that defines them; a transition on a parent applies in each of its children " +
        "unless the child handles the event itself.",
      "",
      "| from | trigger | guard | to | actions |",
      "|---|---|---|---|---|",
    );
    for (const row of rows) {
      const to =
        row.targets.length === 0 ? "(stays)" : row.targets.map((t) => cell(t.path.join("."))).join(", ");
      out.push(
        `| ${cell(displayPath(row.from))} | ${cell(row.trigger)} | ${cell(row.guard)} | ${to} | ${cell(row.actions.join(", "))} |`,
      );
    }
    out.push("");
  }
  return out.join("\n");
}

/** The overview page listing every machine. */
export function renderIndexPage(pages: readonly MachinePage[]): string {
  const out = [
    "# Statecharts",
    "",
    "<!-- Generated by scripts/machine-diagrams.ts; do not edit by hand. -->",
    "",
    "arqon's control flow lives in XState statecharts under `machines/`. They are pure definitions " +
      "(no I/O, no clock, no side effects on import), so the Stately editor, the VS Code extension " +
      "and `xstate/graph` can load them from `arqon/machines`. The diagrams on these pages are " +
      "generated from the definitions and checked against them by a test, so they cannot drift.",
    "",
    "Each definition is one object literal, with no transition built by code, so tools that read " +
      "the source without running it see every transition (a test reads them so). To walk them " +
      "with `xstate/graph`, give the machine the `input` `createActor` would (the solver, SPSA and " +
      'engine machines read theirs when they start: `{ strategy: "auto" | "nelder-mead" | "tpe" }`, ' +
      "`{ stallAfter }` with a whole number ≥ 1, and `{ stallAfter, safeMode? }`; SafeMode and the " +
      "breaker take their options, all optional; a bad or missing input fails the actor's start " +
      "with a `RangeError` naming the field), the events with their payloads, and an " +
      "`xstate.after.<delay>.<state id>` event for each delayed transition, which the walker does " +
      "not send by itself (SafeMode's `dwell`, the breaker's `backoff`); serialise the breaker's " +
      "states without its `epoch`, a counter that never repeats. `test/machines-graph.test.ts` " +
      "reaches every state of each machine this way.",
    "",
    "A chart's `getPersistedSnapshot()` holds its state and context, not the timers of its delayed " +
      "transitions: an actor restored from one in SafeMode's `dwelling` or the breaker's `open` " +
      "waits for a `dwell` or `backoff` that XState never schedules again, and stays there. Restore " +
      "such an actor where nothing is delayed, or send it the `xstate.after.<delay>.<state id>` " +
      "event yourself once the delay has passed. The engine keeps no chart state across a restart " +
      "(its decision log does, see the engine guide).",
    "",
    "| machine | export | states | what it does |",
    "|---|---|---|---|",
  ];
  for (const page of pages) {
    const states = descendants(page.machine.root).length;
    const firstSentence = page.summary.split(". ")[0]!.replace(/\.$/, "");
    out.push(
      `| [${page.title}](./${page.slug}.md) | \`${page.exportName}\` | ${states} | ${firstSentence}. |`,
    );
  }
  out.push("");
  return out.join("\n");
}

/** Every generated file: path relative to the repository root → content. */
export function renderAll(pages: readonly MachinePage[] = MACHINE_PAGES): Map<string, string> {
  const files = new Map<string, string>();
  files.set("docs/machines/index.md", renderIndexPage(pages));
  for (const page of pages) files.set(`docs/machines/${page.slug}.md`, renderMachinePage(page));
  return files;
}

export { REPO_ROOT } from "./generated-files.js";

function main(argv: readonly string[]): number {
  return syncGeneratedFiles(renderAll(), argv, "npx tsx scripts/machine-diagrams.ts");
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(resolve(process.argv[1])).href) {
  process.exitCode = main(process.argv.slice(2));
}
