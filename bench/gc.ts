import v8 from "node:v8";
import vm from "node:vm";

/**
 * The garbage collector as a function, for benchmarks that measure allocation: `global.gc` when
 * Node runs with `--expose-gc`, else one switched on at run time (V8 flag, taken from a fresh
 * context). Undefined when neither works.
 */
export function findGc(): (() => void) | undefined {
  const exposed = (globalThis as { gc?: () => void }).gc;
  if (typeof exposed === "function") return exposed;
  try {
    v8.setFlagsFromString("--expose-gc");
    const gc = vm.runInNewContext("gc") as unknown;
    return typeof gc === "function" ? (gc as () => void) : undefined;
  } catch {
    return undefined;
  }
}
