import { setTimeout as delay } from "node:timers/promises";
import { ConfigError, UsageError } from "../errors.js";
import type { Trial } from "../index.js";
import type { ParamValue } from "../space/params.js";
import { openSharedStudy, type SharedStudy } from "../study/shared-study.js";
import { CliError, runtimeError, usageError } from "./cli-error.js";
import { objectiveEnvironment, variableProblems } from "./env-names.js";
import type { CliIo } from "./io.js";
import type { ObjectiveReading } from "./objective-output.js";
import { formatValue } from "./progress.js";
import { runObjectiveCommand } from "./run-command.js";
import { loadValidConfig } from "./validate.js";

/** What `arqon solve --storage redis://…` needs besides the objective command. */
export interface SharedSolveOptions {
  readonly storage: string;
  readonly study: string | undefined;
  readonly configPath: string | undefined;
  readonly concurrency: number;
  readonly onError: "stop" | "skip";
}

type Outcome =
  | { readonly trial: Trial; readonly reading: ObjectiveReading }
  | { readonly trial: Trial; readonly fatal: unknown };

/** How long to wait before asking again when the study waits for other workers' results (ms). */
const POLL_MS = 25;
/**
 * Once the budget is spent, how long a worker waits for the other workers' last results before it
 * prints the study's best (a worker that died leaves its trial pending; `pending` then says so).
 */
const SETTLE_MS = 60_000;

/**
 * `arqon solve --storage redis://host:port --study NAME`: this process becomes one worker of a shared
 * study (`arqon/study`). Run the same command on other machines to share the budget; each prints
 * the study's best point when the budget is spent.
 *
 * @remarks
 * Trials are reserved in the Redis journal, so no trial is run by two workers; the study, not a
 * state file, is what survives a kill (`--state` is refused). Under `--on-error stop` a failed trial
 * is left pending in the study and this worker stops; under `skip` it is marked failed.
 */
export async function solveShared(
  command: readonly string[],
  options: SharedSolveOptions,
  io: CliIo,
): Promise<0 | 1> {
  if (!/^rediss?:\/\//.test(options.storage))
    throw usageError(`arqon solve: --storage must be a redis:// or rediss:// URL, got ${options.storage}`);
  if (options.study === undefined) throw usageError("arqon solve: --storage needs --study <name>");
  if (options.configPath === undefined) throw usageError("arqon solve: --config is required");
  const config = loadValidConfig(io.cwd, options.configPath);
  if (config.pruner !== undefined) {
    // A pruner judges each report against the others' as they arrive; the shared journal does
    // not carry reports yet, so every worker would judge against a different history.
    throw usageError("arqon solve: pruning (the config's pruner) is not supported with --storage yet");
  }
  const problem = variableProblems(config.bounds);
  if (problem !== undefined) throw usageError(`arqon solve: ${problem}`);
  let study: SharedStudy;
  try {
    study = await openSharedStudy(config, { redis: options.storage, study: options.study });
  } catch (error) {
    const message = `arqon solve: ${error instanceof Error ? error.message : String(error)}`;
    // A refused study (other config, bad name) is the caller's to fix; a Redis failure is not.
    throw error instanceof UsageError || error instanceof ConfigError
      ? usageError(message)
      : runtimeError(message);
  }
  try {
    return await runWorker(study, command, options, io);
  } finally {
    await study.close();
  }
}

async function runWorker(
  study: SharedStudy,
  command: readonly string[],
  options: SharedSolveOptions,
  io: CliIo,
): Promise<0 | 1> {
  const names = Object.keys(study.config.bounds);
  const runTrial = async (trial: Trial): Promise<Outcome> => {
    try {
      const reading = await runObjectiveCommand({
        command,
        cwd: io.cwd,
        env: objectiveEnvironment(io.env, names, trial),
        onStderr: io.stderr,
      });
      return { trial, reading };
    } catch (error) {
      return { trial, fatal: error };
    }
  };
  const running = new Map<number, Promise<Outcome>>();
  const failures: { id: number; params: Record<string, ParamValue>; error: string }[] = [];
  let evaluations = 0;
  let stopReason: string | undefined;
  let fatal: unknown;
  let finished = false;
  let waits = 0;
  for (;;) {
    while (
      stopReason === undefined &&
      fatal === undefined &&
      !finished &&
      running.size < options.concurrency
    ) {
      const batch = await study.ask({ max: options.concurrency - running.size });
      if (batch === null) finished = true;
      if (batch === null || batch.length === 0) break;
      waits = 0;
      for (const trial of batch) running.set(trial.id, runTrial(trial));
    }
    if (running.size === 0) {
      if (finished || stopReason !== undefined || fatal !== undefined) break;
      // Other workers hold the trials the study waits for: ask again shortly.
      await delay(POLL_MS * 2 ** Math.min(waits++, 4));
      continue;
    }
    const outcome = await Promise.race(running.values());
    running.delete(outcome.trial.id);
    const { trial } = outcome;
    if ("fatal" in outcome) {
      fatal ??= outcome.fatal;
      continue;
    }
    if (outcome.reading.ok) {
      await study.tell({ id: trial.id, value: outcome.reading.value });
      evaluations++;
      io.stderr(
        `trial ${trial.id}: ${formatValue(outcome.reading.value)} (study ${study.asked}/${study.config.budget} asked)\n`,
      );
    } else {
      const reason = outcome.reading.reason;
      failures.push({ id: trial.id, params: { ...trial.params }, error: reason });
      io.stderr(`trial ${trial.id} failed: ${reason}\n`);
      if (options.onError === "skip") await study.fail(trial.id, reason);
      else stopReason ??= `trial ${trial.id} failed (${reason}); stopped`;
    }
  }
  if (fatal !== undefined) throw fatal instanceof CliError ? fatal : runtimeError(String(fatal));
  await study.refresh();
  // Other workers may still be evaluating the study's last trials: their results can beat ours.
  const settleBy = Date.now() + SETTLE_MS;
  waits = 0;
  while (finished && study.pendingTrials().length > 0 && Date.now() < settleBy) {
    await delay(POLL_MS * 2 ** Math.min(waits++, 4));
    await study.refresh();
  }
  const best = study.best();
  const pending = study.pendingTrials().length;
  io.stdout(
    `${JSON.stringify({ best, evaluations, failures, stopped: stopReason !== undefined, pending })}\n`,
  );
  if (stopReason !== undefined) {
    io.stderr(
      `arqon solve: ${stopReason}; trial ${failures.at(-1)?.id} stays pending in study ${study.name}\n`,
    );
    return 1;
  }
  if (best === null) {
    io.stderr("arqon solve: no trial produced a value\n");
    return 1;
  }
  io.stderr(`done: study ${study.name}, ${study.asked} trials asked, ${study.told} told\n`);
  return 0;
}
