/**
 * `npm run bench:smoke` (and `.ci/run`, after `npm test`): every benchmark at its smoke size, one after the other,
 * into a fresh scratch folder. Checks that each one exits 0 and writes its result file marked `smoke`; asserts no
 * timing (a shared 2-core machine makes timings noise). Needs a build (`dist/`) for the agent-process benchmarks.
 */
import { spawn } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';

/** Benchmark script → the result file it writes. */
const BENCHMARKS = [
  { script: 'generate.bench.ts', result: 'generate.json' },
  { script: 'pipeline.bench.ts', result: 'pipeline.json' },
  { script: 'ssh.bench.ts', result: 'ssh.json' },
  { script: 'realistic-ssh.bench.ts', result: 'realistic-ssh.json' },
  { script: 'dashboard.bench.ts', result: 'dashboard.json' },
];

function runScript(script: string, resultsDir: string): Promise<number | null> {
  const child = spawn(process.execPath, ['--import', 'tsx', join(import.meta.dirname, script)], {
    stdio: 'inherit',
    env: { ...process.env, BENCH_SMOKE: '1', BENCH_RESULTS_DIR: resultsDir },
  });
  return new Promise((resolve, reject) => {
    child.once('error', reject);
    child.once('exit', (code) => resolve(code));
  });
}

/** Why the result file is not a smoke result of `name`, or undefined when it is. */
async function checkResult(file: string, name: string): Promise<string | undefined> {
  let report: { benchmark?: unknown; size?: { smoke?: unknown } };
  try {
    report = JSON.parse(await readFile(file, 'utf8'));
  } catch (error) {
    return `no readable result file ${file}: ${(error as Error).message}`;
  }
  if (report.benchmark !== name) return `${file} names benchmark ${String(report.benchmark)}`;
  if (report.size?.smoke !== true) return `${file} does not record a smoke size`;
  return undefined;
}

async function main(): Promise<void> {
  const resultsDir = await mkdtemp(join(tmpdir(), 'fleet-bench-smoke-'));
  const problems: string[] = [];
  try {
    for (const { script, result } of BENCHMARKS) {
      console.log(`\n== smoke: ${script}`);
      const started = performance.now();
      const code = await runScript(script, resultsDir);
      const seconds = ((performance.now() - started) / 1000).toFixed(1);
      const problem =
        code === 0 ? await checkResult(join(resultsDir, result), result.replace(/\.json$/, '')) : `exit ${code}`;
      console.log(`== ${script}: ${problem ?? 'ok'} (${seconds} s)`);
      if (problem) problems.push(`${script}: ${problem}`);
    }
  } finally {
    await rm(resultsDir, { recursive: true, force: true });
  }
  if (problems.length > 0) {
    console.error(`\nbenchmark smoke runs failed:\n  ${problems.join('\n  ')}`);
    process.exitCode = 1;
  }
}

await main();
