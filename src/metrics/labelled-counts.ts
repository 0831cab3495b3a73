/**
 * Counts by label over a fixed vocabulary, kept in a typed array.
 */

/**
 * One count per name of a known vocabulary plus an `other` slot, in a `Float64Array`.
 *
 * @remarks
 * The vocabularies (digest rejections, violations, rollback reasons, …) are fixed by the audit
 * schema, so every label is known up front and is exported from the first scrape on with 0 —
 * which `increase()` in an alert rule needs to see the first event.
 */
export class LabelledCounts {
  readonly names: readonly string[];
  private readonly counts: Float64Array;
  private readonly index = new Map<string, number>();

  constructor(names: readonly string[]) {
    this.names = [...names, "other"];
    this.counts = new Float64Array(this.names.length);
    for (let i = 0; i < this.names.length; i++) this.index.set(this.names[i]!, i);
  }

  /** Adds one to `name` (to `other` when it is not in the vocabulary). */
  add(name: string): void {
    const i = this.index.get(name) ?? this.names.length - 1;
    this.counts[i]!++;
  }

  /** The count of the `i`-th name of {@link names}. */
  at(i: number): number {
    return this.counts[i]!;
  }
}

/** Names `lookup(code)` gives for the codes `from` … `to` (inclusive), in order. */
export function vocabulary(lookup: (code: number) => string, from: number, to: number): string[] {
  const names: string[] = [];
  for (let code = from; code <= to; code++) names.push(lookup(code));
  return names;
}
