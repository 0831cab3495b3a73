import { spawnSync } from "node:child_process";
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { MACHINE_PAGES, machineToMermaid, REPO_ROOT, renderAll } from "../scripts/machine-diagrams.js";

/** The raw shape of a state node config, as far as this test reads it. */
interface RawStateConfig {
  readonly initial?: string;
  readonly type?: string;
  readonly states?: Readonly<Record<string, RawStateConfig>>;
  readonly on?: Readonly<Record<string, unknown>>;
  readonly after?: Readonly<Record<string, unknown>>;
  readonly always?: unknown;
}

interface Inventory {
  /** Every state as [path joined with "__", key]. */
  readonly states: Array<readonly [string, string]>;
  /** Every trigger: event names, `after <delay>` and `always`. */
  readonly triggers: Set<string>;
  /** [parent id, initial child id] for every compound state (and the root). */
  readonly initials: Array<readonly [string, string]>;
  /** Ids of final states. */
  readonly finals: string[];
}

/**
 * Reads states and triggers from the machine's raw config object, independently of the
 * generator (which walks the parsed StateNode tree).
 */
function inventory(config: RawStateConfig, path: readonly string[] = [], into?: Inventory): Inventory {
  const inv = into ?? { states: [], triggers: new Set(), initials: [], finals: [] };
  const id = path.join("__");
  for (const event of Object.keys(config.on ?? {})) inv.triggers.add(event);
  for (const delay of Object.keys(config.after ?? {})) {
    inv.triggers.add(`after ${/^\d+$/.test(delay) ? `${delay} ms` : delay}`);
  }
  if (config.always !== undefined) inv.triggers.add("always");
  if (config.type === "final") inv.finals.push(id);
  if (config.initial !== undefined && path.length > 0) inv.initials.push([id, `${id}__${config.initial}`]);
  if (config.initial !== undefined && path.length === 0) inv.initials.push(["", config.initial]);
  for (const [key, child] of Object.entries(config.states ?? {})) {
    const childPath = [...path, key];
    inv.states.push([childPath.join("__"), key]);
    inventory(child, childPath, inv);
  }
  return inv;
}

const escapeRegExp = (text: string) => text.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");

describe("machine diagrams", () => {
  it("the committed pages in docs/machines are what the generator produces now", () => {
    const files = renderAll();
    expect(files.size).toBe(MACHINE_PAGES.length + 1);
    for (const [path, expected] of files) {
      let committed: string;
      try {
        committed = readFileSync(join(REPO_ROOT, path), "utf8");
      } catch {
        throw new Error(`${path} is missing: run npx tsx scripts/machine-diagrams.ts`);
      }
      expect(committed, `${path} is stale: run npx tsx scripts/machine-diagrams.ts`).toBe(expected);
    }
  });

  it("there is a page for every statechart exported from machines/", () => {
    const source = readFileSync(join(REPO_ROOT, "machines/index.ts"), "utf8");
    const exported = [...source.matchAll(/\b(\w+Machine)\b/g)].map((m) => m[1]!);
    expect(new Set(MACHINE_PAGES.map((p) => p.exportName))).toEqual(new Set(exported));
  });

  for (const page of MACHINE_PAGES) {
    describe(page.slug, () => {
      const diagram = machineToMermaid(page.machine);
      const inv = inventory(page.machine.config as RawStateConfig);

      it("is a stateDiagram-v2 whose page embeds it", () => {
        expect(diagram.startsWith("stateDiagram-v2\n")).toBe(true);
        expect(renderAll().get(`docs/machines/${page.slug}.md`)).toContain(
          `\`\`\`mermaid\n${diagram.trimEnd()}\n\`\`\``,
        );
      });

      it("declares every state of the definition, labelled with its key", () => {
        for (const [id, key] of inv.states) expect(diagram).toContain(`state "${key}" as ${id}`);
        if (inv.states.length === 0) expect(diagram).toContain(`state "${page.machine.id}" as`);
      });

      it("labels a transition (or, for the root's, a line of its note) with every trigger", () => {
        for (const trigger of inv.triggers) {
          expect(diagram, trigger).toMatch(
            new RegExp(`(: |<br>|^ {4})${escapeRegExp(trigger)}( \\[|<br>|\\s|$)`, "m"),
          );
        }
      });

      it("uses only well-formed statements whose arrows and notes name declared states", () => {
        // A stray `;` or an undeclared id would make Mermaid invent states the machine lacks.
        const ID = "[A-Za-z0-9_]+";
        const declared = new Set(
          [...diagram.matchAll(new RegExp(`state "[^"]*" as (${ID})`, "g"))].map((m) => m[1]!),
        );
        const statements = [
          new RegExp(`^\\s*state "[^";#]*" as ${ID}( \\{)?$`),
          /^\s*\}$/,
          new RegExp(`^\\s*\\[\\*\\] --> (${ID})$`),
          new RegExp(`^\\s*(${ID}) --> \\[\\*\\]$`),
          new RegExp(`^\\s*(${ID}) --> (${ID}) : [^;#]+$`),
          new RegExp(`^\\s*note right of (${ID})$`),
        ];
        let inNote = false;
        for (const line of diagram.trimEnd().split("\n").slice(1)) {
          if (inNote) {
            expect(line, "note text").not.toMatch(/[;#]/);
            inNote = line.trim() !== "end note";
            continue;
          }
          const match = statements.map((re) => re.exec(line)).find((m) => m !== null);
          expect(match, line).toBeDefined();
          for (const name of match!.slice(1).filter((n) => n !== undefined && n !== " {")) {
            expect(declared, `${name} in: ${line}`).toContain(name);
          }
          inNote = line.trim().startsWith("note right of");
        }
      });

      it("marks initial states and final states", () => {
        for (const [parent, child] of inv.initials) {
          const indent = parent === "" ? "  " : "    ";
          expect(diagram).toContain(`${indent}[*] --> ${child}\n`);
        }
        for (const id of inv.finals) expect(diagram).toContain(`  ${id} --> [*]\n`);
      });

      it("draws every targeted transition of the definition as an arrow", () => {
        // Spot-check from the parsed nodes: each target appears on an arrow's right-hand side.
        const walk = (node: typeof page.machine.root): string[] =>
          Object.values(node.states).flatMap((child) => [
            ...[...child.transitions.values()]
              .flat()
              .concat(child.always ?? [])
              .flatMap((t) => (t.target ?? []).map((target) => target.path.join("__"))),
            ...walk(child),
          ]);
        for (const targetId of walk(page.machine.root)) expect(diagram).toContain(`--> ${targetId} : `);
      });
    });
  }
});

describe("machines/ import without side effects", () => {
  const files = readdirSync(join(REPO_ROOT, "machines")).filter((f) => f.endsWith(".ts"));

  it("covers every file in machines/", () => {
    expect(files).toContain("index.ts");
    expect(files.length).toBeGreaterThanOrEqual(MACHINE_PAGES.length + 1);
  });

  it("machines/ depends on nothing in src/ (the charts load on their own, e.g. in a visualiser)", () => {
    const offenders = files.filter((file) =>
      /from\s+["']\.\.\/src\//.test(readFileSync(join(REPO_ROOT, "machines", file), "utf8")),
    );
    expect(offenders).toEqual([]);
  });

  for (const file of files) {
    it(`importing machines/${file} in a fresh process prints nothing, leaves no timer or handle, and exits`, () => {
      // The child reports only what the import left behind; a started actor with a timer, an
      // interval or an open handle either shows up there or keeps the process alive past the timeout.
      // (The loader's own transient handles are not timers or sockets, so they are not counted.)
      const script = [
        "const watched = () => process.getActiveResourcesInfo().filter((r) => /Timeout|Immediate|TCP|UDP|Pipe/.test(r));",
        "const before = watched().length;",
        `await import(${JSON.stringify(join(REPO_ROOT, "machines", file))});`,
        "const after = watched();",
        "if (after.length > before) process.stderr.write('left behind: ' + after.join(', '));",
      ].join("\n");
      const result = spawnSync(process.execPath, ["--import", "tsx", "--input-type=module", "-e", script], {
        cwd: REPO_ROOT,
        encoding: "utf8",
        timeout: 20_000,
      });
      expect(result.error).toBeUndefined();
      expect(result.signal).toBeNull();
      expect(result.stderr).toBe("");
      expect(result.stdout).toBe("");
      expect(result.status).toBe(0);
    });
  }
});
