/**
 * Seeded randomness for the pure cores. Injected instead of `Math.random()` so that every run of
 * the simulator and every test is reproducible from one printed seed.
 */
export interface Random {
  /** A uniformly distributed unsigned 32-bit integer. */
  next(): number;
  /** A uniformly distributed integer in [0, n); `n` must be a positive integer ≤ 2^32. */
  int(n: number): number;
  /** A uniformly distributed float in [0, 1) with 32 bits of randomness. */
  float(): number;
}

const TWO_POW_32 = 4294967296;

/**
 * sfc32 (Chris Doty-Humphrey's "small fast chaotic" generator): 128 bits of state, passes
 * PractRand, and compiles to a handful of 32-bit integer operations in V8 — the simulator draws
 * several numbers per simulated message, so speed matters more than cryptographic strength.
 * Never use it for anything secret.
 */
export class Sfc32 implements Random {
  private a: number;
  private b: number;
  private c: number;
  private d: number;

  constructor(a: number, b: number, c: number, d: number) {
    this.a = a >>> 0;
    this.b = b >>> 0;
    this.c = c >>> 0;
    this.d = d >>> 0;
    // The first outputs of a freshly seeded sfc32 are correlated with the seed; discard them.
    for (let i = 0; i < 15; i++) this.next();
  }

  next(): number {
    const t = (((this.a + this.b) | 0) + this.d) | 0;
    this.d = (this.d + 1) | 0;
    this.a = this.b ^ (this.b >>> 9);
    this.b = (this.c + (this.c << 3)) | 0;
    this.c = (this.c << 21) | (this.c >>> 11);
    this.c = (this.c + t) | 0;
    return t >>> 0;
  }

  int(n: number): number {
    // Multiply-shift instead of modulo: no division, and the bias (< n / 2^32) is far below
    // anything a simulation of at most millions of nodes could observe.
    return Math.floor((this.next() / TWO_POW_32) * n);
  }

  float(): number {
    return this.next() / TWO_POW_32;
  }
}

/** splitmix32 step: spreads a small seed (1, 2, 3…) over all four words of the state. */
function splitmix32(state: number): [next: number, out: number] {
  const s = (state + 0x9e3779b9) | 0;
  let z = s;
  z = Math.imul(z ^ (z >>> 16), 0x85ebca6b);
  z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35);
  return [s, (z ^ (z >>> 16)) >>> 0];
}

/**
 * A generator for `seed` and an optional `stream` number. Different streams of one seed are
 * independent, which lets the simulator give every node its own generator: adding a node or a
 * message elsewhere then does not shift the random choices of all the others.
 */
export function seededRandom(seed: number, stream = 0): Random {
  let s = (Math.imul(seed >>> 0, 0x27d4eb2d) ^ Math.imul(stream >>> 0, 0x165667b1)) | 0;
  const words: number[] = [];
  for (let i = 0; i < 4; i++) {
    const [nextState, out] = splitmix32(s);
    s = nextState;
    words.push(out);
  }
  return new Sfc32(words[0] ?? 0, words[1] ?? 0, words[2] ?? 0, words[3] ?? 0);
}
