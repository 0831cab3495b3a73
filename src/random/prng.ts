/**
 * Seeded pseudo-random numbers: xoshiro128** seeded through splitmix32.
 *
 * @remarks
 * Every random decision in arqon comes from one of these, never from `Math.random`, so a seed
 * reproduces a run exactly across processes. The state is four 32-bit words that can be saved
 * with {@link Prng.state} and restored with {@link Prng.fromState}; 32-bit integer arithmetic keeps
 * it fast in V8 and free of BigInt.
 */
export class Prng {
  private s0: number;
  private s1: number;
  private s2: number;
  private s3: number;

  // State words are kept as signed 32-bit integers (`| 0`): V8 stores those unboxed, while
  // unsigned values above 2^31 become heap numbers and cost an allocation per update.
  private constructor(s0: number, s1: number, s2: number, s3: number) {
    this.s0 = s0 | 0;
    this.s1 = s1 | 0;
    this.s2 = s2 | 0;
    this.s3 = s3 | 0;
    if ((this.s0 | this.s1 | this.s2 | this.s3) === 0) this.s0 = 1; // all-zero is a fixed point
  }

  /** A generator for `seed` (any finite number; the integer part of its magnitude and sign are used). */
  static fromSeed(seed: number, stream = 0): Prng {
    let x = hashSeed(seed, stream);
    const next = (): number => {
      x = (x + 0x9e3779b9) | 0;
      let z = x;
      z = Math.imul(z ^ (z >>> 16), 0x85ebca6b);
      z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35);
      return (z ^ (z >>> 16)) >>> 0;
    };
    return new Prng(next(), next(), next(), next());
  }

  /** Restores a generator saved with {@link Prng.state}. */
  static fromState(state: readonly number[]): Prng {
    if (state.length !== 4 || state.some((w) => !Number.isInteger(w) || w < 0 || w > 0xffffffff)) {
      throw new RangeError("Prng state must be four unsigned 32-bit integers");
    }
    return new Prng(state[0]!, state[1]!, state[2]!, state[3]!);
  }

  /** The four state words, for persistence. */
  state(): [number, number, number, number] {
    return [this.s0 >>> 0, this.s1 >>> 0, this.s2 >>> 0, this.s3 >>> 0];
  }

  /** A copy that continues the same sequence independently. */
  clone(): Prng {
    return new Prng(this.s0, this.s1, this.s2, this.s3);
  }

  /** Next unsigned 32-bit integer. */
  nextUint32(): number {
    const result = Math.imul(rotl(Math.imul(this.s1, 5), 7), 9) >>> 0;
    const t = this.s1 << 9;
    this.s2 ^= this.s0;
    this.s3 ^= this.s1;
    this.s1 ^= this.s2;
    this.s0 ^= this.s3;
    this.s2 ^= t;
    this.s3 = rotl(this.s3, 11);
    return result;
  }

  /** Uniform double in [0, 1) with 53 random bits. */
  next(): number {
    const hi = this.nextUint32() >>> 5; // 27 bits
    const lo = this.nextUint32() >>> 6; // 26 bits
    return (hi * 67108864 + lo) / 9007199254740992;
  }

  /** Uniform integer in [0, n). */
  int(n: number): number {
    return Math.floor(this.next() * n);
  }

  /** +1 or −1 with equal probability (a Rademacher draw). */
  sign(): 1 | -1 {
    return (this.nextUint32() & 1) === 0 ? 1 : -1;
  }

  /** Standard normal draw (Box–Muller; one value per call so the state stays four words). */
  normal(): number {
    let u = this.next();
    while (u === 0) u = this.next();
    const v = this.next();
    return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * v);
  }
}

function rotl(x: number, k: number): number {
  return (x << k) | (x >>> (32 - k));
}

/** Folds a numeric seed and a stream number into 32 bits, so that nearby seeds diverge at once. */
function hashSeed(seed: number, stream: number): number {
  if (!Number.isFinite(seed)) throw new RangeError(`seed must be finite, got ${seed}`);
  const magnitude = Math.floor(Math.abs(seed));
  const low = magnitude % 4294967296;
  const high = Math.floor(magnitude / 4294967296) % 4294967296;
  let h = Math.imul(low ^ 0x5bd1e995, 0x27d4eb2d) ^ Math.imul(high + 0x165667b1, 0x9e3779b1);
  h = Math.imul(h ^ (h >>> 15), 0x85ebca77) ^ Math.imul(stream + 1, 0xc2b2ae3d);
  if (seed < 0) h = ~h;
  return h | 0;
}
