import { errorMessage, hasErrorCode } from "../errors.js";
import { oneLine } from "./cli-error.js";
import { STOP_GRACE_MS } from "./run-command.js";

/**
 * The outside world as the CLI commands see it, so they can run in-process under test as well as in
 * a real process.
 */
export interface CliIo {
  /** Writes machine-readable output (JSON). */
  readonly stdout: (text: string) => void;
  /** Writes human-readable progress and errors. */
  readonly stderr: (text: string) => void;
  /** Reads all of standard input as UTF-8 text. */
  readonly readStdin: () => Promise<string>;
  /** True when standard input is an interactive terminal (reading it would wait for typing). */
  readonly stdinIsTerminal: boolean;
  /** Directory relative paths are resolved against. */
  readonly cwd: string;
  /** Environment passed on to objective commands (the trial's variables are added on top). */
  readonly env: Readonly<Record<string, string | undefined>>;
  /**
   * True when standard error is an interactive terminal: `arqon solve` then keeps one updating
   * progress line instead of printing a line per trial. Absent means false.
   */
  readonly stderrIsTerminal?: boolean;
  /** Milliseconds of a monotonic clock, for elapsed time and ETA (default `performance.now`). */
  readonly now?: () => number;
  /**
   * Calls `handler` on every interrupt until the returned function is called: Ctrl-C (SIGINT), or
   * a request to end (SIGTERM from `kill` or a supervisor, SIGHUP when the terminal closes), with
   * the signal's name. While subscribed, these no longer end the process: the subscriber decides.
   */
  readonly onInterrupt?: (handler: (signal: InterruptSignal) => void) => () => void;
}

/**
 * The interrupts a long-running command handles itself (see {@link CliIo.onInterrupt}). `SIGPIPE`
 * stands for a closed standard output or error (see {@link processIo}): Node.js ignores the signal
 * itself and reports the failed write instead.
 */
export type InterruptSignal = "SIGINT" | "SIGTERM" | "SIGHUP" | "SIGPIPE";
const INTERRUPT_SIGNALS: readonly InterruptSignal[] = ["SIGINT", "SIGTERM", "SIGHUP"];

/** The {@link CliIo} of a real process, which also knows whether its output was all delivered. */
export interface ProcessIo extends CliIo {
  /**
   * What the process exits with after a command returned `status`: `status` itself, unless the
   * output closed first (see {@link processIo}).
   */
  exitCode(status: number): Promise<number>;
}

/**
 * The exit code of a command whose output went to a closed pipe: 128 + SIGPIPE's number (13), what
 * a shell reports for a program the signal killed (`yes | head -1`), as 130, 143 and 129 are for
 * SIGINT, SIGTERM and SIGHUP.
 */
export const CLOSED_PIPE_EXIT_CODE = 141;

/**
 * How long the objective commands stopped because the output closed get to exit after SIGTERM
 * before SIGKILL: no one is left to press Ctrl-C again. The grace a pruned trial gets.
 */
const CLOSED_OUTPUT_GRACE_MS = STOP_GRACE_MS;

/**
 * The {@link CliIo} of the current Node.js process.
 *
 * @remarks
 * Standard output or error may close under the command: its reader exits (`arqon … | head -1`).
 * Writing to such a pipe fails with EPIPE; what is written to it from then on is dropped, as a
 * program that SIGPIPE kills loses it, and the command is told through {@link CliIo.onInterrupt},
 * as `SIGPIPE`: `arqon solve` then aborts its running trials at once (SIGTERM, and SIGKILL
 * {@link CLOSED_OUTPUT_GRACE_MS} later for those still running), saves its state and releases
 * it. {@link ProcessIo.exitCode} then gives {@link CLOSED_PIPE_EXIT_CODE} instead of 0 or an
 * interrupt's code (the output was not all delivered), unless a real signal ended it first or the
 * command failed (1, 2), whose code it keeps. Any other write failure (a full disk) drops that
 * output the same way, says so on stderr when it can, and exits 1.
 */
export function processIo(): ProcessIo {
  const handlers = new Set<(signal: InterruptSignal) => void>();
  /** The first interrupt the command was told of: a real signal, or a closed output. */
  let firstInterrupt: InterruptSignal | undefined;
  /** Why stdout or stderr cannot be written any more, if one cannot. */
  const failed: { stdout?: Error; stderr?: Error } = {};
  const closed = (): boolean => failed.stdout !== undefined || failed.stderr !== undefined;
  /** A command's interrupt handler threw while it was told the output closed. */
  let stopFailed = false;

  const write = (name: "stdout" | "stderr", text: string): void => {
    const stream = process[name];
    if (failed[name] !== undefined || stream.destroyed) return;
    stream.write(text);
  };
  /** Resolves once what was written to `name` has been handed over, or its stream failed. */
  const flushed = (name: "stdout" | "stderr"): Promise<void> =>
    new Promise((done) => {
      const stream = process[name];
      if (failed[name] !== undefined || stream.destroyed) done();
      else stream.write("", () => done());
    });
  /** Tells `handler` the output closed, and again after the grace to kill what still runs. */
  const tellClosed = (handler: (signal: InterruptSignal) => void): void => {
    const call = () => {
      if (!handlers.has(handler)) return;
      try {
        handler("SIGPIPE");
      } catch (error) {
        // An 'error' listener or a timer must not throw: that would end the process with a stack trace.
        write("stderr", `arqon: unexpected failure while stopping: ${oneLine(errorMessage(error))}\n`);
        stopFailed = true;
      }
    };
    call();
    setTimeout(call, CLOSED_OUTPUT_GRACE_MS).unref();
  };
  const onWriteError = (name: "stdout" | "stderr", error: Error): void => {
    if (failed[name] !== undefined) return;
    const first = !closed();
    failed[name] = error;
    if (!hasErrorCode(error, "EPIPE") && name === "stdout")
      write("stderr", `arqon: cannot write to stdout: ${oneLine(errorMessage(error))}\n`);
    if (!first) return;
    firstInterrupt ??= "SIGPIPE";
    for (const handler of [...handlers]) tellClosed(handler);
  };
  process.stdout.on("error", (error) => onWriteError("stdout", error));
  process.stderr.on("error", (error) => onWriteError("stderr", error));
  return {
    exitCode: async (status) => {
      // A write to a closed pipe fails after it returned: wait for what is queued to go or fail.
      await Promise.all([flushed("stdout"), flushed("stderr")]);
      if (stopFailed) return 1;
      if (!closed() || firstInterrupt !== "SIGPIPE" || status === 1 || status === 2) return status;
      const epipe = [failed.stdout, failed.stderr].every(
        (error) => error === undefined || hasErrorCode(error, "EPIPE"),
      );
      return epipe ? CLOSED_PIPE_EXIT_CODE : 1;
    },
    stdout: (text) => write("stdout", text),
    stderr: (text) => write("stderr", text),
    readStdin: async () => {
      const chunks: Buffer[] = [];
      for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
      return Buffer.concat(chunks).toString("utf8");
    },
    stdinIsTerminal: process.stdin.isTTY === true,
    cwd: process.cwd(),
    env: process.env,
    stderrIsTerminal: process.stderr.isTTY === true,
    now: () => performance.now(),
    onInterrupt: (handler) => {
      const onSignal = (signal: InterruptSignal) => {
        firstInterrupt ??= signal;
        handler(signal);
      };
      handlers.add(handler);
      for (const signal of INTERRUPT_SIGNALS) process.on(signal, onSignal);
      // Closed before this command listened: it hears of it at once, as of a signal just received.
      if (closed()) queueMicrotask(() => tellClosed(handler));
      return () => {
        handlers.delete(handler);
        for (const signal of INTERRUPT_SIGNALS) process.off(signal, onSignal);
      };
    },
  };
}
