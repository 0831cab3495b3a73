/**
 * The issues a solver config is refused with, for tests of its validation.
 */
import { expect } from "vitest";
import { ConfigError, type ConfigIssue } from "../../src/errors.js";
import type { SolverConfig } from "../../src/solver/config.js";
import { createSolver } from "../../src/solver/solver.js";

/** The `ConfigError` issues `createSolver(config)` throws, or `[]` when it takes the config. */
export function solverConfigIssues(config: unknown): readonly ConfigIssue[] {
  try {
    createSolver(config as SolverConfig).stop();
    return [];
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigError);
    return (error as ConfigError).issues;
  }
}
