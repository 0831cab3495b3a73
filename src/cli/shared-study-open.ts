import { ConfigError, UsageError } from "../errors.js";
import { importOptionalPeer, MissingPeerError } from "../inspect/optional-peer.js";
import type { SolverConfig } from "../solver/config.js";
import type { SharedStudy } from "../study/shared-study.js";
import { withoutPassword } from "../study/without-password.js";
import { type FlagValues, optionalNonEmpty, optionalTimerMs } from "./args.js";
import { runtimeError, usageError } from "./cli-error.js";

/** Where a CLI command finds a shared study: `--storage`, `--study` and `--timeout-ms`. */
export interface SharedStudyFlags {
  readonly storage: string;
  readonly study: string | undefined;
  readonly timeoutMs?: number | undefined;
  /** `--heartbeat-ms` of `arqon solve` (see `SharedStudyOptions.heartbeatMs`); other commands do not beat. */
  readonly heartbeatMs?: number | undefined;
}

/** The flags `arqon <command>` holds for a shared study, `--storage` being `storage`: checked. */
export function sharedStudyFlags(
  command: string,
  flags: FlagValues,
  storage: string,
): SharedStudyFlags & { readonly study: string } {
  const shared = {
    storage,
    study: optionalNonEmpty(command, flags, "study"),
    timeoutMs: optionalTimerMs(command, flags, "timeout-ms"),
  };
  checkSharedStudyFlags(command, shared);
  return shared;
}

/** Refuses the flags that name or reach a shared study when `arqon <command>` has no `--storage`. */
export function refuseSharedStudyFlags(command: string, flags: FlagValues): void {
  if (flags.study !== undefined)
    throw usageError(`arqon ${command}: --study needs --storage (it names a shared study)`);
  if (flags["timeout-ms"] !== undefined)
    throw usageError(`arqon ${command}: --timeout-ms needs --storage (it applies to a shared study)`);
}

/** Refuses a `--storage` that is not a Redis URL, or a missing `--study`, naming `command`. */
export function checkSharedStudyFlags(
  command: string,
  flags: SharedStudyFlags,
): asserts flags is SharedStudyFlags & { readonly study: string } {
  if (!/^rediss?:\/\//.test(flags.storage))
    throw usageError(
      `arqon ${command}: --storage must be a redis:// or rediss:// URL, got ${withoutPassword(flags.storage)}`,
    );
  if (flags.study === undefined) throw usageError(`arqon ${command}: --storage needs --study <name>`);
}

/**
 * Opens the shared study for `arqon <command>`: with `config`, creating it unless `join` (then it
 * must exist, and match); without, joining the existing one under its own configuration. A
 * refused study (missing, another config, a bad name) or the missing optional package is the
 * caller's to fix (a usage error); a Redis failure is not.
 */
export async function openStudyForCli(
  command: string,
  config: SolverConfig | undefined,
  flags: SharedStudyFlags & { readonly study: string },
  join = false,
): Promise<SharedStudy> {
  try {
    // Loaded here, not at the top: ioredis is an optional peer, and every other command must run
    // without it.
    const { loadSharedStudy, openSharedStudy } = await importOptionalPeer(
      "ioredis",
      "--storage",
      () => import("../study/shared-study.js"),
    );
    const { storage: redis, study, timeoutMs, heartbeatMs } = flags;
    const where = {
      redis,
      study,
      ...(timeoutMs !== undefined && { timeoutMs }),
      ...(heartbeatMs !== undefined && { heartbeatMs }),
    };
    return await (config === undefined
      ? loadSharedStudy(where)
      : openSharedStudy(config, join ? { ...where, create: false } : where));
  } catch (error) {
    const message = `arqon ${command}: ${error instanceof Error ? error.message : String(error)}`;
    throw error instanceof UsageError || error instanceof ConfigError || error instanceof MissingPeerError
      ? usageError(message)
      : runtimeError(message);
  }
}

/**
 * What a command prints when it began the study rather than joined it: said even under
 * `--quiet`, since a misspelt study name shows nowhere else.
 */
export function newStudyNote(name: string, budget: number): string {
  return `new study ${name}: begun by this worker (budget ${budget})`;
}
