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

/** The signals a long-running command handles itself (see {@link CliIo.onInterrupt}). */
export type InterruptSignal = "SIGINT" | "SIGTERM" | "SIGHUP";
const INTERRUPT_SIGNALS: readonly InterruptSignal[] = ["SIGINT", "SIGTERM", "SIGHUP"];

/** The {@link CliIo} of the current Node.js process. */
export function processIo(): CliIo {
  return {
    stdout: (text) => process.stdout.write(text),
    stderr: (text) => process.stderr.write(text),
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
      for (const signal of INTERRUPT_SIGNALS) process.on(signal, handler);
      return () => {
        for (const signal of INTERRUPT_SIGNALS) process.off(signal, handler);
      };
    },
  };
}
