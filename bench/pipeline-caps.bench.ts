/**
 * `npm run bench:caps` (`npx tsx bench/pipeline-caps.bench.ts`): the pipeline benchmark without and with `caps:`
 * (caps above the concurrency in use, so no deploy ever waits) in the same run, alternating (off, on, off, on…) so
 * that a change in the machine's load hits both alike. Writes bench/results/pipeline-caps.json with every run, the
 * best of each variant and their ratio, with the load averages. Env: BENCH_USERS (default 20,000), BENCH_ROUNDS
 * (default 2 runs of each), and the pipeline benchmark's own (BENCH_CONCURRENCY…). Build first (`npm run build`).
 */
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { benchSize, writeBenchResult } from './lib/bench-size.js';

const USERS = benchSize('BENCH_USERS', { full: 20_000, smoke: 300 });
const ROUNDS = Number(process.env['BENCH_ROUNDS'] ?? 2);
const SCRIPT = new URL('./pipeline.bench.ts', import.meta.url).pathname;

interface PipelineFigures {
  readonly pipelineUsersPerSecond: number;
  readonly endToEndUsersPerSecond: number;
  readonly redisCpuMsPerUser: number;
  readonly agentCpuMsPerUser: number;
  readonly machine: { readonly loadAverageAtStart: number[]; readonly loadAverageAtEnd: number[] };
}

async function runPipeline(caps: boolean, dir: string): Promise<PipelineFigures> {
  const child = spawn(process.execPath, ['--import', 'tsx', SCRIPT], {
    stdio: ['ignore', 'inherit', 'inherit'],
    env: { ...process.env, BENCH_USERS: String(USERS), BENCH_CAPS: caps ? '1' : '0', BENCH_RESULTS_DIR: dir },
  });
  const [code] = await once(child, 'exit');
  if (code !== 0) throw new Error(`pipeline benchmark (caps ${caps}) exited with ${code}`);
  return JSON.parse(readFileSync(join(dir, 'pipeline.json'), 'utf8')) as PipelineFigures;
}

function summary(run: PipelineFigures) {
  return {
    pipelineUsersPerSecond: run.pipelineUsersPerSecond,
    endToEndUsersPerSecond: run.endToEndUsersPerSecond,
    redisCpuMsPerUser: run.redisCpuMsPerUser,
    agentCpuMsPerUser: run.agentCpuMsPerUser,
    loadAverage: { start: run.machine.loadAverageAtStart, end: run.machine.loadAverageAtEnd },
  };
}

const best = (runs: readonly PipelineFigures[], key: 'endToEndUsersPerSecond' | 'pipelineUsersPerSecond') =>
  Math.max(...runs.map((r) => r[key]));

const dir = mkdtempSync(join(tmpdir(), 'fleet-bench-caps-'));
try {
  const off: PipelineFigures[] = [];
  const on: PipelineFigures[] = [];
  for (let round = 0; round < ROUNDS; round += 1) {
    off.push(await runPipeline(false, dir));
    on.push(await runPipeline(true, dir));
  }
  const ratio = (key: 'endToEndUsersPerSecond' | 'pipelineUsersPerSecond') =>
    Math.round((best(on, key) / best(off, key)) * 1000) / 1000;
  const results = {
    withoutCaps: off.map(summary),
    withCaps: on.map(summary),
    bestEndToEnd: { withoutCaps: best(off, 'endToEndUsersPerSecond'), withCaps: best(on, 'endToEndUsersPerSecond') },
    bestPipeline: { withoutCaps: best(off, 'pipelineUsersPerSecond'), withCaps: best(on, 'pipelineUsersPerSecond') },
    ratioEndToEnd: ratio('endToEndUsersPerSecond'),
    ratioPipeline: ratio('pipelineUsersPerSecond'),
    target: 'with caps ≥ 0.9 × without (issue 11)',
  };
  console.log(JSON.stringify(results, null, 2));
  await writeBenchResult('pipeline-caps', { users: USERS, rounds: ROUNDS }, results);
} finally {
  rmSync(dir, { recursive: true, force: true });
}
