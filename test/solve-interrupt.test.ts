/**
 * A command that dies of SIGTERM or SIGHUP is an interrupt when arqon gets the same signal within
 * a moment (a stop of the whole service), and its own failure otherwise (a watchdog inside it).
 */
import { afterEach, describe, expect, it, vi } from "vitest";
import type { ObjectiveReading } from "../src/cli/objective-output.js";
import { SolveInterrupts } from "../src/cli/solve-interrupt.js";
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
