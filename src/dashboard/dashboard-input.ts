import type { Supervisor } from "../engine/supervisor.js";
import { unknownOptionKeys, unknownOptionsText } from "../unknown-options.js";
import {
  type DashboardEngine,
  ENGINE_SOURCE_OPTION_KEYS,
  type EngineSourceOptions,
  engineSource,
} from "./engine-source.js";
import {
  type DashboardCoordinator,
  FLEET_SOURCE_OPTION_KEYS,
  type FleetSourceOptions,
  fleetSource,
} from "./fleet-source.js";
import {
  FOLLOW_RECORDING_OPTION_KEYS,
  type FollowRecordingOptions,
  followRecording,
} from "./followed-source.js";
import type { DashboardOptions } from "./server.js";
import type { DashboardSource } from "./source.js";
import { type FollowedSupervisor, supervisorSource } from "./supervisor-source.js";

/** Show a live engine. */
export interface EngineInput extends EngineSourceOptions {
  readonly engine: DashboardEngine;
}

/** Show the engine a supervisor runs under a name, following it across a stop and respawn. */
export interface SupervisorInput extends EngineSourceOptions {
  readonly supervisor: FollowedSupervisor & Pick<Supervisor, "names">;
  /** Which engine (default: the first one running when the dashboard starts). */
  readonly name?: string;
}

/** Show a recording (a JSON-lines audit file, a directory of them, or a decision-log directory), followed as it grows. */
export interface LogInput extends FollowRecordingOptions {
  readonly log: string;
}

/** Show a fleet coordinator (from `arqon/redis`): the engine it tunes with, and the Fleet panel. */
export interface FleetInput extends FleetSourceOptions {
  readonly fleet: DashboardCoordinator;
}

/**
 * What {@link serveDashboard} can show: a live engine (`{ engine }`), an engine of a supervisor
 * (`{ supervisor, name }`), a recording followed as it grows (`{ log: path }`), a fleet
 * coordinator (`{ fleet: coordinator }`), or any {@link DashboardSource} (e.g. from `engineSource`).
 */
export type DashboardInput = DashboardSource | EngineInput | SupervisorInput | LogInput | FleetInput;

/** A resolved input: the source, and how to release it when the server closes. */
export interface ResolvedInput {
  readonly source: DashboardSource;
  readonly release: () => Promise<void>;
}

/**
 * The source `input` names. A source the caller made is not released by the server; one made
 * here (a followed recording) is.
 *
 * @throws RangeError naming the field when the input is none of the known forms, or names an
 * engine the supervisor does not run; a RecordingError when a log cannot be read.
 */
export async function resolveDashboardInput(input: DashboardInput): Promise<ResolvedInput> {
  const none = async () => {};
  if (typeof input !== "object" || input === null)
    throw new RangeError(
      "serveDashboard: expected { engine }, { supervisor }, { log }, { fleet } or a DashboardSource",
    );
  if ("view" in input && typeof input.view === "function") return { source: input, release: none };
  refuseUnknownKeys(input);
  if ("fleet" in input) {
    const fleet = input.fleet as Partial<DashboardCoordinator> | null;
    if (
      typeof fleet !== "object" ||
      fleet === null ||
      typeof fleet.snapshot !== "function" ||
      typeof fleet.busStats !== "function"
    )
      throw new RangeError(
        "serveDashboard: fleet must be a fleet Coordinator (from createCoordinator in arqon/redis)",
      );
    const { fleet: coordinator, ...options } = input;
    return { source: fleetSource(coordinator, options), release: none };
  }
  if ("engine" in input) {
    if (
      typeof input.engine !== "object" ||
      input.engine === null ||
      typeof input.engine.snapshot !== "function"
    )
      throw new RangeError("serveDashboard: engine must be an arqon Engine (from createEngine)");
    const { engine, ...options } = input;
    return { source: engineSource(engine, options), release: none };
  }
  if ("supervisor" in input) {
    const name = input.name ?? input.supervisor.names()[0];
    if (name === undefined || input.supervisor.get(name) === undefined)
      throw new RangeError(
        name === undefined
          ? "serveDashboard: supervisor runs no engine yet (spawn one first, or pass name)"
          : `serveDashboard: name ${JSON.stringify(name)} is not a running engine of the supervisor (running: ${input.supervisor.names().join(", ") || "none"})`,
      );
    // The name is its own argument; the rest are the source's options.
    const { supervisor, name: _named, ...options } = input;
    const followed = supervisorSource(supervisor, name, options);
    return { source: followed, release: async () => followed.close() };
  }
  if ("log" in input) {
    if (typeof input.log !== "string" || input.log === "")
      throw new RangeError("serveDashboard: log must be the path of a recording");
    const { log, ...options } = input;
    const followed = await followRecording(log, options);
    return { source: followed, release: () => followed.close() };
  }
  throw new RangeError(
    "serveDashboard: expected { engine }, { supervisor }, { log }, { fleet } or a DashboardSource",
  );
}

/** The keys each form of input takes, besides a DashboardSource (which is the caller's object). */
const INPUT_KEYS: readonly (readonly [form: string, keys: readonly string[]])[] = [
  ["fleet", ["fleet", ...FLEET_SOURCE_OPTION_KEYS] satisfies (keyof FleetInput)[]],
  ["engine", ["engine", ...ENGINE_SOURCE_OPTION_KEYS] satisfies (keyof EngineInput)[]],
  ["supervisor", ["supervisor", "name", ...ENGINE_SOURCE_OPTION_KEYS] satisfies (keyof SupervisorInput)[]],
  ["log", ["log", ...FOLLOW_RECORDING_OPTION_KEYS] satisfies (keyof LogInput)[]],
];

/** The keys of {@link DashboardOptions}: any other is a misspelling, refused by name. */
export const DASHBOARD_OPTION_KEYS = [
  "port",
  "host",
  "token",
  "historyLimit",
  "snapshotEveryMs",
  "heartbeatEveryMs",
  "onError",
] as const satisfies readonly (keyof DashboardOptions)[];

/**
 * Refuses a key the input's form does not take (`{ fleet, stalAfterMs: 5 }` would otherwise show
 * the fleet with the default staleness and say nothing), naming the known ones.
 */
function refuseUnknownKeys(input: object): void {
  const form = INPUT_KEYS.find(([name]) => name in input);
  if (form === undefined) return;
  const unknown = unknownOptionKeys(input, form[1]);
  if (unknown.length === 0) return;
  // `serveDashboard({ engine, port })`: a server option put in the input, the first argument.
  const misplaced = unknown.filter((key) => (DASHBOARD_OPTION_KEYS as readonly string[]).includes(key));
  const hint =
    misplaced.length === 0
      ? ""
      : `; ${misplaced.join(", ")} ${misplaced.length === 1 ? "is an option" : "are options"} of the server: serveDashboard(input, { ${misplaced.join(", ")} })`;
  throw new RangeError(
    `serveDashboard: { ${form[0]} } input: ${unknownOptionsText(unknown, form[1])}${hint}`,
  );
}
