/**
 * Shared pieces of the fleet tests: one keyring, one parameter space, and a wait that polls real
 * I/O (never a fixed sleep standing in for time passing; it lives in ./until.ts).
 */
import type { EngineConfig } from "../../src/engine/config.js";
import type { FleetCommand } from "../../src/fleet/command.js";
import type { Keyring } from "../../src/fleet/signing.js";

export { until } from "./until.js";

export const FLEET_RING: Keyring = { active: "k1", keys: [{ id: "k1", secret: new Uint8Array(32).fill(7) }] };

export const FLEET_PARAMS: EngineConfig["params"] = { batch: { min: 1, max: 512, init: 64, maxDelta: 16 } };

/** The coordinator's engine in the tests: windows of 6 digests, balanced guardrails. */
export const FLEET_ENGINE: EngineConfig = {
  seed: 11,
  params: FLEET_PARAMS,
  window: { digests: 6 },
  spsa: { a: 0.05, c: 0.01 },
  guardrails: "balanced",
};

/** The objective the test replicas report: minimum at batch = 200. */
export const objectiveOf = (batch: number) => ((batch - 200) / 100) ** 2;

/** An apply command of epoch 1, generation 1 (batch 64), issued now, with `overrides`. */
export function applyCommand(overrides: Partial<FleetCommand>): FleetCommand {
  return {
    kind: "apply",
    commandId: "x",
    runId: "run",
    issuedAt: Date.now(),
    epoch: 1,
    generation: 1,
    values: { batch: 64 },
    ...overrides,
  };
}
