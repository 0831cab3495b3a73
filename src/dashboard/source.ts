/**
 * What the dashboard shows, and where it comes from: a live engine it is attached to, or a
 * recording read from disk. Both fit one small interface so the server does not care which.
 */
import type { AuditEvent } from "../audit/events.js";
import type { FleetView } from "./fleet-view.js";

/** The current state of the observed engine, as the page shows it. */
export interface DashboardView {
  /** `"live"` for an attached engine (controls allowed), `"recorded"` for a recording (read-only). */
  readonly source: "live" | "recorded";
  /** A short human label: the run id, or the recording's path. */
  readonly title: string;
  /** Parameter names in registry order (empty when a recording does not say). */
  readonly names: readonly string[];
  /** Engine-clock time of this view (ms). */
  readonly time: number;
  /** Generation of the live values (−1 when unknown). */
  readonly generation: number;
  /** Live values in raw units, or null when the source does not carry them. */
  readonly values: Readonly<Record<string, number>> | null;
  /** The SafeMode mode (`"normal"`, `"conservative"`, `"frozen"`, `"halted"`), or `"unknown"`. */
  readonly mode: string;
  /** The active SafeMode reasons. */
  readonly reasons: readonly string[];
  /** The SPSA cycle's state (e.g. `"cycle.plus"`), or null when unknown. */
  readonly phase: string | null;
  /**
   * State of each statechart of the engine, by actor id (`spsa`, `safeMode`, …). A recording
   * derives `spsa` and `safeMode` from its events.
   */
  readonly statechart: Readonly<Record<string, string>>;
  /** Completed SPSA iterations, or null when unknown. */
  readonly iteration: number | null;
  /**
   * Generation the engine's baseline was taken at (−1 when none), when the source knows it: lets a
   * dashboard attached after the engine started still recognise the baseline configuration.
   */
  readonly baselineGeneration?: number;
  /**
   * The baseline's values, when the source knows them: a baseline the engine has not stood at
   * (a config's `baseline`) is recognised by them, not by its generation.
   */
  readonly baseline?: Readonly<Record<string, number>>;
  /** Units of the objective and of the parameters, for axis labels (empty when not given). */
  readonly units: DashboardUnits;
  /**
   * Why a followed recording is no longer followed (a later read failed, such as a malformed line
   * appended): the view then stays at the last events read. Absent while it is followed.
   */
  readonly stopped?: string;
}

/**
 * The view of a live source with no engine to show now (a fleet coordinator standing by, a
 * supervisor name nothing runs under): no values, mode `"unknown"`.
 */
export function engineAbsentView(
  title: string,
  time: number,
  generation: number,
  units: DashboardUnits,
): DashboardView {
  return {
    source: "live",
    title,
    names: [],
    time,
    generation,
    values: null,
    mode: "unknown",
    reasons: [],
    phase: null,
    statechart: {},
    iteration: null,
    units,
  };
}

/** Units shown on the charts' axes and beside values, e.g. `{ objective: "ms", params: { batchSize: "requests" } }`. */
export interface DashboardUnits {
  /** Unit of the objective (e.g. `"ms"`). */
  readonly objective?: string;
  /** Unit of each parameter, by name. */
  readonly params?: Readonly<Record<string, string>>;
}

/**
 * One measurement of the untuned twin: the same system run at the baseline configuration beside
 * the tuned one, so the chart compares like with like while the environment drifts.
 */
export interface TwinPoint {
  /** Engine-clock ms (the same clock as the audit events). */
  readonly time: number;
  /** The objective the twin measured. */
  readonly value: number;
}

/**
 * Thrown by a {@link DashboardControl} action that the source refuses for now, not for a fault (a
 * coordinator that stands by: the leader's dashboard can act). The server answers 409 Conflict
 * with its message.
 */
export class ControlRefusedError extends Error {
  override readonly name = "ControlRefusedError";
}

/** The control actions of a live source: the engine's own audited control path. */
export interface DashboardControl {
  /** Latches the engine into `halted` (audited with `reason`). */
  halt(reason: string): void;
  /** Leaves `halted` after an acknowledgement; false when the engine was not halted. */
  resetSafeMode(acknowledge: string): boolean;
  /** Restores the baseline as a new generation; false when there is no baseline. */
  rollback(reason: string): boolean;
  /**
   * Whether the engine has been closed, so that no action can do anything any more: the server
   * then answers control requests with 409 and `/state` says `controls: false`. Absent: never.
   */
  isClosed?(): boolean;
}

/**
 * Where the dashboard's data comes from.
 *
 * @remarks
 * `subscribe` delivers every audit event from the moment of the call (a recording delivers the
 * events read so far at once, synchronously, then each event appended to the file while it is
 * followed). `control` is present only for live sources;
 * the server answers control requests on a source without it with 409 Conflict.
 */
export interface DashboardSource {
  /** The current view (cheap enough to call a few times per second). */
  view(): DashboardView;
  /** Calls `listener` with each audit event, in order, until the returned function is called. */
  subscribe(listener: (event: AuditEvent) => void): () => void;
  /** Control actions, for live sources only. */
  readonly control?: DashboardControl;
  /**
   * Measurements of an untuned twin, when the source has one: the dashboard then draws them as
   * the baseline instead of the objective measured at the baseline configuration.
   */
  subscribeTwin?(listener: (point: TwinPoint) => void): () => void;
  /** The Fleet panel, for a source attached to a fleet coordinator (see `fleetSource`). */
  fleetView?(): FleetView;
  /** Releases what the source holds (a file watcher); the server calls it when it closes a source it made. */
  close?(): void | Promise<void>;
}
