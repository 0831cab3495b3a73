/**
 * A command that dies of SIGTERM or SIGHUP is an interrupt when arqon gets the same signal within
 * a moment (a stop of the whole service), and its own failure otherwise (a watchdog inside it).
 * A signal passed on by a launcher right after the same one counts once.
 */
import { afterEach, describe, expect, it, vi } from "vitest";
import type { ObjectiveReading } from "../src/cli/objective-output.js";
import { SIGNAL_ECHO_MS, SolveInterrupts } from "../src/cli/solve-interrupt.js";
import type { SolveProgress } from "../src/cli/solve-progress.js";

const killed: ObjectiveReading = { ok: false, reason: "killed by SIGTERM", killedBy: "SIGTERM" };

function interrupts(): SolveInterrupts {
  const progress = { note: () => {} } as unknown as SolveProgress;
  return new SolveInterrupts(progress, () => 1, "they stay pending");
}

afterEach(() => {
  vi.useRealTimers();
});

describe("SolveInterrupts.classify", () => {
  it("reads a death by SIGTERM as an interrupt when arqon gets SIGTERM within the grace", async () => {
    vi.useFakeTimers();
    const run = interrupts();
    const judged = run.classify(killed);
    await vi.advanceTimersByTimeAsync(200);
    run.interrupt("SIGTERM");
    await expect(judged).resolves.toEqual({ ok: false, reason: "interrupted (SIGTERM)", interrupted: true });
  });

  it("reads it as the command's own failure when no such signal comes within the grace", async () => {
    vi.useFakeTimers();
    const run = interrupts();
    const judged = run.classify(killed);
    await vi.advanceTimersByTimeAsync(250);
    await expect(judged).resolves.toBe(killed);
    // A signal after the judgement changes nothing already judged.
    run.interrupt("SIGTERM");
    await expect(judged).resolves.toBe(killed);
  });

  it("judges at once once arqon has its signal, and leaves other readings as they are", async () => {
    const run = interrupts();
    run.interrupt("SIGHUP");
    await expect(
      run.classify({ ...killed, killedBy: "SIGHUP", reason: "killed by SIGHUP" }),
    ).resolves.toEqual({
      ok: false,
      reason: "interrupted (SIGHUP)",
      interrupted: true,
    });
    const failed: ObjectiveReading = { ok: false, reason: "exit code 1" };
    await expect(run.classify(failed)).resolves.toBe(failed);
  });
});

describe("SolveInterrupts.interrupt", () => {
  /** A run with one trial running, its notes, and a clock the test moves. */
  function clocked() {
    const notes: string[] = [];
    const progress = { note: (line: string) => notes.push(line) } as unknown as SolveProgress;
    let now = 1000;
    const run = new SolveInterrupts(
      progress,
      () => 1,
      "they stay pending",
      () => now,
    );
    return { run, notes, advance: (ms: number) => (now += ms) };
  }

  it("counts a signal passed on within the echo window (npm, tsx) as the one before", () => {
    const { run, notes, advance } = clocked();
    run.interrupt("SIGINT");
    advance(30); // tsx's launcher relays the terminal's Ctrl-C after 30 ms
    run.interrupt("SIGINT");
    advance(SIGNAL_ECHO_MS - 31);
    run.interrupt("SIGINT");
    expect(run.interruptions).toBe(1);
    expect(run.abortSignal.aborted).toBe(false);
    expect(notes).toEqual([
      "interrupted: no new trials; waiting for 1 running trial(s) (Ctrl-C again aborts them)",
    ]);
    // Measured from the last signal that counted: a held key still steps on at the window's pace.
    advance(1);
    run.interrupt("SIGINT");
    expect(run.interruptions).toBe(2);
    expect(run.abortSignal.aborted).toBe(true);
  });

  it("reads a Ctrl-C's copy as an echo even when a closed output came between", () => {
    const { run, advance } = clocked();
    run.interrupt("SIGINT"); // the terminal's Ctrl-C, which also ends `| tee`
    advance(2);
    run.interrupt("SIGPIPE"); // the note it printed hit the closed pipe
    advance(3);
    run.interrupt("SIGINT"); // npm's copy of the Ctrl-C
    expect(run.interruptions).toBe(2);
    expect(run.killSignal.aborted).toBe(false);
  });

  it("counts a different signal at once, and echoes of SIGTERM as one", () => {
    const { run, advance } = clocked();
    run.interrupt("SIGINT");
    run.interrupt("SIGTERM"); // a request to end right after Ctrl-C still aborts
    expect(run.abortSignal.aborted).toBe(true);
    run.interrupt("SIGTERM"); // npm forwarding the group's SIGTERM
    expect(run.killSignal.aborted).toBe(false);
    advance(SIGNAL_ECHO_MS);
    run.interrupt("SIGTERM");
    expect(run.killSignal.aborted).toBe(true);
  });
});
