import { mkdir, writeFile } from 'node:fs/promises';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';

/**
 * Full vs smoke size, shared by every benchmark. `BENCH_SMOKE=1` (or `--smoke`) picks the smoke size — a few hundred
 * users, a few seconds — which `.ci/run` uses to prove a benchmark still runs (its timings are noise there).
 * Smoke results go to a scratch folder, never to bench/results/, so they are never mistaken for published figures.
 */
export const SMOKE = process.env['BENCH_SMOKE'] === '1' || process.argv.includes('--smoke');

/** An explicit environment value wins; otherwise the smoke or the full size. */
export function benchSize(envName: string, sizes: { readonly full: number; readonly smoke: number }): number {
  const explicit = process.env[envName];
  if (explicit !== undefined && explicit !== '') {
    const value = Number(explicit);
    if (!Number.isInteger(value) || value < 1) throw new Error(`${envName}=${explicit}: expected an integer ≥ 1`);
    return value;
  }
  return SMOKE ? sizes.smoke : sizes.full;
}

/** BENCH_RESULTS_DIR if set; else the scratch folder for smoke runs, bench/results/ for full ones. */
export function benchResultsDir(): string {
  const explicit = process.env['BENCH_RESULTS_DIR'];
  if (explicit) return explicit;
  return SMOKE ? join(tmpdir(), 'fleet-rollout-bench-smoke') : join(import.meta.dirname, '..', 'results');
}

const round2 = (n: number): number => Math.round(n * 100) / 100;
const loadAtStart = loadavg().map(round2);

/**
 * The machine and its load: other engineers share these cores, so every figure carries the load it ran under, and
 * the CPU model (the same benchmark's users/s differed by a third between two 2-core VMs of this workplace).
 */
export function machineLoad(): Record<string, unknown> {
  return {
    node: process.version,
    cpus: cpus().length,
    cpuModel: cpus()[0]?.model.trim() ?? 'unknown',
    loadAverageAtStart: loadAtStart,
    loadAverageAtEnd: loadavg().map(round2),
  };
}

/** Writes `<results dir>/<name>.json` with the size it ran at (and whether smoke) ahead of the figures. */
export async function writeBenchResult(
  name: string,
  size: Readonly<Record<string, number>>,
  figures: Readonly<Record<string, unknown>>,
): Promise<string> {
  const dir = benchResultsDir();
  await mkdir(dir, { recursive: true });
  const file = join(dir, `${name}.json`);
  const report = {
    benchmark: name,
    size: { smoke: SMOKE, ...size },
    machine: machineLoad(),
    measuredAt: new Date().toISOString(),
    ...figures,
  };
  await writeFile(file, `${JSON.stringify(report, null, 2)}\n`);
  console.log(`wrote ${file}${SMOKE ? ' (smoke size: not a published figure)' : ''}`);
  return file;
}
