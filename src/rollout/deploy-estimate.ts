/**
 * The expected duration of one deploy (pure): the 90th percentile of recent successful applies (nearest rank), so a
 * few slow workstations raise it and one outlier does not; the configured estimate until enough were measured.
 */
export const MIN_DURATIONS_MEASURED = 5;

export function percentile(values: readonly number[], p: number): number | undefined {
  if (values.length === 0) return undefined;
  const sorted = [...values].sort((a, b) => a - b);
  const rank = Math.max(1, Math.ceil((p / 100) * sorted.length));
  return sorted[rank - 1];
}

export function estimateDeployMs(recentMs: readonly number[], configuredMs: number): number {
  if (recentMs.length < MIN_DURATIONS_MEASURED) return configuredMs;
  return percentile(recentMs, 90) ?? configuredMs;
}
