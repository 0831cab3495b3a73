/**
 * package.json says Node ≥ 20.19, so everything `npm ci` installs, dev dependencies included, must
 * run there: every package in the lockfile that states `engines.node` must accept the oldest
 * Node the package claims. (mermaid 12 and its parser need Node 22; the docs pin mermaid 11.)
 */
import { readFileSync } from "node:fs";
import semver from "semver";
import { describe, expect, it } from "vitest";

interface LockedPackage {
  readonly version?: string;
  readonly engines?: unknown;
}

const root = new URL("..", import.meta.url);
const manifest = JSON.parse(readFileSync(new URL("package.json", root), "utf8")) as {
  engines: { node: string };
};
const lock = JSON.parse(readFileSync(new URL("package-lock.json", root), "utf8")) as {
  packages: Record<string, LockedPackage>;
};

describe("Node engines", () => {
  const oldest = semver.minVersion(manifest.engines.node);

  it("package.json states a Node range with a lowest version", () => {
    expect(oldest?.version).toBe("20.19.0");
  });

  it("every locked package that states engines.node accepts the oldest supported Node", () => {
    const stated = Object.entries(lock.packages).filter(
      ([path, pkg]) =>
        path !== "" && typeof (pkg.engines as { node?: unknown } | undefined)?.node === "string",
    );
    expect(stated.length).toBeGreaterThan(20);
    const refusing = stated
      .filter(([, pkg]) => !semver.satisfies(oldest!, (pkg.engines as { node: string }).node))
      .map(([path, pkg]) => `${path}@${pkg.version}: node ${(pkg.engines as { node: string }).node}`);
    expect(refusing).toEqual([]);
  });
});
