// Small helpers for benchmark figures measured in one run.

export function percentile(sortedAscending: readonly number[], p: number): number {
  if (sortedAscending.length === 0) return Number.NaN;
  const rank = Math.min(sortedAscending.length - 1, Math.max(0, Math.ceil((p / 100) * sortedAscending.length) - 1));
  return sortedAscending[rank]!;
}

export interface LatencySummary {
  p50: number;
  p99: number;
  p999: number;
  max: number;
}

export function summarise(samples: number[]): LatencySummary {
  const sorted = [...samples].sort((a, b) => a - b);
  return { p50: percentile(sorted, 50), p99: percentile(sorted, 99), p999: percentile(sorted, 99.9), max: sorted.at(-1) ?? Number.NaN };
}

export const fmt = (value: number, digits = 1) => value.toLocaleString('en-GB', { maximumFractionDigits: digits, minimumFractionDigits: digits });
export const fmtInt = (value: number) => Math.round(value).toLocaleString('en-GB');
