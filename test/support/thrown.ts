/** The error `f` throws (fails the test when it throws nothing). */
export function thrown(f: () => unknown): Error {
  try {
    f();
  } catch (error) {
    return error as Error;
  }
  throw new Error("expected a throw");
}
