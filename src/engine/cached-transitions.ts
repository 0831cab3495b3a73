import type { AnyActorScope, AnyMachineSnapshot, AnyStateMachine, AnyStateNode, EventObject } from "xstate";

/** A custom action a transition ran, as XState handed it to the actor's action executor. */
interface RecordedAction {
  readonly type: string;
  readonly params: unknown;
  readonly exec: ((info: unknown, params: unknown) => void) | undefined;
}

/** One transition as XState computed it the first time: where it led and what it ran, in order. */
interface RecordedTransition {
  /** What the source snapshot held besides its state; the transition is replayed only from the same. */
  readonly context: unknown;
  readonly children: unknown;
  readonly historyValue: unknown;
  readonly next: AnyMachineSnapshot;
  readonly actions: readonly RecordedAction[];
}

/**
 * Why events of `type` cannot be replayed from a cache in `machine` (empty: they can).
 *
 * @remarks
 * A transition can be cached when its outcome depends on the source snapshot and the event's type
 * only: no guard on any transition for that type, no eventless (`always`) transition anywhere it
 * could lead, and only named custom actions (no `assign`, `raise`, `sendTo`, … which change the
 * snapshot or queue events while it is computed) on those transitions and on every state's entry
 * and exit.
 */
export function cachedTransitionIssues(machine: AnyStateMachine, type: string): string[] {
  const issues: string[] = [];
  const custom = machine.implementations.actions as Record<string, unknown>;
  const checkActions = (where: string, actions: readonly unknown[]): void => {
    for (const action of actions) {
      const name = typeof action === "string" ? action : (action as { type?: unknown })?.type;
      const implementation = typeof name === "string" ? custom[name] : undefined;
      if (typeof implementation !== "function" || "resolve" in implementation)
        issues.push(`${where}: action ${String(name)} is not a named custom action`);
    }
  };
  const visit = (node: AnyStateNode): void => {
    if (node.type === "parallel") issues.push(`${node.id}: parallel state`);
    if (node.always !== undefined && node.always.length > 0) issues.push(`${node.id}: eventless transition`);
    checkActions(`${node.id} entry`, node.entry);
    checkActions(`${node.id} exit`, node.exit);
    for (const transition of node.transitions.get(type) ?? []) {
      if (transition.guard !== undefined) issues.push(`${node.id}: guarded ${type} transition`);
      checkActions(`${node.id} on ${type}`, transition.actions);
    }
    for (const child of Object.values(node.states)) visit(child);
  };
  visit(machine.root);
  return issues;
}

/**
 * `machine` as an actor logic that computes each transition on an event of one of `types` once per
 * source snapshot and replays it afterwards: the same next snapshot object, the same custom actions
 * run through the actor's own action executor, in the same order, with the new event.
 *
 * @remarks
 * Why: XState builds sets, maps, arrays and a new snapshot for every transition (about 10 KB for
 * one SPSA window in a nested chart). A chart that returns to the same few states at window
 * cadence, with no context updates, gets the same answers each time: replaying them allocates
 * only the action records XState's executor takes. Only for event types that
 * {@link cachedTransitionIssues} accepts (checked here; throws otherwise). `enabled(scope)` false
 * computes every transition afresh (an inspector then sees XState's microsteps as usual).
 * Transitions are keyed by the source's atomic state (the chart has no parallel states) and
 * replayed only from a snapshot with the same context, children and history objects.
 */
export function withCachedTransitions<M extends AnyStateMachine>(
  machine: M,
  types: readonly string[],
  enabled: (scope: AnyActorScope) => boolean,
): M {
  for (const type of types) {
    const issues = cachedTransitionIssues(machine, type);
    if (issues.length > 0) throw new Error(`cannot cache ${type} transitions: ${issues.join("; ")}`);
  }
  const cached = new Set(types);
  const cache = new Map<AnyStateNode, Map<string, RecordedTransition>>();
  const logic = Object.create(machine) as M;
  const compute = (snapshot: AnyMachineSnapshot, event: EventObject, scope: AnyActorScope) =>
    machine.transition.call(logic, snapshot, event, scope) as AnyMachineSnapshot;
  (logic as { transition: unknown }).transition = (
    snapshot: AnyMachineSnapshot,
    event: EventObject,
    scope: AnyActorScope,
  ): AnyMachineSnapshot => {
    if (!cached.has(event.type) || snapshot.status !== "active" || !enabled(scope))
      return compute(snapshot, event, scope);
    const nodes = snapshot._nodes as readonly AnyStateNode[];
    const state = nodes[nodes.length - 1]!;
    const hit = cache.get(state)?.get(event.type);
    if (
      hit !== undefined &&
      hit.context === snapshot.context &&
      hit.children === snapshot.children &&
      hit.historyValue === snapshot.historyValue
    ) {
      const info = { context: snapshot.context, event, self: scope.self, system: scope.system };
      for (const action of hit.actions)
        scope.actionExecutor({ type: action.type, info, params: action.params, exec: action.exec } as never);
      return hit.next;
    }
    const actions: RecordedAction[] = [];
    const execute = scope.actionExecutor;
    scope.actionExecutor = (action) => {
      actions.push({ type: action.type, params: action.params, exec: action.exec as RecordedAction["exec"] });
      execute(action);
    };
    let next: AnyMachineSnapshot;
    try {
      next = compute(snapshot, event, scope);
    } finally {
      scope.actionExecutor = execute;
    }
    if (next.status === "active") {
      let byType = cache.get(state);
      if (byType === undefined) {
        byType = new Map();
        cache.set(state, byType);
      }
      const { context, children, historyValue } = snapshot;
      byType.set(event.type, { context, children, historyValue, next, actions });
    }
    return next;
  };
  return logic;
}
