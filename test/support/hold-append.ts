import type { Redis } from "ioredis";

/**
 * Holds the next journal append of `client` (the study's only `eval`) until `release`: `reached`
 * resolves once the study is waiting on it; `"fail"` rejects it unwritten, `"send"` sends it.
 */
export function holdNextAppend(client: Redis) {
  const evaluate = client.eval.bind(client) as (...args: unknown[]) => Promise<unknown>;
  let reached!: () => void;
  let release!: (outcome: "fail" | "send") => void;
  const held = {
    reached: new Promise<void>((resolve) => {
      reached = resolve;
    }),
    release: (outcome: "fail" | "send") => release(outcome),
  };
  const outcome = new Promise<"fail" | "send">((resolve) => {
    release = resolve;
  });
  (client as { eval: unknown }).eval = async (...args: unknown[]) => {
    (client as { eval: unknown }).eval = evaluate;
    reached();
    if ((await outcome) === "fail") throw new Error("connection lost");
    return evaluate(...args);
  };
  return held;
}
