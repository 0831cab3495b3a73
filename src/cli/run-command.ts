import { spawn } from "node:child_process";
import { StringDecoder } from "node:string_decoder";
import { stripVTControlCharacters } from "node:util";
import { usageError } from "./cli-error.js";
import { NO_SUCH_PROGRAM, NOT_EXECUTABLE } from "./find-program.js";
import type { ObjectiveReading } from "./objective-output.js";
import { LAST_LINE_MAX_CHARS, OutputTail } from "./output-tail.js";

/** Where and how to run an objective command. */
export interface CommandRun {
  /** The program and its arguments, run directly (no shell). */
  readonly command: readonly string[];
  readonly cwd: string;
  /** The complete environment of the command. */
  readonly env: Readonly<Record<string, string | undefined>>;
  /** Receives the command's standard error as it arrives (it is the command's own log). */
  readonly onStderr: (text: string) => void;
  /** Aborting it kills the command (SIGTERM); the reading is then a failure marked `interrupted`. */
  readonly signal?: AbortSignal | undefined;
  /** Aborting it kills the command with SIGKILL, for a command that ignores SIGTERM. */
  readonly forceSignal?: AbortSignal | undefined;
  /** Receives each complete line of standard output as it arrives (without its line break). */
  readonly onLine?: ((line: string) => void) | undefined;
  /**
   * Aborting it stops the command early (a pruned trial): SIGTERM, then SIGKILL once
   * `stopGraceMs` have passed. A stop that lands in a piece of a longer output (a full read, or
   * one ending mid-line) first waits for it to pause for `quietMs`; one on whole lines waits
   * `quietMs` once (a final value printed just after the report stopped at is read with it, so the
   * trial's fate does not turn on which came first), and one before any output decides at once.
   * A command whose output then
   * ends in a value (not a report) gets the rest of `exitWindowMs`, counted from the stop, to
   * exit on its own, unless it prints again after a pause of `quietMs` (what ended in a number was
   * a log line; more output at once is more of the same write). The reading is
   * then a failure marked `stopped`, unless the command exits on its own before the SIGTERM, with
   * 0 and a value: it had finished (its output was only read late), so the reading is that value
   * and the lines held back since the stop go to `onLine` first. Once the SIGTERM is sent, the
   * trial is stopped whatever the exit.
   */
  readonly stopSignal?: AbortSignal | undefined;
  /** How long a stopped command has to exit after SIGTERM before SIGKILL (default 5000 ms). */
  readonly stopGraceMs?: number | undefined;
  /**
   * How long, from the stop, a stopped command whose output ends in a value (not a report) may
   * take to exit on its own before SIGTERM (default 1000 ms).
   */
  readonly exitWindowMs?: number | undefined;
  /**
   * The pause that tells a command at work from a final output read in several pieces, whose
   * pieces come at once (default 100 ms): a stop that lands in one waits for it before deciding,
   * and output after it ends the exit window.
   */
  readonly quietMs?: number | undefined;
  /**
   * How long the command may run, in ms: then it is stopped (SIGTERM, SIGKILL `stopGraceMs`
   * later) and the reading is a failure, `timed out after … s`, unless it had exited on its own.
   */
  readonly timeoutMs?: number | undefined;
}

/** Default time a stopped command gets to exit after SIGTERM. */
export const STOP_GRACE_MS = 5000;

/** Default time a stopped command whose output already ends in a value gets to exit on its own. */
export const EXIT_WINDOW_MS = 1000;

/**
 * Default pause that tells a command at work (it pauses for its steps) from a final output read
 * in several pieces, which reach arqon back to back.
 */
export const QUIET_MS = 100;

/** The most a read of a pipe takes at once (libuv's read buffer): a read this long left more. */
const FULL_READ_BYTES = 64 * 1024;

/**
 * How long after a command exits its output may still arrive from what it started, before that is
 * stopped (its process group): a second for a pipe's last reads.
 */
const LEFTOVER_MS = 1000;

/** How much of a command's stderr is kept to name why it failed (its last line). */
const STDERR_TAIL_CHARS = 4096;

/**
 * `: "<last non-empty line>"` of a failed command's stderr (a Python traceback ends with the
 * exception), or nothing when it wrote none.
 */
function lastLineOf(stderr: string): string {
  // A progress bar redraws its line after a \r: the last piece is what it showed last.
  const line = stripVTControlCharacters(stderr)
    .split(/[\r\n]+/)
    .map((l) => l.trim())
    .filter((l) => l !== "")
    .at(-1);
  if (line === undefined) return "";
  return `: ${JSON.stringify(line.length > 160 ? `${line.slice(0, 157)}...` : line)}`;
}

/** Whether each command runs in a process group of its own (POSIX; Windows has no such groups). */
const OWN_GROUP = process.platform !== "win32";

/** The process groups of the commands running now, killed if this process exits before them. */
const runningGroups = new Set<number>();

/**
 * Tracks a command's group until it closes. A group of its own is out of reach of a signal to
 * arqon's group, so an arqon that exits while commands run (an uncaught error, `process.exit`)
 * kills them on its way out rather than leave them running unseen.
 */
function trackGroup(pid: number): () => void {
  if (!process.listeners("exit").includes(killRunningGroups)) process.on("exit", killRunningGroups);
  runningGroups.add(pid);
  return () => runningGroups.delete(pid);
}

function killRunningGroups(): void {
  for (const pid of runningGroups) {
    try {
      process.kill(-pid, "SIGKILL");
    } catch {
      // Already gone.
    }
  }
}

/**
 * How much output a stopped command's held-back lines may take: a command that keeps printing
 * until SIGKILL must not exhaust memory. Past it, a command that still completes keeps its value
 * but not the lines beyond.
 */
const HELD_CHARS = 16 * 1024 * 1024;

/**
 * Runs one objective command to completion and reads its value (see `readObjective`, through {@link OutputTail}).
 *
 * @remarks
 * A non-zero exit, a kill by signal, or output without a final number resolves to a failed reading.
 * A command that cannot be started at all (not found, not executable) rejects with a usage error:
 * every other trial would fail the same way, so it is not a trial failure. Only the last 64 KiB of
 * standard output are kept, so a chatty command cannot exhaust memory. The command leads a process
 * group of its own (a terminal's Ctrl-C does not reach it; a stop reaches what it started). A
 * command killed by SIGINT (sent to it by name) or through `signal` is a failed reading marked
 * `interrupted`, so the caller can leave the trial pending instead of counting it as failed; one
 * killed by SIGTERM or SIGHUP says so in `killedBy` (see `SolveInterrupts.classify`). A
 * command stopped through `stopSignal` that exits on its own before the SIGTERM, with 0 and a value,
 * is a completed reading: its output may simply have been read only at its exit.
 */
export function runObjectiveCommand(run: CommandRun): Promise<ObjectiveReading> {
  const [program, ...args] = run.command;
  if (program === undefined) return Promise.reject(usageError("no objective command given after --"));
  return new Promise((resolve, reject) => {
    if (run.signal?.aborted === true) {
      resolve({ ok: false, reason: "aborted before it started", interrupted: true });
      return;
    }
    const child = spawn(program, args, {
      cwd: run.cwd,
      env: run.env,
      stdio: ["ignore", "pipe", "pipe"],
      // A process group of its own: a terminal's Ctrl-C reaches arqon alone, which lets the
      // trial finish (a command that caught it would print a partial value, taken for its
      // result); and a stop reaches what the command started (`sh -c`, a launcher's workers).
      detached: OWN_GROUP,
    });
    const untrack = OWN_GROUP && child.pid !== undefined ? trackGroup(child.pid) : () => {};
    /** Signals the command's process group (the command alone where there are no groups). */
    const signalCommand = (signal: NodeJS.Signals) => {
      if (OWN_GROUP && child.pid !== undefined) {
        try {
          process.kill(-child.pid, signal);
          return;
        } catch {
          // The group is gone (every member exited); the command itself is told below, harmlessly.
        }
      }
      child.kill(signal);
    };
    const forceKill = () => signalCommand("SIGKILL");
    run.forceSignal?.addEventListener("abort", forceKill, { once: true });
    const abort = () => {
      killSent = true;
      signalCommand("SIGTERM");
    };
    run.signal?.addEventListener("abort", abort, { once: true });
    const stdout = new OutputTail();
    let graceTimer: NodeJS.Timeout | undefined;
    let exitTimer: NodeJS.Timeout | undefined;
    /** Set once a kill was sent: a command that exits after it may only be obeying it. */
    let killSent = false;
    /** Whether the command exited before any kill: only then can a stopped command have finished. */
    let exitedOnItsOwn = false;
    let leftoverTimer: NodeJS.Timeout | undefined;
    child.on("exit", () => {
      exitedOnItsOwn = !killSent && run.signal?.aborted !== true && run.forceSignal?.aborted !== true;
      // What the command started may outlive it and hold its output open (`sleep 60 &`): the
      // trial would wait for it. Once the command's own output has had time to be read, its
      // group is stopped, then killed, and a pipe still held (a process that left the group) is
      // let go.
      leftoverTimer = setTimeout(() => {
        signalCommand("SIGTERM");
        leftoverTimer = setTimeout(() => {
          signalCommand("SIGKILL");
          child.stdout.destroy();
          child.stderr.destroy();
        }, run.stopGraceMs ?? STOP_GRACE_MS);
      }, LEFTOVER_MS);
    });
    const terminate = () => {
      // Already exited, its output still being read: nothing to stop, and it finished on its own.
      // Sent already (a timeout during a stop's wait): its grace timer runs.
      if (killSent || child.exitCode !== null || child.signalCode !== null) return;
      killSent = true;
      signalCommand("SIGTERM");
      graceTimer = setTimeout(forceKill, run.stopGraceMs ?? STOP_GRACE_MS);
      graceTimer.unref();
    };
    // Whether the last read filled the read buffer: then more of one write is waiting in the pipe.
    let lastReadFull = false;
    /** When the output before the one being read arrived: a piece of the same write comes at once. */
    let previousOutputAt = Number.NEGATIVE_INFINITY;
    const quietMs = run.quietMs ?? QUIET_MS;
    const exitWindowMs = run.exitWindowMs ?? EXIT_WINDOW_MS;
    let stoppedAt = 0;
    let quietTimer: NodeJS.Timeout | undefined;
    /** Set once the output read so far ends in a value: the command is given time to exit. */
    let awaitingExit = false;
    /** Set while a stop on whole lines waits `quietMs` before deciding: output meanwhile only accumulates. */
    let settling = false;
    const waitForQuiet = () => {
      clearTimeout(quietTimer);
      quietTimer = setTimeout(decide, quietMs);
      quietTimer.unref();
    };
    const decide = () => {
      // Output ending in its final line is a command that has finished and may be exiting:
      // SIGTERM would kill it in its exit and lose its value.
      const left = stoppedAt + exitWindowMs - performance.now();
      if (!endsWithValue(stdout) || left <= 0) terminate();
      else {
        awaitingExit = true;
        exitTimer = setTimeout(terminate, left);
        exitTimer.unref();
      }
    };
    const stop = () => {
      stoppedAt = performance.now();
      // A full read, or one ending mid-line, is a piece of a longer write (a final output read in
      // several pieces): the decision waits for the output to pause. Nothing yet: stopped at once.
      if (lastReadFull || (stdout.text !== "" && !stdout.text.endsWith("\n"))) waitForQuiet();
      else if (stdout.text === "") decide();
      else {
        // Whole lines that emptied the pipe, but the final value may be one write away (a last
        // report, then the value, printed one after the other): deciding now would make the
        // trial's fate a race between this read and that write. A fixed wait, not one for a
        // pause, so that a command printing every few ms is still stopped within it.
        settling = true;
        quietTimer = setTimeout(() => {
          settling = false;
          if (killSent) return;
          // Output that came meanwhile may have ended mid-line, or filled a read: wait for it to
          // pause, as a stop that lands in it does.
          if (lastReadFull || !stdout.text.endsWith("\n")) waitForQuiet();
          else decide();
        }, quietMs);
        quietTimer.unref();
      }
    };
    /** Output after a stop: more of one write, or, after a pause, a command still at work. */
    const outputAfterStop = (at: number) => {
      if (killSent || settling) return;
      if (awaitingExit) {
        // Printing again after a pause: what ended in a number was a log line ("epoch 3 loss
        // 0.52"), and the command is at work. Output that follows at once is more of the same
        // write (a buffered final output comes in pieces: Python's of 8 KiB, each whole lines).
        if (at - previousOutputAt < quietMs) return;
        clearTimeout(exitTimer);
        terminate();
      } else if (at - stoppedAt >= exitWindowMs) {
        // Printing without a pause for the whole window: not a final output being read.
        clearTimeout(quietTimer);
        terminate();
      } else waitForQuiet();
    };
    if (run.stopSignal?.aborted === true) stop();
    else run.stopSignal?.addEventListener("abort", stop, { once: true });
    let timedOut = false;
    const timeoutTimer =
      run.timeoutMs === undefined
        ? undefined
        : setTimeout(() => {
            timedOut = true;
            terminate();
          }, run.timeoutMs);
    const stopped = (): boolean => run.stopSignal?.aborted === true;
    /**
     * The line being received, for `onLine` (kept apart from the output's tail, which may cut
     * lines it does not need); `undefined` once it grew past the longest line kept, and is skipped.
     */
    let partial: string | undefined = "";
    /**
     * Lines that arrived after the stop: they matter only if the command turns out to have
     * finished anyway (e.g. block-buffered output all read at its exit).
     */
    const held: string[] = [];
    let heldChars = 0;
    const decoder = new StringDecoder("utf8");
    child.stdout.on("data", (bytes: Buffer) => {
      // Output that arrives after the stop (not the chunk whose report brought the stop about).
      const afterStop = stopped();
      const at = performance.now();
      lastReadFull = bytes.length >= FULL_READ_BYTES;
      const chunk = decoder.write(bytes);
      stdout.append(chunk);
      if (run.onLine !== undefined) {
        // Only the chunk is searched: a long line is not scanned again with each piece of it.
        let from = 0;
        for (let end = chunk.indexOf("\n"); end >= 0; end = chunk.indexOf("\n", from)) {
          const whole = partial === undefined ? undefined : partial + chunk.slice(from, end);
          partial = "";
          from = end + 1;
          if (whole === undefined) continue; // longer than any line read: no report
          const line = whole.endsWith("\r") ? whole.slice(0, -1) : whole;
          if (!stopped()) run.onLine(line);
          else if (heldChars + line.length <= HELD_CHARS) {
            held.push(line);
            heldChars += line.length;
          }
        }
        if (partial !== undefined) partial += chunk.slice(from);
        if (partial !== undefined && partial.length > LAST_LINE_MAX_CHARS) partial = undefined;
      }
      if (afterStop) outputAfterStop(at);
      previousOutputAt = at;
    });
    child.stderr.setEncoding("utf8");
    /** The end of what the command wrote on stderr: its last line says why it failed. */
    let stderrTail = "";
    child.stderr.on("data", (chunk: string) => {
      stderrTail = (stderrTail + chunk).slice(-STDERR_TAIL_CHARS);
      run.onStderr(chunk);
    });
    child.on("error", (error) => {
      clearTimeout(timeoutTimer);
      untrack();
      run.forceSignal?.removeEventListener("abort", forceKill);
      run.signal?.removeEventListener("abort", abort);
      run.stopSignal?.removeEventListener("abort", stop);
      reject(usageError(`arqon solve: cannot run ${JSON.stringify(program)}: ${whyNotStarted(error)}`));
    });
    child.on("close", (code, signal) => {
      stdout.append(decoder.end());
      run.forceSignal?.removeEventListener("abort", forceKill);
      run.signal?.removeEventListener("abort", abort);
      run.stopSignal?.removeEventListener("abort", stop);
      if (graceTimer !== undefined) clearTimeout(graceTimer);
      clearTimeout(exitTimer);
      clearTimeout(quietTimer);
      clearTimeout(timeoutTimer);
      clearTimeout(leftoverTimer);
      untrack();
      if (stopped()) {
        // Exited 0 before any SIGTERM: it had finished, whenever its output was read. After the
        // SIGTERM, a graceful exit 0 is the command obeying it: its last value is a partial one.
        // A report is never a final value: readObjective refuses one as the last line.
        const finished = exitedOnItsOwn && code === 0 && signal === null;
        const reading = finished ? stdout.read() : undefined;
        if (reading?.ok === true) {
          for (const line of held) run.onLine?.(line);
          resolve(reading);
        } else resolve({ ok: false, reason: "stopped early", stopped: true });
        return;
      }
      if (run.signal?.aborted === true || run.forceSignal?.aborted === true) {
        resolve({ ok: false, reason: "aborted", interrupted: true });
        return;
      }
      // Stopped by its own timeout, whatever it exited with: what it printed is a partial result.
      if (timedOut && !exitedOnItsOwn) {
        resolve({ ok: false, reason: `timed out after ${run.timeoutMs! / 1000} s` });
        return;
      }
      // SIGINT is someone's interrupt (a terminal's no longer reaches the command's own group):
      // not a verdict. SIGTERM and SIGHUP may come from a stop of the whole service (systemd
      // signals every process), or from the command's own doing: the caller decides by whether
      // this process got one as well (`killedBy`).
      if (signal === "SIGINT") resolve({ ok: false, reason: "interrupted (SIGINT)", interrupted: true });
      else if (signal === "SIGTERM" || signal === "SIGHUP")
        resolve({ ok: false, reason: `killed by ${signal}`, killedBy: signal });
      else if (signal !== null) resolve({ ok: false, reason: `killed by ${signal}` });
      else if (code !== 0) resolve({ ok: false, reason: `exit code ${code}${lastLineOf(stderrTail)}` });
      else resolve(stdout.read());
    });
  });
}

/**
 * Whether `stdout` ends with a complete line that reads as the final value: not a report, which a
 * running command prints, and followed by nothing yet.
 */
function endsWithValue(stdout: OutputTail): boolean {
  return stdout.text.endsWith("\n") && stdout.read().ok;
}

/** Why a program could not be started, in words rather than an errno name. */
function whyNotStarted(error: Error): string {
  const code = (error as { code?: unknown }).code;
  if (code === "ENOENT") return NO_SUCH_PROGRAM;
  if (code === "EACCES") return NOT_EXECUTABLE;
  return error.message;
}
