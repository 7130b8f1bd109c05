/** Small statistics helpers: nearest-rank percentiles and medians. */

/** Nearest-rank percentile `p` (0–100) of an ascending-sorted array; NaN when empty. */
export function percentile(sorted, p) {
  if (sorted.length === 0) return NaN;
  // The epsilon keeps 99.9% of 1000 at rank 999 despite floating point (0.999 * 1000 > 999).
  const rank = Math.ceil((p / 100) * sorted.length - 1e-9);
  return sorted[Math.min(sorted.length, Math.max(1, rank)) - 1];
}

/** Median of the finite numbers in `values` (mean of the middle two when even); NaN when none. */
export function median(values) {
  const xs = values.filter((v) => typeof v === 'number' && Number.isFinite(v)).sort((a, b) => a - b);
  if (xs.length === 0) return NaN;
  const mid = xs.length >> 1;
  return xs.length % 2 ? xs[mid] : (xs[mid - 1] + xs[mid]) / 2;
}

/** p50/p99/p99.9 in microseconds from latencies in nanoseconds. */
export function latencySummaryUs(latenciesNs) {
  const sorted = Float64Array.from(latenciesNs).sort();
  const us = (v) => (Number.isFinite(v) ? Math.round(v / 100) / 10 : NaN);
  return {
    p50_us: us(percentile(sorted, 50)),
    p99_us: us(percentile(sorted, 99)),
    p999_us: us(percentile(sorted, 99.9)),
    max_us: us(sorted[sorted.length - 1]),
    samples: sorted.length,
  };
}
