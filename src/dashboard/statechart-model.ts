import type { AnyStateMachine, AnyStateNode } from "xstate";
import { safeModeMachine } from "../../machines/safe-mode.machine.js";
import { spsaMachine } from "../../machines/spsa.machine.js";

/** A transition as the statechart view lists it. */
export interface ChartTransition {
  /** Event name, `after <delay>` for a delayed transition, `always` for an eventless one. */
  readonly trigger: string;
  /** Guard name, or "" when unguarded. */
  readonly guard: string;
  /** Target state paths (dotted); empty for a transition that stays. */
  readonly targets: readonly string[];
}

/** A state node of a chart, with its children and the transitions defined on it. */
export interface ChartState {
  readonly key: string;
  /** Dotted path from the root ("" for the root). */
  readonly path: string;
  /** `atomic`, `compound`, `parallel`, `final` or `history`. */
  readonly type: string;
  /** Path of the initial child of a compound state. */
  readonly initial: string | null;
  readonly states: readonly ChartState[];
  readonly transitions: readonly ChartTransition[];
}

/** One machine of `machines/` as the dashboard draws it. */
export interface ChartMachine {
  /** Id of the actor in the engine's system whose state highlights this chart (`spsa`, `safeMode`). */
  readonly actor: string;
  /** Heading. */
  readonly title: string;
  readonly root: ChartState;
}

/** The engine statecharts the dashboard shows, by the actor that runs them. */
const SHOWN: readonly {
  readonly actor: string;
  readonly title: string;
  readonly machine: AnyStateMachine;
}[] = [
  { actor: "spsa", title: "SPSA cycle", machine: spsaMachine },
  { actor: "safeMode", title: "SafeMode", machine: safeModeMachine },
];

/**
 * The statecharts of `machines/` (SPSA cycle and SafeMode) as plain JSON, read from each
 * definition's `StateNode` tree: the page draws them offline as nested boxes and highlights the
 * states the view reports active.
 */
export function dashboardStatecharts(): ChartMachine[] {
  return SHOWN.map(({ actor, title, machine }) => ({ actor, title, root: chartState(machine.root) }));
}

function chartState(node: AnyStateNode): ChartState {
  const transitions: ChartTransition[] = [];
  for (const transition of [...[...node.transitions.values()].flat(), ...(node.always ?? [])]) {
    transitions.push({
      trigger: triggerOf(node, transition.eventType),
      guard: nameOf(transition.guard),
      targets: (transition.target ?? []).map((target: AnyStateNode) => target.path.join(".")),
    });
  }
  return {
    key: node.path.length === 0 ? node.machine.id : node.key,
    path: node.path.join("."),
    type: node.type,
    initial: node.initial?.target[0]?.path.join(".") ?? null,
    states: Object.values(node.states).map(chartState),
    transitions,
  };
}

function triggerOf(node: AnyStateNode, eventType: string): string {
  const delayed = node.after.find((t) => t.eventType === eventType);
  if (delayed !== undefined)
    return `after ${typeof delayed.delay === "number" ? `${delayed.delay} ms` : String(delayed.delay)}`;
  return eventType === "" ? "always" : eventType;
}

function nameOf(ref: unknown): string {
  if (ref === undefined) return "";
  if (typeof ref === "string") return ref;
  if (typeof ref === "object" && ref !== null && "type" in ref && typeof ref.type === "string")
    return ref.type;
  return "inline";
}
