/**
 * Small seeded pseudo-random number generators for the simulation and the execution algorithms.
 *
 * Never `Math.random()`: the same seed must give the same fills and the same slice times in a
 * backtest, in SHADOW mode and after a restart. `Mulberry32` is a 32-bit generator (one uint32 of
 * state, so its state is JSON-safe); `uniformAt(seed, i)` is a stateless hash to [0, 1) for draws
 * that must not depend on how many draws came before (e.g. the jitter of slice i).
 */

/** Normalise any finite number to a uint32 seed (integers map to themselves modulo 2^32). */
export function toSeed(seed: number): number {
  if (!Number.isFinite(seed)) throw new RangeError(`seed must be a finite number, got ${seed}`);
  return Math.trunc(seed) >>> 0;
}

/** The mulberry32 generator (Tommy Ettinger): period 2^32, good enough for simulation noise. */
export class Mulberry32 {
  private s: number;

  constructor(seed: number) {
    this.s = toSeed(seed);
  }

  /** The current state (a uint32); `new Mulberry32(g.state)` continues the same sequence. */
  get state(): number {
    return this.s >>> 0;
  }

  /** Next uint32. */
  nextUint32(): number {
    this.s = (this.s + 0x6d2b79f5) | 0;
    let t = this.s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return (t ^ (t >>> 14)) >>> 0;
  }

  /** Next float in [0, 1) with 32 bits of randomness. */
  next(): number {
    return this.nextUint32() / 4294967296;
  }
}

/** A derived seed for an independent stream (so that e.g. latency draws never shift fill draws). */
export function deriveSeed(seed: number, stream: number): number {
  let h = Math.imul(toSeed(seed) ^ Math.imul(stream + 1, 0x9e3779b9), 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

/** A stateless uniform draw in [0, 1) for index `i` of stream `seed`. */
export function uniformAt(seed: number, i: number): number {
  return new Mulberry32(deriveSeed(seed, i)).next();
}
