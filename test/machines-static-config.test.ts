/**
 * The statecharts are read from source by tools that never run them: the Stately editor and the
 * VS Code extension parse the object given to `createMachine` as a literal. A transition built by
 * a spread or a call, or a guard's params read from a constant, is invisible to them, so the chart
 * they draw would differ from the one the runtime runs. This test reads each machine's source the
 * way such a parser does (with the TypeScript compiler, no evaluation) and checks that the
 * literal describes every transition of the runtime machine.
 */
import { readFileSync } from "node:fs";
import ts from "typescript";
import { describe, expect, it } from "vitest";
import type { AnyStateMachine, AnyStateNode } from "xstate";
import {
  circuitBreakerMachine,
  engineMachine,
  safeModeMachine,
  solverMachine,
  spsaMachine,
} from "../machines/index.js";

const MACHINES: Record<string, AnyStateMachine> = {
  "circuit-breaker": circuitBreakerMachine,
  engine: engineMachine,
  "safe-mode": safeModeMachine,
  solver: solverMachine,
  spsa: spsaMachine,
};

/** An expression a static reader cannot see into (a function, an identifier, a call…). */
const OPAQUE = Symbol("opaque");
type Literal = string | number | boolean | null | typeof OPAQUE | Literal[] | { [key: string]: Literal };

/** The literal value of `node`, with every construct a static reader cannot follow listed in `issues`. */
function literalOf(node: ts.Expression, path: string, issues: string[]): Literal {
  if (ts.isParenthesizedExpression(node) || ts.isAsExpression(node) || ts.isSatisfiesExpression(node))
    return literalOf(node.expression, path, issues);
  if (ts.isStringLiteral(node) || ts.isNoSubstitutionTemplateLiteral(node)) return node.text;
  if (ts.isNumericLiteral(node)) return Number(node.text);
  if (node.kind === ts.SyntaxKind.TrueKeyword) return true;
  if (node.kind === ts.SyntaxKind.FalseKeyword) return false;
  if (node.kind === ts.SyntaxKind.NullKeyword) return null;
  if (ts.isArrayLiteralExpression(node))
    return node.elements.map((element, i) => {
      if (ts.isSpreadElement(element)) {
        issues.push(`${path}[${i}]: a spread`);
        return OPAQUE;
      }
      return literalOf(element, `${path}[${i}]`, issues);
    });
  if (ts.isObjectLiteralExpression(node)) {
    const object: { [key: string]: Literal } = {};
    for (const property of node.properties) {
      if (ts.isSpreadAssignment(property)) {
        issues.push(`${path}: a spread`);
        continue;
      }
      const name = property.name;
      const key =
        name !== undefined && (ts.isIdentifier(name) || ts.isStringLiteral(name) || ts.isNumericLiteral(name))
          ? name.text
          : undefined;
      if (key === undefined) {
        issues.push(`${path}: a computed key`);
        continue;
      }
      if (ts.isPropertyAssignment(property))
        object[key] = literalOf(property.initializer, `${path}.${key}`, issues);
      else object[key] = OPAQUE; // a method or shorthand: code, which a reader takes as it is
    }
    return object;
  }
  return OPAQUE;
}

/** The object literal given to `createMachine` in `file`. */
function machineLiteral(file: string): { config: Literal; issues: string[] } {
  const text = readFileSync(new URL(`../machines/${file}.machine.ts`, import.meta.url), "utf8");
  const source = ts.createSourceFile(`${file}.ts`, text, ts.ScriptTarget.Latest, true);
  let found: ts.Expression | undefined;
  const visit = (node: ts.Node): void => {
    if (
      ts.isCallExpression(node) &&
      ts.isPropertyAccessExpression(node.expression) &&
      node.expression.name.text === "createMachine"
    )
      found = node.arguments[0];
    ts.forEachChild(node, visit);
  };
  visit(source);
  if (found === undefined) throw new Error(`${file}: no createMachine call`);
  const issues: string[] = [];
  return { config: literalOf(found, "config", issues), issues };
}

/** The entries of an array or object literal, each with its path; none for a leaf. */
function entriesOf(value: Literal, path: string): [string, Literal][] {
  if (Array.isArray(value)) return value.map((v, i) => [`${path}[${i}]`, v]);
  if (typeof value === "object" && value !== null)
    return Object.entries(value).map(([k, v]) => [`${path}.${k}`, v]);
  return [];
}

/**
 * Keys whose value a static reader takes as code, left as it is: the context factory and an
 * invoked actor's input mapper. Anything else opaque (a target, a guard, an action or params named
 * by a constant, or built by a call) would be a guess for such a reader.
 */
const CODE_KEYS = new Set(["context", "input"]);

/** Paths under `value` a static reader cannot see into, outside {@link CODE_KEYS}. */
function opaquePaths(value: Literal, path: string, out: string[]): void {
  if (value === OPAQUE) out.push(path);
  for (const [p, v] of entriesOf(value, path))
    if (!CODE_KEYS.has(p.slice(p.lastIndexOf(".") + 1))) opaquePaths(v, p, out);
}

/** Transition counts by state path, as `event×branches`, from a literal config. */
function literalTransitions(config: Literal): Record<string, string[]> {
  const out: Record<string, string[]> = {};
  const count = (v: Literal) => (Array.isArray(v) ? v.length : 1);
  const walk = (node: { [key: string]: Literal }, path: string) => {
    const list: string[] = [];
    const on = node.on;
    if (typeof on === "object" && on !== null && !Array.isArray(on))
      for (const [event, branches] of Object.entries(on)) list.push(`${event}×${count(branches)}`);
    if (node.always !== undefined) list.push(`(always)×${count(node.always)}`);
    if (node.after !== undefined) list.push("(after)");
    out[path || "(root)"] = list.sort();
    const states = node.states;
    if (typeof states === "object" && states !== null && !Array.isArray(states))
      for (const [name, child] of Object.entries(states))
        if (typeof child === "object" && child !== null && !Array.isArray(child))
          walk(child, path ? `${path}.${name}` : name);
  };
  if (typeof config === "object" && config !== null && !Array.isArray(config)) walk(config, "");
  return out;
}

/** The same counts from the runtime machine. */
function runtimeTransitions(machine: AnyStateMachine): Record<string, string[]> {
  const out: Record<string, string[]> = {};
  const walk = (node: AnyStateNode, path: string) => {
    const list: string[] = [];
    for (const [event, branches] of node.transitions)
      if (!event.startsWith("xstate.")) list.push(`${event}×${branches.length}`);
    if (node.always?.length) list.push(`(always)×${node.always.length}`);
    if (node.after.length > 0) list.push("(after)");
    out[path || "(root)"] = list.sort();
    for (const [name, child] of Object.entries(node.states)) walk(child, path ? `${path}.${name}` : name);
  };
  walk(machine.root, "");
  return out;
}

describe("statecharts readable from source", () => {
  for (const [file, machine] of Object.entries(MACHINES)) {
    it(`${file}: createMachine's literal holds every transition the runtime machine has`, () => {
      const { config, issues } = machineLiteral(file);
      expect(issues).toEqual([]);
      const opaque: string[] = [];
      opaquePaths(config, "config", opaque);
      expect(opaque).toEqual([]);
      expect(literalTransitions(config)).toEqual(runtimeTransitions(machine));
    });
  }
});
