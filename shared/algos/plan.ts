/**
 * Pure planning helpers of the sliced algorithms: slice times (with seeded jitter), quantity splits
 * (floored to the step, remainder on the last slice, exact sums) and named volume profiles.
 */
import { Dec, type DecimalString, fmt, toDec } from '../domain/decimal.ts';
import { floorToStep } from '../domain/instrument.ts';
import type { Nanos } from '../domain/time.ts';
import { uniformAt } from '../sim/prng.ts';

/**
 * Slice i of n is due at `start + floor(duration·i/n)`, moved by a seeded jitter of up to
 * ±`jitter`·(its interval), `jitter` ∈ [0, 0.5]. Slice 0 never moves before the start, times never
 * decrease (slices are never reordered), and every slice stays before `start + duration`.
 * The draw for slice i is `uniformAt(seed, i)`: independent of every other slice.
 */
export function sliceTimes(
  startNs: Nanos,
  durationNs: Nanos,
  n: number,
  jitter: number,
  seed: number,
): Nanos[] {
  if (!Number.isSafeInteger(n) || n < 1)
    throw new RangeError(`slice count must be a positive integer, got ${n}`);
  if (!(jitter >= 0 && jitter <= 0.5)) throw new RangeError(`jitter must be within [0, 0.5], got ${jitter}`);
  if (durationNs <= 0n) throw new RangeError(`duration must be positive, got ${durationNs}`);
  const nb = BigInt(n);
  const base = (i: number) => startNs + (durationNs * BigInt(i)) / nb;
  const end = startNs + durationNs;
  const out: Nanos[] = [];
  for (let i = 0; i < n; i++) {
    let at = base(i);
    if (jitter > 0) {
      const interval = base(i + 1) - at;
      const off = Math.round((2 * uniformAt(seed, i) - 1) * jitter * Number(interval));
      at += BigInt(off);
    }
    if (at < startNs) at = startNs;
    const prev = out[i - 1];
    if (prev !== undefined && at < prev) at = prev;
    if (at >= end) at = end - 1n;
    out.push(at);
  }
  return out;
}

/** `total` in `n` slices: each floored to `step`, the last takes the remainder; sums exactly. */
export function splitEvenly(total: DecimalString, n: number, step: DecimalString): DecimalString[] {
  if (!Number.isSafeInteger(n) || n < 1)
    throw new RangeError(`slice count must be a positive integer, got ${n}`);
  const t = toDec(total);
  const each = floorToStep(t.div(n), step);
  const out: DecimalString[] = [];
  for (let i = 0; i < n - 1; i++) out.push(fmt(each));
  out.push(fmt(t.minus(each.times(n - 1))));
  return out;
}

/**
 * `total` split in proportion to `weights` (non-negative, positive sum): slice i gets
 * floor_to_step(total·w_i/Σw), the last slice the remainder; sums exactly. Weights are taken as the
 * decimals they print as (0.1 is 1/10), so the split is exact decimal arithmetic.
 */
export function splitByWeights(
  total: DecimalString,
  weights: readonly number[],
  step: DecimalString,
): DecimalString[] {
  if (weights.length === 0) throw new RangeError('no weights');
  const w = weights.map((x) => {
    if (!(Number.isFinite(x) && x >= 0)) throw new RangeError(`weights must be finite and ≥ 0, got ${x}`);
    return toDec(x);
  });
  const sum = w.reduce((a, b) => a.plus(b), new Dec(0));
  if (!sum.gt(0)) throw new RangeError('weights must have a positive sum');
  const t = toDec(total);
  const out: DecimalString[] = [];
  let used = new Dec(0);
  for (let i = 0; i < w.length - 1; i++) {
    const q = floorToStep(t.times(w[i]!).div(sum), step);
    used = used.plus(q);
    out.push(fmt(q));
  }
  out.push(fmt(t.minus(used)));
  return out;
}

/**
 * Move slices below `min` forward: walking the slices in order, quantity accumulates until it
 * reaches `min` and is then given to the slice where it does; the last slice takes whatever is
 * left. Zero slices stay zero. The sum is unchanged.
 */
export function rollSmallSlices(quantities: readonly DecimalString[], min: DecimalString): DecimalString[] {
  const m = toDec(min);
  const out: DecimalString[] = [];
  let pending = new Dec(0);
  quantities.forEach((q, i) => {
    pending = pending.plus(q);
    if (i === quantities.length - 1 || (pending.gt(0) && pending.gte(m))) {
      out.push(fmt(pending));
      pending = new Dec(0);
    } else {
      out.push('0');
    }
  });
  return out;
}

export const VOLUME_PROFILES = ['uniform', 'u_shape', 'front_loaded', 'back_loaded'] as const;
export type VolumeProfileName = (typeof VOLUME_PROFILES)[number];

/**
 * Named intraday volume shapes over n slices, for `volume_profile` of a VWAP:
 * - `uniform`: 1 each;
 * - `u_shape`: 1 + 2x², x from −1 (first slice) to 1 (last): heavy at the open and the close
 *   (n = 3 → 3, 1, 3);
 * - `front_loaded`: n, n−1, …, 1; `back_loaded`: 1, 2, …, n.
 */
export function volumeProfile(name: VolumeProfileName, n: number): number[] {
  if (!Number.isSafeInteger(n) || n < 1)
    throw new RangeError(`slice count must be a positive integer, got ${n}`);
  const idx = Array.from({ length: n }, (_, i) => i);
  switch (name) {
    case 'uniform':
      return idx.map(() => 1);
    case 'u_shape':
      return idx.map((i) => {
        if (n === 1) return 1;
        const x = (2 * i) / (n - 1) - 1;
        return 1 + 2 * x * x;
      });
    case 'front_loaded':
      return idx.map((i) => n - i);
    case 'back_loaded':
      return idx.map((i) => i + 1);
  }
}
