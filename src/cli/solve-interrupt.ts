import { setMaxListeners } from "node:events";
import type { CliIo, InterruptSignal } from "./io.js";
import type { ObjectiveReading } from "./objective-output.js";
import { STOP_GRACE_MS } from "./run-command.js";
import type { SolveProgress } from "./solve-progress.js";

/**
 * How long the reading of a command killed by SIGTERM or SIGHUP waits for this process to get the
 * same signal (a group-wide one is delivered to every member, not at the same instant).
 */
const GROUP_SIGNAL_GRACE_MS = 250;

/**
 * A signal this soon after the same signal counted before is that one passed on, not a second
 * one (whatever other signal came between): npm forwards SIGINT and SIGTERM to the script it
 * runs, which got the terminal's (or the process group's) already, and tsx's launcher sends its
 * own SIGINT 30 ms after the terminal's.
 */
export const SIGNAL_ECHO_MS = 200;

/** What `arqon solve` exits with: done, failed, or interrupted (see {@link SolveInterrupts.exitCode}). */
export type SolveExit = 0 | 1 | 129 | 130 | 141 | 143;

/**
 * Ctrl-C during `arqon solve`, local or a worker of a shared study: the first stops asking and lets
 * the running trials finish; the second aborts them (SIGTERM); a third kills what still runs
 * (SIGKILL). A request to end the process (SIGTERM, SIGHUP) aborts the running trials at once, as a
 * second Ctrl-C does (a supervisor that sends it waits only so long), and a second one kills them:
 * either way the state is saved and no command is left running. Each is announced through the
 * progress display.
 */
export class SolveInterrupts {
  /**
   * Set by Ctrl-C, or by a trial whose command died of SIGINT (sent to it by name: a terminal's
   * Ctrl-C does not reach a command's own process group), or of a SIGTERM or SIGHUP this process
   * got as well ({@link classify}): no new trial starts.
   */
  stopAsking = false;
  private readonly aborting = new AbortController();
  private readonly killing = new AbortController();
  private count = 0;
  /** When each signal last counted (`now`'s clock). */
  private readonly countedAt = new Map<InterruptSignal, number>();
  /** The request to end that stopped the run (SIGTERM, SIGHUP), if one did: it sets the exit code. */
  private ending: InterruptSignal | undefined;
  /** Readings waiting to learn whether this process gets the signal that killed their command. */
  private readonly waiting: (() => void)[] = [];

  /**
   * @param running - how many trials run now.
   * @param fate - what becomes of the trials a second Ctrl-C aborts, e.g. "they stay pending".
   * @param now - milliseconds of a monotonic clock, to tell a relayed signal from a second one.
   */
  constructor(
    private readonly progress: SolveProgress,
    private readonly running: () => number,
    private readonly fate: string,
    private readonly now: () => number = () => performance.now(),
  ) {
    // Every running trial listens to both, so more than ten at once is no leak.
    setMaxListeners(0, this.aborting.signal, this.killing.signal);
  }

  /** Aborted by the second Ctrl-C: the running commands get SIGTERM. */
  get abortSignal(): AbortSignal {
    return this.aborting.signal;
  }

  /** Aborted by the third Ctrl-C: what still runs gets SIGKILL. */
  get killSignal(): AbortSignal {
    return this.killing.signal;
  }

  /** Handles the Ctrl-Cs `io` reports until the returned function is called. */
  listen(io: CliIo): () => void {
    return io.onInterrupt?.((signal) => this.interrupt(signal)) ?? (() => {});
  }

  /**
   * What the interrupt was, for messages and failure reasons: "Ctrl-C", the signal's name, or "a
   * closed output" (no SIGPIPE is received: Node reports the failed write).
   */
  get cause(): string {
    if (this.ending === "SIGPIPE") return "a closed output";
    return this.ending ?? "Ctrl-C";
  }

  /**
   * The exit code of an interrupted run: 130 after Ctrl-C, 128 + the signal's number otherwise (141
   * for an output that closed, reported as SIGPIPE).
   */
  get exitCode(): 130 | 129 | 141 | 143 {
    if (this.ending === "SIGTERM") return 143;
    if (this.ending === "SIGHUP") return 129;
    return this.ending === "SIGPIPE" ? 141 : 130;
  }

  /** How many interrupts counted so far: a request to end counts as at least a second Ctrl-C. */
  get interruptions(): number {
    return this.count;
  }

  /** Counts one interrupt, unless it echoes the same signal counted just before (see {@link SIGNAL_ECHO_MS}). */
  interrupt(signal: InterruptSignal = "SIGINT"): void {
    const at = this.now();
    // Per signal: a SIGPIPE between a Ctrl-C and npm's copy of it (`| tee` dies of the same
    // Ctrl-C) must not make the copy a new one.
    if (at - (this.countedAt.get(signal) ?? Number.NEGATIVE_INFINITY) < SIGNAL_ECHO_MS) return;
    this.countedAt.set(signal, at);
    if (signal !== "SIGINT") {
      this.ending ??= signal;
      for (const wake of this.waiting.splice(0)) wake();
      // Straight to aborting: whoever sent it will not wait for the trials to finish.
      this.count = Math.max(this.count, 1);
    }
    this.count++;
    this.stopAsking = true;
    const running = this.running();
    if (running === 0) return;
    if (this.count === 1) {
      this.progress.note(
        `interrupted: no new trials; waiting for ${running} running trial(s) (Ctrl-C again aborts them)`,
      );
    } else if (this.count === 2) {
      this.progress.note(
        signal === "SIGINT"
          ? `interrupted again: aborting ${running} running trial(s); ${this.fate} (Ctrl-C again kills them)`
          : signal === "SIGPIPE"
            ? `output closed: aborting ${running} running trial(s); ${this.fate} (killed if still running after ${STOP_GRACE_MS / 1000} s)`
            : `terminated (${signal}): aborting ${running} running trial(s); ${this.fate} (${signal} again kills them)`,
      );
      this.aborting.abort();
    } else if (!this.killing.signal.aborted) {
      const again =
        signal === "SIGINT"
          ? "interrupted a third time"
          : signal === "SIGPIPE"
            ? "output still closed"
            : `${signal} again`;
      this.progress.note(`${again}: killing ${running} running trial(s)`);
      this.killing.abort();
    }
  }

  /**
   * The reading of a command that died of SIGTERM or SIGHUP, read as an interrupt when this process
   * got that signal too (sent to the whole process group: it may arrive a moment after the
   * command's exit), waiting at most {@link GROUP_SIGNAL_GRACE_MS} for it; otherwise the command's
   * own failure ("killed by SIGTERM"), as a watchdog inside the objective would cause. Other
   * readings are returned as they are.
   */
  async classify(reading: ObjectiveReading): Promise<ObjectiveReading> {
    if (reading.ok || reading.killedBy === undefined) return reading;
    if (this.ending === undefined) {
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, GROUP_SIGNAL_GRACE_MS);
        this.waiting.push(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
    if (this.ending === undefined) return reading;
    return { ok: false, reason: `interrupted (${reading.killedBy})`, interrupted: true };
  }

  /**
   * Whether a failed reading is the interrupt's doing (the command died of Ctrl-C, or failed after
   * it), not a verdict on the trial's parameters. If so, no new trial starts.
   */
  caused(reading: ObjectiveReading & { readonly ok: false }): boolean {
    if (reading.interrupted === true || this.stopAsking) this.stopAsking = true;
    return this.stopAsking;
  }
}
