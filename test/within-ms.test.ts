/**
 * Deadlines on Redis replies and thread messages: an answer that arrived while the host's loop was
 * held past the deadline still wins (the loop runs due timers before it reads what arrived), an
 * answer that never comes is given up on (`withinMs`: undefined; `bounded`: the reason), and
 * `Infinity` waits without a timer.
 */
import { MessageChannel } from "node:worker_threads";
import { describe, expect, it } from "vitest";
import { bounded, withinMs } from "../src/runtime/within-ms.js";

/** Holds this thread, as a long synchronous evaluation would. */
const hold = (ms: number) => Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);

type Wait = (answer: Promise<string>) => Promise<string | undefined>;

/** Waits 1 ms for a message that is posted at once, while the loop is held for 30 ms. */
function answeredWhileHeld(wait: Wait): Promise<string | undefined> {
  const { port1, port2 } = new MessageChannel();
  const answer = new Promise<string>((resolve) => port1.once("message", resolve));
  const waited = wait(answer);
  port2.postMessage("beat");
  hold(30);
  return waited.finally(() => port1.close());
}

const waits: [string, Wait][] = [
  ["withinMs", (answer) => withinMs(answer, 1)],
  ["bounded", (answer) => bounded(answer, 1, () => "no answer")],
];

describe.each(waits)("%s", (_, wait) => {
  it("takes an answer that arrived before the deadline though the loop was held past it", async () => {
    // From each phase a wait can start in: a resolved promise, a timer, an immediate.
    expect(await answeredWhileHeld(wait)).toBe("beat");
    expect(await new Promise((resolve) => setTimeout(() => resolve(answeredWhileHeld(wait)), 0))).toBe(
      "beat",
    );
    expect(await new Promise((resolve) => setImmediate(() => resolve(answeredWhileHeld(wait))))).toBe("beat");
  });
});

describe("giving up", () => {
  it("withinMs resolves undefined when no answer comes or the answer is a failure", async () => {
    expect(await withinMs(new Promise(() => {}), 1)).toBeUndefined();
    expect(await withinMs(Promise.reject(new Error("refused")), 1000)).toBeUndefined();
  });

  it("bounded refuses with the reason when no answer comes, and passes the answer's own failure on", async () => {
    await expect(bounded(new Promise(() => {}), 1, () => "no beat within 1 ms")).rejects.toThrow(
      new Error("no beat within 1 ms"),
    );
    await expect(bounded(Promise.reject(new Error("refused")), 1000, () => "late")).rejects.toThrow(
      new Error("refused"),
    );
  });

  it("waits for the answer with Infinity (a Node timer of Infinity would fire at once)", async () => {
    let answer: (value: string) => void = () => {};
    const answered = new Promise<string>((resolve) => (answer = resolve));
    const waited = [
      withinMs(answered, Number.POSITIVE_INFINITY),
      bounded(answered, Number.POSITIVE_INFINITY, () => "never"),
    ];
    // Long enough for a 1 ms timer, which is what Node makes of Infinity, to have fired.
    await new Promise((resolve) => setTimeout(resolve, 5));
    answer("late but welcome");
    expect(await Promise.all(waited)).toEqual(["late but welcome", "late but welcome"]);
  });
});
