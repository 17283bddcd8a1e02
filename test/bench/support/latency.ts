/** Latency figures of a set of samples (milliseconds): n, mean, p50, p99, max. */
export interface LatencySummary {
  n: number;
  mean_ms: number;
  p50_ms: number;
  p99_ms: number;
  max_ms: number;
}

/** Nearest-rank percentile of ascending samples (NaN when empty). */
export function nearestRank(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return Number.NaN;
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)] ?? Number.NaN;
}

export function summarise(samples: readonly number[], digits = 2): LatencySummary {
  const s = [...samples].sort((a, b) => a - b);
  const r = (x: number) => Math.round(x * 10 ** digits) / 10 ** digits;
  const mean = s.reduce((a, b) => a + b, 0) / Math.max(1, s.length);
  return {
    n: s.length,
    mean_ms: r(mean),
    p50_ms: r(nearestRank(s, 50)),
    p99_ms: r(nearestRank(s, 99)),
    max_ms: r(s[s.length - 1] ?? Number.NaN),
  };
}
