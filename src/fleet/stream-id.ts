/**
 * The order of Redis stream entry ids.
 *
 * @packageDocumentation
 */

/** The two parts of an id ("ms-seq"), each a 64-bit number: beyond what a double holds exactly. */
function partsOf(id: string): [ms: bigint, seq: bigint] {
  const [ms = "0", seq = "0"] = id.split("-");
  return [BigInt(ms), BigInt(seq)];
}

/**
 * Whether stream entry id `a` sorts below `b` as Redis orders them: by milliseconds, then by
 * sequence number, both as numbers ("9-5" is below "10-0", which a string comparison gets wrong).
 */
export function streamIdBelow(a: string, b: string): boolean {
  const [aMs, aSeq] = partsOf(a);
  const [bMs, bSeq] = partsOf(b);
  return aMs < bMs || (aMs === bMs && aSeq < bSeq);
}
