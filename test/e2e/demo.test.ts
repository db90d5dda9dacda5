import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import type { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { probeRedis } from '../../src/workers/embedded-redis.js';
import { connectTestRedis, createTestPrefix, deletePrefix, findFreePort, TEST_REDIS_URL } from '../helpers/redis.js';

/**
 * `fleet-rollout demo` as README says it works (`npm run demo`), through the built CLI, from a working directory
 * that is not the repository: the examples and the agent script come from the package, the demo's files land in
 * the working directory.
 */
const ROOT = resolve(import.meta.dirname, '../..');
const CLI = join(ROOT, 'dist/cli/main.js');
const prefix = createTestPrefix('demo');
const workDirs: string[] = [];
let redis: Redis;

interface DemoRun {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
  readonly cwd: string;
}

function runDemo(env: NodeJS.ProcessEnv): Promise<DemoRun> {
  const cwd = mkdtempSync(join(tmpdir(), 'fleet-e2e-demo-'));
  workDirs.push(cwd);
  return new Promise((done, fail) => {
    const child = spawn(process.execPath, [CLI, 'demo', '--prefix', prefix], { cwd, env });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => {
      stdout += chunk.toString();
    });
    child.stderr.on('data', (chunk: Buffer) => {
      stderr += chunk.toString();
    });
    child.once('error', fail);
    child.once('close', (code) => done({ code, stdout, stderr, cwd }));
  });
}

function baseEnv(): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env, FLEET_DEBUG: '' };
  delete env['REDIS_URL'];
  delete env['FLEET_PREFIX'];
  delete env['FLEET_DEMO_REDIS_PORT'];
  return env;
}

/** Data rows of examples/users.csv and the rows rejected on the username column (no user record can hold them). */
function expectedTotals(rejectedReport: string): { rows: number; unrecorded: number; skipped: number } {
  const rows = readFileSync(join(ROOT, 'examples/users.csv'), 'utf8').trimEnd().split(/\r?\n/).length - 1;
  const rejected = rejectedReport.trimEnd().split(/\r?\n/).slice(1);
  const unrecorded = rejected.filter((line) => /^\d+,username,/.test(line)).length;
  return { rows, unrecorded, skipped: rejected.length - unrecorded };
}

/** The summary ends the output: `users  applied A · failed F · skipped S`, then the report path and a hint. */
function checkSummary(run: DemoRun): void {
  expect(run.stderr).toBe('');
  expect(run.code).toBe(0);
  const imported = /demo: campaign (demo-[\d-]+): (\d+) users imported, (\d+) rows rejected \(([^)]+)\)/.exec(
    run.stdout,
  );
  expect(imported).not.toBeNull();
  const [, campaign, valid, rejectedCount, rejectedPath] = imported as unknown as [
    string,
    string,
    string,
    string,
    string,
  ];
  const rejectedReport = readFileSync(join(run.cwd, rejectedPath), 'utf8');
  const expected = expectedTotals(rejectedReport);
  expect(Number(valid) + Number(rejectedCount)).toBe(expected.rows);

  const lines = run.stdout.trimEnd().split('\n');
  const tail = lines.slice(lines.findLastIndex((line) => line.startsWith(`campaign ${campaign}:`))).join('\n');
  expect(tail).toContain(`campaign ${campaign}: done`);
  const counts = /users\s+applied (\d+) · failed (\d+) · skipped (\d+)\n/.exec(tail);
  expect(counts).not.toBeNull();
  const [applied, failed, skipped] = (counts as RegExpExecArray).slice(1).map(Number) as [number, number, number];
  // every row of the CSV ends as one user, except the rows that cannot name one (duplicate or invalid username)
  expect(applied + failed + skipped).toBe(expected.rows - expected.unrecorded);
  expect(applied + failed).toBe(Number(valid));
  expect(skipped).toBe(expected.skipped);
  expect(failed).toBeGreaterThanOrEqual(1); // the host the demo makes answer "permission denied"
  expect(applied).toBeGreaterThan(0);

  const report = /\nreport: (\S+)\n/.exec(tail);
  expect(report).not.toBeNull();
  const reportPath = join(run.cwd, (report as RegExpExecArray)[1] as string);
  expect(existsSync(reportPath)).toBe(true);
  const reportRows = readFileSync(reportPath, 'utf8').trimEnd().split(/\r?\n/);
  expect(reportRows.length - 1).toBe(applied + failed + skipped);
  expect(run.stdout.trimEnd().split('\n').at(-1)).toMatch(/^more: fleet-rollout status demo-/);
}

beforeAll(() => {
  redis = connectTestRedis();
});

afterAll(async () => {
  await deletePrefix(redis, prefix);
  await redis.quit();
  for (const dir of workDirs) rmSync(dir, { recursive: true, force: true });
});

describe('fleet-rollout demo', () => {
  it('runs the example campaign on the shared Redis under its own prefix and ends with the summary', async () => {
    const run = await runDemo({ ...baseEnv(), REDIS_URL: TEST_REDIS_URL });
    checkSummary(run);
    expect(run.stdout).not.toContain('private redis-server');
    // the records are under the test prefix, not `fleet:`
    const list = spawnSync(process.execPath, [CLI, 'campaigns', '--json', '--prefix', prefix], {
      encoding: 'utf8',
      env: { ...baseEnv(), REDIS_URL: TEST_REDIS_URL },
    });
    const campaigns = JSON.parse(list.stdout) as Array<{ campaign: { name: string; state: string } }>;
    expect(campaigns.map((item) => item.campaign)).toEqual([expect.objectContaining({ state: 'done' })]);
  }, 180_000);

  // redis-server is a prerequisite of the suite (.ci/run installs it), so this always runs.
  it('without REDIS_URL and with nothing on the local port, starts a private redis-server and stops it at the end', async () => {
    const closed = await findFreePort();
    const run = await runDemo({ ...baseEnv(), FLEET_DEMO_REDIS_PORT: String(closed) });
    const started =
      /demo: started a private redis-server at redis:\/\/127\.0\.0\.1:(\d+) \(AOF, data in ([^)]+)\)/.exec(run.stdout);
    expect(started, run.stdout + run.stderr).not.toBeNull();
    checkSummary(run);
    const [, port, dataDir] = started as unknown as [string, string, string];
    expect(Number(port)).not.toBe(closed);
    expect(existsSync(join(run.cwd, dataDir))).toBe(true); // AOF data under ./.fleet/redis of the working dir
    expect(await probeRedis('127.0.0.1', Number(port))).toBe(false); // stopped on exit
  }, 180_000);

  it('refuses a FLEET_DEMO_REDIS_PORT that is not a port, in one line', async () => {
    const run = await runDemo({ ...baseEnv(), FLEET_DEMO_REDIS_PORT: 'redis' });
    expect(run.code).toBe(1);
    expect(run.stderr).toBe(
      'fleet-rollout: FR_ERR_USAGE: FLEET_DEMO_REDIS_PORT "redis": expected a port number (1 to 65535)\n',
    );
  });
});
