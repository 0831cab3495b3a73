import { setMaxListeners } from "node:events";
import { setTimeout as delay } from "node:timers/promises";
import { ResultsRejectedError, UsageError } from "../errors.js";
import type { Trial } from "../solver/solver.js";
import type { ParamValue } from "../space/params.js";
import { failStale } from "../study/fail-stale.js";
import { JournalError } from "../study/journal.js";
import {
  askRecovering,
  isRedisFailure,
  recordResult,
  resultText,
  type StudyResult,
  unrecordedMessage,
  whileRedisFails,
} from "../study/record-result.js";
import type { SharedStudy } from "../study/shared-study.js";
import { StallWatch } from "../study/stall-watch.js";
import { withoutPassword } from "../study/without-password.js";
import { CliError, oneLine, runtimeError, usageError } from "./cli-error.js";
import { objectiveEnvironment, variableProblems } from "./env-names.js";
import type { CliIo } from "./io.js";
import { type ObjectiveReading, readReport, unreadReport } from "./objective-output.js";
import { countUntold, describeInterrupt } from "./progress.js";
import { ReportForwarder } from "./report-forwarder.js";
import { runObjectiveCommand } from "./run-command.js";
import { checkSharedStudyFlags, newStudyNote, openStudyForCli } from "./shared-study-open.js";
import { type SolveExit, SolveInterrupts } from "./solve-interrupt.js";
import { everySecond, SolveProgress } from "./solve-progress.js";
import { TrialStderr } from "./trial-stderr.js";
import { loadValidConfig } from "./validate.js";

/** What `arqon solve --storage redis://…` needs besides the objective command. */
export interface SharedSolveOptions {
  readonly storage: string;
  readonly study: string | undefined;
  readonly configPath: string | undefined;
  readonly concurrency: number;
  readonly onError: "stop" | "skip";
  /** `--quiet`: only failed trials and errors on stderr. */
  readonly quiet: boolean;
  /**
   * `--stall-ms`: how long to keep asking a study that can propose nothing and does not move, in
   * ms, and, once the budget is spent, to wait for the others' last results unmoved (that wait
   * then ends without failing). Absent, the worker waits as long as it takes (a slow study is not
   * a stuck one), and at the end {@link SETTLE_MS}.
   */
  readonly stallMs?: number | undefined;
  /** `--heartbeat-ms`: how often this worker beats (default {@link HEARTBEAT_MS}; 0 for none). */
  readonly heartbeatMs?: number | undefined;
  /** `--trial-timeout-ms`: a command running longer is stopped and its trial failed. */
  readonly trialTimeoutMs?: number | undefined;
  /** How long to keep trying a result Redis refuses, in ms (default {@link RETRY_MS}). */
  readonly retryMs?: number;
  /** `--timeout-ms`: how long Redis may take to connect and to answer a command (default 5000). */
  readonly timeoutMs?: number | undefined;
}

type Outcome =
  | { readonly trial: Trial; readonly reading: ObjectiveReading }
  | { readonly trial: Trial; readonly pruned: true }
  | { readonly trial: Trial; readonly fatal: unknown };

/** How long to wait before asking again when the study waits for other workers' results (ms). */
const POLL_MS = 25;
/**
 * Once the budget is spent, how long a worker waits for the other workers' last results before it
 * prints the study's best (a worker that died leaves its trial pending; `pending` then says so).
 */
const SETTLE_MS = 60_000;
/** How long a result Redis refuses is tried again (a Redis restart must not lose a value). */
const RETRY_MS = 60_000;
/**
 * How often a worker beats by default (ms): a worker killed holding a trial is judged dead some
 * 30 s after its last beat by a worker that waits for it, and a beat every 10 s costs Redis nothing.
 */
const HEARTBEAT_MS = 10_000;

/**
 * `arqon solve --storage redis://host:port --study NAME`: this process becomes one worker of a shared
 * study (`arqon/study`). Run the same command on other machines to share the budget; each prints
 * the study's best point when the budget is spent.
 *
 * @remarks
 * Trials are reserved in the Redis journal, so no trial is run by two workers; the study, not a
 * state file, is what survives a kill (`--state` is refused). A failed trial is marked failed in
 * the study; under `--on-error stop` this worker then stops, under `skip` it goes on.
 *
 * Progress and Ctrl-C work as for a local `arqon solve`, except that a trial the interrupt stopped
 * is marked failed in the study rather than left pending: nobody would resume it, and the other
 * workers would wait for its result until they give up.
 *
 * A result Redis refuses is tried again for up to 60 s, or until a second Ctrl-C or a SIGTERM; one
 * it still refuses, or one the study's journal went away under (deleted, lost in a Redis restart)
 * or holds an entry this arqon cannot replay, stops the worker, which prints the JSON of the study
 * as it last read it and names the values it could not record (exit 1, or the interrupted exit
 * code when a signal gave up the tries). So does a Redis failure
 * while it asks or waits for the other workers' last results. A result the study refuses because
 * its trial was already told or failed (by another worker, or `study.fail` as the stall message
 * advises) stops nothing: the worker goes on and names it after the JSON. With `--stall-ms`, when
 * the study can propose nothing until other workers' pending trials are told and nothing moved for
 * that long (the worker holding them died?), the worker stops and names them (exit 1). Results
 * not recorded are named even when the objective command cannot be started.
 */
export async function solveShared(
  command: readonly string[],
  options: SharedSolveOptions,
  io: CliIo,
): Promise<SolveExit> {
  checkSharedStudyFlags("solve", options);
  if (options.configPath === undefined) throw usageError("arqon solve: --config is required");
  const config = loadValidConfig(io.cwd, options.configPath);
  const problem = variableProblems(config.bounds);
  if (problem !== undefined) throw usageError(`arqon solve: ${problem}`);
  const study = await openStudyForCli("solve", config, {
    ...options,
    heartbeatMs: options.heartbeatMs ?? HEARTBEAT_MS,
  });
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
): Promise<SolveExit> {
  const names = Object.keys(study.config.bounds);
  const progress = new SolveProgress(
    {
      write: io.stderr,
      terminal: io.stderrIsTerminal === true,
      quiet: options.quiet,
      now: io.now ?? (() => performance.now()),
      tick: everySecond,
    },
    study,
  );
  // Begun or joined: a misspelt name, or a finished study's name reused, shows here.
  const { asked, told, name } = study;
  const budget = study.config.budget;
  // Begun is said even under --quiet: a misspelt study name in a quiet job shows nowhere else.
  if (study.created) progress.notice(newStudyNote(name, budget));
  else
    progress.note(
      `joined study ${name}: ${asked} of ${budget} trials asked, ${told} told${asked >= budget ? " (its budget is spent)" : ""}`,
    );
  const running = new Map<number, Promise<Outcome>>();
  const interrupts = new SolveInterrupts(
    progress,
    () => running.size,
    "the study marks them failed",
    io.now ?? (() => performance.now()),
  );
  const retryMs = options.retryMs ?? RETRY_MS;
  /** Set while Redis fails reports: later ones get one try each until one is recorded. */
  let reportsFailing = false;
  const runTrial = async (trial: Trial): Promise<Outcome> => {
    const stderr = new TrialStderr(trial.id, options.concurrency > 1, (text) => progress.passthrough(text));
    const reports = new ReportForwarder(study, trial.id, {
      retryMs: () => (reportsFailing ? 0 : retryMs),
      giveUp: giveUp.signal,
      aborted: interrupts.abortSignal,
      onRetry: (error) =>
        progress.passthrough(
          `arqon solve: Redis failed to record an intermediate value of trial ${trial.id} (${messageOf(error)}); ` +
            `trying again for up to ${retryMs / 1000} s\n`,
        ),
      onLost: (error, stopped) =>
        progress.passthrough(
          `arqon solve: could not record an intermediate value of trial ${trial.id} in study ${study.name} ` +
            `(${messageOf(error)}); ${stopped ? "the trial is stopped: nothing of it can be recorded" : "the trial runs to its end without the pruner's verdict"}\n`,
        ),
      onRecorded: (recorded) => {
        reportsFailing = !recorded;
      },
    });
    // Intermediate values are journaled for the pruner only: without one, every worker would read
    // them for nothing.
    const onLine =
      study.config.pruner === undefined
        ? undefined
        : (line: string) => {
            const read = readReport(line);
            if (read === undefined) {
              const why = unreadReport(line);
              if (why !== undefined) progress.unreadReport(trial.id, line, why);
              return;
            }
            reports.line(line, read.step, read.value);
          };
    try {
      const read = await runObjectiveCommand({
        command,
        cwd: io.cwd,
        env: objectiveEnvironment(io.env, names, trial),
        onStderr: stderr.take,
        signal: interrupts.abortSignal,
        forceSignal: interrupts.killSignal,
        onLine,
        stopSignal: reports.stop.signal,
        timeoutMs: options.trialTimeoutMs,
      });
      // Its reports are in the journal before its result.
      await reports.settled();
      const reading = await interrupts.classify(read);
      // A refused report fails the trial even if the command went on to print a value.
      if (reports.refused !== undefined) return { trial, reading: { ok: false, reason: reports.refused } };
      // Its study's journal went away, or cannot be replayed: its result is refused as the error says.
      if (reports.journalGone !== undefined && !reading.ok) {
        const why = reports.journalGone.replaced
          ? "the study's journal went away"
          : "the study's journal holds an entry this arqon cannot replay";
        return { trial, reading: { ok: false, reason: `stopped: ${why}` } };
      }
      if (reading.ok || reading.stopped !== true) return { trial, reading };
      return { trial, pruned: true };
    } catch (error) {
      return { trial, fatal: error };
    } finally {
      stderr.end();
    }
  };
  /**
   * Ends a result's tries while Redis fails: aborted by the second Ctrl-C or a SIGTERM or SIGHUP,
   * as the running trials are, but also when none runs (the trial being recorded no longer does).
   */
  const giveUp = new AbortController();
  // Every result being recorded listens to it, so more than ten at once is no leak.
  setMaxListeners(0, giveUp.signal);
  /** Ends the tries of a read (an ask, the final wait's) at the first interrupt: no trial is asked. */
  const stopReading = new AbortController();
  const unsubscribe =
    io.onInterrupt?.((signal) => {
      interrupts.interrupt(signal);
      stopReading.abort();
      if (interrupts.interruptions >= 2) giveUp.abort();
    }) ?? (() => {});
  try {
    return await loop();
  } finally {
    unsubscribe();
    progress.finish();
  }

  async function loop(): Promise<SolveExit> {
    const failures: { id: number; params: Record<string, ParamValue>; error: string }[] = [];
    let evaluations = 0;
    // Failures the study recorded, which count against its budget.
    let failuresRecorded = 0;
    let pruned = 0;
    /** Trials the interrupt stopped, marked failed in the study. */
    let interrupted = 0;
    let stopReason: string | undefined;
    /** Whether the trial that stopped the worker was marked failed in the study. */
    let stopRecorded = false;
    let fatal: unknown;
    let finished = false;
    let waits = 0;
    // The worker's own clock: the study not moving is measured in its time, not the wall's.
    const stall =
      options.stallMs === undefined
        ? undefined
        : new StallWatch(options.stallMs, io.now ?? (() => performance.now()));
    /** Trials the study waited for, unmoved, for `stallMs`: this worker stopped asking. */
    let stuck: number[] = [];
    /**
     * Results not recorded: Redis refused them for `retryMs` (or until the tries were given up), or
     * the study's journal went away or cannot be replayed.
     */
    const unrecorded: StudyResult[] = [];
    /** Redis's error once it refused a result for `retryMs`, or until the tries were given up. */
    let redisError: unknown;
    /** Whether that first result's tries ended by an interrupt rather than after `retryMs`. */
    let redisGivenUp = false;
    /**
     * The study's journal was deleted or replaced, or holds an entry this arqon cannot replay:
     * nothing more can be recorded in it.
     */
    let journalError: JournalError | undefined;
    /** Results the study refused, their trial already told or failed there: kept, to be named. */
    const refused: { readonly result: StudyResult; readonly error: UsageError }[] = [];
    /** Redis failed a read of the study (an ask, a refresh): this worker stopped asking. */
    let readError: unknown;
    const lost = () => redisError !== undefined || journalError !== undefined;
    const failed = () => lost() || readError !== undefined;
    /** Records `result`, trying again while Redis fails; false (kept in `unrecorded`) if it gave up. */
    const record = async (result: StudyResult): Promise<boolean> => {
      try {
        await recordResult(study, result, {
          // Once one result was given up on, Redis has failed for `retryMs`: the others get one try.
          retryMs: lost() ? 0 : retryMs,
          onRetry: (error) =>
            progress.passthrough(
              `arqon solve: Redis failed to record trial ${result.id} (${messageOf(error)}); ` +
                `trying again for up to ${retryMs / 1000} s\n`,
            ),
          signal: giveUp.signal,
        });
        return true;
      } catch (error) {
        if (error instanceof UsageError) {
          // Told or failed elsewhere first (another worker, study.fail): the others can still be
          // asked and recorded, so the worker goes on.
          refused.push({ result, error });
          return false;
        }
        if (error instanceof JournalError) journalError ??= error;
        else if (redisError === undefined) {
          redisError = error;
          redisGivenUp = giveUp.signal.aborted;
        }
        unrecorded.push(result);
        return false;
      }
    };
    /** The lines naming the results not recorded, and why. */
    const notRecorded = (): string[] => {
      const said: string[] = [];
      if (refused.length > 0) said.push(refusedMessage(study.name, refused));
      if (journalError !== undefined) said.push(journalMessage(study.name, unrecorded, journalError));
      else if (redisError !== undefined)
        said.push(unrecordedMessage(study.name, unrecorded, retryMs, redisError, { aborted: redisGivenUp }));
      return said.map((line) => `arqon solve: ${line}\n`);
    };
    /** "<lead> trials 3, 4 are told (held by worker W)": what a wait waits for. */
    const waitingFor = (lead: string): string => {
      const ids = study.pendingTrials().map((t) => t.id);
      const one = ids.length === 1;
      const holders = workersText(ids.map((id) => study.heldBy(id)));
      return `${lead} ${one ? "trial" : "trials"} ${ids.join(", ")} ${one ? "is" : "are"} told${holders === undefined ? "" : ` (held by ${holders})`}`;
    };
    /** Says which trials this worker marked failed because their worker stopped beating. */
    const noteStale = (ids: readonly number[] | undefined): void => {
      if (ids === undefined || ids.length === 0) return;
      const one = ids.length === 1;
      progress.note(
        `${one ? "trial" : "trials"} ${ids.join(", ")} marked failed in study ${study.name}: ` +
          `${one ? "the worker holding it" : "the workers holding them"} stopped beating`,
      );
    };
    /** Whether a read failing now has said it is trying again (once per outage). */
    let readRetrying = false;
    /**
     * `operation` (an ask, a refresh), tried again while Redis fails for up to `retryMs` (a Redis
     * restart or failover is no reason to stop a worker), as results are; `undefined` when Redis
     * failed it that long, an interrupt ended the tries, or the journal went away.
     */
    const read = async <T>(
      what: string,
      operation: () => Promise<T>,
      retryFor = retryMs,
    ): Promise<T | undefined> => {
      try {
        const result = await whileRedisFails(
          {
            retryMs: retryFor,
            signal: stopReading.signal,
            onRetry: (error) => {
              if (readRetrying) return;
              readRetrying = true;
              progress.passthrough(
                `arqon solve: Redis failed ${what} (${messageOf(error)}); trying again for up to ${retryMs / 1000} s\n`,
              );
            },
          },
          operation,
        );
        readRetrying = false;
        return result;
      } catch (error) {
        // Escaping, it would lose the running trials' values and the JSON: the worker stops instead.
        if (error instanceof JournalError) journalError ??= error;
        // Given up on by an interrupt: the interrupt, not Redis, ends the run.
        else if (isRedisFailure(error)) readError ??= stopReading.signal.aborted ? undefined : error;
        else throw error;
        return undefined;
      }
    };
    /** The study's budget when an ask found it spent: a larger one later means it grew. */
    let spentAt = Number.POSITIVE_INFINITY;
    for (;;) {
      for (;;) {
        while (
          !interrupts.stopAsking &&
          stopReason === undefined &&
          fatal === undefined &&
          !failed() &&
          !finished &&
          running.size < options.concurrency
        ) {
          const batch = await read(`an ask of study ${study.name}`, () =>
            askRecovering(study, { retryMs: 0 }, options.concurrency - running.size),
          );
          if (batch === undefined) break;
          if (batch === null) {
            finished = true;
            spentAt = study.config.budget;
          }
          if (batch === null || batch.length === 0) break;
          waits = 0;
          stall?.reset();
          for (const trial of batch) {
            if (interrupts.stopAsking) {
              // Ctrl-C came while the ask was on its way: the trial is reserved but must not start.
              const reason = `interrupted by ${interrupts.cause}`;
              if (await record({ id: trial.id, reason, cancelled: true })) interrupted++;
              continue;
            }
            running.set(trial.id, runTrial(trial));
            progress.started();
          }
        }
        if (running.size === 0) {
          if (
            finished ||
            interrupts.stopAsking ||
            stopReason !== undefined ||
            fatal !== undefined ||
            failed()
          )
            break;
          // A worker that died holding the trials the study waits for would hold this one for ever:
          // its trials are failed once its heartbeat stopped (a Redis failure here is the next ask's).
          const freed = await failStale(study);
          noteStale(freed);
          // Trials freed: the study may propose at once.
          if (freed.length > 0) continue;
          if (stall?.stalled(study) === true) {
            stuck = study.pendingTrials().map((t) => t.id);
            break;
          }
          // Other workers hold the trials the study waits for: ask again shortly. Said once per
          // wait, so that a long one is not a silent one (nothing is said of a wait already over).
          if (waits === 0 && study.pendingTrials().length > 0)
            progress.note(`waiting: ${waitingFor("the study can propose no trial until")}`);
          await delay(POLL_MS * 2 ** Math.min(waits++, 4));
          continue;
        }
        const outcome = await Promise.race(running.values());
        running.delete(outcome.trial.id);
        const { trial } = outcome;
        if ("fatal" in outcome) {
          fatal ??= outcome.fatal;
          // The command could not run (a typo in its name, say): failed and cancelled, since left
          // pending it would hold every worker, this command run again too, for good.
          await record({
            id: trial.id,
            reason: `not run: ${messageOf(outcome.fatal).replace(/^arqon solve: /, "")}`,
            cancelled: true,
          });
          continue;
        }
        if ("pruned" in outcome) {
          if (await record({ id: trial.id, pruned: true })) {
            pruned++;
            progress.finished(trial.id, { pruned: true });
          }
          continue;
        }
        if (outcome.reading.ok) {
          const { value } = outcome.reading;
          if (await record({ id: trial.id, value })) progress.finished(trial.id, { value });
          // Evaluated all the same when the study refused the value (as runSharedStudy's
          // `evaluated` counts it: the study kept what it recorded first) or Redis lost it: the
          // value is named after the JSON either way.
          evaluations++;
        } else if (
          interrupts.caused(outcome.reading) &&
          (outcome.reading.interrupted === true || interrupts.abortSignal.aborted)
        ) {
          // Pending, it would hold every other worker for the settle time at the end.
          const reason = `interrupted by ${interrupts.cause}`;
          if (await record({ id: trial.id, reason, cancelled: true })) interrupted++;
        } else {
          // A failure of its own, even one that ends while Ctrl-C lets the running trials finish.
          const reason = outcome.reading.reason;
          failures.push({ id: trial.id, params: { ...trial.params }, error: reason });
          progress.finished(trial.id, { failure: reason });
          // Failed in the study, whatever --on-error says: no run of any worker resumes a trial of
          // another, and left pending it held every worker (this command run again too) for good.
          const recorded = await record({ id: trial.id, reason });
          if (recorded) failuresRecorded++;
          if (options.onError === "stop" && !interrupts.stopAsking && stopReason === undefined) {
            stopReason = `trial ${trial.id} failed (${reason}); stopped`;
            stopRecorded = recorded;
          }
        }
      }
      if (fatal !== undefined) {
        // The error says why the worker stopped; the values it could not record must not go with it.
        progress.finish();
        for (const line of notRecorded()) io.stderr(line);
        throw fatal instanceof CliError ? fatal : runtimeError(String(fatal));
      }
      // Redis failing or the journal gone, the study is reported as this worker last read it.
      if (!failed()) await read(`a read of study ${study.name}`, () => study.refresh());
      // Other workers may still be evaluating the study's last trials: their results can beat ours.
      // With --stall-ms, the wait ends as the ask loop's does: once nothing moved for that long.
      const settleBy = stall === undefined ? Date.now() + SETTLE_MS : Number.POSITIVE_INFINITY;
      const grew = () => study.config.budget > spentAt;
      waits = 0;
      stall?.reset();
      if (finished && !failed() && !interrupts.stopAsking && study.pendingTrials().length > 0) {
        const bound = stall === undefined ? `up to ${SETTLE_MS / 1000} s` : "while the study moves";
        progress.note(`budget spent: waiting ${bound}, as ${waitingFor("the study is over once")}`);
      }
      while (
        finished &&
        !failed() &&
        !interrupts.stopAsking &&
        study.pendingTrials().length > 0 &&
        Date.now() < settleBy
      ) {
        // A trial that runs longer than the bound is no failure of this worker: it ends its wait,
        // and its done line names the trials still pending.
        if (stall?.stalled(study) === true) break;
        await delay(POLL_MS * 2 ** Math.min(waits++, 4));
        // Reads the journal, as refresh() would, and fails the trials of workers that stopped beating.
        // Tried again no longer than the wait lasts: the note said how long that is.
        const left = Math.max(0, settleBy - Date.now());
        noteStale(
          await read(`a read of study ${study.name}`, () => study.failStaleTrials(), Math.min(retryMs, left)),
        );
        if (grew()) break;
      }
      // Another worker grew the study (growBudget, or a larger --config) while this one waited for
      // the last trials: it asks again.
      if (
        finished &&
        grew() &&
        !failed() &&
        !interrupts.stopAsking &&
        stopReason === undefined &&
        stuck.length === 0
      ) {
        progress.note(`study ${study.name} grown to ${study.config.budget} trials: asking again`);
        finished = false;
        continue;
      }
      break;
    }
    progress.finish();
    const best = study.best();
    // Other workers' trials: this one's own, left unrecorded, are named after the JSON.
    const pending = study.pendingTrials().filter((t) => !unrecorded.some((r) => r.id === t.id)).length;
    // A read that failed once the budget was spent stopped nothing: only the wait for the others.
    const stopped =
      stopReason !== undefined ||
      interrupts.stopAsking ||
      lost() ||
      (readError !== undefined && !finished) ||
      stuck.length > 0;
    const summary = {
      best,
      evaluations,
      pruned,
      failures,
      stopped,
      interrupted: interrupts.stopAsking,
      pending,
    };
    io.stdout(`${JSON.stringify(summary)}\n`);
    for (const line of notRecorded()) io.stderr(line);
    // Given up on by an interrupt, the worker exits as an interrupted one does (130, 143, 129).
    if (lost()) return redisError !== undefined && redisGivenUp ? interrupts.exitCode : 1;
    if (readError !== undefined) {
      io.stderr(`arqon solve: ${readFailedMessage(study.name, finished, readError, retryMs)}\n`);
      return 1;
    }
    if (interrupts.stopAsking) {
      const unfinished = interrupted > 0 ? `${interrupted} marked failed in the study` : undefined;
      const next = `study ${study.name} keeps every result: run the same command again to join it and go on`;
      io.stderr(`${describeInterrupt(study, evaluations + pruned + failuresRecorded, unfinished, next)}\n`);
      return interrupts.exitCode;
    }
    if (stopReason !== undefined) {
      io.stderr(
        `arqon solve: ${stopReason}${stopRecorded ? `; it is marked failed in study ${study.name}, which the same command run again joins and goes on with` : ""}\n`,
      );
      return 1;
    }
    if (stuck.length > 0) {
      const holders = stuck.map((id) => study.heldBy(id));
      io.stderr(`arqon solve: ${stuckMessage(study.name, stuck, holders, options)}\n`);
      return 1;
    }
    if (best === null) {
      io.stderr("arqon solve: no trial produced a value\n");
      return 1;
    }
    const pendingIds = study.pendingTrials().map((t) => t.id);
    const holders = workersText(pendingIds.map((id) => study.heldBy(id)));
    const oneWorker = holders?.startsWith("worker ") === true;
    const held =
      pending === 0
        ? ""
        : `, ${pending === 1 ? "trial" : "trials"} ${pendingIds.join(", ")} still pending (held by ` +
          `${holders ?? "other workers"}; if ${oneWorker ? "it" : "one"} died, ` +
          `mark ${pending === 1 ? "it" : "them"} failed with ${failCommand(study.name, pendingIds, options)})`;
    const counts = countUntold(study);
    const untold =
      (counts.pruned > 0 ? `, ${counts.pruned} pruned` : "") +
      (counts.failed > 0 ? `, ${counts.failed} failed` : "");
    progress.note(
      `done: study ${study.name}, ${study.asked} trials asked, ${study.told} told${untold}${held}`,
    );
    return 0;
  }
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/**
 * Why a worker stopped asking while the study waits for `stuck` (held by `holders`, in the same
 * order, as `heldBy` names them), and how to go on.
 */
export function stuckMessage(
  study: string,
  stuck: readonly number[],
  holders: readonly (string | undefined)[],
  options: SharedSolveOptions,
): string {
  const one = stuck.length === 1;
  const trials = `${one ? "trial" : "trials"} ${stuck.join(", ")}`;
  const named = workersText(holders);
  const died =
    named === undefined
      ? `did the worker holding ${one ? "it" : "them"} die?`
      : `held by ${named}: did ${named.startsWith("workers ") ? "one" : "it"} die?`;
  return (
    `study ${study} can propose no trial until ${trials} ${one ? "is" : "are"} told, and nothing moved for ${options.stallMs! / 1000} s (${died}); mark ${one ? "it" : "them"} failed with ` +
    `${failCommand(study, stuck, options)} (or study.fail of arqon/study), or run the same command ` +
    "again to wait longer"
  );
}

/**
 * "worker a" or "workers a, b": the distinct workers of `holders`, the machine and process to look
 * at; undefined when none is known.
 */
function workersText(holders: readonly (string | undefined)[]): string | undefined {
  const names = [...new Set(holders.filter((name) => name !== undefined))];
  if (names.length === 0) return undefined;
  return `${names.length === 1 ? "worker" : "workers"} ${names.join(", ")}`;
}

/** The shell command that marks `ids` failed in the study, as a worker that died leaves them. */
function failCommand(study: string, ids: readonly number[], options: SharedSolveOptions): string {
  const results = JSON.stringify(ids.map((id) => ({ id, failed: "worker died" })));
  // `--flag=value`: a value that starts with a dash is refused as a separate word. The password is
  // not printed: where it was, the command says where to put it.
  const storage = withoutPassword(options.storage).replaceAll("***", "<password>");
  const tell = [
    "arqon tell",
    shellWord(`--storage=${storage}`),
    shellWord(`--study=${study}`),
    shellWord(`--config=${options.configPath ?? "<config.json>"}`),
  ].join(" ");
  return `echo ${shellWord(results)} | ${tell}`;
}

/** `text` as one shell word: as it is when that is safe, else in single quotes. */
function shellWord(text: string): string {
  return /^[\w@%+=:,./-]+$/.test(text) ? text : `'${text.replaceAll("'", `'\\''`)}'`;
}

/**
 * Why nothing more could be recorded in a study whose journal went away or holds an entry this
 * arqon cannot replay, and what was not recorded.
 */
function journalMessage(study: string, results: readonly StudyResult[], error: JournalError): string {
  const one = results.length === 1;
  if (!error.replaced) {
    // The study is still there, and may be readable by another arqon: its values are not "in no study".
    const why = `its journal holds an entry this arqon cannot replay (${oneLine(error.message)})`;
    if (results.length === 0) return `study ${study}: ${why}; this worker stopped`;
    return (
      `could not record ${resultText(...results)} in study ${study}: ${why}; this worker stopped, ` +
      `and the study does not hold ${one ? "this result" : "these results"}`
    );
  }
  // The journal's own account (deleted or replaced, which entries), without its advice to a library user.
  const why = error.message.replace(`study ${study}: `, "").replace(/; open the study again.*$/, "");
  const next = "running the same command again joins the study the journal holds now";
  if (results.length === 0) return `study ${study}: ${why}; ${next}`;
  return (
    `could not record ${resultText(...results)} in study ${study}: ${why}; ` +
    `${one ? "the value is" : "the values are"} in no study now: ${next}`
  );
}

/** Why a worker stopped after Redis failed an ask or a refresh, every result it had being recorded. */
function readFailedMessage(study: string, finished: boolean, error: unknown, retryMs: number): string {
  return finished
    ? `could not read the other workers' last results in study ${study}: Redis failed for ${retryMs / 1000} s (${messageOf(error)}); ` +
        "the JSON is the study as this worker last read it"
    : `could not ask study ${study} for a trial: Redis failed for ${retryMs / 1000} s (${messageOf(error)}); this worker stopped, ` +
        "its results are recorded: run the same command again to go on";
}

/** Why results were not recorded: the study had their trials told or failed already. */
function refusedMessage(
  study: string,
  refused: readonly { readonly result: StudyResult; readonly error: UsageError }[],
): string {
  // The solver's refusal ("trial 3 was already marked failed") without its lead-in and field name.
  const why = refused
    .map(({ error }) =>
      error instanceof ResultsRejectedError
        ? error.issues.map((issue) => issue.message).join("; ")
        : oneLine(error.message).replace(/^fail: /, ""),
    )
    .join("; ");
  const one = refused.length === 1;
  return (
    `could not record ${resultText(...refused.map((r) => r.result))} in study ${study}: already told or ` +
    `failed in the study (${why}); the study keeps what it recorded first, not ${one ? "this result" : "these results"}`
  );
}
